import Foundation
import JSON
import StorefrontDomain
import StorefrontStore

/// Carts, checkouts, orders, approvals, inventory and the ledger. Every method that changes
/// money or stock runs inside the store writer's transaction (`db`), so checks and changes are
/// atomic and concurrent requests cannot interleave between them.
public struct Commerce: Sendable {
    let manifests: StoreManifests
    let database: StoreDatabase
    let trail: AuditTrail
    /// How long a purchase waits for the principal before its hold is released.
    public var approvalTTL: Int64 = 24 * 3600
    /// Inbox entries and webhook deliveries for what happens.
    public var events = AgentEvents()
    /// How purchases may be paid: the wallet, and any handler registered beside it.
    public var paymentHandlers = PaymentHandlers()

    package init(manifests: StoreManifests, database: StoreDatabase, trail: AuditTrail) {
        self.manifests = manifests
        self.database = database
        self.trail = trail
    }

    var refundWindowDays: Int64 { manifests.policies["refunds"]?["window_days"]?.intValue ?? 30 }
    var currency: String { manifests.currency }

    // MARK: Stock

    static func sku(_ line: JSON) -> String {
        line["variant_id"]?.stringValue ?? line["product_id"]?.stringValue ?? ""
    }

    func reserve(_ lines: [JSON], db: StoreConnection) throws {
        for (i, line) in lines.enumerated() {
            let quantity = line["quantity"]?.intValue ?? 1
            if try !InventoryStore.take(sku: Self.sku(line), quantity: quantity, db: db) {
                let left = try InventoryStore.available(sku: Self.sku(line), db: db)
                throw ActionError(
                    status: 409, kind: .invalidRequest, code: "out_of_stock",
                    message: "\(line["name"]?.stringValue ?? Self.sku(line)) has \(left) left; \(quantity) were asked for. Lower the quantity or choose another variant.",
                    param: "/line_items/\(i)", details: ["sku": .string(Self.sku(line)), "available": .int(left)])
            }
        }
    }

    func restock(_ lines: [JSON], db: StoreConnection) throws {
        for line in lines {
            try InventoryStore.putBack(sku: Self.sku(line), quantity: line["quantity"]?.intValue ?? 1, db: db)
        }
    }

