import JSON
import Testing

@testable import CatalogFeeds

@Suite("Importing Shopify and ACP feeds")
struct ShopifyACPImportTests {
    @Test("Shopify products.json: handle, plain-text description, variants from options")
    func shopify() throws {
        let importer = ShopifyImporter(source: try fixture("shopify-products.json"))
        let got = run(importer)
        #expect(got.products.map { $0["id"]!.stringValue! } == ["ipod-nano", "gift-wrap"])
        #expect(got.rejected == ["3 variants[0].price", "4 handle", "5 id"])
        #expect(got.rejections[0].reason == "\"abc\" is not a price in USD")

        let ipod = got.byID["ipod-nano"]!
        #expect(ipod["name"] == "IPod Nano - 8GB")
        #expect(ipod["description"] == "It's the small iPod with one very big idea: Video. Now the world's most popular music player & more.")
        #expect(ipod["brand"] == "Apple")
        #expect(ipod["category"] == "cult-products")
        #expect(ipod["tags"] == ["Emotive", "Flash Memory", "MP3", "Music"])
        #expect(ipod["weight_grams"] == 567)
        #expect(ipod["inventory"] == 30)
        let variants = ipod["variants"]!.arrayValue!
        #expect(variants.map { $0["id"]!.stringValue! } == ["ipod2008pink", "ipod2008red", "ipod2008black"])
        #expect(variants[0]["attributes"] == ["color": "Pink"])
        #expect(variants[2]["price"] == ["amount": 20950, "currency": "USD"])
        #expect(variants[2]["inventory"] == 0)

        let wrap = got.byID["gift-wrap"]!
        #expect(wrap["variants"] == nil)
        #expect(wrap["price"] == ["amount": 500, "currency": "USD"])
        #expect(wrap["inventory"] == 1)
        #expect(wrap["description"] == "Wrapped by hand.")
        #expect(wrap["category"] == "uncategorized")
    }

    @Test("Shopify prices in currencies of 0 and 3 decimals")
    func currencies() {
        let json = #"{"products": [{"title": "T", "handle": "tea", "variants": [{"title": "Default Title", "price": "1500"}]}]}"#
        let yen = run(ShopifyImporter(source: ByteSource(string: json), options: FeedOptions(defaultCurrency: "JPY")))
        #expect(yen.products.first?["price"] == ["amount": 1500, "currency": "JPY"])
        let dinar = run(ShopifyImporter(source: ByteSource(string: json.replacingOccurrences(of: "1500", with: "1.250")), options: FeedOptions(defaultCurrency: "KWD")))
        #expect(dinar.products.first?["price"] == ["amount": 1250, "currency": "KWD"])
        let fractionalYen = run(ShopifyImporter(source: ByteSource(string: json.replacingOccurrences(of: "1500", with: "15.5")), options: FeedOptions(defaultCurrency: "JPY")))
        #expect(fractionalYen.rejected == ["1 variants[0].price"])
    }

    @Test("ACP products.jsonl: variants, availability as stock, and the bad lines")
    func acp() throws {
        let importer = ACPFeedImporter(source: try fixture("acp-products.jsonl"))
        let got = run(importer)
        #expect(got.products.map { $0["id"]!.stringValue! } == ["prod-classic-tee", "gift-card-25"])
        #expect(got.rejected == ["4 variants[0].price", "5 id", "6 id", "7 variants[0].price", "8 row"])
        #expect(got.rejections[3].reason == "currency EUR differs from the feed's USD (mixed currencies)")

        let tee = got.byID["prod-classic-tee"]!
        #expect(tee["description"] == "A classic cotton tee with a soft feel and relaxed fit.")
        #expect(tee["category"] == "shirts")
        #expect(tee["images"] == ["https://cdn.merchant.example/products/classic-tee/main.jpg"])
        let variants = tee["variants"]!.arrayValue!
        #expect(variants.map { $0["id"]!.stringValue! } == ["sku124-red-m", "sku124-red-l"])
        #expect(variants[0]["attributes"] == ["color": "Red", "size": "Medium"])
        #expect(variants[0]["name"] == "Red / Medium")
        #expect(variants.map { $0["inventory"]! } == [1, 0])
        #expect(variants[1]["price"] == ["amount": 2199, "currency": "USD"])

        let card = got.byID["gift-card-25"]!
        #expect(card["variants"] == nil)
        #expect(card["description"] == "A $25 gift card.")
        #expect(importer.categories == [FeedCategory(id: "shirts", name: "Shirts"), FeedCategory(id: "gift-cards", name: "Gift Cards")])
    }
}
