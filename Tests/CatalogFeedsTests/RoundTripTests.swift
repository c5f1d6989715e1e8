import JSON
import StorefrontDomain
import Testing

@testable import CatalogFeeds

@Suite("Exporting the demo catalog and importing it back")
struct RoundTripTests {
    let catalog: Catalog
    let baseURL = "https://shop.example"

    init() throws {
        catalog = try Catalog(json: JSON.parse(String(contentsOfFile: demoCatalogPath(), encoding: .utf8)))
    }

    func export(_ format: MerchantCenterWriter.Format) -> String {
        var out = ""
        let writer = MerchantCenterWriter(format: format, baseURL: baseURL, title: "Cedar & Pine") { out += $0 }
        for product in catalog.products { writer.write(product) }
        writer.finish()
        return out
    }

    /// Ids, prices, stock and variants (ids, prices, stock) as the store reads them.
    func essentials(_ product: Product, stockAsAvailability: Bool = false) -> String {
        func stock(_ n: Int64) -> Int64 { stockAsAvailability ? (n > 0 ? 1 : 0) : n }
        let variants = product.variants.map { "\($0.id):\(($0.price ?? product.price).amount):\(stock($0.inventory))" }
        return "\(product.id) \(product.price.amount) \(product.price.currency) \(stockAsAvailability && !product.variants.isEmpty ? 0 : stock(product.inventory)) [\(variants.joined(separator: " "))]"
    }

    func check(_ imported: Imported, stockAsAvailability: Bool = false) throws {
        #expect(imported.rejections.isEmpty)
        let back = try imported.products.map(Product.init(json:))
        #expect(back.count == catalog.products.count)
        for (a, b) in zip(catalog.products, back) {
            #expect(essentials(a, stockAsAvailability: stockAsAvailability) == essentials(b, stockAsAvailability: stockAsAvailability))
        }
    }

    @Test("Merchant Center TSV")
    func tsv() throws {
        let text = export(.tsv)
        #expect(text.hasPrefix("id\titem_group_id\ttitle\t"))
        #expect(text.contains("\tridgeline-2p-tent\tRidgeline 2P Backpacking Tent\t"))
        #expect(text.contains("\t349.00 USD\t"))
        let imported = run(MerchantCenterTSVImporter(source: ByteSource(string: text)))
        try check(imported)
        let tent = imported.byID["ridgeline-2p-tent"]!
        #expect(tent["weight_grams"] == 1540)
        #expect(tent["category"] == "tents")
        #expect(tent["variants"]?[0]?["attributes"] == ["color": "Sage"])
    }

    @Test("Merchant Center RSS")
    func xml() throws {
        let text = export(.xml)
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:g=\"http://base.google.com/ns/1.0\">"))
        #expect(text.contains("<title>Cedar &amp; Pine</title>"))
        #expect(text.contains("<g:brand>Cedar &amp; Pine</g:brand>"))
        #expect(text.hasSuffix("</channel>\n</rss>\n"))
        let imported = run(MerchantCenterXMLImporter(source: ByteSource(string: text)))
        try check(imported)
        #expect(imported.byID["ridgeline-2p-tent"]?["images"]?.arrayValue?.count == 3)
    }

    @Test("ACP products.jsonl: stock survives as available or not")
    func acp() throws {
        var text = ""
        let writer = ACPFeedWriter(seller: ["name": "Cedar & Pine"], baseURL: baseURL) { text += $0 }
        for product in catalog.products { writer.write(product) }
        #expect(text.split(separator: "\n").count == catalog.products.count)
        let imported = run(ACPFeedImporter(source: ByteSource(string: text)))
        try check(imported, stockAsAvailability: true)
        let tent = imported.byID["ridgeline-2p-tent"]!
        #expect(tent["variants"]?[0]?["name"] == "Sage")
        #expect(tent["description"] == catalog.product("ridgeline-2p-tent")!.source["description"])
    }

    @Test("a product's ACP form is what the gateway serves")
    func acpShape() throws {
        let tent = catalog.product("ridgeline-2p-tent")!
        let json = acpFeedProduct(tent, seller: ["name": "S"], baseURL: baseURL)
        #expect(json["url"] == "https://shop.example/products/ridgeline-2p-tent")
        #expect(json["variants"]?[0]?["id"] == "ridgeline-2p-tent-sage")
        #expect(json["variants"]?[0]?["title"] == "Ridgeline 2P Backpacking Tent — Sage")
        #expect(json["variants"]?[0]?["availability"] == ["available": true, "status": "in_stock"])
        #expect(json["variants"]?[0]?["variant_options"] == [["name": "color", "value": "Sage"]])
    }
}
