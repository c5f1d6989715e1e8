import JSON
import Store
import StorefrontDomain

/// The SQL of carts: every read and write of the `carts` table.
package enum CartStore {
    package static func insert(_ cart: Cart, db: Connection) throws {
        try db.run(
            "INSERT INTO carts (id, agent_id, status, items, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [.text(cart.id), .text(cart.agentID), .text(cart.status.rawValue), .text(cart.items.compactString),
             .integer(cart.createdAt), .integer(cart.updatedAt)])
    }

    /// The agent's cart `id`.
    package static func find(_ id: String, agentID: String, db: Connection) throws -> Cart? {
        try db.queryOne("SELECT * FROM carts WHERE id = ? AND agent_id = ?", [.text(id), .text(agentID)]).map(cart)
    }

    /// New priced items.
    package static func setItems(_ id: String, _ items: JSON, at time: Int64, db: Connection) throws {
        try db.run("UPDATE carts SET items = ?, updated_at = ? WHERE id = ?", [.text(items.compactString), .integer(time), .text(id)])
    }

    package static func setStatus(_ id: String, _ status: Cart.Status, at time: Int64, db: Connection) throws {
        try db.run("UPDATE carts SET status = ?, updated_at = ? WHERE id = ?", [.text(status.rawValue), .integer(time), .text(id)])
    }

    static func cart(_ row: Row) throws -> Cart {
        let r = RowDecoder(row, table: "carts")
        return Cart(
            id: try r.text("id"), agentID: try r.text("agent_id"), status: try r.value("status", as: Cart.Status.self),
            items: try r.json("items"), createdAt: try r.int("created_at"), updatedAt: try r.int("updated_at"))
    }
}

