import Foundation
import JSON
import StorefrontDomain

/// A field of a row that cannot be imported; the importer adds the row and the id.
struct FieldError: Error {
    var field: String
    var reason: String
    init(_ field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }
}

/// The rules every importer shares, and the state of one import they need: ids already taken,
/// the feed's currency, the categories seen.
final class FeedChecks {
    private var productIDs: Set<String> = []
    private var variantIDs: Set<String> = []
    private(set) var currency: String?
    private(set) var categories: [FeedCategory] = []
    private var categoryIDs: Set<String> = []

    /// A feed's id as a store slug (lowercase letters, digits and hyphens, 2-64 characters).
    func slug(_ raw: String?, field: String = "id") throws(FieldError) -> String {
        guard let raw, !raw.allSatisfy(\.isWhitespace) else { throw FieldError(field, "missing") }
        let id = slugify(raw)
        guard id.utf8.count >= 2 else { throw FieldError(field, "\(quoted(raw)) has no letters or digits to make an id of") }
        return id
    }

    func checkNewProduct(_ id: String) throws(FieldError) {
        if productIDs.contains(id) { throw FieldError("id", "duplicate id \(id)") }
    }

    func checkNewVariant(_ id: String) throws(FieldError) {
        if variantIDs.contains(id) { throw FieldError("id", "duplicate variant id \(id)") }
    }

    /// Takes the ids of a product that is being emitted.
    func claim(product id: String, variants: [String]) {
        productIDs.insert(id)
        variantIDs.formUnion(variants)
    }

    /// The store's catalog has one currency: the first price fixes it for the feed.
    func checkCurrency(_ code: String, field: String = "price") throws(FieldError) {
        guard let currency else { return }
        if code != currency { throw FieldError(field, "currency \(code) differs from the feed's \(currency) (mixed currencies)") }
    }

    func adopt(currency code: String) {
        if currency == nil { currency = code }
    }

