import Foundation
import JSON
import JSONSchema
import StorefrontDomain

/// A merchant's store as declared in a manifests folder: `store.json`, `catalog.json`,
/// `pricing.json` and `policies.json`, each validated against its schema and checked for
/// references between them.
public struct StoreManifests: Sendable {
    public var directory: URL
    public var store: JSON
    public var catalogDocument: JSON
    public var catalog: Catalog
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

    /// Loads and validates a folder. Throws `ManifestValidationError` listing every problem.
    public static func load(from directory: URL, schemas: SchemaLibrary) throws -> StoreManifests {
        var problems: [ManifestError] = []
        var documents: [String: JSON] = [:]
        /// Every file that parsed, valid or not: cross-references are still checked against them.
        var parsed: [String: JSON] = [:]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw ManifestValidationError(
                directory: directory.path,
                problems: [ManifestError(file: directory.lastPathComponent, pointer: "", message: "no such folder")])
        }
        for (file, schemaName) in files {
            let url = directory.appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                problems.append(ManifestError(file: file, pointer: "", message: "file is missing"))
                continue
            }
            let document: JSON
            do {
                document = try JSON.parse(bytes: [UInt8](data), maxDepth: 64)
            } catch let error as JSONParseError {
                problems.append(ManifestError(file: file, pointer: "", message: "not valid JSON: \(error)"))
                continue
            }
            parsed[file] = document
            do {
                let schema = try schemas.schema(schemaName)
                let violations = schema.validate(document)
                problems.append(
                    contentsOf: violations.map {
                        ManifestError(file: file, pointer: $0.instancePointer, message: $0.message)
                    })
                if violations.isEmpty { documents[file] = document }
            } catch let error as ManifestError {
                problems.append(error)
            }
        }
        guard problems.isEmpty, let store = documents["store.json"], let catalogDocument = documents["catalog.json"],
            let pricing = documents["pricing.json"], let policies = documents["policies.json"]
        else {
            // A schema problem does not hide a broken reference: when the catalog itself is valid,
            // the references between files are checked too (against whatever the others hold), so
            // the merchant sees every problem in one pass.
            if let catalogDocument = documents["catalog.json"], let catalog = try? Catalog(json: catalogDocument) {
                let partial = StoreManifests(
                    directory: directory, store: parsed["store.json"] ?? [:], catalogDocument: catalogDocument,
                    catalog: catalog, pricing: parsed["pricing.json"] ?? [:], policies: parsed["policies.json"] ?? [:])
                for problem in partial.crossReferenceProblems() where !problems.contains(problem) {
                    problems.append(problem)
                }
            }
            throw ManifestValidationError(directory: directory.path, problems: problems)
        }
        let catalog = try Catalog(json: catalogDocument)
        let manifests = StoreManifests(
            directory: directory, store: store, catalogDocument: catalogDocument, catalog: catalog, pricing: pricing,
            policies: policies)
        problems = manifests.crossReferenceProblems()
        guard problems.isEmpty else { throw ManifestValidationError(directory: directory.path, problems: problems) }
        return manifests
    }

    /// What a schema cannot say: references between files and uniqueness across the catalog.
    func crossReferenceProblems() -> [ManifestError] {
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
