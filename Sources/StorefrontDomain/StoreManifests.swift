import Foundation
import JSON

/// A merchant's store as declared in a manifests folder: `store.json`, `catalog.json`,
/// `pricing.json` and `policies.json`, each validated against its schema (by the loader, beside
/// the JSON Schema module) and checked for references between them (here).
public struct StoreManifests: Sendable {
    public var directory: URL
    public var store: JSON
    public var catalogDocument: JSON
    /// The catalog as declared in catalog.json (what a first start imports into the store). A
    /// catalog.json too large to hold (``streamedCatalogBytes``) was validated a product at a
    /// time: then this holds its categories only, and `catalogFile` is read again to import it.
    public var catalog: Catalog
    /// Set when catalog.json was validated as a stream and is not held in `catalog`.
    public var catalogFile: URL?
    /// How many products catalog.json declares.
    public var declaredProductCount: Int
    /// The product ids of a streamed catalog.json (what pricing.json may name).
    public var streamedProductIDs: Set<String> = []
    /// A catalog.json larger than this is validated and imported as a stream, never whole in memory.
    public static let streamedCatalogBytes: Int64 = 8 << 20
    /// The catalog as served: the store's, once the gateway has opened it (changes while
    /// serving); the declared one until then.
    public var liveCatalog: any CatalogReader
    public var pricing: JSON
    public var policies: JSON

    public static let files = [
        ("store.json", "store.schema.json"),
        ("catalog.json", "catalog.schema.json"),
        ("pricing.json", "pricing.schema.json"),
        ("policies.json", "policies.schema.json"),
    ]

    public var storeName: String { store["name"]?.stringValue ?? "Store" }
    public var storeID: String { store["id"]?.stringValue ?? "store" }
    public var currency: String { store["default_currency"]?.stringValue ?? "USD" }

    public init(directory: URL, store: JSON, catalogDocument: JSON, catalog: Catalog, pricing: JSON, policies: JSON) {
        self.directory = directory
        self.store = store
        self.catalogDocument = catalogDocument
        self.catalog = catalog
        declaredProductCount = catalog.products.count
        liveCatalog = catalog
        self.pricing = pricing
        self.policies = policies
    }

    /// What a schema cannot say: references between files and uniqueness across the catalog.
    public func crossReferenceProblems() -> [ManifestError] {
        var problems: [ManifestError] = []
        let categoryIDs = Set(catalog.categories.map(\.id))
        var references = ProductReferences(manifests: self)
        for (i, product) in catalog.products.enumerated() { problems += references.check(product, at: i) }
        problems += references.unknownCategories(declared: categoryIDs)
        let productIDs = catalogFile == nil ? references.productIDs : streamedProductIDs
        func money(_ value: Money, _ file: String, _ pointer: String) {
            if let problem = references.currencyProblem(value, file: file, pointer: pointer) { problems.append(problem) }
        }
        for section in ["plans", "usage"] {
            for (i, entry) in (pricing[section]?.arrayValue ?? []).enumerated() {
                if let product = entry["product_id"]?.stringValue, !productIDs.contains(product) {
                    problems.append(
                        ManifestError(
                            file: "pricing.json", pointer: "/\(section)/\(i)/product_id",
                            message: "no product \(product) in catalog.json"))
                }
                if let price = Money(json: entry["price"]) { money(price, "pricing.json", "/\(section)/\(i)/price") }
                let tiers = entry["tiers"]?.arrayValue ?? []
                for (t, tier) in tiers.enumerated() {
                    if tier["up_to"]?.isNull == true && t != tiers.count - 1 {
                        problems.append(
                            ManifestError(
                                file: "pricing.json", pointer: "/\(section)/\(i)/tiers/\(t)/up_to",
                                message: "only the last tier may be unbounded (up_to null)"))
                    }
                }
            }
        }
        for (i, discount) in (pricing["volume_discounts"]?.arrayValue ?? []).enumerated() {
            for (j, c) in (discount["applies_to"]?["categories"]?.arrayValue ?? []).enumerated() {
                if let c = c.stringValue, !categoryIDs.contains(c) {
                    problems.append(
                        ManifestError(
                            file: "pricing.json", pointer: "/volume_discounts/\(i)/applies_to/categories/\(j)",
                            message: "unknown category \(c)"))
                }
            }
            for (j, p) in (discount["applies_to"]?["products"]?.arrayValue ?? []).enumerated() {
                if let p = p.stringValue, !productIDs.contains(p) {
                    problems.append(
                        ManifestError(
                            file: "pricing.json", pointer: "/volume_discounts/\(i)/applies_to/products/\(j)",
                            message: "unknown product \(p)"))
                }
            }
        }
        return problems
    }
}

