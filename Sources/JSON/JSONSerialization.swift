import Synchronization
import Foundation

extension JSON {
    /// Compact JSON, keys in sorted order, so equal values always give equal bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(to: &out, indent: nil, level: 0, canonical: false)
        return out
    }

    /// Indented JSON (two spaces), keys in sorted order, for people and documents.
    public func prettyPrinted() -> [UInt8] {
        var out: [UInt8] = []
        write(to: &out, indent: 2, level: 0, canonical: false)
        out.append(0x0A)
        return out
    }

    /// RFC 8785 (JCS) canonical form: keys ordered by UTF-16 code units, numbers as ECMAScript
    /// prints them. Used for hashing, signatures and idempotency comparisons.
    public func canonicalized() -> [UInt8] {
        var out: [UInt8] = []
        write(to: &out, indent: nil, level: 0, canonical: true)
        return out
    }

    /// The RFC 8785 form of an object whose members are given in canonical key order (keys
    /// ordered by UTF-16 code units; checked in debug builds): the same bytes as
    /// `canonicalized()` of that object, without building a dictionary and sorting it (the audit
    /// trail hashes two entries per purchase on the store's writer thread).
    public static func canonicalObject(sortedMembers members: [(key: String, value: JSON)]) -> [UInt8] {
        assert(zip(members, members.dropFirst()).allSatisfy { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) })
        var out: [UInt8] = []
        out.reserveCapacity(384)
        out.append(0x7B)
        for (i, member) in members.enumerated() {
            if i > 0 { out.append(0x2C) }
            writeString(member.key, to: &out)
            out.append(0x3A)
            member.value.write(to: &out, indent: nil, level: 0, canonical: true)
        }
        out.append(0x7D)
        return out
    }

    /// This value serialized once, to embed in a larger document without writing it again.
    public var encoded: EncodedJSON { EncodedJSON(trusted: serialized()) }

    public var compactString: String { String(decoding: serialized(), as: UTF8.self) }
    public var prettyString: String { String(decoding: prettyPrinted(), as: UTF8.self) }

    private func write(to out: inout [UInt8], indent: Int?, level: Int, canonical: Bool) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: JSON.ecmaScriptString(d).utf8)
        case .string(let s): JSON.writeString(s, to: &out)
        case .array(let items):
            out.append(0x5B)
            if items.isEmpty { out.append(0x5D); return }
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(0x2C) }
                JSON.newline(&out, indent: indent, level: level + 1)
                item.write(to: &out, indent: indent, level: level + 1, canonical: canonical)
            }
            JSON.newline(&out, indent: indent, level: level)
            out.append(0x5D)
        case .object(let members):
            out.append(0x7B)
            if members.isEmpty { out.append(0x7D); return }
            // Sorted pairs rather than sorted keys: no second hash lookup per member.
            let sorted =
                canonical
                ? members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
                : members.sorted { JSON.keyPrecedes($0.key, $1.key) }
            for (i, member) in sorted.enumerated() {
                if i > 0 { out.append(0x2C) }
                JSON.newline(&out, indent: indent, level: level + 1)
                JSON.writeString(member.key, to: &out)
                out.append(0x3A)
                if indent != nil { out.append(0x20) }
                member.value.write(to: &out, indent: indent, level: level + 1, canonical: canonical)
            }
            JSON.newline(&out, indent: indent, level: level)
            out.append(0x7D)
        }
    }

    /// The order of keys in compact and pretty output: by Unicode scalar value (UTF-8 bytes),
    /// which is quick to compare and the same on every platform.
    static func keyPrecedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Compact JSON for an object whose members are values or already-serialized JSON, keys in
    /// the same order as ``serialized()``. Lets a large value that was serialized once (to hash
    /// it, or to quote it as text) be embedded again without a second walk.
    public static func serializedObject(_ members: [String: JSON], encoded: [String: EncodedJSON] = [:]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encoded.values.reduce(256) { $0 + $1.bytes.count })
        writeObject(members, encoded: encoded, to: &out)
        return out
    }

    /// As ``serializedObject(_:encoded:)``, appending to `out`.
    public static func writeObject(_ members: [String: JSON], encoded: [String: EncodedJSON], to out: inout [UInt8]) {
        var keys = Array(members.keys)
        for key in encoded.keys where members[key] == nil { keys.append(key) }
        keys.sort(by: keyPrecedes)
        out.append(0x7B)
        for (i, key) in keys.enumerated() {
            if i > 0 { out.append(0x2C) }
            writeString(key, to: &out)
            out.append(0x3A)
            if let value = members[key] {
                value.write(to: &out, indent: nil, level: 0, canonical: false)
            } else {
                out.append(contentsOf: encoded[key]!.bytes)
            }
        }
        out.append(0x7D)
    }

    /// `bytes` (UTF-8 text) as a JSON string, in two passes: measure, then fill an exactly sized
    /// buffer (no per-escape appends, which dominate for quoted JSON full of `"`). Serialized
    /// JSON holds no raw control characters, so quoting it only doubles up `"` and `\`; text with
    /// control characters takes the general path.
    static func quoted(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { input -> [UInt8] in
            var quotes = 0, controls = 0
            for byte in input {
                quotes &+= (byte == 0x22 || byte == 0x5C) ? 1 : 0
                controls &+= byte < 0x20 ? 1 : 0
            }
            guard controls == 0 else {
                var out: [UInt8] = []
                out.reserveCapacity(input.count + quotes + controls * 6 + 2)
                writeEscaped(input, to: &out)
                return out
            }
            let size = input.count + quotes + 2
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                let out = buffer.baseAddress!
                var o = 1
                out[0] = 0x22
                for byte in input {
                    if byte == 0x22 || byte == 0x5C {
                        out[o] = 0x5C
                        o &+= 1
                    }
                    out[o] = byte
                    o &+= 1
                }
                out[o] = 0x22
                count = o &+ 1
            }
        }
    }

    private static func newline(_ out: inout [UInt8], indent: Int?, level: Int) {
        guard let indent else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * level))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Escapes as JCS requires: `"` and `\`, the short forms for \b \t \n \f \r, `\u00xx` for
    /// other control characters, everything else as UTF-8.
    static func writeString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { writeEscaped($0, to: &out) }
    }

    static func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(0x22)
        // Copy runs that need no escaping in one go; escape the rest byte by byte.
        var runStart = 0
        for i in 0..<bytes.count {
            let byte = bytes[i]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            runStart = i + 1
            switch byte {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x08: out.append(0x5C); out.append(0x62)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0C: out.append(0x5C); out.append(0x66)
            case 0x0D: out.append(0x5C); out.append(0x72)
            default:
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        out.append(0x22)
    }

    /// ECMAScript's Number::toString for finite values (RFC 8785 §3.2.2.3); NaN and infinities,
    /// which JSON cannot carry, are written as null.
    public static func ecmaScriptString(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == 0 { return "0" }
        if value.rounded() == value && abs(value) < 1e21 {
            if abs(value) < 9.2e18 { return String(Int64(value)) }
        }
        // Swift's description is the shortest round-tripping digits; re-lay them out ES-style.
        var text = "\(abs(value))"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        var intPart = text, fracPart = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = String(text[..<dot])
            fracPart = String(text[text.index(after: dot)...])
        }
        var digits = intPart + fracPart
        var n = intPart.count + exponent  // position of the decimal point relative to digits
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); n -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let k = digits.count
        let sign = value < 0 ? "-" : ""
        if k <= n && n <= 21 {
            return sign + digits + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            let i = digits.index(digits.startIndex, offsetBy: n)
            return sign + digits[..<i] + "." + digits[i...]
        } else if -6 < n && n <= 0 {
            return sign + "0." + String(repeating: "0", count: -n) + digits
        }
        let e = n - 1
        let mantissa = k == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
        return sign + mantissa + "e" + (e >= 0 ? "+" : "-") + String(abs(e))
    }
}

/// Compact JSON bytes produced by ``JSON/serialized()``, embedded verbatim by
/// ``JSON/serializedObject(_:encoded:)``. Only this module makes them, so they are well-formed.
///
/// The bytes sit in a shared box that can also keep one form derived from them (see
/// ``derived(_:_:)``), so a result kept and sent many times is transformed once.
public struct EncodedJSON: Sendable {
    private final class Derived: Sendable {
        let key: String
        let value: EncodedJSON

        init(key: String, value: EncodedJSON) {
            self.key = key
            self.value = value
        }
    }

    private final class Storage: Sendable {
        let bytes: [UInt8]
        /// Set once, then read without a lock by every thread.
        let derived = AtomicLazyReference<Derived>()

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
        }
    }

    private let storage: Storage

    public var bytes: [UInt8] { storage.bytes }

    init(trusted bytes: [UInt8]) {
        storage = Storage(bytes)
    }

    /// The bytes as a string (they are UTF-8).
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// A form derived from these bytes (quoted inside an envelope, say), made on first use and
    /// kept with them under `key`. One form is kept per value: asking for another key makes it
    /// afresh each time.
    public func derived(_ key: String, _ make: (EncodedJSON) -> EncodedJSON) -> EncodedJSON {
        if let kept = storage.derived.load() {
            return kept.key == key ? kept.value : make(self)
        }
        let made = storage.derived.storeIfNil(Derived(key: key, value: make(self)))
        return made.key == key ? made.value : make(self)
    }
}

extension EncodedJSON {
    /// A JSON string whose text is `json` (as MCP's text content quotes a structured result).
    public static func quoting(_ json: EncodedJSON) -> EncodedJSON {
        EncodedJSON(trusted: JSON.quoted(json.bytes))
    }

    /// The value again, parsed (the bytes are well-formed: this module wrote them).
    public var value: JSON { (try? JSON.parse(bytes: bytes)) ?? .null }

    /// An object of values and already-serialized members, keys in serialization order.
    public static func object(_ members: [String: JSON], encoded: [String: EncodedJSON] = [:]) -> EncodedJSON {
        EncodedJSON(trusted: JSON.serializedObject(members, encoded: encoded))
    }

    /// An array of already-serialized items.
    public static func array(_ items: [EncodedJSON]) -> EncodedJSON {
        var out: [UInt8] = [0x5B]
        out.reserveCapacity(items.reduce(2) { $0 + $1.bytes.count + 1 })
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(contentsOf: item.bytes)
        }
        out.append(0x5D)
        return EncodedJSON(trusted: out)
    }
}

/// An object whose members are serialized once, to which a few members are added at each use:
/// the fixed part of a product summary, say, with its current rating. The bytes are the same as
/// serializing the whole object as a ``JSON`` value.
public struct EncodedObjectTemplate: Sendable {
    /// `"key":value` for each fixed member, in serialization order.
    private let segments: [(key: String, bytes: [UInt8])]

    public init(_ members: [String: JSON]) {
        segments = members.sorted { JSON.keyPrecedes($0.key, $1.key) }.map { ($0.key, Self.segment($0.key, $0.value.serialized())) }
    }

    /// The object with `members` and `encoded` added (they replace fixed members of the same name).
    public func encoded(adding members: [String: JSON] = [:], encoded: [String: EncodedJSON] = [:]) -> EncodedJSON {
        var extra: [(key: String, bytes: [UInt8])] = []
        extra.reserveCapacity(members.count + encoded.count)
        for (key, value) in members { extra.append((key, Self.segment(key, value.serialized()))) }
        for (key, value) in encoded where members[key] == nil { extra.append((key, Self.segment(key, value.bytes))) }
        if extra.count > 1 { extra.sort { JSON.keyPrecedes($0.key, $1.key) } }
        var size = 2 + segments.count + extra.count
        for segment in segments { size += segment.bytes.count }
        for segment in extra { size += segment.bytes.count }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        out.append(0x7B)
        var i = 0, j = 0
        while i < segments.count || j < extra.count {
            if out.count > 1 { out.append(0x2C) }
            if j == extra.count || (i < segments.count && JSON.keyPrecedes(segments[i].key, extra[j].key)) {
                out.append(contentsOf: segments[i].bytes)
                i += 1
            } else {
                if i < segments.count && segments[i].key == extra[j].key { i += 1 }  // replaced
                out.append(contentsOf: extra[j].bytes)
                j += 1
            }
        }
        out.append(0x7D)
        return EncodedJSON(trusted: out)
    }

    /// `"key":value`.
    private static func segment(_ key: String, _ value: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count + value.count + 3)
        JSON.writeString(key, to: &bytes)
        bytes.append(0x3A)
        bytes.append(contentsOf: value)
        return bytes
    }
}
