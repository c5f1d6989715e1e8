import Foundation
import JSON
import Store
import StorefrontDomain
import StorefrontStore

/// Carts, checkouts, orders, approvals, inventory and the ledger. Every method that changes
/// money or stock runs inside the store writer's transaction (`db`), so checks and changes are
/// atomic and concurrent requests cannot interleave between them.
public struct Commerce: Sendable {
    let manifests: StoreManifests
    let database: Database
    let trail: AuditTrail
    /// How long a purchase waits for the principal before its hold is released.
    public var approvalTTL: Int64 = 24 * 3600
    /// Inbox entries and webhook deliveries for what happens.
    public var events = AgentEvents()

    package init(manifests: StoreManifests, database: Database, trail: AuditTrail) {
        self.manifests = manifests
        self.database = database
        self.trail = trail
    }

    var refundWindowDays: Int64 { manifests.policies["refunds"]?["window_days"]?.intValue ?? 30 }
    var currency: String { manifests.currency }

    /// Seeds stock from the catalog for SKUs the store does not know yet; after that the store
    /// is the record of what is left.
    public func seedInventory() throws {
        try database.write { db in
            for product in manifests.catalog.products {
                if product.variants.isEmpty {
                    try db.run(
                        "INSERT INTO inventory (sku, product_id, available) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        [.text(product.id), .text(product.id), .integer(product.inventory)])
                }
                for variant in product.variants {
                    try db.run(
                        "INSERT INTO inventory (sku, product_id, available) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        [.text(variant.id), .text(product.id), .integer(variant.inventory)])
                }
            }
        }
    }

    // MARK: Stock

    static func sku(_ line: JSON) -> String {
        line["variant_id"]?.stringValue ?? line["product_id"]?.stringValue ?? ""
    }

    func reserve(_ lines: [JSON], db: Connection) throws {
        for (i, line) in lines.enumerated() {
            let quantity = line["quantity"]?.intValue ?? 1
            let changed = try db.run(
                "UPDATE inventory SET available = available - ?1 WHERE sku = ?2 AND available >= ?1",
                [.integer(quantity), .text(Self.sku(line))])
            if changed == 0 {
                let left = try db.queryOne("SELECT available FROM inventory WHERE sku = ?", [.text(Self.sku(line))])?[0].int ?? 0
                throw ActionError(
                    status: 409, kind: .invalidRequest, code: "out_of_stock",
                    message: "\(line["name"]?.stringValue ?? Self.sku(line)) has \(left) left; \(quantity) were asked for. Lower the quantity or choose another variant.",
                    param: "/line_items/\(i)", details: ["sku": .string(Self.sku(line)), "available": .int(left)])
            }
        }
    }

    func restock(_ lines: [JSON], db: Connection) throws {
        for line in lines {
            try db.run(
                "UPDATE inventory SET available = available + ? WHERE sku = ?",
                [.integer(line["quantity"]?.intValue ?? 1), .text(Self.sku(line))])
        }
    }

    /// Messages for a checkout that cannot complete yet (stock shown, not reserved).
    func stockMessages(_ lines: [JSON], db: Connection) throws -> [JSON] {
        var messages: [JSON] = []
        for (i, line) in lines.enumerated() {
            let left = try db.queryOne("SELECT available FROM inventory WHERE sku = ?", [.text(Self.sku(line))])?[0].int ?? 0
            if left < (line["quantity"]?.intValue ?? 1) {
                messages.append([
                    "type": "error", "code": "out_of_stock", "path": .string("/line_items/\(i)"),
                    "content": .string("\(line["name"]?.stringValue ?? "This item") has \(left) left."),
                ])
            }
        }
        return messages
    }

    // MARK: Loading

    func checkoutRow(_ id: String, agentID: String, db: Connection) throws -> Row {
        guard let row = try db.queryOne("SELECT * FROM checkouts WHERE id = ? AND agent_id = ?", [.text(id), .text(agentID)]) else {
            throw ActionError.notFound("No checkout \(id) for this agent.", param: "/checkout_id")
        }
        return row
    }

    func checkoutJSON(_ row: Row, db: Connection) throws -> JSON {
        let approval = try row["approval_id"].string.flatMap {
            try db.queryOne("SELECT * FROM approvals WHERE id = ?", [.text($0)])
        }
        return CommerceRecords.checkout(row, approval: approval)
    }

    func checkoutJSON(_ id: String, db: Connection) throws -> JSON {
        guard let row = try db.queryOne("SELECT * FROM checkouts WHERE id = ?", [.text(id)]) else { return .null }
        return try checkoutJSON(row, db: db)
    }

    // MARK: Money moves

    /// Turns a checkout into an order and debits the wallet (or captures an approved hold).
    /// Returns the order and the debit's trail entry (what a receipt names). `principal` is the
    /// agent's; `wallet` the wallet as read in this transaction just before, when the caller has
    /// it (nil: the ledger's totals and the balance are read here).
    func placeOrder(
        checkout: Row, quote: JSON, principal: String?, wallet: WalletState?, db: Connection, capturingHold: Bool
    ) throws -> (order: Order, debit: TrailEntry) {
        let agentID = checkout["agent_id"].string ?? ""
        let checkoutID = checkout["id"].string ?? ""
        let total = checkout["total"].int ?? 0
        let currency = checkout["currency"].string ?? self.currency
        let orderID = randomIdentifier(prefix: "ord_")
        let now = unixNow()
        if capturingHold {
            try db.appendLedger(agentID: agentID, kind: "release", amount: total, currency: currency, reference: checkoutID, note: "approved hold captured")
        }
        try db.appendLedger(
            agentID: agentID, kind: "debit", amount: -total, currency: currency, reference: orderID,
            totals: wallet.map { ($0.balance, $0.spent[.allTime] ?? 0) })
        // The debit's trail entry first: the order keeps its seq, which its receipt names.
        let debit = try trail.append(
            TrailEntry(
                agentID: agentID, principal: principal, action: "wallet.debit", target: orderID, outcome: "ok", amount: total,
                currency: currency), in: db)
        let order = Order(
            id: orderID, agentID: agentID, checkoutID: checkoutID, status: "confirmed", items: quote, total: total, currency: currency,
            createdAt: now, updatedAt: now, referralCode: checkout["referral_code"].string, trailSeq: debit.seq)
        try OrderStore.insert(order, itemsText: checkout["quote"].string, db: db)
        try db.runDeferred(
            "UPDATE checkouts SET status = 'completed', order_id = ?, updated_at = ? WHERE id = ?",
            [.text(orderID), .integer(now), .text(checkoutID)])
        try events.record(
            "order.created", agentID: agentID, orderID: orderID,
            data: ["order_id": .string(orderID), "checkout_id": .string(checkoutID), "status": "confirmed",
                   "total": Money(amount: total, currency: currency).json], db: db)
        var balanceAfter = wallet.map { $0.balance - total }
        if balanceAfter == nil { balanceAfter = try WalletState.load(agentID, db: db)?.balance }
        if let balanceAfter, balanceAfter < total {
            try events.record(
                "wallet.low", agentID: agentID,
                data: ["balance": Money(amount: balanceAfter, currency: currency).json,
                       "note": "The balance would not cover this purchase again; ask the principal to fund the wallet."], db: db)
        }
        return (order, debit)
    }

    /// Releases a pending purchase's hold and stock: denied, expired or canceled.
    func releaseApproval(_ approval: Row, status: String, db: Connection, actor: String?) throws -> JSON {
        let checkoutID = approval["checkout_id"].string ?? ""
        guard let checkout = try db.queryOne("SELECT * FROM checkouts WHERE id = ?", [.text(checkoutID)]) else { return .null }
        let quote = (try? JSON.parse(checkout["quote"].string ?? "{}")) ?? [:]
        let amount = approval["amount"].int ?? 0
        let agentID = approval["agent_id"].string ?? ""
        let currency = approval["currency"].string ?? self.currency
        try db.appendLedger(agentID: agentID, kind: "release", amount: amount, currency: currency, reference: checkoutID, note: status)
        try restock(quote["line_items"]?.arrayValue ?? [], db: db)
        let now = unixNow()
        try db.run("UPDATE approvals SET status = ?, decided_at = ? WHERE id = ?", [.text(status), .integer(now), approval[0]])
        try db.run("UPDATE checkouts SET status = 'canceled', updated_at = ? WHERE id = ?", [.integer(now), .text(checkoutID)])
        try trail.append(
            TrailEntry(
                agentID: agentID, principal: actor, action: "approval.\(status)", target: approval["id"].string, outcome: "ok",
                amount: amount, currency: currency), in: db)
        try events.record(
            "approval.\(status)", agentID: agentID,
            data: ["approval_id": JSON(approval["id"].string), "checkout_id": .string(checkoutID),
                   "amount": Money(amount: amount, currency: currency).json, "hold_released": true], db: db)
        return try checkoutJSON(checkoutID, db: db)
    }

    // MARK: Approvals (the principal's side)

    public enum Decision: String, Sendable { case approve, deny }

    /// Approves or denies a pending purchase. Approval completes it; denial releases it.
    public func decide(_ approvalID: String, _ decision: Decision, by actor: String) throws -> JSON {
        try database.write { db -> JSON in
            guard let approval = try db.queryOne("SELECT * FROM approvals WHERE id = ?", [.text(approvalID)]) else {
                throw ActionError.notFound("No approval \(approvalID).")
            }
            guard approval["status"].string == "pending" else {
                throw ActionError.conflict(
                    "approval_not_pending", "Approval \(approvalID) is already \(approval["status"].string ?? "decided").")
            }
            if (approval["expires_at"].int ?? 0) < unixNow() {
                _ = try releaseApproval(approval, status: "expired", db: db, actor: "system")
                throw ActionError.conflict("approval_expired", "Approval \(approvalID) expired; its hold was released.")
            }
            switch decision {
            case .deny:
                let checkout = try releaseApproval(approval, status: "denied", db: db, actor: actor)
                return ["approval_id": .string(approvalID), "status": "denied", "checkout": checkout]
            case .approve:
                let checkoutID = approval["checkout_id"].string ?? ""
                guard let checkout = try db.queryOne("SELECT * FROM checkouts WHERE id = ?", [.text(checkoutID)]) else {
                    throw ActionError.notFound("The approval's checkout is gone.")
                }
                let quote = (try? JSON.parse(checkout["quote"].string ?? "{}")) ?? [:]
                let principal = try db.queryOne(
                    "SELECT principal FROM agents WHERE id = ?", [.text(checkout["agent_id"].string ?? "")])?[0].string
                let placed = try placeOrder(
                    checkout: checkout, quote: quote, principal: principal, wallet: nil, db: db, capturingHold: true)
                let orderID = placed.order.id
                try db.run(
                    "UPDATE approvals SET status = 'approved', decided_at = ? WHERE id = ?", [.integer(unixNow()), .text(approvalID)])
                try trail.append(
                    TrailEntry(
                        agentID: approval["agent_id"].string, principal: actor, action: "approval.approve", target: approvalID,
                        outcome: "ok", amount: approval["amount"].int, currency: approval["currency"].string), in: db)
                // The agent was not there when its purchase completed: its receipt comes in the event.
                let receipt = try trail.receipt(for: placed.debit, orderID: orderID, in: db)
                try events.record(
                    "approval.approved", agentID: approval["agent_id"].string ?? "",
                    data: ["approval_id": .string(approvalID), "checkout_id": .string(checkoutID), "order_id": .string(orderID),
                           "receipt": receipt],
                    db: db)
                return [
                    "approval_id": .string(approvalID), "status": "approved",
                    "checkout": try checkoutJSON(checkoutID, db: db), "order": placed.order.json(refundWindowDays: refundWindowDays),
                    "receipt": receipt,
                ]
            }
        }
    }

    /// Expires pending approvals whose time ran out; returns how many.
    @discardableResult
    public func expireApprovals() throws -> Int {
        try database.write(priority: .background) { db in
            let expired = try db.query(
                "SELECT * FROM approvals WHERE status = 'pending' AND expires_at < ?", [.integer(unixNow())])
            for approval in expired { _ = try releaseApproval(approval, status: "expired", db: db, actor: "system") }
            try db.run(
                "DELETE FROM idempotency_keys WHERE created_at < ?", [.integer(unixNow() - 48 * 3600)])
            return expired.count
        }
    }

    public func approvals(status: String?) throws -> [JSON] {
        try database.read { db in
            try db.query(
                """
                SELECT a.*, g.principal, g.display_name, c.quote FROM approvals a JOIN agents g ON g.id = a.agent_id
                LEFT JOIN checkouts c ON c.id = a.checkout_id
                WHERE ?1 IS NULL OR a.status = ?1 ORDER BY a.created_at DESC LIMIT 500
                """,
                [SQLValue(status)]
            ).map { row in
                // What the principal is asked to approve: each line, not only the total.
                let quote = (try? JSON.parse(row["quote"].string ?? "{}")) ?? [:]
                let lines: [JSON] = (quote["line_items"]?.arrayValue ?? []).map { line in
                    [
                        "product_id": line["product_id"] ?? .null, "variant_id": line["variant_id"] ?? .null,
                        "name": line["name"] ?? .null, "quantity": line["quantity"] ?? .null,
                        "unit_price": line["unit_price"] ?? .null, "total": line["total"] ?? .null,
                    ]
                }
                return [
                    "id": .string(row["id"].string ?? ""), "checkout_id": .string(row["checkout_id"].string ?? ""),
                    "agent_id": .string(row["agent_id"].string ?? ""), "principal": .string(row["principal"].string ?? ""),
                    "agent_name": .string(row["display_name"].string ?? ""), "line_items": .array(lines),
                    "status": .string(row["status"].string ?? ""),
                    "amount": Money(amount: row["amount"].int ?? 0, currency: row["currency"].string ?? "USD").json,
                    "created_at": .string(isoTime(row["created_at"].int ?? 0)),
                    "expires_at": .string(isoTime(row["expires_at"].int ?? 0)),
                ]
            }
        }
    }

    // MARK: Wallet administration

    public func fund(_ agentID: String, amount: Int64, note: String?, by actor: String) throws -> JSON {
        guard amount > 0 else { throw ActionError.invalid("invalid_amount", "amount must be a positive integer in minor units.", param: "amount") }
        return try database.write { db in
            guard let wallet = try WalletState.load(agentID, db: db) else { throw ActionError.notFound("No agent \(agentID).") }
            // Checked before anything is written: 9223372036854775807 added to a wallet that
            // holds money is refused, never a trap that ends the process.
            let balance = try MoneyMath.add(wallet.balance, amount, "The balance after funding \(amount)")
            try db.appendLedger(agentID: agentID, kind: "fund", amount: amount, currency: wallet.currency, reference: nil, note: note)
            try trail.append(
                TrailEntry(agentID: agentID, principal: actor, action: "wallet.fund", target: agentID, outcome: "ok", amount: amount,
                           currency: wallet.currency), in: db)
            try events.record(
                "wallet.funded", agentID: agentID,
                data: ["amount": Money(amount: amount, currency: wallet.currency).json,
                       "balance": Money(amount: balance, currency: wallet.currency).json], db: db)
            return try WalletState.load(agentID, db: db)!.json
        }
    }

    public func setControls(_ agentID: String, _ changes: JSON, by actor: String) throws -> JSON {
        try database.write { db in
            guard let wallet = try WalletState.load(agentID, db: db) else { throw ActionError.notFound("No agent \(agentID).") }
            let c = try wallet.controls.updated(with: changes)
            try db.run(
                """
                UPDATE wallets SET per_transaction = ?, daily = ?, weekly = ?, monthly = ?, all_time = ?, approval_threshold = ?,
                allowed_categories = ?, blocked_categories = ? WHERE agent_id = ?
                """,
                [c.perTransaction.map(SQLValue.integer) ?? .null, c.daily.map(SQLValue.integer) ?? .null,
                 c.weekly.map(SQLValue.integer) ?? .null, c.monthly.map(SQLValue.integer) ?? .null,
                 c.allTime.map(SQLValue.integer) ?? .null, c.approvalThreshold.map(SQLValue.integer) ?? .null,
                 SQLValue(c.allowedCategories.map { $0.sorted().joined(separator: " ") }),
                 .text(c.blockedCategories.sorted().joined(separator: " ")), .text(agentID)])
            try trail.append(
                TrailEntry(agentID: agentID, principal: actor, action: "wallet.set_limits", target: agentID, input: changes, outcome: "ok"),
                in: db)
            return try WalletState.load(agentID, db: db)!.json
        }
    }

    public func wallet(_ agentID: String) throws -> JSON? {
        try database.read { db in try WalletState.load(agentID, db: db)?.json }
    }
}
