/// An HTTP response: status, headers and a body that is either bytes, a stream, or produced later.
public struct Response: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Written over time (Server-Sent Events); the connection idles without a thread while
        /// nothing is queued.
        case stream(ResponseStream)
        /// Produced on another thread: the connection is suspended until `complete` is called.
        case deferred(@Sendable (_ complete: @escaping @Sendable (Response) -> Void) -> Void)
    }

    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body
    /// What the application notes about this response for its own bookkeeping (who called, what
    /// ran); never sent.
    public var note: (any Sendable)?

    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int = 200, contentType: String, body: [UInt8]) {
        self.init(status: status, headers: HTTPHeaders([("Content-Type", contentType)]), body: .bytes(body))
    }

    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8")
        -> Response
    {
        Response(status: status, contentType: contentType, body: Array(text.utf8))
    }

    /// A response computed on another thread (for example after the store's writer commits).
    public static func later(_ produce: @escaping @Sendable (_ complete: @escaping @Sendable (Response) -> Void) -> Void)
        -> Response
    {
        Response(status: 200, body: .deferred(produce))
    }

    /// The response changed by `change`: at once, or for a response computed later, when it is.
    public func amended(_ change: @escaping @Sendable (inout Response) -> Void) -> Response {
        if case .deferred(let produce) = body {
            return .later { complete in
                produce { result in
                    var result = result
                    change(&result)
                    complete(result)
                }
            }
        }
        var response = self
        change(&response)
        return response
    }

    /// The project's error shape: `{"error": {"type", "code", "message", "param"}}`.
    public static func error(
        status: Int, type: String, code: String, message: String, param: String? = nil,
        headers extra: [(String, String)] = []
    ) -> Response {
        var text = "{\"error\":{\"code\":\(jsonQuoted(code)),\"message\":\(jsonQuoted(message))"
        if let param { text += ",\"param\":\(jsonQuoted(param))" }
        text += ",\"type\":\(jsonQuoted(type))}}"
        var headers = HTTPHeaders([("Content-Type", "application/json")])
        for (k, v) in extra { headers.add(k, v) }
        return Response(status: status, headers: headers, body: .bytes(Array(text.utf8)))
    }

    /// The body's bytes when it is a plain body.
    public var bodyBytes: [UInt8] {
        if case .bytes(let b) = body { return b }
        return []
    }
}

func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            out += "\\u00" + String(scalar.value >> 4, radix: 16) + String(scalar.value & 0xF, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// Standard reason phrases are MHD's business; this only knows which statuses carry no body.
extension Response {
    var mayHaveBody: Bool { !(status == 204 || status == 304 || (100..<200).contains(status)) }
}
