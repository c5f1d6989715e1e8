import JSON
import Testing

@testable import CatalogFeeds

@Suite("Splitting JSON arrays from a stream")
struct JSONArrayStreamTests {
    func elements(_ text: String, members: [String]? = ["products"], chunk: Int = 7, limit: Int = 1 << 20) throws -> [(String?, String)] {
        let source = ByteSource(bytes: Array(text.utf8), chunkSize: chunk)
        let stream = members.map { JSONArrayStream(source: source, members: $0, maxElementBytes: limit) }
            ?? JSONArrayStream(topLevelArray: source, maxElementBytes: limit)
        var out: [(String?, String)] = []
        while let e = try stream.next() {
            switch e.bytes {
            case .success(let b): out.append((e.member, String(decoding: b, as: UTF8.self)))
            case .failure(let error): out.append((e.member, "error: \(error.message)"))
            }
        }
        return out
    }

    @Test("members in any order, other members skipped, strings with brackets and escaped quotes")
    func membersAnyOrder() throws {
        let text = #"""
             { "meta": {"a": [1, {"b": "]}"}]}, "products" : [ {"id":"a","s":"x\"]}"} ,
            {"id": "b", "n": [1, 2]}, 42, "str", true ], "categories": [{"id":"c"}], "z": null }
            """#
        for chunk in [1, 3, 7, 65536] {
            let got = try elements(text, members: ["categories", "products"], chunk: chunk)
            #expect(got.map(\.0) == ["products", "products", "products", "products", "products", "categories"])
            #expect(got.map(\.1) == [#"{"id":"a","s":"x\"]}"}"#, #"{"id": "b", "n": [1, 2]}"#, "42", #""str""#, "true", #"{"id":"c"}"#])
        }
    }

    @Test("a top-level array, and an empty one")
    func topLevel() throws {
        #expect(try elements(" [ {\"a\":1}, [2] ]\n", members: nil).map(\.1) == [#"{"a":1}"#, "[2]"])
        #expect(try elements("[]", members: nil).isEmpty)
        #expect(try elements("\u{FEFF}[1]", members: nil, chunk: 65536).map(\.1) == ["1"])
        #expect(try elements(#"{"products": []}"#).isEmpty)
    }

    @Test("an element over the limit is that element's error; the next one is read")
    func tooLarge() throws {
        let big = String(repeating: "x", count: 5000)
        let got = try elements(#"{"products": [{"a":"\#(big)"}, {"b":1}]}"#, limit: 1000)
        #expect(got.count == 2)
        #expect(got[0].1.hasPrefix("error: element of 5008 bytes is larger than the limit of 1000"))
        #expect(got[1].1 == #"{"b":1}"#)
    }

    @Test("malformed documents throw with the byte offset")
    func malformed() throws {
        func error(_ text: String, members: [String]? = ["products"]) -> JSONStreamError? {
            do { _ = try elements(text, members: members); return nil } catch { return error as? JSONStreamError }
        }
        #expect(error(#"{"products": [1, 2"#)?.message == "unexpected end of the document")
        #expect(error(#"{"products": [1,, 2]}"#) == JSONStreamError(offset: 16, message: "expected a value"))
        #expect(error(#"{"products": [{"a": 1]]}"#)?.offset == 21)
        #expect(error(#"{"products": {"a": 1}}"#)?.message == "member \"products\" is not an array")
        #expect(error(#"{"other": []}"#)?.message == "no member \"products\" in the document")
        #expect(error(#"{"products": ["abc]}"#)?.message == "unterminated string")
        #expect(error(#"{"products": []} x"#) == JSONStreamError(offset: 17, message: "data after the end of the document"))
        #expect(error("\u{0}\u{1}\u{FF}garbage")?.offset == 0)
        #expect(error(String(repeating: "[", count: 2000), members: nil)?.message == "nesting deeper than 512")
    }
}
