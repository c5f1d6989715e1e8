import Foundation
import HTTPServer
import JSON

extension Gateway {
    /// The authorities signed requests may name: the public URL's, and for a loopback public
    /// URL its other loopback spellings.
    var acceptedAuthorities: Set<String> {
        guard let url = URL(string: configuration.publicURL), let host = url.host?.lowercased() else { return [] }
        let port = url.port.map { ":\($0)" } ?? ""
        var hosts: Set<String> = [host]
        if ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host) { hosts = ["127.0.0.1", "localhost", "[::1]"] }
        return Set(hosts.map { $0 + port })
    }

    /// Who sent the request: nil for anonymous, or the error for credentials that fail.
    /// A request that presents credentials is never quietly treated as anonymous.
    func authenticate(_ request: Request) -> Result<Identity?, AuthenticationError> {
        if let verified = VerifiedSignature.recalled(for: request) { return verified }
        return verify(request)
    }

    /// Checks the request's credentials (a signature's nonce is spent here).
    func verify(_ request: Request) -> Result<Identity?, AuthenticationError> {
        do {
            if let authorization = request.headers["Authorization"] {
                let parts = authorization.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                    return .failure(AuthenticationError(code: "invalid_authorization", message: "Use Authorization: Bearer <api key>."))
                }
                let key = String(parts[1]).trimmingCharacters(in: .whitespaces)
                guard let agent = try agents.authenticate(apiKey: key), let prefix = APIKey.prefix(of: key) else {
                    return .failure(
                        AuthenticationError(
                            code: "invalid_api_key", message: "The API key is unknown or revoked. Register with POST /agents/register."))
                }
                return .success(Identity(agent: agent, credential: .apiKey(prefix: prefix)))
            }
            if request.headers["Signature-Input"] != nil || request.headers["Signature"] != nil {
                let scheme = URL(string: configuration.publicURL)?.scheme ?? "http"
                return .success(
                    try MessageSignature.verify(request, directory: agents, scheme: scheme, authorities: acceptedAuthorities))
            }
            return .success(nil)
        } catch let error as AuthenticationError {
            return .failure(error)
        } catch {
            return .failure(AuthenticationError(code: "authentication_unavailable", message: "Could not check credentials; retry."))
        }
    }

    func unauthorized(_ error: AuthenticationError) -> Response {
        var response = Response.error(
            status: 401, type: "authentication_error", code: error.code, message: error.message)
        response.headers.add("WWW-Authenticate", "Bearer realm=\"storefront\", Signature realm=\"storefront\"")
        return response
    }

    /// The idempotency key of a REST call: the header, or `idempotency_key` in the body.
    static func idempotencyKey(_ request: Request, arguments: JSON) -> String? {
        request.headers["Idempotency-Key"] ?? arguments["idempotency_key"]?.stringValue
    }

    /// `POST /agents/register`: open registration, or refused when the merchant registers agents.
    func register(_ request: Request) -> Response {
        guard configuration.openRegistration else {
            return Response.error(
                status: 403, type: "permission_error", code: "registration_closed",
                message: "This store registers agents by invitation: ask the merchant (storefront agents create).")
        }
        guard let body = try? JSON.parse(bytes: request.body), case .object = body else {
            return Response.error(
                status: 400, type: "invalid_request", code: "invalid_json",
                message: "Send a JSON object: {\"principal\", \"display_name\", \"operator\", \"public_key\"?}.")
        }
        return registerAgent(body, issuedBy: "self-registration")
    }

    public func registerAgent(_ body: JSON, issuedBy: String) -> Response {
        if let refusal = FieldLimits.checkRegistration(body) { return refusal }
        guard let principal = body["principal"]?.stringValue, !principal.isEmpty, principal.count <= 200 else {
            return Response.error(
                status: 400, type: "invalid_request", code: "missing_principal",
                message: "principal (the person or company the agent acts for) is required, up to 200 characters.", param: "principal")
        }
        guard let name = body["display_name"]?.stringValue, !name.isEmpty, name.count <= 200 else {
            return Response.error(
                status: 400, type: "invalid_request", code: "missing_display_name", message: "display_name is required.",
                param: "display_name")
        }
        let publicKey = body["public_key"].flatMap { $0 == .null ? nil : FieldLimits.canonicalJWK($0) }
        let wantsKey = body["api_key"]?.boolValue ?? true
        var scopes = Agent.defaultScopes
        if let requested = body["scopes"]?.arrayValue?.compactMap(\.stringValue) {
            let unknown = Set(requested).subtracting(Agent.defaultScopes)
            guard unknown.isEmpty else {
                return Response.error(
                    status: 400, type: "invalid_request", code: "unknown_scope",
                    message: "Unknown scopes \(unknown.sorted()); known: \(Agent.defaultScopes.sorted()).", param: "scopes")
            }
            scopes = Set(requested)
        }
        do {
            let (agent, key) = try agents.register(
                principal: principal, displayName: name, operatorName: body["operator"]?.stringValue ?? "", scopes: scopes,
                publicJWK: publicKey, issueAPIKey: wantsKey || publicKey == nil, currency: manifests.currency)
            var result = agent.json.objectValue ?? [:]
            if let key {
                result["api_key"] = .string(key)
                result["api_key_note"] = "Shown once; store it now. Send it as Authorization: Bearer <api_key>."
            }
            if let publicKey, let thumbprint = jwkThumbprint(publicKey) { result["key_id"] = .string(thumbprint) }
            result["wallet"] = (try? commerce.wallet(agent.id)) ?? .null
            return jsonResponse(.object(result), status: 201)
        } catch let error as AuthenticationError {
            return Response.error(status: 400, type: "invalid_request", code: error.code, message: error.message, param: "public_key")
        } catch {
            return Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Registration failed; retry.")
        }
    }
}

extension Gateway {
    public func agentList() throws -> [Agent] { try agents.list() }
    public func revokeAgent(_ id: String) throws -> Bool { try agents.revoke(id) }
    public func rotateAgentKey(_ id: String) throws -> String? { try agents.rotateKey(id) }
}
