import CJansson

/// Why a JSON text was refused, with the place it went wrong.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case syntax = "invalid_json"
        case duplicateKey = "duplicate_key"
        case invalidUTF8 = "invalid_utf8"
        case tooDeep = "nesting_too_deep"
        case numberOutOfRange = "number_out_of_range"
        case empty = "empty_body"
    }

    public var code: Code
    /// 1-based line and column of the offending character (0 when unknown).
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "\(message) at line \(line), column \(column)" }
}

extension JSON {
    /// The deepest nesting of arrays and objects accepted by default.
    public static let defaultMaxDepth = 64

    /// Parses a JSON text with jansson: duplicate keys, invalid UTF-8, trailing data and nesting
    /// deeper than `maxDepth` are refused with a line and column.
    public static func parse(bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws -> JSON {
        try bytes.withUnsafeBufferPointer { try parse(buffer: UnsafeRawBufferPointer($0), maxDepth: maxDepth) }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws -> JSON {
        try parse(bytes: Array(text.utf8), maxDepth: maxDepth)
    }

    public static func parse(buffer: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws -> JSON {
        if let error = checkDepth(buffer, maxDepth: maxDepth) { throw error }
        guard buffer.contains(where: { !isJSONWhitespace($0) }) else {
            throw JSONParseError(code: .empty, line: 1, column: 1, message: "expected a JSON value, found nothing")
        }
        var error = json_error_t()
        guard let base = buffer.baseAddress,
            let root = json_loadb(
                base.assumingMemoryBound(to: CChar.self), buffer.count,
                CJansson_flags_reject_duplicates_decode_any(), &error)
        else {
            throw parseError(from: &error)
        }
        defer { CJansson_decref(root) }
        return try convert(root)
    }

    private static func isJSONWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    private static func parseError(from error: inout json_error_t) -> JSONParseError {
        let text = withUnsafeBytes(of: &error.text) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let code: JSONParseError.Code
        switch json_error_code(&error) {
        case json_error_duplicate_key: code = .duplicateKey
        case json_error_invalid_utf8: code = .invalidUTF8
        case json_error_numeric_overflow: code = .numberOutOfRange
        default: code = .syntax
        }
        return JSONParseError(code: code, line: Int(error.line), column: Int(error.column), message: text)
    }

    /// A scan outside strings for bracket depth, so a hostile body is refused before jansson
    /// builds a tree for it, and the error points at the bracket that went too deep.
    private static func checkDepth(_ buffer: UnsafeRawBufferPointer, maxDepth: Int) -> JSONParseError? {
        var depth = 0, i = 0
        let n = buffer.count
        while i < n {
            let byte = buffer[i]
            if byte == 0x22 {
                // A string: skip to its closing quote (escapes skip the byte after them).
                i += 1
                while i < n {
                    let b = buffer[i]
                    if b == 0x22 { break }
                    i += b == 0x5C ? 2 : 1
                }
            } else if byte == 0x5B || byte == 0x7B {
                depth += 1
                if depth > maxDepth {
                    let (line, column) = position(of: i, in: buffer)
                    return JSONParseError(
                        code: .tooDeep, line: line, column: column, message: "nesting deeper than \(maxDepth) levels")
                }
            } else if byte == 0x5D || byte == 0x7D {
                depth -= 1
            }
            i += 1
        }
        return nil
    }

    /// Line and column (both from 1, columns in bytes) of the byte at `offset`.
    private static func position(of offset: Int, in buffer: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
        var line = 1, lineStart = 0
        for i in 0..<offset where buffer[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return (line, offset - lineStart + 1)
    }

    private static func convert(_ value: UnsafeMutablePointer<json_t>) throws -> JSON {
        switch json_type(rawValue: UInt32(CJansson_typeof(value))) {
        case JSON_NULL: return .null
        case JSON_TRUE: return .bool(true)
        case JSON_FALSE: return .bool(false)
        case JSON_INTEGER: return .int(Int64(json_integer_value(value)))
        case JSON_REAL: return .double(json_real_value(value))
        case JSON_STRING:
            let length = json_string_length(value)
            guard let chars = json_string_value(value) else { return .string("") }
            return .string(
                chars.withMemoryRebound(to: UInt8.self, capacity: length) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                })
        case JSON_ARRAY:
            let count = json_array_size(value)
            var items: [JSON] = []
            items.reserveCapacity(count)
            for i in 0..<count { items.append(try convert(json_array_get(value, i))) }
            return .array(items)
        case JSON_OBJECT:
            var members: [String: JSON] = [:]
            members.reserveCapacity(json_object_size(value))
            var it = CJansson_object_iter(value)
            while let iter = it {
                let keyLength = CJansson_object_iter_key_len(iter)
                let key = CJansson_object_iter_key(iter)!.withMemoryRebound(to: UInt8.self, capacity: keyLength) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: keyLength), as: UTF8.self)
                }
                // Keys that differ in bytes but not as Swift Strings (é vs e + U+0301) would
                // silently collapse into one; refuse them as duplicates.
                guard members[key] == nil else {
                    throw JSONParseError(
                        code: .duplicateKey, line: 0, column: 0,
                        message: "two keys are the same text in different Unicode forms: \(key)")
                }
                members[key] = try convert(CJansson_object_iter_value(iter))
                it = CJansson_object_iter_next(value, iter)
            }
            return .object(members)
        default:
            throw JSONParseError(code: .syntax, line: 0, column: 0, message: "unknown JSON value type")
        }
    }
}
