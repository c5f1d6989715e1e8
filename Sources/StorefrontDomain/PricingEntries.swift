import JSON

/// The store's prices as published (`/pricing`, `get_pricing`): one-time prices from the catalog,
/// plans, usage prices and discounts from pricing.json.
public enum PricingEntries {
    /// How many products' one-time prices the document lists; a larger catalog's are in its
    /// feeds (`one_time_complete` says which).
    public static let listedProducts = 1000

    /// One product's one-time price entry.
    public static func oneTime(_ product: Product) -> JSON {
        var entry: [String: JSON] = [
            "product_id": .string(product.id), "name": .string(product.name), "price": product.price.json,
            "pricing_model": product.source["pricing_model"] ?? "one_time",
            "in_stock": .bool(product.inStock),
        ]
        let overrides = product.variants.filter { $0.price != nil && $0.price != product.price }
        if !overrides.isEmpty {
            entry["variant_prices"] = .array(overrides.map { ["variant_id": .string($0.id), "price": $0.price!.json] })
        }
        return .object(entry)
    }

    /// The pricing document: the first ``listedProducts`` products in catalog order (with live
    /// stock from `stock`), and everything pricing.json declares.
    public static func document(
        manifests: StoreManifests, catalog: any CatalogReader, stock: ([String]) -> StockLevels, baseURL: String
    ) -> JSON {
        let (first, more) = catalog.page(after: nil, limit: listedProducts)
        let levels = stock(first.map(\.id))
        var document: [String: JSON] = [
            "store": .string(manifests.storeID),
            "currency": .string(manifests.currency),
            "amounts": "integer minor units",
            "one_time": .array(first.map { oneTime(levels.applied(to: $0)) }),
            "plans": manifests.pricing["plans"] ?? [],
            "usage": manifests.pricing["usage"] ?? [],
            "volume_discounts": manifests.pricing["volume_discounts"] ?? [],
            "free_trial": manifests.pricing["free_trial"] ?? .null,
            "negotiable": false,
            "contact_sales_required": false,
            "policies": .string(baseURL + "/policies"),
        ]
        if more != nil {
            document["one_time_complete"] = false
            document["one_time_feeds"] = [
                "acp": .string(baseURL + "/feeds/acp/products.jsonl"),
                "product": .string(baseURL + "/catalog/{id}"),
            ]
        }
        return .object(document)
    }
}
