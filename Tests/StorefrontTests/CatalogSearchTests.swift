import Foundation
import JSON
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

@Suite("Searching the catalog", .serialized)
struct CatalogSearchTests {
    let index: SQLiteCatalogIndex
    let catalog: Catalog
    let database: StoreDatabase

    init() throws {
        catalog = try Fixtures.demoStore().catalog
        database = try Fixtures.temporaryStore()
        let stored = StoredCatalog(database: database)
        index = SQLiteCatalogIndex(database: database, catalogVersion: { stored.version })
        try Self.load(catalog, into: database)
    }

    static func load(_ catalog: Catalog, into database: StoreDatabase) throws {
        let products = catalog.products, categories = catalog.categories
        let next = Counter()
        try CatalogEditor(database: database).importFeed(
            origin: "manifest", replace: true, stock: .seedMissing, categories: { categories },
            next: { next.value < products.count ? products[next.take()] : nil })
    }

    final class Counter: @unchecked Sendable {
        var value = 0
        func take() -> Int {
            defer { value += 1 }
            return value
        }
    }

    @Test("words find products by name, and every hit contains the word")
    func words() throws {
        let page = try index.search(CatalogQuery(text: "tent", limit: 50))
        #expect(page.total > 0)
        let first = try #require(catalog.product(page.productIDs[0]))
        #expect(first.name.lowercased().contains("tent"))
    }

    @Test("FTS syntax in the input is treated as words, not operators")
    func hostileText() throws {
        for text in ["tent OR", "\"unclosed", "NEAR(a b)", "*", "col:value", "-", "'; DROP TABLE catalog_fts; --"] {
            _ = try index.search(CatalogQuery(text: text))
        }
    }

    @Test("filters narrow the results: category, price range and stock")
    func filters() throws {
        let page = try index.search(CatalogQuery(category: "tents", minPrice: 10000, maxPrice: 40000, inStock: true, limit: 100))
        #expect(!page.productIDs.isEmpty)
        for id in page.productIDs {
            let product = try #require(catalog.product(id))
            #expect(product.category == "tents")
            #expect((10000...40000).contains(product.price.amount))
            #expect(product.inStock)
        }
        let soldOut = try index.search(CatalogQuery(inStock: false, limit: 100))
        #expect(soldOut.productIDs.allSatisfy { catalog.product($0)?.inStock == false })
        #expect(!soldOut.productIDs.isEmpty)
    }

    @Test("paging walks every product exactly once")
    func paging() throws {
        var seen: [String] = []
        var after: CatalogPosition?
        while true {
            let page = try index.search(CatalogQuery(limit: 7, after: after))
            seen += page.productIDs
            #expect(page.total == catalog.products.count)
            guard let next = page.next else { break }
            after = next
        }
        #expect(seen == catalog.products.map(\.id))
        // A word search pages through every match once, ranked as one list while it fits a window.
        var words: [String] = []
        after = nil
        repeat {
            let page = try index.search(CatalogQuery(text: "tent", limit: 3, after: after))
            words += page.productIDs
            after = page.next
        } while after != nil
        let whole = try index.search(CatalogQuery(text: "tent", limit: 100))
        #expect(words == whole.productIDs)
        #expect(words.count == whole.total && !whole.totalIsEstimate)
        #expect(catalog.product(words[0])?.name.lowercased().contains("tent") == true)
    }

    @Test("a partial word finds products only when no whole word matches")
    func prefixFallback() throws {
        let partial = try index.search(CatalogQuery(text: "backpa", limit: 100))
        #expect(!partial.productIDs.isEmpty)
        let whole = try index.search(CatalogQuery(text: "backpack", limit: 100))
        #expect(!whole.productIDs.isEmpty)
    }

    @Test("totals and facets are exact for the whole catalog and scaled from a part of it")
    func estimates() {
        let small = CatalogPage.counts(categories: ["a", "b", "a"], span: 1001, exact: true, lastPosition: 1000)
        #expect(small.total == 3 && !small.estimate)
        #expect(small.categories.map(\.id) == ["a", "b"] && small.categories.map(\.count) == [2, 1])
        // 100 matches in the first 400 positions of 4,000: about ten times as many in all.
        let large = CatalogPage.counts(categories: (0..<100).map { $0 % 4 == 0 ? "b" : "a" }, span: 400, exact: false, lastPosition: 3999)
        #expect(large.estimate && large.total == 1000)
        #expect(large.categories.map(\.id) == ["a", "b"] && large.categories.map(\.count) == [750, 250])
    }

    @Test("a cursor only works for the query that issued it")
    func cursor() {
        let a = CatalogQuery(text: "tent"), b = CatalogQuery(text: "boot")
        let cursor = CatalogCursor.encode(CatalogPosition(position: 20, skip: 3, prefix: true), fingerprint: a.fingerprint)
        #expect(CatalogCursor.decode(cursor, fingerprint: a.fingerprint) == CatalogPosition(position: 20, skip: 3, prefix: true))
        #expect(CatalogCursor.decode(cursor, fingerprint: b.fingerprint) == nil)
        #expect(CatalogCursor.decode("not a cursor!", fingerprint: a.fingerprint) == nil)
    }
}

@Suite("search_catalog written from serialized parts")
struct EncodedSearchTests {
    /// The bytes search_catalog writes from prebuilt summaries must be exactly the bytes of the
    /// same result built as a value and serialized, for every kind of page.
    @Test("the written result equals the value-built one, byte for byte")
    func sameBytes() throws {
        let gateway = try Fixtures.gateway()
        let context = ActionContext(requestID: "test")
        let cases: [JSON] = [
            ["query": "tent", "limit": 3], ["query": "tent"], ["category": "footwear", "in_stock": true],
            ["min_price": 1000, "max_price": 20000, "limit": 100], ["query": "zzzz-no-such-word"], [:],
        ]
        for arguments in cases {
            let outcome = gateway.actions.callWaiting("search_catalog", arguments: arguments, context: context)
            let encoded = try #require(outcome.encodedSuccess, "\(arguments)")
            let value = encoded.value
            let ids = value["products"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            let expected: JSON = [
                "products": .array(gateway.views.summaries(gateway.catalog.products(ids))),
                "total": value["total"] ?? .null,
                "total_is_estimate": value["total_is_estimate"] ?? .null,
                "facets": value["facets"] ?? .null,
                "next_cursor": value["next_cursor"] ?? .null,
                "categories": gateway.views.categories,
            ]
            #expect(encoded.bytes == expected.serialized(), "\(arguments)")
            #expect(value["total"]?.intValue ?? -1 >= Int64(ids.count))
        }
        // Paging through with the cursor reaches every product once.
        var seen: [String] = []
        var arguments: JSON = ["limit": 10]
        while true {
            let page = try gateway.actions.call("search_catalog", arguments: arguments, context: context).get()
            seen += page["products"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            guard let cursor = page["next_cursor"]?.stringValue else { break }
            arguments = ["limit": 10, "cursor": .string(cursor)]
        }
        #expect(seen.count == gateway.manifests.catalog.products.count)
        #expect(Set(seen).count == seen.count)
    }
}
