import Foundation
import JSON
import Store
import StorefrontDomain

/// The SQL of orders: every read and write of the `orders` table for commerce and support
/// (joins that only filter or sum it stay with their queries: analytics' aggregates in
/// `AnalyticsQueries`, kept orders' ratings in `Ratings`). Rows become typed `Order`s; a
/// row that lacks a required column or holds unreadable items is an error, not a default.
package enum OrderStore {
    package static func insert(_ order: Order, itemsText: String? = nil, db: Connection) throws {
        try db.runDeferred(
            """
            INSERT INTO orders (id, agent_id, checkout_id, status, items, total, refunded, currency, created_at, updated_at,
                                referral_code, trail_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(order.id), .text(order.agentID), .text(order.checkoutID), .text(order.status),
             .text(itemsText ?? order.items.compactString), .integer(order.total), .integer(order.refunded), .text(order.currency),
             .integer(order.createdAt), .integer(order.updatedAt), SQLValue(order.referralCode),
             order.trailSeq.map(SQLValue.integer) ?? .null])
        // The buyer hears of its products' price changes, restocks and discontinuation.
        var products: Set<String> = []
        for line in order.lineItems {
            guard let product = line["product_id"]?.stringValue, products.insert(product).inserted else { continue }
            try CatalogRows.watch(productID: product, agentID: order.agentID, reason: "bought", now: order.createdAt, db: db)
        }
    }

    /// The order `id`; with `agentID`, only if that agent placed it.
    package static func find(_ id: String, agentID: String? = nil, db: Connection) throws -> Order? {
        try db.queryOne(
            "SELECT * FROM orders WHERE id = ?1 AND (?2 IS NULL OR agent_id = ?2)", [.text(id), SQLValue(agentID)]
        ).map(order)
    }

    /// An agent's orders, newest first, from just after `after` (the last order of the page
    /// before: a keyset, so orders placed meanwhile neither repeat nor push any out of a page).
    package static func page(agentID: String, limit: Int, after: (createdAt: Int64, id: String)?, db: Connection) throws -> [Order] {
        guard let after else {
            return try db.query(
                "SELECT * FROM orders WHERE agent_id = ? ORDER BY created_at DESC, id DESC LIMIT ?", [.text(agentID), SQLValue(limit)]
            ).map(order)
        }
        return try db.query(
            """
            SELECT * FROM orders WHERE agent_id = ?1 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3))
            ORDER BY created_at DESC, id DESC LIMIT ?4
            """, [.text(agentID), .integer(after.createdAt), .text(after.id), SQLValue(limit)]
        ).map(order)
    }

    /// Canceled and refunded in full.
    package static func markCanceled(_ id: String, at time: Int64, db: Connection) throws {
        try db.run("UPDATE orders SET status = 'canceled', refunded = total, updated_at = ? WHERE id = ?", [.integer(time), .text(id)])
    }

    /// `amount` more refunded; the order's status becomes `status`.
    package static func addRefund(_ id: String, amount: Int64, status: String, at time: Int64, db: Connection) throws {
        try db.run(
            "UPDATE orders SET status = ?, refunded = refunded + ?, updated_at = ? WHERE id = ?",
            [.text(status), .integer(amount), .integer(time), .text(id)])
    }

    static func order(_ row: Row) throws -> Order {
        func required<T>(_ value: T?, _ column: String) throws -> T {
            guard let value else {
                throw StoreError(message: "orders row \(row["id"].string ?? "?") has no \(column)")
            }
            return value
        }
        let itemsText = try required(row["items"].string, "items")
        let items: JSON
        do {
            items = try JSON.parse(itemsText)
        } catch {
            throw StoreError(message: "orders row \(row["id"].string ?? "?") holds items that are not JSON: \(error)")
        }
        return Order(
            id: try required(row["id"].string, "id"), agentID: try required(row["agent_id"].string, "agent_id"),
            checkoutID: try required(row["checkout_id"].string, "checkout_id"), status: try required(row["status"].string, "status"),
            items: items, total: try required(row["total"].int, "total"), refunded: try required(row["refunded"].int, "refunded"),
            currency: try required(row["currency"].string, "currency"), createdAt: try required(row["created_at"].int, "created_at"),
            updatedAt: try required(row["updated_at"].int, "updated_at"), referralCode: row["referral_code"].string,
            trailSeq: row["trail_seq"].int)
    }
}

/// `list_orders`' cursor: the last order of a page (its time and id) and the agent it was
/// issued to, so a cursor is useless to another agent and a page starts exactly after the last.
package enum OrderCursor {
    package static func encode(after order: Order) -> String {
        Base64URL.encode(Data("o1:\(order.createdAt):\(order.id):\(order.agentID)".utf8))
    }

    package static func decode(_ cursor: String, agentID: String) -> (createdAt: Int64, id: String)? {
        guard cursor.count <= 128, let data = Base64URL.decode(cursor) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "o1", let time = Int64(parts[1]), !parts[2].isEmpty, parts[3] == agentID
        else { return nil }
        return (time, String(parts[2]))
    }
}
