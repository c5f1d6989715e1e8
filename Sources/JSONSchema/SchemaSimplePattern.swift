import JSON

/// A matcher for the regular expressions schemas mostly use: an optionally anchored sequence of
/// literals, `.`, `\d`/`\w` (and their negations) and character classes, each with an optional
/// greedy quantifier (`?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`), such as `^[a-z0-9][a-z0-9-]{1,63}$`
/// or `^[A-Z]{3}$`.
///
/// It exists for speed: matching one of these costs a few nanoseconds per character, where a
/// trip through `NSRegularExpression` (and ICU's UTF-16 text) costs microseconds. Anything
/// outside the subset (groups, alternation, lookaround, backreferences, lazy quantifiers, `\s`,
/// `\b`, ...) is not parsed, and ``SchemaRegex`` uses ICU for it. Matching backtracks within a
/// step budget; a pattern and input that would exceed it report `nil` and ICU decides, so a
/// pathological pair never costs more than the budget here.
struct SchemaSimplePattern: Sendable {
    /// Unicode scalar ranges, inclusive, possibly negated.
    struct CharacterSet: Sendable {
        var ranges: [ClosedRange<UInt32>]
        var negated: Bool

        func contains(_ scalar: UInt32) -> Bool {
            var inside = false
            for range in ranges where range.contains(scalar) {
                inside = true
                break
            }
            return inside != negated
        }

