import Foundation
import JSON
import StorefrontDomain

/// An ACP product feed's `products.jsonl` (`schema.feed.json`, release 2026-04-17): one
/// `Product` per line with its `Variant`s. The feed carries availability, not quantities, so
/// stock is `FeedOptions.inStockInventory` for an available variant and 0 otherwise. A product
/// whose one variant has the product's id (as the store's own feed writes it) has no variants.
public final class ACPFeedImporter: FeedImporter {
    private var lines: LineReader
    private let checks = FeedChecks()
    private let options: FeedOptions
    private var finished = false

    public init(source: ByteSource, options: FeedOptions = FeedOptions()) {
        lines = LineReader(source: source, maxBytes: options.maxRowBytes)
        self.options = options
    }

    public var categories: [FeedCategory] { checks.categories }
    public var bytesRead: Int64 { lines.source.bytesRead }
    public var totalBytes: Int64? { lines.source.totalBytes }

    public func next() -> FeedItem? {
        while !finished {
            guard let item = nextJSONLine(&lines, finished: &finished) else { continue }
            switch item {
            case .failure(let rejection): return .rejected(rejection)
            case .success(let (json, row)): return product(json, row: row)
            }
        }
        return nil
    }

    private func product(_ json: JSON, row: Int) -> FeedItem {
        let rawID = json["id"]?.stringValue
        do throws(FieldError) {
            let id = try checks.slug(rawID)
            try checks.checkNewProduct(id)
            guard let variants = json["variants"]?.arrayValue, !variants.isEmpty else { throw FieldError("variants", "missing") }
            guard let title = nonEmpty(json["title"]?.stringValue) ?? nonEmpty(variants[0]["title"]?.stringValue) else {
                throw FieldError("title", "missing")
            }
            var drafts: [ProductDraft.Variant] = []
            for (i, v) in variants.enumerated() {
                let field = "variants[\(i)]"
                let vid = try checks.slug(v["id"]?.stringValue, field: field + ".id")
                if vid != id { try checks.checkNewVariant(vid) }
                guard !drafts.contains(where: { $0.id == vid }) else { throw FieldError(field + ".id", "duplicate variant id \(vid)") }
                let price = try money(v["price"], field: field + ".price")
                var attributes: [String: JSON] = [:]
                var labels: [String] = []
                for option in v["variant_options"]?.arrayValue ?? [] {
                    guard let name = nonEmpty(option["name"]?.stringValue), let value = option["value"]?.stringValue else { continue }
                    attributes[name.lowercased()] = .string(value)
                    labels.append(value)
                }
                let stock: Int64
                if let available = v["availability"]?["available"]?.boolValue, !available { stock = 0 }
                else if let status = v["availability"]?["status"]?.stringValue {
                    stock = try inventory(availability: status, inStock: options.inStockInventory)
                } else { stock = options.inStockInventory }
                // "Tent — Sage" (the store's own variant titles) names the variant "Sage".
                var name = v["title"]?.stringValue ?? vid
                if let dash = name.range(of: " — "), name.hasPrefix(title) { name = String(name[dash.upperBound...]) }
                drafts.append(.init(id: vid, name: labels.isEmpty ? name : labels.joined(separator: " / "), attributes: attributes, price: price, inventory: stock))
            }
            let description = json["description"] ?? variants[0]["description"]
            let text = description?["plain"]?.stringValue ?? description?["html"]?.stringValue.map(plainText(fromHTML:)) ?? description?["markdown"]?.stringValue ?? ""
            let category = variants[0]["categories"]?[0]?["value"]?.stringValue
            var draft = ProductDraft(
                id: id, name: title, description: text, category: checks.category(category), brand: nil,
                price: drafts[0].price, inventory: drafts[0].inventory)
            let media = json["media"]?.arrayValue ?? variants.flatMap { $0["media"]?.arrayValue ?? [] }
            draft.images = media.compactMap { $0["type"]?.stringValue == "image" ? $0["url"]?.stringValue : nil }
            if let url = json["url"]?.stringValue { draft.attributes["link"] = .string(url) }
            let single = drafts.count == 1 && drafts[0].id == id
            if !single { draft.variants = drafts }
            checks.adopt(currency: drafts[0].price.currency)
            checks.claim(product: id, variants: single ? [] : drafts.map(\.id))
            return .product(draft.json)
        } catch {
            return .rejected(FeedRejection(row: row, id: rawID, field: error.field, reason: error.reason))
        }
    }

    private func money(_ json: JSON?, field: String) throws(FieldError) -> Money {
        guard let json else { throw FieldError(field, "missing") }
        guard let money = Money(json: json), money.amount >= 0 else { throw FieldError(field, "\(quoted(json.compactString)) is not a price") }
        _ = try currencyCode(money.currency, field: field)
        try checks.checkCurrency(money.currency, field: field)
        return money
    }
}
