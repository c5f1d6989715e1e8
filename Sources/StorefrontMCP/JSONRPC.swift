import JSON
import StorefrontDomain

/// A JSON-RPC 2.0 error object.
public struct RPCError: Error, Sendable {
    public var code: Int64
    public var message: String
    public var data: JSON?

    public static let parseError: Int64 = -32700
    public static let invalidRequest: Int64 = -32600
    public static let methodNotFound: Int64 = -32601
    public static let invalidParams: Int64 = -32602
    public static let internalError: Int64 = -32603
    /// MCP: the resource named by a URI does not exist.
    public static let resourceNotFound: Int64 = -32002
    /// MCP 2026-07-28: the Mcp-Method / Mcp-Name headers disagree with the body.
    public static let headerMismatch: Int64 = -32020
    /// MCP 2026-07-28: the request's protocol version is not supported.
    public static let unsupportedVersion: Int64 = -32022
    /// A call the gateway's rate limits refused (in the implementation-defined range).
    public static let rateLimited: Int64 = -32029

    public init(code: Int64, message: String, data: JSON? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var json: JSON {
        var error: [String: JSON] = ["code": .int(code), "message": .string(message)]
        if let data { error["data"] = data }
        return .object(error)
    }
}

/// One JSON-RPC message as received.
struct RPCMessage {
    enum Kind { case request, notification, response }

    let kind: Kind
    let id: JSON?
    let method: String?
    let params: JSON

    /// Classifies a parsed body; anything else is an Invalid Request.
    init(_ body: JSON) throws {
        guard case .object(let members) = body else {
            if case .array = body {
                throw RPCError(code: RPCError.invalidRequest, message: "Batches are not supported: send one JSON-RPC message per request.")
            }
            throw RPCError(code: RPCError.invalidRequest, message: "A JSON-RPC message must be an object.")
        }
        guard members["jsonrpc"] == "2.0" else {
            throw RPCError(code: RPCError.invalidRequest, message: "jsonrpc must be \"2.0\".")
        }
        let id = members["id"]
        if let id {
            switch id {
            case .string, .int: break
            default: throw RPCError(code: RPCError.invalidRequest, message: "id must be a string or an integer.")
            }
        }
        params = members["params"] ?? [:]
        if let method = members["method"] {
            guard let name = method.stringValue, !name.isEmpty else {
                throw RPCError(code: RPCError.invalidRequest, message: "method must be a non-empty string.")
            }
            if case .object = params {} else {
                throw RPCError(code: RPCError.invalidRequest, message: "params must be an object.")
            }
            self.method = name
            self.id = id
            kind = id == nil ? .notification : .request
        } else if id != nil && (members["result"] != nil || members["error"] != nil) {
            method = nil
            self.id = id
            kind = .response
        } else {
            throw RPCError(code: RPCError.invalidRequest, message: "Not a request, notification or response.")
        }
    }

    /// The id as text, for keys in the store.
    var idText: String? {
        switch id {
        case .string(let s): return "s:" + s
        case .int(let i): return "i:" + String(i)
        default: return nil
        }
    }
}

func rpcResult(id: JSON?, _ result: JSON) -> JSON {
    ["jsonrpc": "2.0", "id": id ?? .null, "result": result]
}

/// A JSON-RPC result object: its members, and members that are already serialized (a tool's
/// structured content, written once and quoted as its text content).
struct RPCResultBody {
    var members: [String: JSON]
    var encoded: [String: EncodedJSON] = [:]

    init(_ result: JSON) {
        members = result.objectValue ?? [:]
    }

    init(members: [String: JSON], encoded: [String: EncodedJSON]) {
        self.members = members
        self.encoded = encoded
    }

    /// The whole response message, serialized.
    func response(id: JSON?) -> [UInt8] {
        // {"id":…,"jsonrpc":"2.0","result":{…}}: keys in serialization order, written into one buffer.
        var out: [UInt8] = []
        out.reserveCapacity(encoded.values.reduce(256) { $0 + $1.bytes.count })
        out.append(contentsOf: #"{"id":"#.utf8)
        out.append(contentsOf: (id ?? .null).serialized())
        out.append(contentsOf: #","jsonrpc":"2.0","result":"#.utf8)
        JSON.writeObject(members, encoded: encoded, to: &out)
        out.append(0x7D)
        return out
    }
}

func rpcError(id: JSON?, _ error: RPCError) -> JSON {
    ["jsonrpc": "2.0", "id": id ?? .null, "error": error.json]
}
