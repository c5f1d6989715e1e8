import Foundation
import JSON
import JSONSchema
import StorefrontDomain
import StorefrontStore

/// Every product a change refused (nothing of it was written).
public struct CatalogRejections: Error, Sendable {
    public var all: [CatalogRejection]

    public var json: JSON {
        ["error": ["type": "invalid_request", "code": "invalid_products", "message": .string("\(all.count) problem(s); nothing was changed."),
                   "rejected": .array(all.map(\.json))]]
    }
}

/// The merchant's changes to the catalog while it is served (admin API, CLI, feed imports):
/// each product checked against catalog.json's own product schema and the store's currencies
/// and categories before anything is written; then one transaction per change.
public struct CatalogChanges: Sendable {
    let manifests: StoreManifests
    let editor: CatalogEditor
    let productSchema: JSONSchema
    let currencies: Set<String>

    public init(manifests: StoreManifests, database: StoreDatabase, schemas: SchemaLibrary) throws {
        self.manifests = manifests
        editor = CatalogEditor(database: database)
        let catalogSchema = try schemas.document("catalog.schema.json")
        // The catalog schema's product definition, with the definitions it refers to.
        productSchema = try JSONSchema(
            ["$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": catalogSchema["$defs"] ?? [:], "$ref": "#/$defs/product"],
            assertFormats: true)
        currencies = Set(manifests.store["currencies"]?.arrayValue?.compactMap(\.stringValue) ?? [manifests.currency])
    }

    /// The product `json` (catalog.json's shape) checked; every problem as a rejection of `row`.
    public func check(_ json: JSON, row: Int, knownCategories: Set<String>) -> Result<Product, CatalogRejections> {
        let id = json["id"]?.stringValue
        // Said plainly rather than as the schema's oneOf (physical or digital) failing.
        if json["digital"]?.boolValue == false, json["weight_grams"] == nil {
            return .failure(CatalogRejections(all: [
                CatalogRejection(
                    row: row, id: id, field: "/weight_grams",
                    reason: "missing: a physical product needs its shipping weight in grams (or import with a default weight)")
            ]))
        }
        var problems = productSchema.validate(json).map {
            CatalogRejection(row: row, id: id, field: $0.instancePointer.isEmpty ? "/" : $0.instancePointer, reason: $0.message)
        }
        if problems.isEmpty {
            if let category = json["category"]?.stringValue, !knownCategories.contains(category) {
                problems.append(CatalogRejection(row: row, id: id, field: "/category", reason: "unknown category \(category)"))
            }
            var prices = [("/price", json["price"])]
            for (i, variant) in (json["variants"]?.arrayValue ?? []).enumerated() { prices.append(("/variants/\(i)/price", variant["price"])) }
            for (field, price) in prices {
                if let currency = price?["currency"]?.stringValue, !currencies.contains(currency) {
                    problems.append(
                        CatalogRejection(row: row, id: id, field: field + "/currency", reason: "currency \(currency) is not one of the store's \(currencies.sorted())"))
                }
            }
        }
        guard problems.isEmpty else { return .failure(CatalogRejections(all: problems)) }
        do {
            return .success(try Product(json: json))
        } catch {
            return .failure(CatalogRejections(all: [CatalogRejection(row: row, id: id, field: "/", reason: "\(error)")]))
        }
    }

    var categoryIDs: Set<String> { Set(manifests.liveCatalog.categories.map(\.id)) }

    /// Inserts or replaces products (admin API `PUT`, CLI), their stock set to what they declare
    /// (`setsStock` false: only SKUs the store does not know get theirs). Nothing is written if
    /// any is refused.
    public func upsert(_ products: [JSON], categories: [JSON] = [], setsStock: Bool = true) throws -> Result<JSON, CatalogRejections> {
        let newCategories = categories.compactMap(Category.init(json:))
        let known = categoryIDs.union(newCategories.map(\.id))
        var checked: [Product] = [], rejected: [CatalogRejection] = []
        for (i, json) in products.enumerated() {
            switch check(json, row: i + 1, knownCategories: known) {
            case .success(let product): checked.append(product)
            case .failure(let problems): rejected += problems.all
            }
        }
        guard rejected.isEmpty else { return .failure(CatalogRejections(all: rejected)) }
        return .success(try editor.upsert(checked, categories: newCategories, stock: setsStock ? .set : .seedMissing).json)
    }

    /// Changes one product's price or stock, or both (`{"price": {...}, "inventory": n}` for a
    /// product without variants; `{"variants": {"id": {"price"?, "inventory"?}}}` for variants).
    public func patch(_ id: String, _ changes: JSON) throws -> Result<JSON, CatalogRejections>? {
        guard let product = manifests.liveCatalog.product(id), case .object(var source) = product.source else { return nil }
        for key in ["price", "name", "description", "tags", "images", "attributes", "brand", "category"] {
            if let value = changes[key] { source[key] = value }
        }
        if let inventory = changes["inventory"] { source["inventory"] = inventory }
        if let variants = changes["variants"]?.objectValue, case .array(var declared)? = source["variants"] {
            for i in declared.indices {
                guard case .object(var variant) = declared[i], let vid = variant["id"]?.stringValue, let change = variants[vid] else { continue }
                if let price = change["price"] { variant["price"] = price }
                if let inventory = change["inventory"] { variant["inventory"] = inventory }
                declared[i] = .object(variant)
            }
            source["variants"] = .array(declared)
            // A product with variants has the sum of theirs.
            source["inventory"] = .int(declared.reduce(0) { $0 + ($1["inventory"]?.intValue ?? 0) })
        }
        // Stock changes only where the patch names it: a price change never restocks what was sold.
        let namesStock = changes["inventory"] != nil || changes["variants"]?.objectValue?.values.contains { $0["inventory"] != nil } == true
        return try upsert([.object(source)], setsStock: namesStock)
    }

    public func delete(_ ids: [String]) throws -> (JSON, missing: [String]) {
        let (report, missing) = try editor.delete(ids)
        return (report.json, missing)
    }

    /// Sets what is left of SKUs; unknown SKUs are returned and nothing else changes for them.
    public func setStock(_ levels: [(sku: String, available: Int64)]) throws -> (JSON, unknown: [String]) {
        let (report, unknown) = try editor.setStock(levels)
        return (report.json, unknown)
    }
}
