import Foundation
import JSON
import StorefrontDomain

/// Shopify's `products.json` (`{"products": [...]}`, the storefront's public endpoint or an
/// Admin API export), streamed a product at a time. The handle becomes the id, body_html plain
/// text, product_type the category, vendor the brand; prices are decimal strings in
/// `FeedOptions.defaultCurrency` (Shopify does not say which).
public final class ShopifyImporter: FeedImporter {
    private let stream: JSONArrayStream
    private let checks = FeedChecks()
    private let options: FeedOptions
    private var finished = false

    public init(source: ByteSource, options: FeedOptions = FeedOptions()) {
        stream = JSONArrayStream(source: source, members: ["products"], maxElementBytes: options.maxRowBytes)
        self.options = options
    }

    public var categories: [FeedCategory] { checks.categories }
    public var bytesRead: Int64 { stream.bytesRead }
    public var totalBytes: Int64? { stream.totalBytes }

    public func next() -> FeedItem? {
        guard !finished else { return nil }
        let element: JSONArrayStream.Element?
        do { element = try stream.next() } catch {
            finished = true
            return .rejected(FeedRejection(row: 0, id: nil, field: "feed", reason: "\(error)"))
        }
        guard let element else {
            finished = true
            return nil
        }
        switch parseElement(element.bytes, row: element.index) {
        case .failure(let rejection): return .rejected(rejection)
        case .success(let json): return product(json, row: element.index)
        }
    }

    private func product(_ json: JSON, row: Int) -> FeedItem {
        let rawID = nonEmpty(json["handle"]?.stringValue) ?? nonEmpty(json["title"]?.stringValue)
        do throws(FieldError) {
            let currency = try currencyCode(options.defaultCurrency, field: "currency")
            try checks.checkCurrency(currency, field: "currency")
            let id = try checks.slug(rawID, field: "handle")
            try checks.checkNewProduct(id)
            guard let title = nonEmpty(json["title"]?.stringValue) else { throw FieldError("title", "missing") }
            guard let variants = json["variants"]?.arrayValue, !variants.isEmpty else { throw FieldError("variants", "missing") }
            // Option names by position ("Color", "Size"): a variant's option1..3 are their values.
            let optionNames: [String] = (json["options"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? $0.stringValue ?? "").lowercased() }
            var drafts: [ProductDraft.Variant] = []
            for (i, v) in variants.enumerated() {
                let field = "variants[\(i)]"
                let price = try money(v["price"], currency: currency, field: field + ".price")
                let vid = try checks.slug(nonEmpty(v["sku"]?.stringValue) ?? "\(id)-\(v["title"]?.stringValue ?? String(i + 1))", field: field + ".id")
                try checks.checkNewVariant(vid)
                guard !drafts.contains(where: { $0.id == vid }) else { throw FieldError(field + ".id", "duplicate variant id \(vid)") }
                var attributes: [String: JSON] = [:]
                for k in 1...3 {
                    guard let value = nonEmpty(v["option\(k)"]?.stringValue) else { continue }
                    let name = k <= optionNames.count && !optionNames[k - 1].isEmpty ? optionNames[k - 1] : "option\(k)"
                    attributes[name] = .string(value)
                }
                let stock: Int64
                if let quantity = v["inventory_quantity"]?.intValue { stock = Swift.max(0, quantity) }
                else if let available = v["available"]?.boolValue { stock = available ? options.inStockInventory : 0 }
                else { stock = 0 }
                drafts.append(.init(id: vid, name: nonEmpty(v["title"]?.stringValue) ?? vid, attributes: attributes, price: price, inventory: stock))
            }
            var draft = ProductDraft(
                id: id, name: title, description: plainText(fromHTML: json["body_html"]?.stringValue ?? ""),
                category: checks.category(json["product_type"]?.stringValue), brand: nonEmpty(json["vendor"]?.stringValue),
                price: drafts[0].price, inventory: drafts[0].inventory)
            switch json["tags"] {
            case .string(let s)?: draft.tags = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            case .array(let a)?: draft.tags = a.compactMap(\.stringValue)
            default: break
            }
            draft.images = (json["images"]?.arrayValue ?? []).compactMap { $0["src"]?.stringValue }.filter { $0.hasPrefix("http") }
            if let grams = variants[0]["grams"]?.intValue, grams > 0 { draft.weightGrams = grams }
            // A product without options has one variant, titled "Default Title": no variants in the store.
            let single = variants.count == 1 && (variants[0]["title"]?.stringValue == "Default Title" || drafts[0].attributes.isEmpty)
            if !single { draft.variants = drafts }
            checks.adopt(currency: currency)
            checks.claim(product: id, variants: single ? [] : drafts.map(\.id))
            return .product(draft.json)
        } catch {
            return .rejected(FeedRejection(row: row, id: rawID, field: error.field, reason: error.reason))
        }
    }

    /// A Shopify price: a decimal string ("19.99"), or a number some exports write.
    private func money(_ json: JSON?, currency: String, field: String) throws(FieldError) -> Money {
        let text: String
        switch json {
        case .string(let s)?: text = s
        case .int(let i)?: text = String(i)
        case .double?: text = json!.compactString
        case nil, .null?: throw FieldError(field, "missing")
        default: throw FieldError(field, "\(quoted(json!.compactString)) is not a price")
        }
        guard let amount = minorUnits(text, currency: currency) else { throw FieldError(field, "\(quoted(text)) is not a price in \(currency)") }
        return Money(amount: amount, currency: currency)
    }
}
