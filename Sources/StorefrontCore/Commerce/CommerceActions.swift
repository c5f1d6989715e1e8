import Foundation
import JSON
import Store
import StorefrontDomain
import StorefrontStore

/// The actions of the Transacting and Using stages, with UCP's names where UCP has one.
package struct CommerceActions: Sendable {
    let commerce: Commerce

    package init(commerce: Commerce) {
        self.commerce = commerce
    }
    var manifests: StoreManifests { commerce.manifests }

    static let mutating = ActionAnnotations(readOnly: false, destructive: false, idempotent: true, openWorld: false)
    static let destructive = ActionAnnotations(readOnly: false, destructive: true, idempotent: true, openWorld: false)

    package var all: [Action] {
        [
            Action(
                name: "get_wallet", title: "Get the wallet",
                description: "The agent's balance, the spend limits its principal set (per transaction, daily, weekly, monthly, all-time), what remains in each window and when it resets, allowed and blocked categories, and the approval threshold.",
                stage: .transacting, scope: "checkout:write", handler: wallet),
            Action(
                name: "create_cart", title: "Create a cart", description: "A cart of products (with variants and quantities), priced with volume discounts and shipping.",
                stage: .transacting, scope: "cart:write", annotations: Self.mutating, write: createCart),
            Action(
                name: "get_cart", title: "Get a cart", description: "A cart and its current prices.",
                stage: .transacting, scope: "cart:write", handler: getCart),
            Action(
                name: "update_cart", title: "Update a cart", description: "Replace an active cart's items; prices are recomputed.",
                stage: .transacting, scope: "cart:write", annotations: Self.mutating, write: updateCart),
            Action(
                name: "cancel_cart", title: "Cancel a cart", description: "Cancel an active cart.",
                stage: .transacting, scope: "cart:write", annotations: Self.destructive, write: cancelCart),
            Action(
                name: "create_checkout", title: "Start a checkout",
                description: "Start checking out a cart (or items directly): line items, discounts, shipping and the total in minor units; status ready_for_complete, or incomplete with messages saying what to fix.",
                stage: .transacting, scope: "checkout:write", annotations: Self.mutating, write: createCheckout),
            Action(
                name: "get_checkout", title: "Get a checkout", description: "A checkout's status, totals and, when it waits for the principal, its approval.",
                stage: .transacting, scope: "checkout:write", handler: getCheckout),
            Action(
                name: "update_checkout", title: "Update a checkout", description: "Change an open checkout's items or shipping option.",
                stage: .transacting, scope: "checkout:write", annotations: Self.mutating, write: updateCheckout),
            Action(
                name: "complete_checkout", title: "Complete a checkout (pay)",
                description: "Pay from the wallet: stock is reserved, every spend limit and the balance are checked, and the wallet is debited, all at once. Above the approval threshold the checkout waits in pending_approval for the principal. Send an Idempotency-Key: a retry returns the first answer and never charges twice.",
                stage: .transacting, scope: "checkout:write", annotations: Self.mutating, write: completeCheckout),
            Action(
                name: "cancel_checkout", title: "Cancel a checkout", description: "Cancel an open or pending checkout; a pending one's hold and stock are released.",
                stage: .transacting, scope: "checkout:write", annotations: Self.destructive, write: cancelCheckout),
            Action(
                name: "get_order", title: "Get an order", description: "An order's status, items, totals, what was refunded and until when a refund can be asked for.",
                stage: .using, scope: "orders:read", handler: getOrder),
            Action(
                name: "list_orders", title: "List orders", description: "The agent's orders, newest first, paged with a cursor.",
                stage: .using, scope: "orders:read", handler: listOrders),
            Action(
                name: "cancel_order", title: "Cancel an order", description: "Cancel a confirmed order: the wallet is refunded in full and the stock returned.",
                stage: .using, scope: "orders:write", annotations: Self.destructive, write: cancelOrder),
            Action(
                name: "request_refund", title: "Request a refund",
                description: "Refund all or part of an order to the wallet, within the refund window of the store's policies.",
                stage: .using, scope: "orders:write", annotations: Self.mutating, write: requestRefund),
        ]
    }

    // MARK: Wallet

    func wallet(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        guard let wallet = try commerce.wallet(agent.id) else { throw ActionError.notFound("This agent has no wallet.") }
        return ["wallet": wallet]
    }

    // MARK: Carts

    func price(_ items: JSON, shipping: String? = nil) throws -> PricedItems {
        do {
            return try PricedItems.price(items, manifests: manifests, shippingOption: shipping)
        } catch var error as ActionError {
            error.param = error.param.map { $0.hasPrefix("/items") ? $0 : $0 }
            throw error
        }
    }

    func storedItems(_ priced: PricedItems, extra: [String: JSON] = [:]) -> JSON {
        var stored: [String: JSON] = [
            "line_items": .array(priced.lineItems), "totals": priced.totalsJSON, "currency": .string(priced.currency),
            "shipping_option": JSON(priced.shippingOption),
        ]
        for (k, v) in extra { stored[k] = v }
        return .object(stored)
    }

    func createCart(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        try AgentQuota.check(
            "carts", condition: "status = 'active'", agentID: agent.id, limit: AgentQuota.activeCarts, what: "active carts",
            remedy: "check one out or cancel_cart first (unused carts expire).", db: db)
        let priced = try price(arguments["items"] ?? [])
        let id = randomIdentifier(prefix: "cart_")
        let now = unixNow()
        try db.run(
            "INSERT INTO carts (id, agent_id, status, items, created_at, updated_at) VALUES (?, ?, 'active', ?, ?, ?)",
            [.text(id), .text(agent.id), .text(storedItems(priced).compactString), .integer(now), .integer(now)])
        return ["cart": try cartJSON(id, agent: agent, db: db)]
    }

    func cartRow(_ id: String, agent: Agent, db: Connection) throws -> Row {
        guard let row = try db.queryOne("SELECT * FROM carts WHERE id = ? AND agent_id = ?", [.text(id), .text(agent.id)]) else {
            throw ActionError.notFound("No cart \(id) for this agent.", param: "/cart_id")
        }
        return row
    }

    func cartJSON(_ id: String, agent: Agent, db: Connection) throws -> JSON {
        CommerceRecords.cart(try cartRow(id, agent: agent, db: db))
    }

    func getCart(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        return try commerce.database.read { db in ["cart": try cartJSON(arguments["cart_id"]?.stringValue ?? "", agent: agent, db: db)] }
    }

    func updateCart(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["cart_id"]?.stringValue ?? ""
        let row = try cartRow(id, agent: agent, db: db)
        guard row["status"].string == "active" else {
            throw ActionError.conflict("invalid_state", "Cart \(id) is \(row["status"].string ?? "closed"); only an active cart changes.")
        }
        let priced = try price(arguments["items"] ?? [])
        try db.run(
            "UPDATE carts SET items = ?, updated_at = ? WHERE id = ?",
            [.text(storedItems(priced).compactString), .integer(unixNow()), .text(id)])
        return ["cart": try cartJSON(id, agent: agent, db: db)]
    }

    func cancelCart(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["cart_id"]?.stringValue ?? ""
        let row = try cartRow(id, agent: agent, db: db)
        if row["status"].string == "active" {
            try db.run("UPDATE carts SET status = 'canceled', updated_at = ? WHERE id = ?", [.integer(unixNow()), .text(id)])
        } else if row["status"].string != "canceled" {
            throw ActionError.conflict("invalid_state", "Cart \(id) was checked out; cancel the checkout instead.")
        }
        return ["cart": try cartJSON(id, agent: agent, db: db)]
    }

    // MARK: Checkouts

    func createCheckout(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        var items = arguments["items"]
        var cartID: String?
        if let id = arguments["cart_id"]?.stringValue {
            let cart = try cartRow(id, agent: agent, db: db)
            guard cart["status"].string == "active" else {
                throw ActionError.conflict("invalid_state", "Cart \(id) is \(cart["status"].string ?? "closed"); create a new cart.")
            }
            let stored = (try? JSON.parse(cart["items"].string ?? "{}")) ?? [:]
            items = .array((stored["line_items"]?.arrayValue ?? []).map { line in
                var item: [String: JSON] = ["product_id": line["product_id"] ?? .null, "quantity": line["quantity"] ?? 1]
                if let v = line["variant_id"], !v.isNull { item["variant_id"] = v }
                return .object(item)
            })
            cartID = id
            try db.run("UPDATE carts SET status = 'checked_out', updated_at = ? WHERE id = ?", [.integer(unixNow()), .text(id)])
        }
        let priced = try price(items ?? [], shipping: arguments["shipping_option"]?.stringValue)
        let messages = try commerce.stockMessages(priced.lineItems, db: db)
        var referral: String?
        if let code = arguments["referral_code"]?.stringValue {
            guard let owner = try db.queryOne("SELECT agent_id FROM referrals WHERE code = ?", [.text(code)])?[0].string else {
                throw ActionError.invalid("unknown_referral_code", "No referral code \(code).", param: "/referral_code")
            }
            // An agent cannot earn a referral on its own purchase.
            referral = owner == agent.id ? nil : code
        }
        try AgentQuota.check(
            "checkouts", condition: "status IN ('incomplete', 'ready_for_complete')", agentID: agent.id,
            limit: AgentQuota.openCheckouts, what: "open checkouts",
            remedy: "complete or cancel_checkout one first (abandoned checkouts expire).", db: db)
        let id = randomIdentifier(prefix: "chk_")
        let now = unixNow()
        try db.run(
            """
            INSERT INTO checkouts (id, agent_id, cart_id, status, items, quote, total, currency, created_at, updated_at, referral_code)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(id), .text(agent.id), SQLValue(cartID), .text(messages.isEmpty ? "ready_for_complete" : "incomplete"),
             .text((items ?? []).compactString), .text(storedItems(priced, extra: ["messages": .array(messages)]).compactString),
             .integer(priced.total), .text(priced.currency), .integer(now), .integer(now), SQLValue(referral)])
        return ["checkout": try commerce.checkoutJSON(id, db: db)]
    }

    func getCheckout(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        return try commerce.database.read { db in
            let row = try commerce.checkoutRow(arguments["checkout_id"]?.stringValue ?? "", agentID: agent.id, db: db)
            return ["checkout": try commerce.checkoutJSON(row, db: db)]
        }
    }

    func updateCheckout(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["checkout_id"]?.stringValue ?? ""
        let row = try commerce.checkoutRow(id, agentID: agent.id, db: db)
        guard ["incomplete", "ready_for_complete"].contains(row["status"].string ?? "") else {
            throw ActionError.conflict("invalid_state", "Checkout \(id) is \(row["status"].string ?? ""); it can no longer change.")
        }
        let items = arguments["items"] ?? ((try? JSON.parse(row["items"].string ?? "[]")) ?? [])
        let oldQuote = (try? JSON.parse(row["quote"].string ?? "{}")) ?? [:]
        let shipping = arguments["shipping_option"]?.stringValue ?? oldQuote["shipping_option"]?.stringValue
        let priced = try price(items, shipping: shipping)
        let messages = try commerce.stockMessages(priced.lineItems, db: db)
        try db.run(
            "UPDATE checkouts SET status = ?, items = ?, quote = ?, total = ?, updated_at = ? WHERE id = ?",
            [.text(messages.isEmpty ? "ready_for_complete" : "incomplete"), .text(items.compactString),
             .text(storedItems(priced, extra: ["messages": .array(messages)]).compactString), .integer(priced.total),
             .integer(unixNow()), .text(id)])
        return ["checkout": try commerce.checkoutJSON(id, db: db)]
    }

    /// The one place money leaves a wallet for a purchase: stock, limits, balance and the debit
    /// are checked and written in the same transaction.
    func completeCheckout(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["checkout_id"]?.stringValue ?? ""
        let row = try commerce.checkoutRow(id, agentID: agent.id, db: db)
        switch row["status"].string ?? "" {
        case "completed", "pending_approval":
            let order = try row["order_id"].string.flatMap { try OrderStore.find($0, db: db) }
            var result: [String: JSON] = [
                "checkout": try commerce.checkoutJSON(row, db: db),
                "order": order?.json(refundWindowDays: commerce.refundWindowDays) ?? .null,
            ]
            if let order, case let receipt = try commerce.trail.receipt(forOrder: order, in: db), receipt != .null {
                result["receipt"] = receipt
            }
            return .object(result)
        case "canceled":
            throw ActionError.conflict("invalid_state", "Checkout \(id) was canceled; start a new one.", details: ["target": .string(id)])
        case "incomplete":
            throw ActionError.conflict(
                "checkout_incomplete", "Checkout \(id) cannot complete yet; see its messages and update it.",
                details: ["target": .string(id)])
        default: break
        }
        let quote = (try? JSON.parse(row["quote"].string ?? "{}")) ?? [:]
        let lines = quote["line_items"]?.arrayValue ?? []
        let total = row["total"].int ?? 0
        let currency = row["currency"].string ?? commerce.currency
        guard let wallet = try WalletState.load(agent.id, db: db) else { throw ActionError.notFound("This agent has no wallet.") }
        guard wallet.currency == currency else {
            throw ActionError.invalid("currency_mismatch", "The wallet holds \(wallet.currency); this checkout is in \(currency).")
        }
        do {
            try wallet.check(amount: total, categories: Set(lines.compactMap { $0["category"]?.stringValue }))
        } catch var error as ActionError {
            var details = error.details?.objectValue ?? [:]
            details["target"] = .string(id)
            details["attempted"] = Money(amount: total, currency: currency).json
            error.details = .object(details)
            throw error
        }
        try commerce.reserve(lines, db: db)
        if let threshold = wallet.controls.approvalThreshold, total > threshold {
            let approvalID = randomIdentifier(prefix: "apr_")
            let now = unixNow()
            try db.appendLedger(agentID: agent.id, kind: "hold", amount: -total, currency: currency, reference: id, note: approvalID)
            try db.run(
                "INSERT INTO approvals (id, checkout_id, agent_id, amount, currency, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                [.text(approvalID), .text(id), .text(agent.id), .integer(total), .text(currency), .integer(now),
                 .integer(now + commerce.approvalTTL)])
            try db.run(
                "UPDATE checkouts SET status = 'pending_approval', approval_id = ?, updated_at = ? WHERE id = ?",
                [.text(approvalID), .integer(now), .text(id)])
            try commerce.trail.append(
                TrailEntry(
                    agentID: agent.id, principal: agent.principal, action: "wallet.hold", target: approvalID, outcome: "pending_approval",
                    amount: total, currency: currency), in: db)
            try commerce.events.record(
                "approval.requested", agentID: agent.id,
                data: ["approval_id": .string(approvalID), "checkout_id": .string(id),
                       "amount": Money(amount: total, currency: currency).json,
                       "expires_at": .string(isoTime(now + commerce.approvalTTL))], db: db)
            return ["checkout": try commerce.checkoutJSON(id, db: db), "order": .null]
        }
        let (order, debit) = try commerce.placeOrder(
            checkout: row, quote: quote, principal: agent.principal, wallet: wallet, db: db, capturingHold: false)
        // Built from what is in hand: the row read above, completed by this order.
        let approval = try row["approval_id"].string.flatMap { try db.queryOne("SELECT * FROM approvals WHERE id = ?", [.text($0)]) }
        return [
            "checkout": CommerceRecords.checkout(row, quote: quote, approval: approval, completed: (order.id, order.createdAt)),
            "order": order.json(refundWindowDays: commerce.refundWindowDays),
            // Over the trail as it ends with the debit (nothing was appended after it).
            "receipt": try commerce.trail.receipt(for: debit, orderID: order.id, treeSize: debit.seq, in: db),
        ]
    }

    func cancelCheckout(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["checkout_id"]?.stringValue ?? ""
        let row = try commerce.checkoutRow(id, agentID: agent.id, db: db)
        switch row["status"].string ?? "" {
        case "completed":
            throw ActionError.conflict("invalid_state", "Checkout \(id) completed; cancel its order instead.")
        case "pending_approval":
            if let approvalID = row["approval_id"].string,
                let approval = try db.queryOne("SELECT * FROM approvals WHERE id = ? AND status = 'pending'", [.text(approvalID)])
            {
                _ = try commerce.releaseApproval(approval, status: "canceled", db: db, actor: agent.principal)
            }
        case "canceled": break
        default:
            try db.run("UPDATE checkouts SET status = 'canceled', updated_at = ? WHERE id = ?", [.integer(unixNow()), .text(id)])
        }
        return ["checkout": try commerce.checkoutJSON(id, db: db)]
    }

    // MARK: Orders

    func order(_ id: String, agent: Agent, db: Connection) throws -> Order {
        guard let order = try OrderStore.find(id, agentID: agent.id, db: db) else {
            throw ActionError.notFound("No order \(id) for this agent.", param: "/order_id")
        }
        return order
    }

    func getOrder(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        return try commerce.database.read { db in
            ["order": try order(arguments["order_id"]?.stringValue ?? "", agent: agent, db: db).json(refundWindowDays: commerce.refundWindowDays)]
        }
    }

    func listOrders(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        let limit = Int(arguments["limit"]?.intValue ?? 20)
        var after: (createdAt: Int64, id: String)?
        if let cursor = arguments["cursor"]?.stringValue {
            guard let position = OrderCursor.decode(cursor, agentID: agent.id) else {
                throw ActionError.invalid("invalid_cursor", "cursor is not one this store issued for your orders.", param: "/cursor")
            }
            after = position
        }
        let rows = try commerce.database.read { db in try OrderStore.page(agentID: agent.id, limit: limit + 1, after: after, db: db) }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { OrderCursor.encode(after: $0) } : nil
        return [
            "orders": .array(page.map { $0.json(refundWindowDays: commerce.refundWindowDays) }),
            "next_cursor": next.map(JSON.string) ?? .null,
        ]
    }

    func refund(_ order: Order, amount: Int64, kind: String, db: Connection, agent: Agent, reason: String?) throws {
        let id = order.id
        let currency = order.currency
        try db.appendLedger(agentID: agent.id, kind: "refund", amount: amount, currency: currency, reference: id, note: reason)
        try commerce.trail.append(
            TrailEntry(agentID: agent.id, principal: agent.principal, action: kind, target: id, outcome: "ok", amount: amount, currency: currency),
            in: db)
    }

    func cancelOrder(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["order_id"]?.stringValue ?? ""
        let placed = try order(id, agent: agent, db: db)
        guard placed.status == "confirmed" else {
            throw ActionError.conflict(
                "invalid_state", "Order \(id) is \(placed.status); only a confirmed order can be canceled. Use request_refund.")
        }
        let amount = placed.refundable
        try commerce.restock(placed.lineItems, db: db)
        try refund(placed, amount: amount, kind: "order.cancel", db: db, agent: agent, reason: arguments["reason"]?.stringValue)
        try OrderStore.markCanceled(id, at: unixNow(), db: db)
        try Ratings.orderVoided(id, db: db)
        try commerce.events.record(
            "order.canceled", agentID: agent.id, orderID: id,
            data: ["order_id": .string(id), "status": "canceled",
                   "refund": Money(amount: amount, currency: placed.currency).json], db: db)
        return [
            "order": try order(id, agent: agent, db: db).json(refundWindowDays: commerce.refundWindowDays),
            "refund": Money(amount: amount, currency: placed.currency).json,
        ]
    }

    func requestRefund(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["order_id"]?.stringValue ?? ""
        let placed = try order(id, agent: agent, db: db)
        let currency = placed.currency
        let windowEnds = placed.refundWindowEnds(days: commerce.refundWindowDays)
        guard unixNow() <= windowEnds else {
            throw ActionError.conflict(
                "refund_window_closed",
                "The refund window of \(commerce.refundWindowDays) days closed at \(isoTime(windowEnds)); see get_policies or report_issue.",
                details: ["window_days": .int(commerce.refundWindowDays), "closed_at": .string(isoTime(windowEnds)), "target": .string(id)])
        }
        guard placed.status != "canceled" else {
            throw ActionError.conflict("invalid_state", "Order \(id) was canceled and refunded already.")
        }
        let remaining = placed.refundable
        let amount = arguments["amount"]?.intValue ?? remaining
        guard remaining > 0 else { throw ActionError.conflict("already_refunded", "Order \(id) is refunded in full.") }
        guard amount <= remaining else {
            throw ActionError.invalid(
                "refund_too_large", "At most \(Money(amount: remaining, currency: currency).displayString) can still be refunded.",
                param: "/amount", details: ["refundable": Money(amount: remaining, currency: currency).json])
        }
        try refund(placed, amount: amount, kind: "order.refund", db: db, agent: agent, reason: arguments["reason"]?.stringValue)
        let status = amount == remaining ? "refunded" : "partially_refunded"
        try OrderStore.addRefund(id, amount: amount, status: status, at: unixNow(), db: db)
        if status == "refunded" { try Ratings.orderVoided(id, db: db) }
        try commerce.events.record(
            "order.\(status)", agentID: agent.id, orderID: id,
            data: ["order_id": .string(id), "status": .string(status), "refund": Money(amount: amount, currency: currency).json],
            db: db)
        return [
            "order": try order(id, agent: agent, db: db).json(refundWindowDays: commerce.refundWindowDays),
            "refund": Money(amount: amount, currency: currency).json,
        ]
    }
}
