import Foundation
import HTTPServer
import JSON
import StorefrontDomain

extension MCPEndpoint {
    /// MCP revision 2026-07-28: no handshake and no session. Every request carries its
    /// protocol version, client info and capabilities in `params._meta`, mirrored in headers
    /// that must agree with the body.
    package struct Stateless {
        package static let versions = ["2026-07-28"]
        static let versionKey = "io.modelcontextprotocol/protocolVersion"
        static let capabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
        static let clientInfoKey = "io.modelcontextprotocol/clientInfo"
        static let serverInfoKey = "io.modelcontextprotocol/serverInfo"
        /// Methods whose subject is mirrored in the `Mcp-Name` header, and the param it mirrors.
        static let nameBearing = ["tools/call": "name", "prompts/get": "name", "resources/read": "uri"]
        /// Whether a cacheable result is the caller's own: the inbox resource is per agent.
        static func isPrivate(method: String, params: JSON) -> Bool {
            method == "resources/read" && params["uri"]?.stringValue == AgentInbox.resourceURI
        }

        /// Results a client may cache (they carry `ttlMs` and `cacheScope`).
        static let cacheable: Set<String> = [
            "server/discover", "tools/list", "resources/list", "resources/templates/list", "prompts/list", "resources/read",
        ]

        let endpoint: MCPEndpoint

        /// A message speaks 2026-07-28 when it carries the per-request envelope, asks for
        /// `server/discover`, or says so in its header without naming a session.
        static func applies(to request: Request, message: RPCMessage) -> Bool {
            if message.method == "server/discover" { return true }
            if message.params["_meta"]?[versionKey] != nil { return true }
            if let version = request.headers["MCP-Protocol-Version"], !MCPEndpoint.sessionVersions.contains(version),
                request.headers["MCP-Session-Id"] == nil
            {
                return true
            }
            return false
        }

        static func httpStatus(for code: Int64) -> Int {
            switch code {
            case RPCError.methodNotFound: return 404
            case RPCError.parseError, RPCError.invalidRequest, RPCError.invalidParams, RPCError.headerMismatch,
                RPCError.unsupportedVersion:
                return 400
            default: return 200
            }
        }

        func error(_ id: JSON?, _ error: RPCError) -> Response {
            Self.errorResponse(endpoint, id, error)
        }

        static func errorResponse(_ endpoint: MCPEndpoint, _ id: JSON?, _ error: RPCError) -> Response {
            endpoint.rpcHTTPError(httpStatus(for: error.code), id: id, error)
        }

        /// `Mcp-Name` values that are not plain visible ASCII travel as `=?base64?...?=`.
        static func decodeHeader(_ value: String?) -> String? {
            guard let value else { return nil }
            if value.hasPrefix("=?base64?") && value.hasSuffix("?=") {
                let payload = String(value.dropFirst(9).dropLast(2))
                guard let data = Data(base64Encoded: payload) else { return nil }
                return String(data: data, encoding: .utf8)
            }
            return value
        }

        func post(_ request: Request, message: RPCMessage, identity: Identity?) -> Response {
            guard message.kind == .request, let method = message.method else {
                // The 2026-07-28 core defines no client-to-server notifications over HTTP.
                return Response(status: 202)
            }
            guard case .object(let meta)? = message.params["_meta"] else {
                return error(
                    message.id,
                    RPCError(
                        code: RPCError.invalidParams,
                        message: "params._meta must be an object carrying \(Self.versionKey) and \(Self.capabilitiesKey)"))
            }
            let missing = [Self.versionKey, Self.capabilitiesKey].filter { meta[$0] == nil }
            guard missing.isEmpty else {
                return error(
                    message.id,
                    RPCError(
                        code: RPCError.invalidParams,
                        message: "params._meta is missing the required envelope key(s): \(missing.joined(separator: ", "))"))
            }
            let version = meta[Self.versionKey]?.stringValue
            guard let header = request.headers["MCP-Protocol-Version"], header == version else {
                return error(
                    message.id,
                    RPCError(
                        code: RPCError.headerMismatch,
                        message: "The MCP-Protocol-Version header does not match params._meta's protocol version."))
            }
            guard request.headers["Mcp-Method"] == method else {
                return error(
                    message.id,
                    RPCError(code: RPCError.headerMismatch, message: "The Mcp-Method header does not match the body's method."))
            }
            if let key = Self.nameBearing[method], let bodyValue = message.params[key]?.stringValue,
                Self.decodeHeader(request.headers["Mcp-Name"]) != bodyValue
            {
                return error(
                    message.id,
                    RPCError(
                        code: RPCError.headerMismatch,
                        message: "The Mcp-Name header does not match the body's \(key) parameter."))
            }
            guard let version, Self.versions.contains(version) else {
                return error(
                    message.id,
                    RPCError(
                        code: RPCError.unsupportedVersion, message: "Unsupported protocol version",
                        data: [
                            "supported": .array(Self.versions.map(JSON.string)),
                            "requested": version.map(JSON.string) ?? .null,
                        ]))
            }
            let service = endpoint.service
            let finish: @Sendable (Result<RPCResultBody, RPCError>) -> Response = { [endpoint] outcome in
                switch outcome {
                case .failure(let rpc):
                    return Self.errorResponse(endpoint, message.id, rpc)
                case .success(var result):
                    result.members["resultType"] = "complete"
                    if Self.cacheable.contains(method) {
                        if Self.isPrivate(method: method, params: message.params) {
                            // The caller's own data (its inbox): never kept by a shared cache, and
                            // stale at once, since any order event changes it.
                            result.members["ttlMs"] = 0
                            result.members["cacheScope"] = "private"
                        } else {
                            // Nothing here is specific to the caller; catalog data may change on restart.
                            result.members["ttlMs"] = 60_000
                            result.members["cacheScope"] = "public"
                        }
                    }
                    return endpoint.rpcResponse(result.response(id: message.id))
                }
            }
            if service.isMutatingCall(method, params: message.params) {
                // A write answers after its commit; the connection is suspended meanwhile, so no
                // server thread waits on the store (as REST's writes).
                let context = MCPEndpoint.context(request, message, identity)
                return .later { complete in
                    service.callTool(message.params, context: context) { complete(finish($0)) }
                }
            }
            let outcome: Result<RPCResultBody, RPCError>
            if method == "server/discover" {
                outcome = .success(RPCResultBody([
                    "supportedVersions": .array(Self.versions.map(JSON.string)),
                    "capabilities": service.capabilities,
                    "instructions": .string(service.instructions),
                    "_meta": [.init(Self.serverInfoKey): service.serverInfo],
                ]))
            } else {
                outcome = service.call(method, params: message.params, context: MCPEndpoint.context(request, message, identity))
            }
            return finish(outcome)
        }
    }
}
