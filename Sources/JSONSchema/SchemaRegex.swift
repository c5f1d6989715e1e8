import Foundation
import JSON

/// A `pattern` or `patternProperties` regular expression, compiled once.
///
/// JSON Schema patterns are ECMA-262 regular expressions; `NSRegularExpression` speaks ICU. The
/// constructs where the two disagree in ways schemas run into are rewritten before compiling:
/// `\d` and `\w` are ASCII-only in ECMA-262 (ICU would accept Arabic-Indic digits in a price),
/// `$` means end of input (ICU would also match before a final newline), and ICU's character
/// classes treat `[` and `&&` as set syntax where ECMA-262 reads them literally.
final class SchemaRegex: @unchecked Sendable {
    /// The pattern as the schema wrote it.
    let source: String
    private let regex: NSRegularExpression
    /// The same pattern for the quick matcher, when it is simple enough (most schema patterns).
    private let simple: SchemaSimplePattern?

    init(_ source: String) throws {
        self.source = source
        regex = try NSRegularExpression(pattern: Self.icuPattern(fromECMA: source), options: [])
        simple = SchemaSimplePattern(source)
    }

    /// Unanchored search, as JSON Schema's `pattern` specifies.
    func matches(_ text: String) -> Bool {
        if let simple, let answer = simple.matches(text) { return answer }
        return icuMatches(text)
    }

    /// The same search through ICU only (tests compare the two).
    func icuMatches(_ text: String) -> Bool {
        let range = NSRange(location: 0, length: text.utf16.count)
        return regex.firstMatch(in: text, options: [], range: range) != nil
    }

    static func icuPattern(fromECMA source: String) -> String {
        var out = ""
        var inClass = false
        var chars = Array(source.unicodeScalars)
        var i = 0
        // A trailing lone backslash is an error in both dialects; let ICU report it.
        if chars.last == "\\" && (chars.count < 2 || chars[chars.count - 2] != "\\") { chars.append("\\") }
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count {
                let next = chars[i + 1]
                i += 2
                switch (next, inClass) {
                case ("d", false): out += "[0-9]"
                case ("d", true): out += "0-9"
                case ("D", false): out += "[^0-9]"
                case ("w", false): out += "[a-zA-Z0-9_]"
                case ("w", true): out += "a-zA-Z0-9_"
                case ("W", false): out += "[^a-zA-Z0-9_]"
                default: out += "\\" + String(Character(next))
                }
                continue
            }
            i += 1
            if inClass {
                switch c {
                case "]":
                    inClass = false
                    out += "]"
                case "[", "&": out += "\\" + String(Character(c))
                default: out.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "[":
                // ECMA-262 `[]` matches nothing and `[^]` matches anything; ICU rejects both.
                if i < chars.count, chars[i] == "]" {
                    out += "(?!)"
                    i += 1
                } else if i + 1 < chars.count, chars[i] == "^", chars[i + 1] == "]" {
                    out += "(?s:.)"
                    i += 2
                } else {
                    inClass = true
                    out += "["
                    if i < chars.count, chars[i] == "^" {
                        out += "^"
                        i += 1
                    }
                }
            case "$": out += "\\z"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
