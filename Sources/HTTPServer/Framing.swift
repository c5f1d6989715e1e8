/// Strict message framing (RFC 9112), checked before any handler runs. A request whose length is
/// ambiguous could be read one way here and another way by a proxy in front, and the bytes left
/// over would be served as a second request ("request smuggling"); such requests are refused and
/// the connection closed, so nothing after them is ever read as a request.
struct FramingViolation: Equatable {
    let status: Int
    let code: String
    let message: String
}

enum Framing {
    /// The first framing rule the request breaks, or nil.
    /// - Parameters:
    ///   - headers: the header fields as received.
    ///   - version: the request's HTTP version ("HTTP/1.1").
    ///   - controlCharacterIn: the name of a field whose name or value holds a NUL or another
    ///     control character (bare CR, LF, ...), found while the raw bytes were read.
    static func violation(headers: HTTPHeaders, version: String, controlCharacterIn: String?) -> FramingViolation? {
        if let field = controlCharacterIn {
            return FramingViolation(
                status: 400, code: "invalid_header",
                message: "The header \(field) contains a NUL or another control character, which HTTP never allows.")
        }
        let lengths = headers.values("Content-Length")
        let codings = headers.values("Transfer-Encoding")
        if !codings.isEmpty {
            if !lengths.isEmpty {
                return FramingViolation(
                    status: 400, code: "ambiguous_length",
                    message: "Send Content-Length or Transfer-Encoding, not both.")
            }
            // Only `chunked`, once, is understood.
            let list = codings.flatMap { $0.split(separator: ",") }.map {
                $0.trimmedBlanks.lowercased()
            }
            if list != ["chunked"] {
                return FramingViolation(
                    status: 501, code: "unsupported_transfer_encoding",
                    message: "Transfer-Encoding \(codings.joined(separator: ", ")) is not supported; send chunked or a Content-Length.")
            }
        }
        if !lengths.isEmpty {
            // Repeated fields (or a list in one) must all name the same valid length.
            let values = lengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map {
                $0.trimmedBlanks
            }
            let valid = values.allSatisfy { !$0.isEmpty && $0.utf8.count <= 18 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
            if !valid || Set(values.map { $0.drop { $0 == "0" } }).count != 1 {
                return FramingViolation(
                    status: 400, code: "invalid_content_length",
                    message: "Content-Length must be one decimal length (it was \(lengths.joined(separator: ", "))).")
            }
        }
        if version == "HTTP/1.1" && headers.values("Host").count != 1 {
            return FramingViolation(
                status: 400, code: "missing_host",
                message: "An HTTP/1.1 request needs exactly one Host header.")
        }
        return nil
    }

    /// Whether a header byte is a control character HTTP forbids in a field (everything below
    /// 0x20 but horizontal tab, and DEL).
    @inline(__always)
    static func isForbidden(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != 0x09) || byte == 0x7F }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (optional whitespace around header values).
    var trimmedBlanks: String {
        var view = Substring(String(self)).utf8
        while let first = view.first, first == 0x20 || first == 0x09 { view.removeFirst() }
        while let last = view.last, last == 0x20 || last == 0x09 { view.removeLast() }
        return String(decoding: view, as: UTF8.self)
    }
}
