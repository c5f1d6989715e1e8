import JSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `format` values asserted when a schema is compiled with `assertFormats`. Other formats
/// stay annotations, as draft 2020-12 specifies for the format-annotation vocabulary.
enum SchemaFormat: String, CaseIterable {
    case dateTime = "date-time"
    case date
    case time
    case email
    case uri
    case uriReference = "uri-reference"
    case uuid
    case ipv4
    case ipv6

    func accepts(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        switch self {
        case .dateTime: return Self.isDateTime(bytes)
        case .date: return Self.isDate(bytes[...])
        case .time: return Self.isTime(bytes[...])
        case .email: return Self.isEmail(bytes)
        case .uri: return Self.isURI(bytes, requireScheme: true)
        case .uriReference: return Self.isURI(bytes, requireScheme: false)
        case .uuid: return Self.isUUID(bytes)
        case .ipv4: return Self.isIPv4(bytes[...])
        case .ipv6: return Self.isIPv6(text)
        }
    }

    // MARK: RFC 3339 dates and times

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.allSatisfy(isDigit) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// `full-date` with a day that exists in that month (February 29 only in leap years).
    private static func isDate(_ b: ArraySlice<UInt8>) -> Bool {
        guard b.count == 10 else { return false }
        let s = b.startIndex
        guard b[s + 4] == UInt8(ascii: "-"), b[s + 7] == UInt8(ascii: "-"),
            let year = number(b[s..<s + 4]), let month = number(b[s + 5..<s + 7]),
            let day = number(b[s + 8..<s + 10]), (1...12).contains(month), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    /// `full-time`: `hh:mm:ss[.frac](Z|±hh:mm)`. A leap second (`:60`) is accepted only when it
    /// falls at 23:59 UTC once the offset is applied.
    private static func isTime(_ b: ArraySlice<UInt8>) -> Bool {
        guard b.count >= 9 else { return false }
        let s = b.startIndex
        guard b[s + 2] == UInt8(ascii: ":"), b[s + 5] == UInt8(ascii: ":"),
            let hour = number(b[s..<s + 2]), let minute = number(b[s + 3..<s + 5]),
            let second = number(b[s + 6..<s + 8]), hour <= 23, minute <= 59, second <= 60
        else { return false }
        var i = s + 8
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.endIndex, isDigit(b[i]) { i += 1 }
            guard i > start else { return false }
        }
        guard i < b.endIndex else { return false }
        var offsetMinutes = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == b.endIndex else { return false }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard b.endIndex - i == 6, b[i + 3] == UInt8(ascii: ":"),
                let oh = number(b[i + 1..<i + 3]), let om = number(b[i + 4..<i + 6]), oh <= 23, om <= 59
            else { return false }
            offsetMinutes = (oh * 60 + om) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return false
        }
        if second == 60 {
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    private static func isDateTime(_ b: [UInt8]) -> Bool {
        guard b.count > 11, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") else { return false }
        return isDate(b[0..<10]) && isTime(b[11...])
    }

    // MARK: Identifiers

    private static func isUUID(_ b: [UInt8]) -> Bool {
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard c == UInt8(ascii: "-") else { return false }
            } else if SchemaURI.hexValue(c) == nil {
                return false
            }
        }
        return true
    }

    /// Dotted quad, each part 0-255 in ASCII digits without leading zeros (which some parsers
    /// read as octal).
    private static func isIPv4(_ b: ArraySlice<UInt8>) -> Bool {
        let parts = b.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard part.count <= 3, let value = number(part), value <= 255 else { return false }
            return part.count == 1 || part.first != UInt8(ascii: "0")
        }
    }

    /// RFC 4291 text forms, as the C library parses them (no zone identifiers).
    private static func isIPv6(_ text: String) -> Bool {
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return false }
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    /// RFC 5321 mailbox: a dot-atom or quoted local part, then a host name or an address literal.
    private static func isEmail(_ b: [UInt8]) -> Bool {
        guard let at = b.lastIndex(of: UInt8(ascii: "@")), at > 0, at < b.count - 1 else { return false }
        let local = b[..<at]
        let domain = b[(at + 1)...]
        let localOK: Bool
        if local.first == UInt8(ascii: "\""), local.count >= 2, local.last == UInt8(ascii: "\"") {
            localOK = local.dropFirst().dropLast().allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        } else {
            let atext = Set("!#$%&'*+-/=?^_`{|}~".utf8)
            let atoms = local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            localOK = atoms.allSatisfy { atom in
                !atom.isEmpty && atom.allSatisfy { isAlphanumeric($0) || atext.contains($0) }
            }
        }
        guard localOK else { return false }
        if domain.first == UInt8(ascii: "["), domain.last == UInt8(ascii: "]") {
            let literal = domain.dropFirst().dropLast()
            let prefix = Array("IPv6:".utf8)
            if literal.starts(with: prefix) {
                return isIPv6(String(decoding: literal.dropFirst(prefix.count), as: UTF8.self))
            }
            return isIPv4(literal)
        }
        return isHostname(domain)
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z"))
    }

    private static func isHostname(_ b: ArraySlice<UInt8>) -> Bool {
        guard !b.isEmpty, b.count <= 253 else { return false }
        let labels = b.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != UInt8(ascii: "-")
                && label.last != UInt8(ascii: "-")
                && label.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    // MARK: URIs

    /// RFC 3986 `URI` (scheme required) or `URI-reference`: only the characters the grammar
    /// allows, well-formed percent escapes, a valid scheme and `[...]` only around a host.
    private static func isAlpha(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    /// Bytes that may appear in a URI (RFC 3986 unreserved, reserved and `%`), as a table so
    /// the check costs one load per byte (formats are checked on every action result).
    private static let uriBytes: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for b in "-._~:/?#[]@!$&'()*+,;=%".utf8 { table[Int(b)] = true }
        for b in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(b)] = true }
        for b in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(b)] = true }
        for b in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(b)] = true }
        return table
    }()

    private static func isURI(_ b: [UInt8], requireScheme: Bool) -> Bool {
        var i = 0, hashes = 0, brackets = false
        while i < b.count {
            let byte = b[i]
            guard uriBytes[Int(byte)] else { return false }
            if byte == UInt8(ascii: "%") {
                guard i + 2 < b.count, SchemaURI.hexValue(b[i + 1]) != nil, SchemaURI.hexValue(b[i + 2]) != nil
                else { return false }
                i += 3
                continue
            }
            if byte == UInt8(ascii: "#") { hashes += 1 }
            if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") { brackets = true }
            i += 1
        }
        // The common case, "scheme:rest" with no brackets and at most one "#", needs no parse.
        if !brackets && hashes <= 1, let colon = b.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            isAlpha(b[0]),
            b[1..<colon].allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        {
            return true
        }
        let text = String(decoding: b, as: UTF8.self)
        let uri = SchemaURI(text)
        if requireScheme, uri.scheme == nil { return false }
        if uri.scheme == nil, let colon = text.firstIndex(of: ":"),
            !text[..<colon].contains(where: { "/?#".contains($0) })
        {
            // "1a:b" is neither a scheme nor a relative path (RFC 3986 section 4.2).
            return false
        }
        // Brackets belong only around an IP literal host; "#" only once.
        let hostLiteral = uri.authority.map { $0.contains("[") } ?? false
        let bracketsOutsideHost = (uri.path + (uri.query ?? "") + (uri.fragment ?? "")).contains {
            $0 == "[" || $0 == "]"
        }
        if bracketsOutsideHost || (uri.fragment?.contains("#") ?? false) { return false }
        if hostLiteral, let authority = uri.authority {
            guard let open = authority.firstIndex(of: "["), let close = authority.firstIndex(of: "]"), open < close
            else { return false }
        }
        return true
    }
}
