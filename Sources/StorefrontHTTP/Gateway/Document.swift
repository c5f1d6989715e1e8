import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// A document built once and served many times: bytes, entity tag, caching and CORS.
public struct Document: Sendable {
    public var bytes: [UInt8]
    public var contentType: String
    public var etag: String
    public var cacheControl: String
    public var cors: Bool
    public var extraHeaders: [(String, String)]
    /// The response headers, built once (the fields above are not changed after init).
    private var notModifiedHeaders = HTTPHeaders()
    private var okHeaders = HTTPHeaders()

    public init(
        bytes: [UInt8], contentType: String, cacheControl: String = "public, max-age=300", cors: Bool = true,
        extraHeaders: [(String, String)] = []
    ) {
        self.bytes = bytes
        self.contentType = contentType
        self.cacheControl = cacheControl
        self.cors = cors
        self.extraHeaders = extraHeaders
        let digest = SHA256.hash(data: Data(bytes))
        etag = "\"" + hexString(digest.prefix(12)) + "\""
        var headers = HTTPHeaders([("ETag", etag), ("Cache-Control", cacheControl), ("Vary", "Accept")])
        if cors {
            headers.add("Access-Control-Allow-Origin", "*")
            headers.add("Access-Control-Expose-Headers", "ETag, X-Capabilities-Signature, Link, RateLimit, RateLimit-Policy")
        }
        for (name, value) in extraHeaders { headers.add(name, value) }
        notModifiedHeaders = headers
        headers.add("Content-Type", contentType)
        okHeaders = headers
    }

    public static func json(_ value: JSON, contentType: String = "application/json", cacheControl: String = "public, max-age=300")
        -> Document
    {
        Document(bytes: value.prettyPrinted(), contentType: contentType, cacheControl: cacheControl)
    }

    public static func text(_ text: String, contentType: String) -> Document {
        Document(bytes: Array(text.utf8), contentType: contentType)
    }

    /// 200 with the document, or 304 when the client's `If-None-Match` names it.
    public func response(for request: Request) -> Response {
        if ifNoneMatchMatches(request.headers["If-None-Match"], etag: etag) {
            return Response(status: 304, headers: notModifiedHeaders)
        }
        return Response(status: 200, headers: okHeaders, body: .bytes(bytes))
    }
}

/// A JSON response that is computed per request (not cached).
func jsonResponse(_ value: JSON, status: Int = 200, cacheControl: String = "no-store") -> Response {
    jsonResponse(encoded: value.encoded, status: status, cacheControl: cacheControl)
}

func jsonResponse(encoded: EncodedJSON, status: Int = 200, cacheControl: String = "no-store") -> Response {
    Response(
        status: status,
        headers: HTTPHeaders([("Content-Type", "application/json"), ("Cache-Control", cacheControl)]),
        body: .bytes(encoded.bytes))
}

extension APIError {
    public var response: Response {
        Response.error(status: status, type: kind.rawValue, code: code, message: message, param: param)
    }
}
