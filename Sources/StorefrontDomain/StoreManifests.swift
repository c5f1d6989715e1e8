import Foundation
import JSON

/// A merchant's store as declared in a manifests folder: `store.json`, `catalog.json`,
/// `pricing.json` and `policies.json`, each validated against its schema (by the loader, beside
/// the JSON Schema module) and checked for references between them (here).
public struct StoreManifests: Sendable {
    public var directory: URL
    public var store: JSON
    public var catalogDocument: JSON
    /// The catalog as declared in catalog.json (what a first start imports into the store).
    public var catalog: Catalog
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
        liveCatalog = catalog
        self.pricing = pricing
        self.policies = policies
    }

    /// What a schema cannot say: references between files and uniqueness across the catalog.
    public func crossReferenceProblems() -> [ManifestError] {
        var problems: [ManifestError] = []
        let currencies = Set(store["currencies"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let categoryIDs = Set(catalog.categories.map(\.id))
        var productIDs: Set<String> = [], variantIDs: Set<String> = []
        let planIDs = Set(
            (pricing["plans"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
                + (pricing["usage"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })

        func money(_ value: Money, _ file: String, _ pointer: String) {
            if !currencies.contains(value.currency) {
                problems.append(
                    ManifestError(
                        file: file, pointer: pointer,
                        message: "currency \(value.currency) is not one of the store's currencies \(currencies.sorted())"))
            }
        }

        for (i, product) in catalog.products.enumerated() {
            let at = "/products/\(i)"
            if !productIDs.insert(product.id).inserted {
                problems.append(ManifestError(file: "catalog.json", pointer: at + "/id", message: "duplicate product id \(product.id)"))
            }
            if !categoryIDs.contains(product.category) {
                problems.append(
                    ManifestError(
                        file: "catalog.json", pointer: at + "/category",
                        message: "unknown category \(product.category); declare it under /categories"))
            }
            money(product.price, "catalog.json", at + "/price")
            for (j, variant) in product.variants.enumerated() {
                if !variantIDs.insert(variant.id).inserted {
                    problems.append(
                        ManifestError(
                            file: "catalog.json", pointer: "\(at)/variants/\(j)/id",
                            message: "duplicate variant id \(variant.id)"))
                }
                if let price = variant.price { money(price, "catalog.json", "\(at)/variants/\(j)/price") }
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
                        ManifestError(
                            file: "catalog.json", pointer: "\(at)/pricing_plan_ids/\(j)",
                            message: "no plan or usage price \(id) in pricing.json"))
                }
            }
        }
        for section in ["plans", "usage"] {
            for (i, entry) in (pricing[section]?.arrayValue ?? []).enumerated() {
                if let product = entry["product_id"]?.stringValue, catalog.product(product) == nil {
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
                if let p = p.stringValue, catalog.product(p) == nil {
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
