import Testing

@testable import JSON

@Suite("Parsing JSON with jansson")
struct JSONParserTests {
    @Test("objects, arrays, numbers, strings and literals round-trip")
    func roundTrip() throws {
        let text = #"{"a":[1,2.5,"x",true,false,null],"b":{"c":-9007199254740993},"d":"é\u0000\n"}"#
        let value = try JSON.parse(text)
        #expect(value["a"]?[0] == .int(1))
        #expect(value["a"]?[1] == .double(2.5))
        #expect(value["b"]?["c"] == .int(-9_007_199_254_740_993))
        #expect(value["d"] == .string("é\u{0}\n"))
        #expect(try JSON.parse(bytes: value.serialized()) == value)
        #expect(try JSON.parse(bytes: value.prettyPrinted()) == value)
    }

    @Test("integers stay integers and reals stay reals")
    func numberKinds() throws {
        #expect(try JSON.parse("1999") == .int(1999))
        #expect(try JSON.parse("1999.0") == .double(1999))
        #expect(try JSON.parse("1e3") == .double(1000))
    }

    @Test("a duplicate key is refused with its place")
    func duplicateKey() {
        do {
            _ = try JSON.parse("{\"a\": 1,\n \"a\": 2}")
            Issue.record("duplicate key accepted")
        } catch let error as JSONParseError {
            #expect(error.code == .duplicateKey)
            #expect(error.line == 2)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("keys equal only under Unicode normalisation are refused, not merged")
    func normalisedDuplicate() {
        #expect(throws: JSONParseError.self) { try JSON.parse(#"{"\u00e9": 1, "e\u0301": 2}"#) }
        #expect(!JSON.string("\u{e9}").isSameValue(as: .string("e\u{301}")))
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSON.parse(bytes: [0x22, 0xC3, 0x28, 0x22]) }
        do { _ = try JSON.parse(bytes: [0x22, 0xFF, 0x22]) } catch let e as JSONParseError {
            #expect(e.code == .invalidUTF8)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("trailing garbage is refused with line and column")
    func trailingGarbage() {
        do {
            _ = try JSON.parse("{\"a\": 1} x")
            Issue.record("trailing data accepted")
        } catch let error as JSONParseError {
            #expect(error.code == .syntax)
            #expect(error.line == 1)
            #expect(error.column > 0)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("nesting deeper than the limit is refused before parsing", arguments: [65, 1000, 100_000])
    func tooDeep(depth: Int) {
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        do {
            _ = try JSON.parse(text)
            Issue.record("deep nesting accepted")
        } catch let error as JSONParseError {
            #expect(error.code == .tooDeep)
            #expect(error.column == 65)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("the error names the line and column of the bracket that went too deep, past escaped quotes")
    func tooDeepPosition() {
        // Strings with escaped quotes and backslashes (and brackets) before the deep part.
        let text = "{\"k\\\"[\": \"x\\\\\",\n  \"deep\": " + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}"
        do {
            _ = try JSON.parse(text)
            Issue.record("deep nesting accepted")
        } catch let error as JSONParseError {
            #expect(error.code == .tooDeep)
            #expect(error.line == 2)
            #expect(error.column == 74, "  \"deep\": is 10 bytes, then the 64th [ makes depth 65")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("brackets inside strings do not count as nesting")
    func bracketsInStrings() throws {
        let text = "[\"" + String(repeating: "[", count: 500) + "\\\"]\"]"
        #expect(try JSON.parse(text)[0]?.stringValue?.hasPrefix("[[[") == true)
    }

    @Test("an empty body is its own error", arguments: ["", "   \n"])
    func empty(text: String) {
        do { _ = try JSON.parse(text) } catch let e as JSONParseError { #expect(e.code == .empty) } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("malformed documents are refused", arguments: ["{", "[1,]", "{'a':1}", "tru", "01", "\"\\x\"", "NaN"])
    func malformed(text: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
    }
}

@Suite("Serialising JSON")
struct JSONSerializationTests {
    @Test("compact output sorts keys and escapes control characters")
    func compact() {
        let value: JSON = ["b": 1, "a": ["x": "q\"\\\u{1}\t"]]
        #expect(value.compactString == #"{"a":{"x":"q\"\\\u0001\t"},"b":1}"#)
    }

    @Test("pretty output indents by two spaces")
    func pretty() {
        let value: JSON = ["a": [1, 2], "e": [:], "f": []]
        #expect(value.prettyString == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"e\": {},\n  \"f\": []\n}\n")
    }

    @Test("canonical form follows RFC 8785: UTF-16 key order and ECMAScript numbers")
    func canonical() throws {
        // RFC 8785 §3.2.3's sorting example.
        let value = try JSON.parse(#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#)
        let keys = String(decoding: value.canonicalized(), as: UTF8.self)
        let order = ["\\r", "1", "\u{80}", "ö", "€", "😀", "דּ"]
        var last = keys.startIndex
        for key in order {
            let range = try #require(keys.range(of: "\"\(key)\""))
            #expect(range.lowerBound >= last)
            last = range.lowerBound
        }
    }

    @Test(
        "numbers print as ECMAScript does",
        arguments: [
            (0.0, "0"), (-0.0, "0"), (1.0, "1"), (1.5, "1.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
            (0.000001, "0.000001"), (1e-7, "1e-7"), (123.456, "123.456"), (-Double.leastNonzeroMagnitude, "-5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"), (4.5, "4.5"), (0.1, "0.1"),
            (333333333.3333333, "333333333.3333333"), (2e-3, "0.002"), (9007199254740992.0, "9007199254740992"),
        ])
    func ecmaNumbers(value: Double, expected: String) {
        #expect(JSON.ecmaScriptString(value) == expected)
    }

    @Test("equal values give equal canonical bytes whatever their key order")
    func canonicalStable() throws {
        let a = try JSON.parse(#"{"b":[1,{"y":2,"x":1}],"a":"z"}"#)
        let b = try JSON.parse(#"{"a":"z","b":[1,{"x":1,"y":2}]}"#)
        #expect(a.canonicalized() == b.canonicalized())
    }
}