    /// Messages for a checkout that cannot complete yet (stock shown, not reserved).
    func stockMessages(_ lines: [JSON], db: StoreConnection) throws -> [JSON] {
        var messages: [JSON] = []
        for (i, line) in lines.enumerated() {
            let left = try InventoryStore.available(sku: Self.sku(line), db: db)
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

    /// The agent's checkout `id`, or the 404 that says there is none.
    func checkout(_ id: String, agentID: String, db: StoreConnection) throws -> Checkout {
        guard let checkout = try CheckoutStore.find(id, agentID: agentID, db: db) else {
            throw ActionError.notFound("No checkout \(id) for this agent.", param: "/checkout_id")
        }
        return checkout
    }

    /// A checkout as the wire shows it, with its approval.
    func checkoutJSON(_ checkout: Checkout, db: StoreConnection) throws -> JSON {
        checkout.json(approval: try checkout.approvalID.flatMap { try ApprovalStore.find($0, db: db) })
    }

    func checkoutJSON(_ id: String, db: StoreConnection) throws -> JSON {
        guard let checkout = try CheckoutStore.find(id, db: db) else { return .null }
        return try checkoutJSON(checkout, db: db)
    }

    // MARK: Money moves

    /// Turns a checkout into an order and debits the wallet (or captures an approved hold).
    /// Returns the order and the debit's trail entry (what a receipt names). `principal` is the
    /// agent's; `wallet` the wallet as read in this transaction just before, when the caller has
    /// it (nil: the ledger's totals and the balance are read here).
    /// `authorization` is a payment handler's that does not pay from the wallet (a processor's):
    /// what it reserved is credited first, so the debit leaves the balance as it was while the
    /// principal's limits count the purchase; the handler records its side before the order is
    /// returned. Nil: the wallet pays.
    func placeOrder(
        checkout: Checkout, principal: String?, wallet: WalletState?, db: StoreConnection, capturingHold: Bool,
        authorization: (PaymentAuthorization, any PaymentHandler)? = nil
    ) throws -> (order: Order, debit: TrailEntry) {
        let agentID = checkout.agentID
        let checkoutID = checkout.id
        let total = checkout.total
        let currency = checkout.currency
        let orderID = randomIdentifier(prefix: "ord_")
        let now = unixNow()
        if capturingHold {
            try db.appendLedger(agentID: agentID, kind: "release", amount: total, currency: currency, reference: checkoutID, note: "approved hold captured")
        }
        var totals = wallet.map { ($0.balance, $0.spent[.allTime] ?? 0) }
        if let (authorization, handler) = authorization {
            try db.appendLedger(
                agentID: agentID, kind: "external", amount: total, currency: currency, reference: orderID,
                note: "\(handler.id) \(authorization.reference)", totals: totals)
            totals = totals.map { ($0.0 + total, $0.1) }
        }
        try db.appendLedger(
            agentID: agentID, kind: "debit", amount: -total, currency: currency, reference: orderID, totals: totals)
        // The debit's trail entry first: the order keeps its seq, which its receipt names.
        let debit = try trail.append(
            TrailEntry(
                agentID: agentID, principal: principal, action: "wallet.debit", target: orderID, outcome: "ok", amount: total,
                currency: currency), in: db)
        let order = Order(
            id: orderID, agentID: agentID, checkoutID: checkoutID, status: "confirmed", items: checkout.quote, total: total,
            currency: currency, createdAt: now, updatedAt: now, referralCode: checkout.referralCode, trailSeq: debit.seq)
        try OrderStore.insert(order, itemsText: checkout.quoteText, db: db)
        try CheckoutStore.markCompleted(checkoutID, orderID: orderID, at: now, db: db)
        if let (authorization, handler) = authorization { try handler.capture(authorization, orderID: orderID, db: db) }
        try events.record(
            "order.created", agentID: agentID, orderID: orderID,
            data: ["order_id": .string(orderID), "checkout_id": .string(checkoutID), "status": "confirmed",
                   "total": Money(amount: total, currency: currency).json], db: db)
        var balanceAfter = wallet.map { $0.balance - total }
        if balanceAfter == nil { balanceAfter = try WalletState.load(agentID, db: db)?.balance }
        if authorization == nil, let balanceAfter, balanceAfter < total {
            try events.record(
                "wallet.low", agentID: agentID,
                data: ["balance": Money(amount: balanceAfter, currency: currency).json,
                       "note": "The balance would not cover this purchase again; ask the principal to fund the wallet."], db: db)
        }
        return (order, debit)
    }

    /// Releases a pending purchase's hold and stock: denied, expired or canceled.
    func releaseApproval(_ approval: Approval, status: Approval.Status, db: StoreConnection, actor: String?) throws -> JSON {
        let checkoutID = approval.checkoutID
        guard let checkout = try CheckoutStore.find(checkoutID, db: db) else { return .null }
        let (amount, agentID, currency) = (approval.amount, approval.agentID, approval.currency)
        try db.appendLedger(
            agentID: agentID, kind: "release", amount: amount, currency: currency, reference: checkoutID, note: status.rawValue)
        try restock(checkout.lineItems, db: db)
        let now = unixNow()
        try ApprovalStore.setStatus(approval.id, status, at: now, db: db)
        try CheckoutStore.markCanceled(checkoutID, at: now, db: db)
        try AllowanceStore.release(checkoutID: checkoutID, db: db)
        try trail.append(
            TrailEntry(
                agentID: agentID, principal: actor, action: "approval.\(status.rawValue)", target: approval.id, outcome: "ok",
                amount: amount, currency: currency), in: db)
        try events.record(
            "approval.\(status.rawValue)", agentID: agentID,
            data: ["approval_id": .string(approval.id), "checkout_id": .string(checkoutID),
                   "amount": Money(amount: amount, currency: currency).json, "hold_released": true], db: db)
        return try checkoutJSON(checkoutID, db: db)
    }

    // MARK: Fulfillment (the merchant's side)

    /// Records what happened to an order after it was placed (`shipped`, `delivered`, …): UCP's
    /// fulfillment event, an entry in the trail, and an `order.<type>` event in the agent's
    /// inbox (and to the webhooks: the merchant's, and the UCP platform's with the whole order).
    /// `lineItems` (`[{id: "li_N", quantity}]`) defaults to every line of the order.
    package func recordFulfillment(
        orderID: String, type: String, lineItems: JSON?, trackingNumber: String?, trackingURL: String?, carrier: String?,
        description: String?, by actor: String
    ) throws -> JSON {
        guard FulfillmentEvent.types.contains(type) else {
            throw ActionError.invalid(
                "unknown_fulfillment_type", "type must be one of \(FulfillmentEvent.types.sorted().joined(separator: ", ")).", param: "type")
        }
        for (name, value) in [("tracking_number", trackingNumber), ("tracking_url", trackingURL), ("carrier", carrier), ("description", description)] {
            if let value, value.count > 500 { throw ActionError.invalid("field_too_long", "\(name) is at most 500 characters.", param: name) }
        }
        return try database.writing { db -> JSON in
            guard let order = try OrderStore.find(orderID, db: db) else { throw ActionError.notFound("No order \(orderID).") }
            guard order.status != "canceled" else {
                throw ActionError.conflict("invalid_state", "Order \(orderID) was canceled; nothing is fulfilled.")
            }
            let lines = order.lineItems
            var chosen: [JSON] = []
            if let asked = lineItems?.arrayValue {
                for (i, line) in asked.enumerated() {
                    guard let id = line["id"]?.stringValue, let n = Int(id.dropFirst(3)), id.hasPrefix("li_"), n >= 1, n <= lines.count else {
                        throw ActionError.invalid("unknown_line_item", "line_items[\(i)].id must be one of li_1 … li_\(lines.count).", param: "line_items")
                    }
                    let most = lines[n - 1]["quantity"]?.intValue ?? 1
                    guard let quantity = line["quantity"]?.intValue, quantity >= 1, quantity <= most else {
                        throw ActionError.invalid("invalid_quantity", "line_items[\(i)].quantity must be 1 … \(most).", param: "line_items")
                    }
                    chosen.append(["id": .string(id), "quantity": .int(quantity)])
                }
                guard !chosen.isEmpty else { throw ActionError.invalid("empty_line_items", "line_items names no line.", param: "line_items") }
            } else {
                chosen = lines.enumerated().map { ["id": .string("li_\($0.offset + 1)"), "quantity": .int($0.element["quantity"]?.intValue ?? 1)] }
            }
            let event = FulfillmentEvent(
                // Ids sort in the order events are recorded (several can share a second).
                id: "ful_" + String(UInt64(Date().timeIntervalSince1970 * 1_000_000), radix: 16) + randomIdentifier(prefix: "_").prefix(9),
                orderID: orderID, type: type, lineItems: .array(chosen), trackingNumber: trackingNumber,
                trackingURL: trackingURL, carrier: carrier, description: description, occurredAt: unixNow())
            try UCPOrders.addEvent(event, db: db)
            try trail.append(
                TrailEntry(agentID: order.agentID, principal: actor, action: "order.fulfillment", target: orderID, outcome: type), in: db)
            var data: [String: JSON] = ["order_id": .string(orderID), "fulfillment_event": event.json]
            if let trackingNumber { data["tracking_number"] = .string(trackingNumber) }
            try events.record("order.\(type)", agentID: order.agentID, orderID: orderID, data: .object(data), db: db)
            return ["order_id": .string(orderID), "fulfillment_event": event.json]
        }
    }

    // MARK: Approvals (the principal's side)

    /// A checkout by id alone (the principal's page), with its agent's principal; nil when none.
    package func checkoutForPrincipal(_ id: String) throws -> (checkout: JSON, agentID: String, principal: String)? {
        try database.reading { db in
            guard let checkout = try CheckoutStore.find(id, db: db) else { return nil }
            let principal = try SQLiteAgentDirectory.principal(of: checkout.agentID, db: db) ?? ""
            return (try checkoutJSON(checkout, db: db), checkout.agentID, principal)
        }
    }

    public enum Decision: String, Sendable { case approve, deny }

    /// Approves or denies a pending purchase. Approval completes it; denial releases it.
    public func decide(_ approvalID: String, _ decision: Decision, by actor: String) throws -> JSON {
        // An approval found expired is released in this write, which must commit: the refusal is
        // returned from the transaction, and thrown after it.
        let outcome = try database.writing { db -> Result<JSON, ActionError> in
            guard let approval = try ApprovalStore.find(approvalID, db: db) else {
                throw ActionError.notFound("No approval \(approvalID).")
            }
            guard approval.status == .pending else {
                throw ActionError.conflict(
                    "approval_not_pending", "Approval \(approvalID) is already \(approval.status.rawValue).")
            }
            if approval.expiresAt < unixNow() {
                _ = try releaseApproval(approval, status: .expired, db: db, actor: "system")
                return .failure(ActionError.conflict("approval_expired", "Approval \(approvalID) expired; its hold was released."))
            }
            switch decision {
            case .deny:
                let checkout = try releaseApproval(approval, status: .denied, db: db, actor: actor)
                return .success(["approval_id": .string(approvalID), "status": "denied", "checkout": checkout])
            case .approve:
                let checkoutID = approval.checkoutID
                guard let checkout = try CheckoutStore.find(checkoutID, db: db) else {
                    throw ActionError.notFound("The approval's checkout is gone.")
                }
                let principal = try SQLiteAgentDirectory.principal(of: checkout.agentID, db: db)
                let placed = try placeOrder(checkout: checkout, principal: principal, wallet: nil, db: db, capturingHold: true)
                let orderID = placed.order.id
                try AllowanceStore.attach(checkoutID: checkoutID, orderID: orderID, db: db)
                try ApprovalStore.setStatus(approvalID, .approved, at: unixNow(), db: db)
                try trail.append(
                    TrailEntry(
                        agentID: approval.agentID, principal: actor, action: "approval.approve", target: approvalID,
                        outcome: "ok", amount: approval.amount, currency: approval.currency), in: db)
                // The agent was not there when its purchase completed: its receipt comes in the event.
                let receipt = try trail.receipt(for: placed.debit, orderID: orderID, in: db)
                try events.record(
                    "approval.approved", agentID: approval.agentID,
                    data: ["approval_id": .string(approvalID), "checkout_id": .string(checkoutID), "order_id": .string(orderID),
                           "receipt": receipt],
                    db: db)
                return .success([
                    "approval_id": .string(approvalID), "status": "approved",
                    "checkout": try checkoutJSON(checkoutID, db: db), "order": placed.order.json(refundWindowDays: refundWindowDays),
                    "receipt": receipt,
                ])
            }
        }
        return try outcome.get()
    }

    /// Expires pending approvals whose time ran out; returns how many.
    @discardableResult
    public func expireApprovals() throws -> Int {
        try database.writing(inBackground: true) { db in
            let expired = try ApprovalStore.overdue(at: unixNow(), db: db)
            for approval in expired { _ = try releaseApproval(approval, status: .expired, db: db, actor: "system") }
            try IdempotencyStore.deleteOlder(than: unixNow() - 48 * 3600, db: db)
            return expired.count
        }
    }

    /// The newest approvals, of one status (nil: all), as the principal's list shows them.
    public func approvals(status: String?, principal: String? = nil) throws -> [JSON] {
        var wanted: Approval.Status?
        if let status {
            guard let known = Approval.Status(rawValue: status) else { return [] }
            wanted = known
        }
        return try database.reading { db in
            try ApprovalStore.list(status: wanted, principal: principal, db: db).map { listing in
                let approval = listing.approval
                // What the principal is asked to approve: each line, not only the total.
                let lines: [JSON] = (listing.quote["line_items"]?.arrayValue ?? []).map { line in
                    [
                        "product_id": line["product_id"] ?? .null, "variant_id": line["variant_id"] ?? .null,
                        "name": line["name"] ?? .null, "quantity": line["quantity"] ?? .null,
                        "unit_price": line["unit_price"] ?? .null, "total": line["total"] ?? .null,
                    ]
                }
                return [
                    "id": .string(approval.id), "checkout_id": .string(approval.checkoutID),
                    "agent_id": .string(approval.agentID), "principal": .string(listing.principal),
                    "agent_name": .string(listing.agentName), "line_items": .array(lines),
                    "status": .string(approval.status.rawValue),
                    "amount": Money(amount: approval.amount, currency: approval.currency).json,
                    "created_at": .string(isoTime(approval.createdAt)),
                    "expires_at": .string(isoTime(approval.expiresAt)),
                ]
            }
        }
    }

    // MARK: Wallet administration

    public func fund(_ agentID: String, amount: Int64, note: String?, by actor: String) throws -> JSON {
        guard amount > 0 else { throw ActionError.invalid("invalid_amount", "amount must be a positive integer in minor units.", param: "amount") }
        return try database.writing { db in
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
        try database.writing { db in
            guard let wallet = try WalletState.load(agentID, db: db) else { throw ActionError.notFound("No agent \(agentID).") }
            try wallet.controls.updated(with: changes).save(agentID: agentID, db: db)
            try trail.append(
                TrailEntry(agentID: agentID, principal: actor, action: "wallet.set_limits", target: agentID, input: changes, outcome: "ok"),
                in: db)
            return try WalletState.load(agentID, db: db)!.json
        }
    }

    public func wallet(_ agentID: String) throws -> JSON? {
        try database.reading { db in try WalletState.load(agentID, db: db)?.json }
    }
}