    /// A feed's category text ("Apparel & Accessories > Shoes", "212", "Tents") as a category
    /// id: the slug of its last segment, named by that segment; a bare number is a Google
    /// product category id. Empty text is "uncategorized".
    func category(_ text: String?) -> String {
        let path = (text ?? "").split(whereSeparator: { $0 == ">" || $0 == "/" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var category = FeedCategory(id: "uncategorized", name: "Uncategorized")
        if let leaf = path.last {
            if leaf.allSatisfy(\.isASCIIDigit) && path.count == 1 {
                category = FeedCategory(id: "gpc-\(leaf)", name: "Google product category \(leaf)")
            } else if slugify(leaf).utf8.count >= 2 {
                category = FeedCategory(id: slugify(leaf), name: leaf)
            }
        }
        if categoryIDs.insert(category.id).inserted { categories.append(category) }
        return category.id
    }

    func record(_ category: FeedCategory) {
        if categoryIDs.insert(category.id).inserted { categories.append(category) }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// A deterministic slug: letters folded to ASCII and lowercased, every run of other characters
/// one hyphen, no hyphen at either end, at most 64 characters.
public func slugify(_ text: String) -> String {
    var out: [UInt8] = []
    var pendingHyphen = false
    for scalar in text.decomposedStringWithCanonicalMapping.unicodeScalars {
        if scalar.properties.generalCategory == .nonspacingMark { continue }
        guard scalar.isASCII, let byte = UInt8(exactly: scalar.value),
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
        else {
            pendingHyphen = !out.isEmpty
            continue
        }
        if pendingHyphen { out.append(0x2D) }
        pendingHyphen = false
        out.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
        if out.count >= 64 { break }
    }
    while out.last == 0x2D { out.removeLast() }
    return String(decoding: out, as: UTF8.self)
}

/// `"text"`, shortened: a reason quotes the value it refused, never a whole hostile field.
func quoted(_ text: some StringProtocol) -> String {
    text.count <= 40 ? "\"\(text)\"" : "\"\(text.prefix(40))…\""
}

/// Currencies in use (ISO 4217 alphabetic codes), so a typo is refused rather than imported.
let isoCurrencies: Set<String> = Set(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
    CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG
    HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD
    RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
    USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split(whereSeparator: \.isWhitespace).map(String.init))

/// A currency code as the store writes it: three upper-case letters, a real ISO 4217 code.
func currencyCode(_ text: some StringProtocol, field: String) throws(FieldError) -> String {
    let code = String(text)
    guard isoCurrencies.contains(code) else { throw FieldError(field, "\(quoted(text)) is not an ISO 4217 currency") }
    return code
}

/// A decimal amount ("19.99", "1,299.5", "2500") in minor units of `currency`: no sign, at most
/// the currency's digits after the point (more are allowed only as zeros), no overflow.
func minorUnits(_ text: some StringProtocol, currency: String) -> Int64? {
    let digits = Money(amount: 0, currency: currency).minorUnitDigits
    var whole: Int64 = 0, fraction: Int64 = 0, fractionDigits = 0, seenPoint = false, seenDigit = false
    for byte in text.utf8 {
        switch byte {
        case 0x30...0x39:
            seenDigit = true
            let d = Int64(byte - 0x30)
            if seenPoint {
                if fractionDigits >= digits {
                    guard d == 0 else { return nil }
                    continue
                }
                fraction = fraction * 10 + d
                fractionDigits += 1
            } else {
                let (m, o1) = whole.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(d)
                guard !o1, !o2 else { return nil }
                whole = s
            }
        case 0x2E where !seenPoint: seenPoint = true
        case 0x2C where !seenPoint && seenDigit: continue  // a thousands separator
        default: return nil
        }
    }
    guard seenDigit else { return nil }
    for _ in fractionDigits..<digits { fraction *= 10 }
    var scale: Int64 = 1
    for _ in 0..<digits { scale *= 10 }
    let (m, o1) = whole.multipliedReportingOverflow(by: scale)
    let (s, o2) = m.addingReportingOverflow(fraction)
    return o1 || o2 ? nil : s
}

/// Plain text of an HTML fragment (Shopify's body_html, ACP's html description): tags
/// dropped, block ends as spaces, the common entities decoded, whitespace collapsed.
func plainText(fromHTML html: String) -> String {
    var out = ""
    var inTag = false, skipping: String? = nil, tag = ""
    for ch in html {
        if inTag {
            if ch == ">" {
                inTag = false
                let name = tag.lowercased().split(whereSeparator: { $0 == " " || $0 == "/" }).first.map(String.init) ?? ""
                if let s = skipping { if tag.lowercased().hasPrefix("/" + s) { skipping = nil } }
                else if name == "script" || name == "style" { skipping = name }
                // Inline elements (<strong>Video</strong>.) join words; others separate them.
                if !inlineTags.contains(name.hasPrefix("/") ? String(name.dropFirst()) : name) { out.append(" ") }
            } else {
                tag.append(ch)
            }
        } else if ch == "<" {
            inTag = true
            tag = ""
        } else if skipping == nil {
            out.append(ch)
        }
    }
    return decodeEntities(out).split(whereSeparator: \.isWhitespace).joined(separator: " ")
}

private let inlineTags: Set<String> = ["a", "abbr", "b", "bdi", "bdo", "cite", "code", "em", "i", "kbd", "mark", "q", "s", "small", "span", "strong", "sub", "sup", "u", "var"]

/// XML and HTML character references: the five XML entities, `&nbsp;`, and numeric ones
/// (`&#39;`, `&#x2019;`). An unknown or broken reference is kept as written.
func decodeEntities(_ text: String) -> String {
    guard text.contains("&") else { return text }
    var out = ""
    var rest = text[...]
    while let amp = rest.firstIndex(of: "&") {
        out += rest[..<amp]
        let after = rest[amp...]
        guard let semi = after.prefix(12).firstIndex(of: ";") else {
            out.append("&")
            rest = rest[rest.index(after: amp)...]
            continue
        }
        let name = after[after.index(after: amp)..<semi]
        var replacement: String?
        switch name {
        case "amp": replacement = "&"
        case "lt": replacement = "<"
        case "gt": replacement = ">"
        case "quot": replacement = "\""
        case "apos": replacement = "'"
        case "nbsp": replacement = "\u{A0}"
        default:
            if name.hasPrefix("#x") || name.hasPrefix("#X"), let v = UInt32(name.dropFirst(2), radix: 16), let s = Unicode.Scalar(v) {
                replacement = String(s)
            } else if name.hasPrefix("#"), let v = UInt32(name.dropFirst()), let s = Unicode.Scalar(v) {
                replacement = String(s)
            }
        }
        if let replacement {
            out += replacement
            rest = rest[rest.index(after: semi)...]
        } else {
            out.append("&")
            rest = rest[rest.index(after: amp)...]
        }
    }
    return out + rest
}

/// A product being assembled from a feed's rows, written out in the store's shape.
struct ProductDraft {
    struct Variant {
        var id: String
        var name: String
        var attributes: [String: JSON]
        var price: Money
        var inventory: Int64
    }

    var id: String
    var name: String
    var description: String
    var category: String
    var brand: String?
    var tags: [String] = []
    var price: Money
    var images: [String] = []
    var attributes: [String: JSON] = [:]
    var inventory: Int64
    var variants: [Variant] = []
    var weightGrams: Int64?
    var digital = false

    /// The product in `catalog.json`'s shape. With variants, the product's price is the first
    /// variant's (a variant of another price carries its own) and its stock their sum. A feed
    /// without a description gets the name as one (the store requires a description); a weight
    /// is written only when the feed gives one.
    var json: JSON {
        var fields: [String: JSON] = [
            "id": .string(id), "name": .string(name), "description": .string(description.isEmpty ? name : description),
            "category": .string(category), "price": price.json, "inventory": .int(inventory),
            "digital": .bool(digital), "tags": .array(uniqued(tags).map(JSON.string)),
            "images": .array(images.map(JSON.string)),
        ]
        if let brand, !brand.isEmpty { fields["brand"] = .string(brand) }
        if !attributes.isEmpty { fields["attributes"] = .object(attributes) }
        if let weightGrams { fields["weight_grams"] = .int(weightGrams) }
        if let first = variants.first {
            fields["price"] = first.price.json
            fields["inventory"] = .int(variants.reduce(0) { $0 + $1.inventory })
            fields["variants"] = .array(
                variants.map { v in
                    var o: [String: JSON] = [
                        "id": .string(v.id), "name": .string(v.name), "attributes": .object(v.attributes),
                        "inventory": .int(v.inventory),
                    ]
                    if v.price != first.price { o["price"] = v.price.json }
                    return .object(o)
                })
        }
        return .object(fields)
    }

    private func uniqued(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}

/// Stock from an availability word when a feed gives no quantity: Merchant Center's
/// `in_stock`/`in stock`, ACP's statuses, Shopify's `available`.
func inventory(availability text: String, inStock: Int64) throws(FieldError) -> Int64 {
    switch text.lowercased().replacingOccurrences(of: " ", with: "_") {
    case "in_stock", "limited_stock", "available": return inStock
    case "out_of_stock", "preorder", "backorder", "discontinued", "sold_out": return 0
    default: throw FieldError("availability", "\(quoted(text)) is not an availability")
    }
}

/// A shipping weight ("1540 g", "1.5 kg", "3 lb", "12 oz") in whole grams.
func grams(_ text: String) throws(FieldError) -> Int64 {
    let parts = text.split(separator: " ")
    let factors: [String: Double] = ["g": 1, "kg": 1000, "lb": 453.59237, "oz": 28.349523125]
    guard parts.count == 2, let value = Double(parts[0]), value >= 0, value < 1e9,
        let factor = factors[parts[1].lowercased()]
    else { throw FieldError("shipping_weight", "\(quoted(text)) is not a weight") }
    return Int64((value * factor).rounded())
}
