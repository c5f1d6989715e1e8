import JSON

/// What is left to sell, read from the store's `inventory` table: by SKU (a product without
/// variants is its own SKU) and by product (a product with variants has the sum of theirs).
/// The catalog's numbers are only where stock starts; after the first start the store is the
/// record (checkouts take from it, cancellations put back). Holds only the products asked about.
public struct StockLevels: Equatable, Sendable {
    public var bySKU: [String: Int64] = [:]
    public var byProduct: [String: Int64] = [:]

    public init() {}

    public mutating func merge(_ other: StockLevels) {
        bySKU.merge(other.bySKU) { _, new in new }
        byProduct.merge(other.byProduct) { _, new in new }
    }

    /// The product with its live numbers: `inventory` for it and each variant, in its declared
    /// form (`source`) too. A SKU the store does not know keeps the catalog's number.
    public func applied(to product: Product) -> Product {
        var live = product
        live.inventory = byProduct[product.id] ?? product.inventory
        for i in live.variants.indices {
            live.variants[i].inventory = bySKU[live.variants[i].id] ?? live.variants[i].inventory
        }
        if case .object(var source) = product.source {
            source["inventory"] = .int(live.inventory)
            if case .array(var variants)? = source["variants"] {
                for i in variants.indices {
                    guard case .object(var variant) = variants[i], let id = variant["id"]?.stringValue else { continue }
                    if let level = bySKU[id] { variant["inventory"] = .int(level) }
                    variants[i] = .object(variant)
                }
                source["variants"] = .array(variants)
            }
            live.source = .object(source)
        }
        return live
    }
}
