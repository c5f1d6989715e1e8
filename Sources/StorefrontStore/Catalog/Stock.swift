import Dispatch
import JSON
import Store
import StorefrontDomain

extension StockLevels {
    /// The levels in the store's `inventory` table of the products `productIDs`, product by product.
    static func load(productIDs: [String], db: Connection) throws -> [String: StockLevels] {
        var levels: [String: StockLevels] = [:]
        for row in try CatalogRows.rows(where: "product_id", in: productIDs, "SELECT sku, product_id, available FROM inventory", db: db) {
            guard let sku = row[0].string, let product = row[1].string else { continue }
            let available = row[2].int ?? 0
            levels[product, default: StockLevels()].bySKU[sku] = available
            levels[product, default: StockLevels()].byProduct[product, default: 0] += available
        }
        return levels
    }
}

/// What is left to sell, read for the products a request names (never the whole table: a
/// catalog may have a million SKUs) and remembered per product until a commit changes
/// `inventory` (``invalidate()``) or for at most `maxAge`, which bounds how long another
/// process's sales take to show.
package final class StockReader: @unchecked Sendable {
    private struct Entry {
        var levels: StockLevels
        var loadedAt: UInt64
    }

    private let database: Database
    private let memo: BoundedMemo<String, Entry>
    private let maxAgeNanoseconds: UInt64
    private let lock = ReadWriteLock()
    private var changes = 0
    private let started = DispatchTime.now().uptimeNanoseconds

    package init(database: Database, maxAge: Double = 1, rememberedProducts: Int = 100_000) {
        self.database = database
        memo = BoundedMemo(capacity: rememberedProducts)
        maxAgeNanoseconds = UInt64(max(0, maxAge) * 1e9)
    }

    /// Called after a commit that changed `inventory` (this process's, or on PostgreSQL another
    /// node's).
    package func invalidate() {
        lock.write { changes += 1 }
        memo.removeAll()
    }

    /// Changes whenever the levels may have: each invalidation and, where other processes'
    /// commits are not heard (SQLite), each `maxAge`.
    package var version: Int {
        let local = lock.read { changes }
        guard !database.isShared, maxAgeNanoseconds > 0 else { return local }
        let ticks = (DispatchTime.now().uptimeNanoseconds &- started) / maxAgeNanoseconds
        return local &+ Int(truncatingIfNeeded: ticks) &* 1_000_003
    }

    /// The levels of `productIDs` (and of their SKUs).
    package func levels(_ productIDs: [String]) -> StockLevels {
        let now = DispatchTime.now().uptimeNanoseconds
        var levels = StockLevels()
        var missing: [String] = []
        for id in Set(productIDs) {
            if let entry = memo[id], now &- entry.loadedAt < maxAgeNanoseconds {
                levels.merge(entry.levels)
            } else {
                missing.append(id)
            }
        }
        guard !missing.isEmpty else { return levels }
        let before = lock.read { changes }
        guard let loaded = try? database.read({ try StockLevels.load(productIDs: missing, db: $0) }) else { return levels }
        for own in loaded.values { levels.merge(own) }
        // Kept only when no commit changed stock while it was read.
        guard lock.read({ changes }) == before else { return levels }
        for id in missing { memo.insert(id, Entry(levels: loaded[id] ?? StockLevels(), loadedAt: now)) }
        return levels
    }
}
