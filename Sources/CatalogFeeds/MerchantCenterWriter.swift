import Foundation
import JSON
import StorefrontDomain

/// Writes products as Google Merchant Center product data, streamed to a sink: tab-separated
/// with a header row, or RSS 2.0 with the `g:` namespace. A product with variants is one row
/// per variant sharing `item_group_id` (the product's id), told apart by color, size, material
/// and pattern. Prices are written as "349.00 USD" with the currency's own digits; stock as
/// `availability` and as `quantity` (local inventory's attribute, which a product feed may
/// carry), so ``MerchantCenterTSVImporter`` reads it back exactly. `product_type` is the
/// store's category id.
public final class MerchantCenterWriter {
    public enum Format: Sendable { case tsv, xml }

    static let columns = [
        "id", "item_group_id", "title", "description", "link", "image_link", "additional_image_link", "availability",
        "quantity", "price", "brand", "product_type", "condition", "color", "size", "material", "pattern", "shipping_weight",
    ]

    private let format: Format
    private let baseURL: String
    private let title: String
    private let sink: (String) -> Void
    private var started = false

    /// `title` names the RSS channel (XML only).
    public init(format: Format, baseURL: String, title: String = "Products", sink: @escaping (String) -> Void) {
        self.format = format
        self.baseURL = baseURL
        self.title = title
        self.sink = sink
    }

    public convenience init(format: Format, baseURL: String, title: String = "Products", fileHandle: FileHandle) {
        self.init(format: format, baseURL: baseURL, title: title) { fileHandle.write(Data($0.utf8)) }
    }

    /// The product's rows (or items).
    public func write(_ product: Product) {
        start()
        for row in Self.rows(of: product, baseURL: baseURL) {
            switch format {
            case .tsv:
                sink(Self.columns.map { tsvField(row[$0] ?? "") }.joined(separator: "\t") + "\n")
            case .xml:
                var item = "<item>\n"
                for column in Self.columns {
                    guard let value = row[column], !value.isEmpty else { continue }
                    let values = column == "additional_image_link" ? value.split(separator: ",").map(String.init) : [value]
                    for v in values { item += "  <g:\(column)>\(xmlEscape(v))</g:\(column)>\n" }
                }
                sink(item + "</item>\n")
            }
        }
    }

    /// Ends the document (the XML channel); a feed of no products still has its header.
    public func finish() {
        start()
        if format == .xml { sink("</channel>\n</rss>\n") }
    }

    private func start() {
        guard !started else { return }
        started = true
        switch format {
        case .tsv: sink(Self.columns.joined(separator: "\t") + "\n")
        case .xml:
            sink(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:g=\"http://base.google.com/ns/1.0\">\n<channel>\n"
                    + "<title>\(xmlEscape(title))</title>\n<link>\(xmlEscape(baseURL))</link>\n<description>\(xmlEscape(title))</description>\n")
        }
    }

    /// A product's rows, attribute name → text.
    static func rows(of product: Product, baseURL: String) -> [[String: String]] {
        var shared: [String: String] = [
            "title": product.name, "description": product.description, "link": baseURL + "/products/\(product.id)",
            "product_type": product.category, "condition": "new",
        ]
        shared["brand"] = product.brand
        shared["image_link"] = product.images.first
        if product.images.count > 1 { shared["additional_image_link"] = product.images.dropFirst().joined(separator: ",") }
        if let grams = product.source["weight_grams"]?.intValue { shared["shipping_weight"] = "\(grams) g" }
        func row(id: String, price: Money, inventory: Int64, attributes: JSON?) -> [String: String] {
            var row = shared
            row["id"] = id
            row["price"] = "\(price.decimalString) \(price.currency)"
            row["quantity"] = String(inventory)
            row["availability"] = inventory > 0 ? "in_stock" : "out_of_stock"
            for name in MerchantCenterAssembler.variantAttributes {
                if let value = attributes?[name], let text = value.stringValue ?? value.intValue.map(String.init) { row[name] = text }
            }
            return row
        }
        guard !product.variants.isEmpty else {
            return [row(id: product.id, price: product.price, inventory: product.inventory, attributes: product.source["attributes"])]
        }
        return product.variants.map { v in
            var r = row(id: v.id, price: v.price ?? product.price, inventory: v.inventory, attributes: v.source["attributes"])
            r["item_group_id"] = product.id
            return r
        }
    }
}

/// A TSV field: tabs and line breaks become spaces (a row is one line); a field that would
/// start with a quote is quoted, so the quote survives a reader that unquotes.
func tsvField(_ text: String) -> String {
    let flat = String(text.map { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    return flat.hasPrefix("\"") ? "\"" + flat.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : flat
}

/// Text for XML content or attributes: the five special characters escaped, and characters
/// XML 1.0 does not allow (most C0 controls) dropped.
func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
        default:
            if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
