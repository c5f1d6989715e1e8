import JSON
import Store
import StorefrontDomain

/// An allowance delegated from an agent's wallet (ACP's delegate_payment): spendable once, on
/// one checkout, up to an amount, until a time.
package struct DelegatedAllowance: Sendable {
    package var id: String
    package var agentID: String
    package var checkoutID: String
    package var maxAmount: Int64
    package var currency: String
    package var merchantID: String
    package var expiresAt: Int64
    package var metadata: JSON
    package var createdAt: Int64
    package var usedAt: Int64?
    package var orderID: String?

    package init(
        id: String, agentID: String, checkoutID: String, maxAmount: Int64, currency: String, merchantID: String, expiresAt: Int64,
        metadata: JSON, createdAt: Int64, usedAt: Int64? = nil, orderID: String? = nil
    ) {
        self.id = id
        self.agentID = agentID
        self.checkoutID = checkoutID
        self.maxAmount = maxAmount
        self.currency = currency
        self.merchantID = merchantID
        self.expiresAt = expiresAt
        self.metadata = metadata
        self.createdAt = createdAt
        self.usedAt = usedAt
        self.orderID = orderID
    }
}

/// The SQL of delegated allowances.
package enum AllowanceStore {
    /// Unspent, unexpired allowances an agent may hold at once.
    package static let openPerAgent: Int64 = 100

    package static func insert(_ allowance: DelegatedAllowance, db: Connection) throws {
        try db.run(
            """
            INSERT INTO delegated_allowances (id, agent_id, checkout_id, max_amount, currency, merchant_id, expires_at, metadata, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(allowance.id), .text(allowance.agentID), .text(allowance.checkoutID), .integer(allowance.maxAmount),
             .text(allowance.currency), .text(allowance.merchantID), .integer(allowance.expiresAt), .text(allowance.metadata.compactString),
             .integer(allowance.createdAt)])
    }

    package static func openCount(agentID: String, at now: Int64, db: Connection) throws -> Int64 {
        try db.queryOne(
            "SELECT count(*) FROM delegated_allowances WHERE agent_id = ? AND used_at IS NULL AND expires_at > ?",
            [.text(agentID), .integer(now)])?[0].int ?? 0
    }

    package static func find(_ id: String, agentID: String, db: Connection) throws -> DelegatedAllowance? {
        guard let row = try db.queryOne("SELECT * FROM delegated_allowances WHERE id = ? AND agent_id = ?", [.text(id), .text(agentID)]) else {
            return nil
        }
        let decode = RowDecoder(row, table: "delegated_allowances")
        return DelegatedAllowance(
            id: try decode.text("id"), agentID: try decode.text("agent_id"), checkoutID: try decode.text("checkout_id"),
            maxAmount: try decode.int("max_amount"), currency: try decode.text("currency"), merchantID: try decode.text("merchant_id"),
            expiresAt: try decode.int("expires_at"), metadata: try decode.json("metadata"), createdAt: try decode.int("created_at"),
            usedAt: decode.optionalInt("used_at"), orderID: decode.optionalText("order_id"))
    }

    /// The order a purchase held for its principal became: the allowance it used names it.
    package static func attach(checkoutID: String, orderID: String, db: Connection) throws {
        try db.run(
            "UPDATE delegated_allowances SET order_id = ? WHERE checkout_id = ? AND used_at IS NOT NULL AND order_id = ''",
            [.text(orderID), .text(checkoutID)])
    }

    /// A held purchase that was declined, expired or canceled bought nothing: its allowance is unspent again.
    package static func release(checkoutID: String, db: Connection) throws {
        try db.run(
            "UPDATE delegated_allowances SET used_at = NULL, order_id = NULL WHERE checkout_id = ? AND used_at IS NOT NULL AND order_id = ''",
            [.text(checkoutID)])
    }

    /// Spends an allowance for an order; false when it was spent already (by a concurrent purchase).
    package static func spend(_ id: String, orderID: String, at time: Int64, db: Connection) throws -> Bool {
        try db.run(
            "UPDATE delegated_allowances SET used_at = ?, order_id = ? WHERE id = ? AND used_at IS NULL",
            [.integer(time), .text(orderID), .text(id)]) == 1
    }
}
