import Foundation
import JSON
import StorefrontDomain

/// Google Merchant Center's product data, a row at a time (a TSV line or an XML `<item>`, as
/// attribute name → text), made into the store's products. Rows sharing an `item_group_id`
/// become one product whose variants are the rows (told apart by color, size, material,
/// pattern). Groups are expected contiguous, as Merchant Center exports them: a group is
/// written when a row of another starts, so memory holds one group, never the feed; a row of a
/// group already written is rejected.
struct MerchantCenterAssembler {
    let checks: FeedChecks
    let options: FeedOptions
    private var open: (key: String, firstRow: Int, draft: ProductDraft)?
    private var closedGroups: [String: Int] = [:]

    /// Attributes read into the product's fields; any other non-empty short one is kept as an attribute.
    static let mapped: Set<String> = [
        "id", "title", "description", "link", "image_link", "additional_image_link", "availability", "price",
        "sale_price", "brand", "google_product_category", "product_type", "item_group_id", "quantity",
        "shipping_weight", "custom_label_0", "custom_label_1", "custom_label_2", "custom_label_3", "custom_label_4",
    ]
    static let variantAttributes = ["color", "size", "material", "pattern"]

    init(checks: FeedChecks, options: FeedOptions) {
        self.checks = checks
        self.options = options
    }

    /// The items a row completes: nothing while a group is still open, else the group written
    /// before it, the row's own product, or its rejection.
    mutating func add(_ row: [String: String], number: Int) -> [FeedItem] {
        let rawID = row["id"].flatMap { $0.isEmpty ? nil : $0 }
        var items: [FeedItem] = []
        do throws(FieldError) {
            let id = try checks.slug(rawID)
            let group = row["item_group_id"].flatMap { $0.isEmpty ? nil : $0 }
            if group == nil || slugify(group!) != open?.key { items += flush() }
            guard let title = row["title"], !title.isEmpty else { throw FieldError("title", "missing") }
            let (price, list) = try prices(row)
            let stock = try inventory(row)
            guard let group else {
                try checks.checkNewProduct(id)
                var draft = try product(row, id: id, name: title, price: price, inventory: stock)
                for name in Self.variantAttributes { if let v = row[name], !v.isEmpty { draft.attributes[name] = .string(v) } }
                if let list { draft.attributes["list_price"] = .string(list) }
                checks.adopt(currency: price.currency)
                checks.claim(product: id, variants: [])
                return items + [.product(draft.json)]
            }
            let key = try checks.slug(group, field: "item_group_id")
            if let written = closedGroups[key] {
                throw FieldError("item_group_id", "group \(group) was already written at row \(written); its rows must be together")
            }
            try checks.checkNewVariant(id)
            if open?.draft.variants.contains(where: { $0.id == id }) == true { throw FieldError("id", "duplicate variant id \(id)") }
            var attributes: [String: JSON] = [:]
            for name in Self.variantAttributes { if let v = row[name], !v.isEmpty { attributes[name] = .string(v) } }
            let label = Self.variantAttributes.compactMap { attributes[$0]?.stringValue }.joined(separator: " / ")
            let variant = ProductDraft.Variant(id: id, name: label.isEmpty ? title : label, attributes: attributes, price: price, inventory: stock)
            if open == nil {
                try checks.checkNewProduct(key)
                open = (key, number, try product(row, id: key, name: title, price: price, inventory: 0))
            }
            checks.adopt(currency: price.currency)
            open!.draft.variants.append(variant)
        } catch {
            items.append(.rejected(FeedRejection(row: number, id: rawID, field: error.field, reason: error.reason)))
        }
        return items
    }

    /// The open group as a product, when there is one.
    mutating func flush() -> [FeedItem] {
        guard let group = open else { return [] }
        open = nil
        closedGroups[group.key] = group.firstRow
        checks.claim(product: group.key, variants: group.draft.variants.map(\.id))
        return [.product(group.draft.json)]
    }

    /// The product fields every row of a group shares (the group's first row gives them).
    private func product(_ row: [String: String], id: String, name: String, price: Money, inventory: Int64) throws(FieldError) -> ProductDraft {
        let images = ([row["image_link"] ?? ""] + (row["additional_image_link"] ?? "").split(separator: ",").map(String.init))
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("https://") || $0.hasPrefix("http://") }
        var draft = ProductDraft(
            id: id, name: name, description: row["description"] ?? "",
            category: checks.category(nonEmpty(row["product_type"]) ?? row["google_product_category"]),
            brand: nonEmpty(row["brand"]), price: price, images: images, inventory: inventory)
        draft.tags = (0...4).compactMap { nonEmpty(row["custom_label_\($0)"]) }
        if let weight = nonEmpty(row["shipping_weight"]) { draft.weightGrams = try grams(weight) }
        if let link = nonEmpty(row["link"]) { draft.attributes["link"] = .string(link) }
        for (name, value) in row where !Self.mapped.contains(name) && !Self.variantAttributes.contains(name) {
            let sensible = name.utf8.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
            if sensible, !value.isEmpty, value.count <= 200 { draft.attributes[name] = .string(value) }
        }
        return draft
    }

    /// The price a buyer pays (the sale price when there is one) and the regular price's text
    /// when they differ.
    private func prices(_ row: [String: String]) throws(FieldError) -> (Money, String?) {
        guard let text = nonEmpty(row["price"]) else { throw FieldError("price", "missing") }
        let price = try money(text, field: "price")
        guard let saleText = nonEmpty(row["sale_price"]) else { return (price, nil) }
        let sale = try money(saleText, field: "sale_price")
        guard sale.currency == price.currency else { throw FieldError("sale_price", "currency \(sale.currency) differs from the price's \(price.currency)") }
        return (sale, price.decimalString)
    }

    /// "15.00 USD" (or "USD 15.00") as money, in a currency the feed shares.
    private func money(_ text: String, field: String) throws(FieldError) -> Money {
        let parts = text.split(separator: " ")
        guard parts.count == 2 else { throw FieldError(field, "\(quoted(text)) is not a price (amount and currency, like \"15.00 USD\")") }
        let (number, code) = parts[1].allSatisfy(\.isLetter) ? (parts[0], parts[1].uppercased()) : (parts[1], parts[0].uppercased())
        // The amount first (in the digits of the currency it names), so "abc USD" is not a price.
        guard let amount = minorUnits(number, currency: code) else { throw FieldError(field, "\(quoted(text)) is not a price") }
        let currency = try currencyCode(code, field: field)
        try checks.checkCurrency(currency, field: field)
        return Money(amount: amount, currency: currency)
    }

    /// Stock: the `quantity` attribute (local inventory's) when given, else from availability.
    private func inventory(_ row: [String: String]) throws(FieldError) -> Int64 {
        if let quantity = nonEmpty(row["quantity"]) {
            guard let n = Int64(quantity), n >= 0 else { throw FieldError("quantity", "\(quoted(quantity)) is not a whole number of at least 0") }
            return n
        }
        guard let availability = nonEmpty(row["availability"]) else { throw FieldError("availability", "missing") }
        return try CatalogFeeds.inventory(availability: availability, inStock: options.inStockInventory)
    }
}

