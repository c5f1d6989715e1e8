import JSON
import Store
import StorefrontDomain

extension StockLevels {
    /// The levels in the store's `inventory` table.
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
}

/// Stock levels kept between the writes that change them (see ``StoreSnapshot``): this process
/// forgets them when a commit changes `inventory`; another process's sales show within a second.
package typealias StockCache = StoreSnapshot<StockLevels>

extension StoreSnapshot where Value == StockLevels {
    package convenience init(database: Database, maxAge: Double = 1) {
        self.init(maxAge: maxAge, empty: StockLevels()) { try StockLevels.load(database: database) }
    }
}
