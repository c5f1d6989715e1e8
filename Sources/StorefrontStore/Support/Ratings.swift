import Foundation
import JSON
import Store
import StorefrontDomain

/// Aggregate ratings of products, read from the store. Only ratings of kept purchases count:
/// a rating whose order was later canceled or refunded in full drops out of the average.
package enum Ratings {
    /// Order statuses whose ratings do not count (every cent went back to the wallet).
    static let voidedStatuses = ["canceled", "refunded"]

    package static func keeps(status: String?) -> Bool { !voidedStatuses.contains(status ?? "") }

    static let keptJoin = """
        FROM feedback f JOIN orders o ON o.id = f.order_id
        WHERE o.status NOT IN ('canceled', 'refunded')
        """

    /// One product's average and count (`?1`: the product).
    static let productSQL = "SELECT avg(f.rating), count(*) \(keptJoin) AND f.product_id = ?1"

    /// Called when an order is canceled or refunded in full: touching its feedback rows makes
    /// the ratings cache (which follows commits to `feedback`) read the averages again.
    package static func orderVoided(_ orderID: String, db: Connection) throws {
        try db.run("UPDATE feedback SET updated_at = updated_at WHERE order_id = ?", [.text(orderID)])
    }

    package static func json(average: Double, count: Int64) -> JSON? {
        guard count > 0 else { return nil }
        return ["average": .double((average * 100).rounded() / 100), "count": .int(count)]
    }

    /// Every product's aggregate, in one query.
    static func loadAll(database: Database) throws -> [String: JSON] {
        try database.read { db in
            var result: [String: JSON] = [:]
            for row in try db.query("SELECT f.product_id, avg(f.rating), count(*) \(keptJoin) GROUP BY f.product_id", []) {
                if let id = row[0].string, let rating = json(average: row[1].double ?? 0, count: row[2].int ?? 0) {
                    result[id] = rating
                }
            }
            return result
        }
    }
}

/// Aggregate ratings of every product, read once and kept until feedback changes them (see
/// ``StoreSnapshot``: this process forgets them when feedback commits; other processes' feedback
/// shows within a second).
package typealias RatingsCache = StoreSnapshot<[String: JSON]>

extension StoreSnapshot where Value == [String: JSON] {
    package convenience init(database: Database, maxAge: TimeInterval = 1) {
        self.init(maxAge: maxAge, empty: [:]) { try Ratings.loadAll(database: database) }
    }

    package func ratings(_ ids: [String]) -> [String: JSON] {
        let all = value
        var found: [String: JSON] = [:]
        for id in ids { if let rating = all[id] { found[id] = rating } }
        return found
    }
}
