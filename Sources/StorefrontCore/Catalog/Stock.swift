import JSON
import Store

/// What is left to sell, read from the store's `inventory` table: by SKU (a product without
/// variants is its own SKU) and by product (a product with variants has the sum of theirs).
/// The catalog's numbers are only where stock starts; after the first start the store is the
/// record (checkouts take from it, cancellations put back).
struct StockLevels: Equatable, Sendable {
    var bySKU: [String: Int64] = [:]
    var byProduct: [String: Int64] = [:]

    static func load(database: Database) throws -> StockLevels {
        try database.read { db in
            var levels = StockLevels()
            for row in try db.query("SELECT sku, product_id, available FROM inventory", []) {
                guard let sku = row[0].string, let product = row[1].string else { continue }
                let available = row[2].int ?? 0
                levels.bySKU[sku] = available
                levels.byProduct[product, default: 0] += available
            }
            return levels
        }
    }

    /// The product with its live numbers: `inventory` for it and each variant, in its declared
    /// form (`source`) too. A SKU the store does not know keeps the catalog's number.
    func applied(to product: Product) -> Product {
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

/// Stock levels kept between the writes that change them (see ``StoreSnapshot``): this process
/// forgets them when a commit changes `inventory`; another process's sales show within a second.
typealias StockCache = StoreSnapshot<StockLevels>

extension StoreSnapshot where Value == StockLevels {
    convenience init(database: Database, maxAge: Double = 1) {
        self.init(maxAge: maxAge, empty: StockLevels()) { try StockLevels.load(database: database) }
    }
}
