import JSON

/// Equality as JSON Schema defines it for `const`, `enum` and `uniqueItems`: numbers by value
/// (`1` equals `1.0`), objects regardless of key order, and strings code point by code point.
///
/// Swift's `String ==` (and so `JSON.isSameValue(as:)`) compares by canonical equivalence, under
/// which "é" and "e" followed by a combining acute accent are equal; JSON Schema says they differ.
enum SchemaEquality {
    static func equal(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, value) in x {
                guard let other = y[key], equal(value, other) else { return false }
            }
            return true
        default:
            return a.isSameValue(as: b)
        }
    }
}
