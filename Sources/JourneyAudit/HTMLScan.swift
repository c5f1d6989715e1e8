import Foundation

/// A single pass over an HTML page (no regular expressions: a hostile page cannot make it
/// backtrack): the start tags with their attributes, the raw text inside a tag where asked
/// (`<script>`, `<a>`), and the visible text. At most `limit` bytes of a page are read; past that a
/// page is judged by its beginning.
enum HTMLScan {
    static let limit = 512 * 1024

    struct Tag {
        var name: String
        var attributes: [String: String]
        /// The raw text up to the matching end tag, for the elements asked for; else nil.
        var inner: String?
    }

    /// The start tags named `names` (lowercase), with their inner text when `innerOf` holds the name
    /// (at most `maxInner` bytes of it).
    static func tags(_ html: String, named names: Set<String>, innerOf: Set<String> = [], maxInner: Int = 256 * 1024) -> [Tag] {
        let bytes = Array(html.utf8.prefix(limit))
        var found: [Tag] = []
        var innerScans: [String: Int] = [:]
        var i = 0
        let n = bytes.count
        while i < n {
            guard bytes[i] == UInt8(ascii: "<") else { i += 1; continue }
            var j = i + 1
            while j < n, isNameByte(bytes[j]) { j += 1 }
            let name = String(decoding: bytes[(i + 1)..<j], as: UTF8.self).lowercased()
            guard !name.isEmpty else { i += 1; continue }
            // The tag runs to the first '>' outside quotes.
            var attributes: [String: String] = [:]
            var k = j
            var quote: UInt8?
            var end = -1
            var attrStart = j
            while k < n {
                let c = bytes[k]
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    quote = c
                } else if c == UInt8(ascii: ">") {
                    end = k
                    break
                }
                k += 1
            }
            guard end >= 0 else { break }
            if names.contains(name) {
                attributes = parseAttributes(Array(bytes[attrStart..<end]))
                var tag = Tag(name: name, attributes: attributes, inner: nil)
                // At most 200 inner texts per element name: the scan stays linear in the page.
                if innerOf.contains(name), innerScans[name, default: 0] < 200 {
                    innerScans[name, default: 0] += 1
                    let closing = Array("</\(name)".utf8)
                    var m = end + 1
                    var innerEnd = min(n, end + 1 + maxInner)
                    while m + closing.count <= n && m < end + 1 + maxInner {
                        if bytes[m] == UInt8(ascii: "<"), matchesIgnoringCase(bytes, at: m, closing) { innerEnd = m; break }
                        m += 1
                    }
                    tag.inner = String(decoding: bytes[(end + 1)..<innerEnd], as: UTF8.self)
                }
                found.append(tag)
                if found.count >= 5_000 { break }
            }
            attrStart = 0
            i = end + 1
        }
        return found
    }

    /// The text a reader sees without running scripts: the contents of script, style, noscript and
    /// template elements and every tag removed.
    static func visibleText(_ html: String) -> String {
        let bytes = Array(html.utf8.prefix(limit))
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 2)
        var i = 0
        let n = bytes.count
        let hidden = ["script", "style", "noscript", "template"].map { Array("</\($0)".utf8) }
        while i < n {
            if bytes[i] != UInt8(ascii: "<") { out.append(bytes[i]); i += 1; continue }
            var j = i + 1
            while j < n, isNameByte(bytes[j]) { j += 1 }
            let name = String(decoding: bytes[(i + 1)..<j], as: UTF8.self).lowercased()
            var k = j
            while k < n, bytes[k] != UInt8(ascii: ">") { k += 1 }
            out.append(UInt8(ascii: " "))
            i = k + 1
            if let closing = hidden.first(where: { String(decoding: $0.dropFirst(2), as: UTF8.self) == name }) {
                var m = i
                while m + closing.count <= n, !(bytes[m] == UInt8(ascii: "<") && matchesIgnoringCase(bytes, at: m, closing)) { m += 1 }
                i = m
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isNameByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-")
    }

    private static func matchesIgnoringCase(_ bytes: [UInt8], at index: Int, _ needle: [UInt8]) -> Bool {
        guard index + needle.count <= bytes.count else { return false }
        for (offset, c) in needle.enumerated() {
            let b = bytes[index + offset]
            let lower = (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) ? b + 32 : b
            if lower != c { return false }
        }
        return true
    }

    /// `name="value"`, `name='value'`, `name=value` and bare `name`, names lowercased, entities
    /// `&amp;` and `&quot;` decoded in values.
    static func parseAttributes(_ bytes: [UInt8]) -> [String: String] {
        var attributes: [String: String] = [:]
        var i = 0
        let n = bytes.count
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 12 || c == UInt8(ascii: "/") }
        while i < n {
            while i < n, isSpace(bytes[i]) { i += 1 }
            let start = i
            while i < n, !isSpace(bytes[i]), bytes[i] != UInt8(ascii: "=") { i += 1 }
            guard i > start else { i += 1; continue }
            let name = String(decoding: bytes[start..<i], as: UTF8.self).lowercased()
            while i < n, bytes[i] == 32 { i += 1 }
            var value = ""
            if i < n, bytes[i] == UInt8(ascii: "=") {
                i += 1
                while i < n, bytes[i] == 32 { i += 1 }
                if i < n, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") {
                    let q = bytes[i]
                    i += 1
                    let vs = i
                    while i < n, bytes[i] != q { i += 1 }
                    value = String(decoding: bytes[vs..<i], as: UTF8.self)
                    i += 1
                } else {
                    let vs = i
                    while i < n, !isSpace(bytes[i]) { i += 1 }
                    value = String(decoding: bytes[vs..<i], as: UTF8.self)
                }
            }
            if attributes[name] == nil {
                attributes[name] = value.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            }
            if attributes.count >= 64 { break }
        }
        return attributes
    }
}
