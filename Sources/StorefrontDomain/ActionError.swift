import JSON

/// Why an action refused or failed, in the shape of the project's errors.
public struct ActionError: Error, Sendable {
    public var status: Int
    public var kind: APIError.Kind
    public var code: String
    public var message: String
    public var param: String?
    public var details: JSON?

    public init(status: Int, kind: APIError.Kind, code: String, message: String, param: String? = nil, details: JSON? = nil) {
        self.status = status
        self.kind = kind
        self.code = code
        self.message = message
        self.param = param
        self.details = details
    }

    public static func invalid(_ code: String, _ message: String, param: String? = nil, details: JSON? = nil) -> ActionError {
        ActionError(status: 400, kind: .invalidRequest, code: code, message: message, param: param, details: details)
    }

    public static let authenticationRequired = ActionError(
        status: 401, kind: .authentication, code: "authentication_required",
        message: "This action needs an identity acting for a principal. Authorize with OAuth (/.well-known/oauth-authorization-server; the principal grants it) or register with POST /agents/register (or ask the merchant), then send Authorization: Bearer <token or api key>, or sign the request with a registered key (RFC 9421, Web Bot Auth).")

    public static func conflict(_ code: String, _ message: String, details: JSON? = nil) -> ActionError {
        ActionError(status: 409, kind: .invalidRequest, code: code, message: message, details: details)
    }

    public static func notFound(_ message: String, param: String? = nil) -> ActionError {
        ActionError(status: 404, kind: .invalidRequest, code: "not_found", message: message, param: param)
    }

    public var json: JSON {
        var error: [String: JSON] = ["type": .string(kind.rawValue), "code": .string(code), "message": .string(message)]
        if let param { error["param"] = .string(param) }
        if let details { error["details"] = details }
        return ["error": .object(error)]
    }
}
