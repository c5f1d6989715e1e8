/// The project's error shape for the REST surface.
public struct APIError: Error, Sendable {
    public enum Kind: String, Sendable {
        case invalidRequest = "invalid_request"
        case authentication = "authentication_error"
        case permission = "permission_error"
        case rateLimited = "rate_limited"
        case paymentRequired = "payment_required"
        case processing = "processing_error"
        case unavailable = "service_unavailable"
    }

    public var status: Int
    public var kind: Kind
    public var code: String
    public var message: String
    public var param: String?

    public init(status: Int, kind: Kind, code: String, message: String, param: String? = nil) {
        self.status = status
        self.kind = kind
        self.code = code
        self.message = message
        self.param = param
    }

    public static func invalidParameter(_ param: String, _ message: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest, code: "invalid_parameter", message: message, param: param)
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(status: 404, kind: .invalidRequest, code: "not_found", message: message, param: nil)
    }
}
