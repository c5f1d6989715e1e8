import JSON
import StorefrontDomain
import Testing

@testable import CatalogFeeds

@Suite("Importing the store's own catalog.json and JSON Lines")
struct StorefrontImportTests {
    @Test("the demo catalog streams through unchanged, its categories recorded")
    func demoCatalog() throws {
        let importer = StorefrontCatalogImporter(source: try ByteSource(path: demoCatalogPath()))
        let got = run(importer)
        let whole = try JSON.parse(String(contentsOfFile: demoCatalogPath(), encoding: .utf8))
        #expect(got.rejections.isEmpty)
        #expect(got.products == whole["products"]!.arrayValue!)
        #expect(importer.categories.map(\.id) == whole["categories"]!.arrayValue!.map { $0["id"]!.stringValue! })
        #expect(importer.bytesRead == importer.totalBytes)
    }

    @Test("products before categories; bad products rejected by index")
    func orderAndRejections() {
        let text = #"""
            {"products": [
              {"id": "Tent One", "name": "Tent", "category": "tents", "price": {"amount": 100, "currency": "USD"}, "inventory": 2},
              {"id": "tent-one", "name": "Tent again", "category": "tents", "price": {"amount": 100, "currency": "USD"}, "inventory": 2},
              {"name": "No id", "category": "tents", "price": {"amount": 100, "currency": "USD"}, "inventory": 2},
              {"id": "eur", "name": "Euro", "category": "tents", "price": {"amount": 100, "currency": "EUR"}, "inventory": 2},
              {"id": "neg", "name": "Neg", "category": "tents", "price": {"amount": 100, "currency": "USD"}, "inventory": -1},
              [1, 2]
            ], "categories": [{"id": "tents", "name": "Tents"}]}
            """#
        let importer = StorefrontCatalogImporter(source: ByteSource(string: text))
        let got = run(importer)
        #expect(got.products.map { $0["id"]!.stringValue! } == ["tent-one"])
        #expect(got.rejected == ["2 id", "3 id", "4 price", "5 inventory", "6 row"])
        #expect(importer.categories == [FeedCategory(id: "tents", name: "Tents")])
    }

    @Test("JSON Lines: one product a line, blank lines skipped, line numbers in rejections")
    func jsonLines() {
        let text = """
            {"id": "mug", "name": "Mug", "category": "Kitchen", "price": {"amount": 900, "currency": "USD"}, "inventory": 3}

            {"id": "cup", "name": "Cup", "category": "kitchen", "price": {"amount": "9", "currency": "USD"}, "inventory": 3}
            {"id": "bowl", "name": "Bowl", "category": "kitchen", "price": {"amount": 500, "currency": "USD"}, "inventory": 3,
            """
        let importer = StorefrontJSONLinesImporter(source: ByteSource(string: text))
        let got = run(importer)
        #expect(got.products.map { $0["category"]!.stringValue! } == ["kitchen"])
        #expect(got.rejected == ["3 price", "4 row"])
        #expect(importer.categories == [FeedCategory(id: "kitchen", name: "Kitchen")])
    }

    @Test("slugs, amounts and weights")
    func rules() throws {
        #expect(slugify("  Café Crème — 2 × XL!! ") == "cafe-creme-2-xl")
        #expect(slugify(String(repeating: "ab-", count: 40)).count == 64)
        #expect(slugify("日本") == "")
        #expect(minorUnits("19.99", currency: "USD") == 1999)
        #expect(minorUnits("19.9", currency: "USD") == 1990)
        #expect(minorUnits("19.990", currency: "USD") == 1999)
        #expect(minorUnits("19.999", currency: "USD") == nil)
        #expect(minorUnits("1,234", currency: "JPY") == 1234)
        #expect(minorUnits("-1", currency: "USD") == nil)
        #expect(minorUnits("99999999999999999999", currency: "USD") == nil)
        #expect(try grams("1.5 kg") == 1500)
        #expect(try grams("2 lb") == 907)
    }
}
