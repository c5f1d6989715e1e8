import Dispatch
import Foundation
import JSON
import Store
import StorefrontDomain

/// The catalog as the store holds it, read product by product: a bounded memo of hot products
/// (each parsed once), forgotten whenever the catalog's version changes. The version is read
/// from the store at most every `maxAge` (how soon another SQLite process's change shows) and
/// dropped at once by this process's commits and, on PostgreSQL, by every node's.
package final class StoredCatalog: CatalogReader, @unchecked Sendable {
    private let database: Database
    private let versions: StoreSnapshot<Int64>
    private let memo: BoundedMemo<String, Product>
    private let lock = ReadWriteLock()
    private var seen: Int64 = -1
    private var cachedCategories: [StorefrontDomain.Category] = []
    private var cachedCount = 0
    private var refreshing = false

    package init(database: Database, maxAge: Double = 0.5, rememberedProducts: Int = 50_000) {
        self.database = database
        versions = StoreSnapshot(maxAge: maxAge, empty: 0) { try database.read { try CatalogRows.version(db: $0) } }
        memo = BoundedMemo(capacity: rememberedProducts)
        database.observeCommits(to: ["catalog_state"]) { [versions] in versions.invalidate() }
        // Categories and the count are there before the first request (the others then never
        // wait for a refresh, and never see none).
        follow()
    }

    /// Forgets what it holds when the store's version moved; returns the version. The categories
    /// and the product count are read again by one caller (counting a million rows takes tens of
    /// milliseconds); the others answer from the previous ones meanwhile.
    @discardableResult
    private func follow() -> Int64 {
        let now = versions.value
        let claimed = lock.write { () -> Bool in
            guard seen != now else { return false }
            memo.removeAll()
            seen = now
            guard !refreshing else { return false }
            refreshing = true
            return true
        }
        guard claimed else { return now }
        let categories = try? database.read { try CatalogRows.categories(db: $0) }
        let count = try? database.read { try CatalogRows.count(db: $0) }
        lock.write {
            refreshing = false
            if let categories { cachedCategories = categories }
            if let count { cachedCount = count }
            // Moved again meanwhile: the next caller reads them again.
            if seen != now { seen = -1 }
        }
        return now
    }

    package var version: Int { Int(truncatingIfNeeded: follow()) }

    package var categories: [StorefrontDomain.Category] {
        follow()
        return lock.read { cachedCategories }
    }

    package var productCount: Int {
        follow()
        return lock.read { cachedCount }
    }

    package func product(_ id: String) -> Product? { products([id]).first }

    package func products(_ ids: [String]) -> [Product] {
        let version = follow()
        var found: [String: Product] = [:]
        var missing: [String] = []
        for id in ids where found[id] == nil {
            if let product = memo[id] { found[id] = product } else { missing.append(id) }
        }
        if !missing.isEmpty, let loaded = try? database.read({ try CatalogRows.products(missing, db: $0) }) {
            // Kept only if the catalog did not move while they were read.
            let keep = lock.read { seen } == version
            for (id, product) in loaded {
                found[id] = product
                if keep { memo.insert(id, product) }
            }
        }
        return ids.compactMap { found[$0] }
    }

    package func productID(ofVariant id: String) -> String? {
        try? database.read { try CatalogRows.productID(ofVariant: id, db: $0) }
    }

    package func firstIDs(_ limit: Int) -> [String] {
        (try? database.read { try CatalogRows.firstIDs(limit, db: $0) }) ?? []
    }

    package func page(after: Int64?, limit: Int) -> (products: [Product], next: Int64?) {
        (try? database.read { try CatalogRows.page(after: after, limit: limit, db: $0) }) ?? ([], nil)
    }
}