func nonEmpty(_ text: String?) -> String? {
    guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
    return text
}

/// A Merchant Center attribute name as written in a header or a tag ("g:Image Link") the
/// way the specification spells it ("image_link").
func merchantCenterName(_ raw: some StringProtocol) -> String {
    var name = raw.trimmingCharacters(in: .whitespaces).lowercased()
    if name.hasPrefix("g:") { name.removeFirst(2) }
    return name.replacingOccurrences(of: " ", with: "_")
}

/// Merchant Center's tab-separated product data: a header row of attribute names, then one
/// product (or variant) per line. A field may be quoted (`"..."`, `""` for a quote) to hold a
/// tab; a line never holds a line break.
public final class MerchantCenterTSVImporter: FeedImporter {
    private var lines: LineReader
    private var assembler: MerchantCenterAssembler
    private let checks = FeedChecks()
    private var header: [String]?
    private var pending: [FeedItem] = []
    private var finished = false
    private var row = 0

    public init(source: ByteSource, options: FeedOptions = FeedOptions()) {
        lines = LineReader(source: source, maxBytes: options.maxRowBytes)
        assembler = MerchantCenterAssembler(checks: checks, options: options)
    }

    public var categories: [FeedCategory] { checks.categories }
    public var bytesRead: Int64 { lines.source.bytesRead }
    public var totalBytes: Int64? { lines.source.totalBytes }

    public func next() -> FeedItem? {
        while pending.isEmpty && !finished { pending = readRow() }
        return pending.isEmpty ? nil : pending.removeFirst()
    }

    private func readRow() -> [FeedItem] {
        let line: LineReader.Line?
        do { line = try lines.next() } catch {
            finished = true
            return assembler.flush() + [.rejected(FeedRejection(row: row + 1, id: nil, field: "feed", reason: "\(error)"))]
        }
        guard let line else {
            finished = true
            return assembler.flush()
        }
        guard let header else {
            guard case .text(var bytes) = line else {
                finished = true
                return [.rejected(FeedRejection(row: 0, id: nil, field: "feed", reason: "the header line is too long"))]
            }
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
            let names = (try? Self.fields(bytes))?.map(merchantCenterName) ?? []
            guard names.contains("id") else {
                finished = true
                return [.rejected(FeedRejection(row: 0, id: nil, field: "feed", reason: "the header has no id column"))]
            }
            self.header = names
            return []
        }
        row += 1
        switch line {
        case .tooLong(let size):
            return [.rejected(FeedRejection(row: row, id: nil, field: "row", reason: "\(size) bytes, more than the limit of \(lines.maxBytes)"))]
        case .text(let bytes):
            if bytes.isEmpty { row -= 1; return [] }
            do {
                var values: [String: String] = [:]
                for (name, value) in zip(header, try Self.fields(bytes)) where !name.isEmpty { values[name] = value }
                return assembler.add(values, number: row)
            } catch {
                return [.rejected(FeedRejection(row: row, id: nil, field: error.field, reason: error.reason))]
            }
        }
    }

    /// The fields of a line: split at tabs, a field that starts with a quote read to its
    /// closing quote.
    static func fields(_ line: [UInt8]) throws(FieldError) -> [String] {
        var fields: [String] = []
        var i = 0
        while true {
            var field: [UInt8] = []
            if i < line.count && line[i] == 0x22 {
                i += 1
                while true {
                    guard i < line.count else { throw FieldError("row", "unterminated quoted field in column \(fields.count + 1)") }
                    if line[i] == 0x22 {
                        if i + 1 < line.count && line[i + 1] == 0x22 {
                            field.append(0x22)
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    field.append(line[i])
                    i += 1
                }
                while i < line.count && line[i] != 0x09 { field.append(line[i]); i += 1 }
            } else {
                while i < line.count && line[i] != 0x09 { field.append(line[i]); i += 1 }
            }
            fields.append(String(decoding: field, as: UTF8.self).trimmingCharacters(in: .whitespaces))
            guard i < line.count else { return fields }
            i += 1  // the tab
        }
    }
}
