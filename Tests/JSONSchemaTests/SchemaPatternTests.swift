import Foundation
import Testing

@testable import JSON
@testable import JSONSchema

/// The quick matcher for simple patterns must agree with ICU (through the ECMA-262 rewrite) on
/// every pattern it accepts, and must decline the patterns it does not understand.
@Suite("Schema patterns: quick matcher vs ICU")
struct SchemaPatternTests {
    static let patterns = [
        "^[a-z0-9][a-z0-9-]{1,63}$", "^[A-Z]{3}$", "^\\d+$", "\\d", "^[^@]+@[^@]+\\.[a-z]{2,}$", "a.c", "^a*$",
        "^a*a$", "^(?:x)$", "ab?c", "^[\\w.-]+$", "^sk_[A-Za-z0-9]{8,}$", "[^0-9]", "^\\W+$", "^\\D*$", "x{2,}",
        "^.{0,5}$", "^[-a]+$", "^[a-]+$", "^[\\-+]?\\d{1,3}$", "café", "^[à-ÿ]+$", "^\\$\\d+\\.\\d{2}$", "a{0}b",
        "^[0-9a-f]{8}-[0-9a-f]{4}$",
    ]
    static let texts = [
        "", "a", "abc", "ac", "aac", "aaaa", "ab-c", "USD", "usd", "US", "USDX", "12", "１２", "٣", "a1", "x-y_z.w",
        "sk_ABCDEFGH", "sk_ABC", "foo@bar.com", "foo@bar", "1.5", "$12.50", "+123", "-1234", "café", "CAFÉ", "éà",
        "line\nbreak", "tab\there", "trailing\n", "xx", "x", "b", "ab", "deadbeef-cafe", "DEADBEEF-cafe",
        String(repeating: "a", count: 64), String(repeating: "a", count: 65), "a\u{2028}c", "a\rc",
        "😀x😀",
    ]

    @Test func agreesWithICUOnEveryAcceptedPattern() throws {
        var compared = 0
        for pattern in Self.patterns {
            let regex = try SchemaRegex(pattern)
            guard let simple = SchemaSimplePattern(pattern) else { continue }
            for text in Self.texts {
                #expect(simple.matches(text) == regex.icuMatches(text), "pattern \(pattern) on \(text.debugDescription)")
                compared += 1
            }
        }
        #expect(compared > 20 * Self.texts.count)
    }

    /// Where ICU and ECMA-262 differ, the quick matcher follows ECMA-262: `.` stops only at
    /// \n, \r, U+2028 and U+2029, so it matches NEL (U+0085), which ICU treats as a line end.
    @Test func dotFollowsECMA262() throws {
        let simple = try #require(SchemaSimplePattern("^a.c$"))
        #expect(simple.matches("a\u{0085}c") == true)
        #expect(simple.matches("a\u{2028}c") == false)
        #expect(simple.matches("a\nc") == false)
    }

    @Test func declinesWhatItDoesNotUnderstand() {
        for pattern in ["^(a|b)$", "a|b", "(?=x)", "\\s", "\\bword", "a*?", "^[a-z]{2}(x)$", "\\1", "[]", "[^]", "\\u0041",
            "^a$b", "a^"]
        {
            #expect(SchemaSimplePattern(pattern) == nil, "\(pattern)")
        }
        for pattern in ["^[a-z0-9][a-z0-9-]{1,63}$", "^[A-Z]{3}$", "\\d{2,}", "^\\w+$"] {
            #expect(SchemaSimplePattern(pattern) != nil, "\(pattern)")
        }
    }

    @Test func aPathologicalPatternFallsBackInsteadOfSpinning() throws {
        // Nested-looking greed that backtracks a lot: the budget runs out and ICU answers.
        let pattern = "^a*a*a*a*a*a*a*b$"
        let simple = try #require(SchemaSimplePattern(pattern))
        let text = String(repeating: "a", count: 24)
        #expect(simple.matches(text) == nil)
        #expect(try SchemaRegex(pattern).matches(text) == false)
        #expect(try SchemaRegex(pattern).matches(text + "b") == true)
    }
}

@Suite("Serialized parts")
struct EncodedJSONTests {
    @Test("a template with added members writes the same bytes as the whole value")
    func templates() throws {
        let fixed: [String: JSON] = [
            "id": "a", "name": "Zelt \"Größe\" 2", "price": ["amount": 100, "currency": "EUR"], "z": .null, "é": true,
            "rating": 1,
        ]
        let template = EncodedObjectTemplate(fixed)
        let cases: [[String: JSON]] = [[:], ["rating": ["average": 4.5, "count": 2]], ["aa": 1, "zz": [1, 2], "ü": "x"], ["id": "b"]]
        for extra in cases {
            let whole = JSON.object(fixed.merging(extra) { $1 })
            #expect(template.encoded(adding: extra).bytes == whole.serialized())
            #expect(template.encoded(encoded: extra.mapValues(\.encoded)).bytes == whole.serialized())
        }
        #expect(EncodedObjectTemplate([:]).encoded().bytes == Array("{}".utf8))
    }

    @Test("quoting serialized JSON gives the string a parser reads back as the same text")
    func quoting() throws {
        let value: JSON = ["text": "line\nbreak \"quoted\" back\\slash \u{01} tab\t é 😀", "n": [1, 2.5, -3]]
        let encoded = value.encoded
        let quoted = EncodedJSON.quoting(encoded)
        #expect(try JSON.parse(bytes: quoted.bytes) == .string(encoded.string))
        var viaString: [UInt8] = []
        JSON.writeString(encoded.string, to: &viaString)
        #expect(quoted.bytes == viaString)
    }

    @Test("a derived form is made once per value and key, from any number of threads")
    func derivedForms() async {
        final class Count: @unchecked Sendable {
            let lock = NSLock()
            var made = 0
        }
        let count = Count()
        let encoded = JSON.array([1, "two"]).encoded
        let wrap: @Sendable (EncodedJSON) -> EncodedJSON = { e in
            count.lock.withLock { count.made += 1 }
            return .array([e, .quoting(e)])
        }
        let forms = await withTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 { group.addTask { encoded.derived("pair", wrap).bytes } }
            return await group.reduce(into: [[UInt8]]()) { $0.append($1) }
        }
        #expect(Set(forms).count == 1)
        #expect(forms[0] == Array(#"[[1,"two"],"[1,\"two\"]"]"#.utf8))
        #expect(count.made <= 8)  // racing threads may each make it; afterwards it is kept
        let before = count.made
        _ = encoded.derived("pair", wrap)
        #expect(count.made == before, "kept")
        // Another key is made afresh (one form is kept per value), and the kept one stays.
        #expect(encoded.derived("other") { e in .array([e]) }.bytes == Array(#"[[1,"two"]]"#.utf8))
        #expect(encoded.derived("pair", wrap).bytes == forms[0] && count.made == before)
    }

    @Test("objects of values and serialized members keep the serialization order")
    func objects() throws {
        let members: [String: JSON] = ["b": 1, "d": [true]]
        let encoded: [String: EncodedJSON] = ["a": JSON.string("x").encoded, "c": JSON.object(["k": .null]).encoded]
        let expected: JSON = ["a": "x", "b": 1, "c": ["k": .null], "d": [true]]
        #expect(JSON.serializedObject(members, encoded: encoded) == expected.serialized())
        #expect(EncodedJSON.array([JSON.int(1).encoded, expected.encoded]).bytes == JSON.array([1, expected]).serialized())
    }
}