/// The SQL of checkouts: every read and write of the `checkouts` table for commerce.
package enum CheckoutStore {
    package static func insert(_ checkout: Checkout, db: Connection) throws {
        try db.run(
            """
            INSERT INTO checkouts (id, agent_id, cart_id, status, items, quote, total, currency, created_at, updated_at, referral_code)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(checkout.id), .text(checkout.agentID), SQLValue(checkout.cartID), .text(checkout.status.rawValue),
             .text(checkout.items.compactString), .text(checkout.quoteText), .integer(checkout.total), .text(checkout.currency),
             .integer(checkout.createdAt), .integer(checkout.updatedAt), SQLValue(checkout.referralCode)])
    }

    /// The checkout `id`; with `agentID`, only if that agent started it.
    package static func find(_ id: String, agentID: String? = nil, db: Connection) throws -> Checkout? {
        try db.queryOne(
            "SELECT * FROM checkouts WHERE id = ?1 AND (?2 IS NULL OR agent_id = ?2)", [.text(id), SQLValue(agentID)]
        ).map(checkout)
    }

    /// New items, priced: the quote, its total and whether it can complete.
    package static func reprice(_ checkout: Checkout, db: Connection) throws {
        try db.run(
            "UPDATE checkouts SET status = ?, items = ?, quote = ?, total = ?, updated_at = ? WHERE id = ?",
            [.text(checkout.status.rawValue), .text(checkout.items.compactString), .text(checkout.quoteText),
             .integer(checkout.total), .integer(checkout.updatedAt), .text(checkout.id)])
    }

    /// Waiting for the principal's decision on `approvalID`.
    package static func markPendingApproval(_ id: String, approvalID: String, at time: Int64, db: Connection) throws {
        try db.run(
            "UPDATE checkouts SET status = 'pending_approval', approval_id = ?, updated_at = ? WHERE id = ?",
            [.text(approvalID), .integer(time), .text(id)])
    }

    /// Completed by `orderID` (its result is not read: pipelined on PostgreSQL).
    package static func markCompleted(_ id: String, orderID: String, at time: Int64, db: Connection) throws {
        try db.runDeferred(
            "UPDATE checkouts SET status = 'completed', order_id = ?, updated_at = ? WHERE id = ?",
            [.text(orderID), .integer(time), .text(id)])
    }

    package static func markCanceled(_ id: String, at time: Int64, db: Connection) throws {
        try db.run("UPDATE checkouts SET status = 'canceled', updated_at = ? WHERE id = ?", [.integer(time), .text(id)])
    }

    static func checkout(_ row: Row) throws -> Checkout {
        let r = RowDecoder(row, table: "checkouts")
        let quoteText = try r.text("quote")
        return Checkout(
            id: try r.text("id"), agentID: try r.text("agent_id"), cartID: r.optionalText("cart_id"),
            status: try r.value("status", as: Checkout.Status.self), items: try r.json("items"), quote: try r.json("quote"),
            quoteText: quoteText, total: try r.int("total"), currency: try r.text("currency"), orderID: r.optionalText("order_id"),
            approvalID: r.optionalText("approval_id"), referralCode: r.optionalText("referral_code"),
            createdAt: try r.int("created_at"), updatedAt: try r.int("updated_at"))
    }
}

/// The SQL of approvals: the purchases waiting for a principal and how they were decided.
package enum ApprovalStore {
    package static func insert(_ approval: Approval, db: Connection) throws {
        try db.run(
            """
            INSERT INTO approvals (id, checkout_id, agent_id, amount, currency, status, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(approval.id), .text(approval.checkoutID), .text(approval.agentID), .integer(approval.amount),
             .text(approval.currency), .text(approval.status.rawValue), .integer(approval.createdAt), .integer(approval.expiresAt)])
    }

    package static func find(_ id: String, db: Connection) throws -> Approval? {
        try db.queryOne("SELECT * FROM approvals WHERE id = ?", [.text(id)]).map(approval)
    }

    /// Decided (or expired, or canceled) at `time`.
    package static func setStatus(_ id: String, _ status: Approval.Status, at time: Int64, db: Connection) throws {
        try db.run("UPDATE approvals SET status = ?, decided_at = ? WHERE id = ?", [.text(status.rawValue), .integer(time), .text(id)])
    }

    /// Pending approvals whose time ran out before `time`.
    package static func overdue(at time: Int64, db: Connection) throws -> [Approval] {
        try db.query("SELECT * FROM approvals WHERE status = 'pending' AND expires_at < ?", [.integer(time)]).map(approval)
    }

    /// An approval as the principal's list shows it: who asks and for what.
    package struct Listing: Sendable {
        package var approval: Approval
        package var principal: String
        package var agentName: String
        /// The checkout's quote (null when the checkout is gone).
        package var quote: JSON
    }

    /// The newest 500 approvals, of one status or all.
    /// The newest approvals (500 at most), of one status and one principal's agents when given.
    package static func list(status: Approval.Status?, principal: String? = nil, db: Connection) throws -> [Listing] {
        try db.query(
            """
            SELECT a.*, g.principal, g.display_name, c.quote AS checkout_quote FROM approvals a JOIN agents g ON g.id = a.agent_id
            LEFT JOIN checkouts c ON c.id = a.checkout_id
            WHERE (?1 IS NULL OR a.status = ?1) AND (?2 IS NULL OR g.principal = ?2) ORDER BY a.created_at DESC LIMIT 500
            """,
            [SQLValue(status?.rawValue), SQLValue(principal)]
        ).map { row in
            let r = RowDecoder(row, table: "approvals")
            return Listing(
                approval: try approval(row), principal: try r.text("principal"), agentName: try r.text("display_name"),
                quote: r.optionalText("checkout_quote") == nil ? .null : try r.json("checkout_quote"))
        }
    }

    static func approval(_ row: Row) throws -> Approval {
        let r = RowDecoder(row, table: "approvals")
        return Approval(
            id: try r.text("id"), checkoutID: try r.text("checkout_id"), agentID: try r.text("agent_id"),
            amount: try r.int("amount"), currency: try r.text("currency"), status: try r.value("status", as: Approval.Status.self),
            createdAt: try r.int("created_at"), expiresAt: try r.int("expires_at"), decidedAt: r.optionalInt("decided_at"))
    }
}

/// The SQL of stock: what is left of each SKU (a product, or one of its variants).
package enum InventoryStore {
    /// Adds a SKU the store does not know yet with the catalog's stock; a known one keeps its count.
    package static func seed(sku: String, productID: String, available: Int64, db: Connection) throws {
        try db.run(
            "INSERT INTO inventory (sku, product_id, available) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [.text(sku), .text(productID), .integer(available)])
    }

    /// Takes `quantity` if that many are left; false (nothing taken) otherwise.
    package static func take(sku: String, quantity: Int64, db: Connection) throws -> Bool {
        try db.run(
            "UPDATE inventory SET available = available - ?1 WHERE sku = ?2 AND available >= ?1", [.integer(quantity), .text(sku)]
        ) > 0
    }

    /// Puts `quantity` back.
    package static func putBack(sku: String, quantity: Int64, db: Connection) throws {
        try db.run("UPDATE inventory SET available = available + ? WHERE sku = ?", [.integer(quantity), .text(sku)])
    }

    /// What is left of a SKU (0 for one the store does not know).
    package static func available(sku: String, db: Connection) throws -> Int64 {
        try db.queryOne("SELECT available FROM inventory WHERE sku = ?", [.text(sku)])?[0].int ?? 0
    }
}
