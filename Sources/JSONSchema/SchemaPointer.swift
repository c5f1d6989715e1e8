import Foundation
import JSON

/// RFC 6901 JSON Pointer helpers for schema locations and violation paths.
enum SchemaPointer {
    /// Escapes one reference token: `~` becomes `~0`, `/` becomes `~1`.
    static func escape(_ token: String) -> String {
        guard token.contains("~") || token.contains("/") else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func unescape(_ token: Substring) -> String {
        guard token.contains("~") else { return String(token) }
        // Order matters: "~01" is "~1" escaped, so `~1` must be decoded before `~0`.
        return token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }

    /// The unescaped tokens of a pointer, or nil when it is not a pointer (no leading `/`).
    static func tokens(_ pointer: String) -> [String]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(unescape)
    }

    static func appending(_ token: String, to pointer: String) -> String {
        pointer + "/" + escape(token)
    }

    /// The value `pointer` designates inside `root`, if any.
    static func resolve(_ tokens: [String], in root: JSON) -> JSON? {
        var current = root
        for token in tokens {
            switch current {
            case .object(let members):
                guard let next = members[token] else { return nil }
                current = next
            case .array(let items):
                // RFC 6901 array indices: no sign, no leading zeros.
                guard let index = Int(token), String(index) == token, index >= 0, index < items.count else {
                    return nil
                }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }
}