/// What a schema cannot say about each product of catalog.json, checked one product at a time
/// (so a catalog validated as a stream is checked the same way): unique product and variant ids,
/// currencies, inventory sums, plan ids; and the categories products name, checked once every
/// category is known.
public struct ProductReferences {
    let currencies: Set<String>
    let planIDs: Set<String>
    public private(set) var productIDs: Set<String> = []
    var variantIDs: Set<String> = []
    /// Each category named, with the first product that names it.
    var named: [String: Int] = [:]

    public init(manifests: StoreManifests) {
        currencies = Set(manifests.store["currencies"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        planIDs = Set(
            (manifests.pricing["plans"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
                + (manifests.pricing["usage"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
    }

    func currencyProblem(_ value: Money, file: String, pointer: String) -> ManifestError? {
        currencies.contains(value.currency) ? nil : ManifestError(
            file: file, pointer: pointer, message: "currency \(value.currency) is not one of the store's currencies \(currencies.sorted())")
    }

    /// The problems of the product at `index` of /products.
    public mutating func check(_ product: Product, at index: Int) -> [ManifestError] {
        var problems: [ManifestError] = []
        let at = "/products/\(index)"
        if !productIDs.insert(product.id).inserted {
            problems.append(ManifestError(file: "catalog.json", pointer: at + "/id", message: "duplicate product id \(product.id)"))
        }
        if named[product.category] == nil { named[product.category] = index }
        if let problem = currencyProblem(product.price, file: "catalog.json", pointer: at + "/price") { problems.append(problem) }
        for (j, variant) in product.variants.enumerated() {
            if !variantIDs.insert(variant.id).inserted {
                problems.append(ManifestError(file: "catalog.json", pointer: "\(at)/variants/\(j)/id", message: "duplicate variant id \(variant.id)"))
            }
            if let price = variant.price, let problem = currencyProblem(price, file: "catalog.json", pointer: "\(at)/variants/\(j)/price") {
                problems.append(problem)
            }
        }
        if !product.variants.isEmpty {
            let sum = product.variants.reduce(Int64(0)) { $0 + $1.inventory }
            if sum != product.inventory {
                problems.append(
                    ManifestError(
                        file: "catalog.json", pointer: at + "/inventory",
                        message: "inventory \(product.inventory) differs from the sum of its variants (\(sum))"))
            }
        }
        for (j, plan) in (product.source["pricing_plan_ids"]?.arrayValue ?? []).enumerated() {
            if let id = plan.stringValue, !planIDs.contains(id) {
                problems.append(
                    ManifestError(file: "catalog.json", pointer: "\(at)/pricing_plan_ids/\(j)", message: "no plan or usage price \(id) in pricing.json"))
            }
        }
        return problems
    }

    /// Categories products named that /categories does not declare (the first product naming each).
    public func unknownCategories(declared: Set<String>) -> [ManifestError] {
        named.filter { !declared.contains($0.key) }.sorted { $0.value < $1.value }.map { category, index in
            ManifestError(
                file: "catalog.json", pointer: "/products/\(index)/category", message: "unknown category \(category); declare it under /categories")
        }
    }
}