        static let digits = CharacterSet(ranges: [0x30...0x39], negated: false)
        static let word = CharacterSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A], negated: false)
        /// ECMA-262's `.`: anything but a line terminator.
        static let dot = CharacterSet(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029], negated: true)
    }

    struct Atom: Sendable {
        var set: CharacterSet
        var min: Int
        var max: Int  // Int.max when unbounded
    }

    let atoms: [Atom]
    let anchoredStart: Bool
    let anchoredEnd: Bool

    static let stepBudget = 20_000

    /// Parses `source`; nil when it uses anything beyond the subset.
    init?(_ source: String) {
        let chars = Array(source.unicodeScalars).map(\.value)
        var i = 0
        var atoms: [Atom] = []
        var start = false, end = false
        if chars.first == 0x5E {  // ^
            start = true
            i = 1
        }
        while i < chars.count {
            let c = chars[i]
            var set: CharacterSet
            switch c {
            case 0x24:  // $ — only as the last character
                guard i == chars.count - 1 else { return nil }
                end = true
                i += 1
                continue
            case 0x2E:  // .
                set = .dot
                i += 1
            case 0x5C:  // backslash
                guard i + 1 < chars.count, let escaped = Self.escape(chars[i + 1], inClass: false) else { return nil }
                set = escaped
                i += 2
            case 0x5B:  // [
                guard let (parsed, next) = Self.characterClass(chars, from: i + 1) else { return nil }
                set = parsed
                i = next
            case 0x5E, 0x7C, 0x28, 0x29, 0x3F, 0x2A, 0x2B, 0x7B, 0x7D, 0x5D:  // ^ | ( ) ? * + { } ]
                return nil
            default:
                set = CharacterSet(ranges: [c...c], negated: false)
                i += 1
            }
            var atom = Atom(set: set, min: 1, max: 1)
            if i < chars.count {
                switch chars[i] {
                case 0x3F: atom.min = 0; atom.max = 1; i += 1
                case 0x2A: atom.min = 0; atom.max = .max; i += 1
                case 0x2B: atom.min = 1; atom.max = .max; i += 1
                case 0x7B:
                    guard let (lower, upper, next) = Self.braces(chars, from: i + 1) else { return nil }
                    atom.min = lower
                    atom.max = upper
                    i = next
                default: break
                }
                // Lazy (`*?`) and possessive-looking forms are left to ICU.
                if i < chars.count, [0x3F, 0x2A, 0x2B, 0x7B].contains(chars[i]) { return nil }
            }
            atoms.append(atom)
        }
        self.atoms = atoms
        anchoredStart = start
        anchoredEnd = end
    }

    /// `\d \D \w \W` and escaped punctuation; nil for everything else (`\s`, `\b`, `\u`, ...).
    static func escape(_ c: UInt32, inClass: Bool) -> CharacterSet? {
        switch c {
        case 0x64: return .digits
        case 0x44: return inClass ? nil : CharacterSet(ranges: CharacterSet.digits.ranges, negated: true)
        case 0x77: return .word
        case 0x57: return inClass ? nil : CharacterSet(ranges: CharacterSet.word.ranges, negated: true)
        default:
            // Only ASCII punctuation escapes stand for themselves in every dialect.
            let punctuation: Set<UInt32> = Set("^$\\.*+?()[]{}|/-_:,#@!%&'\"~`<>=;".unicodeScalars.map(\.value))
            return punctuation.contains(c) ? CharacterSet(ranges: [c...c], negated: false) : nil
        }
    }

    /// A class body after `[`; returns the set and the index after `]`.
    static func characterClass(_ chars: [UInt32], from start: Int) -> (CharacterSet, Int)? {
        var i = start
        var negated = false
        if i < chars.count, chars[i] == 0x5E {
            negated = true
            i += 1
        }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while i < chars.count {
            let c = chars[i]
            if c == 0x5D {
                if first { return nil }  // `[]` and `[^]` are left to ICU's rewrite
                return (CharacterSet(ranges: ranges, negated: negated), i + 1)
            }
            first = false
            var low: UInt32
            if c == 0x5C {
                guard i + 1 < chars.count, let escaped = escape(chars[i + 1], inClass: true) else { return nil }
                i += 2
                guard escaped.ranges.count == 1, escaped.ranges[0].count == 1 else {
                    // \d or \w: a set, which cannot start a range.
                    if i < chars.count, chars[i] == 0x2D, i + 1 < chars.count, chars[i + 1] != 0x5D { return nil }
                    ranges += escaped.ranges
                    continue
                }
                low = escaped.ranges[0].lowerBound
            } else {
                if c == 0x5B { return nil }  // nested-looking classes: ICU's rewrite handles them
                low = c
                i += 1
            }
            if i + 1 < chars.count, chars[i] == 0x2D, chars[i + 1] != 0x5D {
                var high = chars[i + 1]
                if high == 0x5C {
                    guard i + 2 < chars.count, let escaped = escape(chars[i + 2], inClass: true),
                        escaped.ranges.count == 1, escaped.ranges[0].count == 1
                    else { return nil }
                    high = escaped.ranges[0].lowerBound
                    i += 3
                } else {
                    if high == 0x5B { return nil }
                    i += 2
                }
                guard low <= high else { return nil }
                ranges.append(low...high)
            } else {
                ranges.append(low...low)
            }
        }
        return nil
    }

    /// `n}`, `n,}` or `n,m}` after `{`.
    static func braces(_ chars: [UInt32], from start: Int) -> (Int, Int, Int)? {
        var i = start
        func number() -> Int? {
            var value = 0, digits = 0
            while i < chars.count, (0x30...0x39).contains(chars[i]), digits < 6 {
                value = value * 10 + Int(chars[i] - 0x30)
                digits += 1
                i += 1
            }
            return digits > 0 ? value : nil
        }
        guard let lower = number() else { return nil }
        var upper = lower
        if i < chars.count, chars[i] == 0x2C {
            i += 1
            upper = number() ?? .max
        }
        guard i < chars.count, chars[i] == 0x7D, lower <= upper else { return nil }
        return (lower, upper, i + 1)
    }

    /// Whether the pattern occurs in `text` (an unanchored search unless anchored); nil when the
    /// step budget ran out before an answer.
    func matches(_ text: String) -> Bool? {
        let scalars = Array(text.unicodeScalars).map(\.value)
        var steps = 0
        let lastStart = anchoredStart ? 0 : scalars.count
        for start in 0...lastStart {
            switch match(atom: 0, at: start, scalars, &steps) {
            case true?: return true
            case nil: return nil
            case false?: continue
            }
        }
        return false
    }

    private func match(atom index: Int, at position: Int, _ scalars: [UInt32], _ steps: inout Int) -> Bool? {
        steps += 1
        if steps > Self.stepBudget { return nil }
        guard index < atoms.count else { return !anchoredEnd || position == scalars.count }
        let atom = atoms[index]
        // Greedy: take as many as allowed, then give back one at a time.
        var count = 0
        while count < atom.max, position + count < scalars.count, atom.set.contains(scalars[position + count]) {
            count += 1
        }
        guard count >= atom.min else { return false }
        while true {
            switch match(atom: index + 1, at: position + count, scalars, &steps) {
            case true?: return true
            case nil: return nil
            case false?: break
            }
            if count == atom.min { return false }
            count -= 1
        }
    }
}
