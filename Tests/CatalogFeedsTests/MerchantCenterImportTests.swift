import JSON
import Testing

@testable import CatalogFeeds

@Suite("Importing Google Merchant Center feeds")
struct MerchantCenterImportTests {
    @Test("TSV: products, a variant group, and each bad row's rejection")
    func tsv() throws {
        let importer = MerchantCenterTSVImporter(source: try fixture("gmc-products.tsv"))
        let got = run(importer)
        #expect(got.products.map { $0["id"]!.stringValue! } == ["tddy123uk", "polo-1", "cafe-mug-2"])
        #expect(got.rejected == ["5 price", "6 id", "7 id", "8 price", "10 row", "11 price", "12 availability"])
        #expect(got.rejections[0].reason == "\"abc USD\" is not a price")
        #expect(got.rejections[0].id == "bad-price-1")
        #expect(got.rejections[1].reason == "missing")
        #expect(got.rejections[2].reason == "duplicate id tddy123uk")
        #expect(got.rejections[3].reason == "currency EUR differs from the feed's USD (mixed currencies)")
        #expect(got.rejections[4].reason == "unterminated quoted field in column 1")
        #expect(got.rejections[5].reason == "\"XYZ\" is not an ISO 4217 currency")

        let tee = got.byID["tddy123uk"]!
        #expect(tee["name"] == "Google Tee")
        #expect(tee["description"] == "Soft cotton tee\twith the Google logo. \"Classic\" fit.")
        #expect(tee["price"] == ["amount": 1500, "currency": "USD"])
        #expect(tee["inventory"] == 1)
        #expect(tee["category"] == "shirts-tops")
        #expect(tee["attributes"]?["gtin"] == "3234567890126")
        #expect(tee["images"] == ["https://www.example.com/image1.jpg"])

        let polo = got.byID["polo-1"]!
        #expect(polo["category"] == "polo-shirts")
        #expect(polo["price"] == ["amount": 2500, "currency": "USD"])
        #expect(polo["inventory"] == 2)
        let variants = polo["variants"]!.arrayValue!
        #expect(variants.map { $0["id"]!.stringValue! } == ["polo-s-red", "polo-m-red", "polo-l-red"])
        #expect(variants[0]["name"] == "Red / S")
        #expect(variants[0]["attributes"] == ["color": "Red", "size": "S"])
        #expect(variants[0]["price"] == nil)
        #expect(variants[2]["price"] == ["amount": 2000, "currency": "USD"])
        #expect(variants[2]["inventory"] == 0)

        let mug = got.byID["cafe-mug-2"]!
        #expect(mug["price"] == ["amount": 129_900, "currency": "USD"])
        #expect(mug["inventory"] == 0)
        #expect(mug["weight_grams"] == 350)
        #expect(mug["category"] == "gpc-505")
        #expect(importer.categories.map(\.id) == ["shirts-tops", "polo-shirts", "gpc-505"])
        #expect(importer.categories[0].name == "Shirts & Tops")
    }

    @Test("XML: g: and RSS elements, CDATA, entities, comments, nested elements skipped")
    func xml() throws {
        let importer = MerchantCenterXMLImporter(source: try fixture("gmc-products.xml"))
        let got = run(importer)
        #expect(got.products.map { $0["id"]!.stringValue! } == ["tv-123456", "db-1", "tee"])
        #expect(got.rejected == ["5 price", "6 id", "7 id", "8 price"])
        #expect(got.rejections[0].reason == "\"ten dollars\" is not a price")

        let tv = got.byID["tv-123456"]!
        #expect(tv["name"] == "LG 22LB4510 - 22\" LED TV - 1080p (FullHD)")
        #expect(tv["price"] == ["amount": 15900, "currency": "USD"])
        #expect(tv["brand"] == "LG")
        #expect(tv["category"] == "flat-panel-tvs")
        #expect(tv["attributes"]?["condition"] == "used")
        #expect(tv["attributes"]?["shipping"] == nil)

        let bowl = got.byID["db-1"]!
        #expect(bowl["name"] == "Dog Bowl </item> & Co's \"Best\"")
        #expect(bowl["description"] == "Stainless steel & rubber; the dog's favourite \u{2013} dishwasher safe.")
        #expect(bowl["images"]?.arrayValue?.count == 3)
        #expect(bowl["category"] == "dog-supplies")

        let tee = got.byID["tee"]!
        #expect(tee["variants"]?.arrayValue?.map { $0["inventory"]! } == [12, 0])
        #expect(tee["inventory"] == 12)
    }

    @Test("hostile input: binary garbage, a huge line, unterminated CDATA never crash")
    func hostile() throws {
        var garbage = [UInt8]("id\ttitle\tprice\tavailability\n".utf8)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 { garbage.append(UInt8.random(in: 0...255, using: &rng)) }
        _ = run(MerchantCenterTSVImporter(source: ByteSource(bytes: garbage)))
        _ = run(MerchantCenterXMLImporter(source: ByteSource(bytes: garbage)))
        _ = run(StorefrontJSONLinesImporter(source: ByteSource(bytes: garbage)))
        _ = run(ShopifyImporter(source: ByteSource(bytes: garbage)))

        let huge = "id\ttitle\tprice\tavailability\n" + String(repeating: "x", count: 10 << 20) + "\nok-1\tOK\t1.00 USD\tin_stock\n"
        let tsv = run(MerchantCenterTSVImporter(source: ByteSource(string: huge)))
        #expect(tsv.rejected == ["1 row"])
        #expect(tsv.products.count == 1)

        let cdata = "<rss><channel><item><g:id>a1</g:id><title><![CDATA[never closed</title></item></channel></rss>"
        let xml = run(MerchantCenterXMLImporter(source: ByteSource(string: cdata)))
        #expect(xml.products.isEmpty)
        #expect(xml.rejections.map(\.field) == ["feed"])
        #expect(xml.rejections.first?.reason == "unterminated <item> at byte 14")

        let noHeader = run(MerchantCenterTSVImporter(source: ByteSource(string: "title\tprice\nx\t1.00 USD\n")))
        #expect(noHeader.rejections == [FeedRejection(row: 0, id: nil, field: "feed", reason: "the header has no id column")])
    }

    @Test("a group's rows must be together")
    func splitGroup() {
        let tsv = """
            id\ttitle\tprice\tavailability\titem_group_id\tsize
            aa-s\tA\t1.00 USD\tin_stock\tAA\tS
            bb\tB\t1.00 USD\tin_stock\t\t
            aa-m\tA\t1.00 USD\tin_stock\tAA\tM

            """
        let got = run(MerchantCenterTSVImporter(source: ByteSource(string: tsv)))
        #expect(got.products.map { $0["id"]!.stringValue! } == ["aa", "bb"])
        #expect(got.rejected == ["3 item_group_id"])
    }
}
