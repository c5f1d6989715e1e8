import Foundation
import JSON
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
            completeCheckoutAction,
            Action(
                name: "delegate_payment", title: "Delegate a payment allowance from the wallet",
                description: "ACP's delegate_payment against the agent's wallet: an allowance for one checkout (at most max_amount, in its currency, until expires_at, once). complete_checkout with payment_token set to its id must fit it; the wallet's own limits hold as well.",
                stage: .transacting, scope: "checkout:write", annotations: Self.mutating, write: delegatePayment),
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

    func createCart(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        try AgentQuota.activeCarts.check(agentID: agent.id, db: db)
        let priced = try price(arguments["items"] ?? [])
        let now = unixNow()
        let cart = Cart(
            id: randomIdentifier(prefix: "cart_"), agentID: agent.id, status: .active, items: storedItems(priced), createdAt: now,
            updatedAt: now)
        try CartStore.insert(cart, db: db)
        return ["cart": cart.json]
    }

    /// The agent's cart `id`, or the 404 that says there is none.
    func cart(_ id: String, agent: Agent, db: StoreConnection) throws -> Cart {
        guard let cart = try CartStore.find(id, agentID: agent.id, db: db) else {
            throw ActionError.notFound("No cart \(id) for this agent.", param: "/cart_id")
        }
        return cart
    }

    func getCart(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        return try commerce.database.reading { db in ["cart": try cart(arguments["cart_id"]?.stringValue ?? "", agent: agent, db: db).json] }
    }

    func updateCart(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        var cart = try cart(arguments["cart_id"]?.stringValue ?? "", agent: agent, db: db)
        guard cart.status == .active else {
            throw ActionError.conflict("invalid_state", "Cart \(cart.id) is \(cart.status.rawValue); only an active cart changes.")
        }
        cart.items = storedItems(try price(arguments["items"] ?? []))
        cart.updatedAt = unixNow()
        try CartStore.setItems(cart.id, cart.items, at: cart.updatedAt, db: db)
        return ["cart": cart.json]
    }

    func cancelCart(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        var cart = try cart(arguments["cart_id"]?.stringValue ?? "", agent: agent, db: db)
        switch cart.status {
        case .active:
            cart.status = .canceled
            cart.updatedAt = unixNow()
            try CartStore.setStatus(cart.id, .canceled, at: cart.updatedAt, db: db)
        case .canceled: break
        case .checkedOut:
            throw ActionError.conflict("invalid_state", "Cart \(cart.id) was checked out; cancel the checkout instead.")
        }
        return ["cart": cart.json]
    }

    // MARK: Checkouts

    func createCheckout(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        var items = arguments["items"]
        var cartID: String?
        if let id = arguments["cart_id"]?.stringValue {
            let cart = try cart(id, agent: agent, db: db)
            guard cart.status == .active else {
                throw ActionError.conflict("invalid_state", "Cart \(id) is \(cart.status.rawValue); create a new cart.")
            }
            items = .array((cart.items["line_items"]?.arrayValue ?? []).map { line in
                var item: [String: JSON] = ["product_id": line["product_id"] ?? .null, "quantity": line["quantity"] ?? 1]
                if let v = line["variant_id"], !v.isNull { item["variant_id"] = v }
                return .object(item)
            })
            cartID = id
            try CartStore.setStatus(id, .checkedOut, at: unixNow(), db: db)
        }
        let priced = try price(items ?? [], shipping: arguments["shipping_option"]?.stringValue)
        let messages = try commerce.stockMessages(priced.lineItems, db: db)
        var referral: String?
        if let code = arguments["referral_code"]?.stringValue {
            guard let owner = try ReferralStore.owner(of: code, db: db) else {
                throw ActionError.invalid("unknown_referral_code", "No referral code \(code).", param: "/referral_code")
            }
            // An agent cannot earn a referral on its own purchase.
            referral = owner == agent.id ? nil : code
        }
        try AgentQuota.openCheckouts.check(agentID: agent.id, db: db)
        let now = unixNow()
        let checkout = Checkout(
            id: randomIdentifier(prefix: "chk_"), agentID: agent.id, cartID: cartID,
            status: messages.isEmpty ? .readyForComplete : .incomplete, items: items ?? [],
            quote: storedItems(priced, extra: ["messages": .array(messages)]), total: priced.total, currency: priced.currency,
            referralCode: referral, createdAt: now, updatedAt: now)
        try CheckoutStore.insert(checkout, db: db)
        return ["checkout": checkout.json(approval: nil)]
    }

    func getCheckout(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        return try commerce.database.reading { db in
            let checkout = try commerce.checkout(arguments["checkout_id"]?.stringValue ?? "", agentID: agent.id, db: db)
            return ["checkout": try commerce.checkoutJSON(checkout, db: db)]
        }
    }

    func updateCheckout(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        var checkout = try commerce.checkout(arguments["checkout_id"]?.stringValue ?? "", agentID: agent.id, db: db)
        guard checkout.status.isOpen else {
            throw ActionError.conflict(
                "invalid_state", "Checkout \(checkout.id) is \(checkout.status.rawValue); it can no longer change.")
        }
        let items = arguments["items"] ?? checkout.items
        let shipping = arguments["shipping_option"]?.stringValue ?? checkout.quote["shipping_option"]?.stringValue
        let priced = try price(items, shipping: shipping)
        let messages = try commerce.stockMessages(priced.lineItems, db: db)
        checkout.status = messages.isEmpty ? .readyForComplete : .incomplete
        checkout.items = items
        checkout.quote = storedItems(priced, extra: ["messages": .array(messages)])
        checkout.quoteText = checkout.quote.compactString
        checkout.total = priced.total
        checkout.updatedAt = unixNow()
        try CheckoutStore.reprice(checkout, db: db)
        return ["checkout": try commerce.checkoutJSON(checkout, db: db)]
    }

    /// The one place money leaves a wallet for a purchase: stock, limits, balance and the debit
    /// are checked and written in the same transaction.
    func completeCheckout(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["checkout_id"]?.stringValue ?? ""
        let checkout = try commerce.checkout(id, agentID: agent.id, db: db)
        switch checkout.status {
        case .completed, .pendingApproval:
            let order = try checkout.orderID.flatMap { try OrderStore.find($0, db: db) }
            var result: [String: JSON] = [
                "checkout": try commerce.checkoutJSON(checkout, db: db),
                "order": order?.json(refundWindowDays: commerce.refundWindowDays) ?? .null,
            ]
            if let order, case let receipt = try commerce.trail.receipt(forOrder: order, in: db), receipt != .null {
                result["receipt"] = receipt
            }
            return .object(result)
        case .canceled:
            throw ActionError.conflict("invalid_state", "Checkout \(id) was canceled; start a new one.", details: ["target": .string(id)])
        case .incomplete:
            throw ActionError.conflict(
                "checkout_incomplete", "Checkout \(id) cannot complete yet; see its messages and update it.",
                details: ["target": .string(id)])
        case .readyForComplete: break
        }
        let lines = checkout.lineItems
        let total = checkout.total
        let currency = checkout.currency
        guard let wallet = try WalletState.load(agent.id, db: db) else { throw ActionError.notFound("This agent has no wallet.") }
        guard wallet.currency == currency else {
            throw ActionError.invalid("currency_mismatch", "The wallet holds \(wallet.currency); this checkout is in \(currency).")
        }
        // Paid by another handler: what it reserved before this transaction must be this purchase.
        let external = try externalPayment(arguments, context: context, checkout: checkout)
        if external != nil, let threshold = wallet.controls.approvalThreshold, total > threshold {
            throw ActionError(
                status: 403, kind: .permission, code: "approval_requires_wallet",
                message: "This purchase needs the principal's approval (above \(Money(amount: threshold, currency: currency).displayString)); pay it from the wallet, which holds the money while they decide.",
                details: ["target": .string(id)])
        }
        do {
            try wallet.check(
                amount: total, categories: Set(lines.compactMap { $0["category"]?.stringValue }), fromBalance: external == nil)
        } catch var error as ActionError {
            var details = error.details?.objectValue ?? [:]
            details["target"] = .string(id)
            details["attempted"] = Money(amount: total, currency: currency).json
            error.details = .object(details)
            throw error
        }
        // A delegated allowance, when the purchase is paid with one, bounds it too; it is spent
        // below, in this transaction.
        let allowance = try arguments["payment_token"]?.stringValue.map { token in
            try usableAllowance(token, agentID: agent.id, checkout: checkout, db: db)
        }
        try commerce.reserve(lines, db: db)
        if let threshold = wallet.controls.approvalThreshold, total > threshold {
            let now = unixNow()
            let approval = Approval(
                id: randomIdentifier(prefix: "apr_"), checkoutID: id, agentID: agent.id, amount: total, currency: currency,
                status: .pending, createdAt: now, expiresAt: now + commerce.approvalTTL)
            let approvalID = approval.id
            try db.appendLedger(agentID: agent.id, kind: "hold", amount: -total, currency: currency, reference: id, note: approvalID)
            try ApprovalStore.insert(approval, db: db)
            try CheckoutStore.markPendingApproval(id, approvalID: approvalID, at: now, db: db)
            if let allowance { try spend(allowance, orderID: nil, db: db) }
            try commerce.trail.append(
                TrailEntry(
                    agentID: agent.id, principal: agent.principal, action: "wallet.hold", target: approvalID, outcome: "pending_approval",
                    amount: total, currency: currency), in: db)
            try commerce.events.record(
                "approval.requested", agentID: agent.id,
                data: ["approval_id": .string(approvalID), "checkout_id": .string(id),
                       "amount": Money(amount: total, currency: currency).json,
                       "expires_at": .string(isoTime(now + commerce.approvalTTL))], db: db)
            var pending = checkout
            pending.status = .pendingApproval
            pending.approvalID = approvalID
            pending.updatedAt = now
            return ["checkout": pending.json(approval: approval), "order": .null]
        }
        let (order, debit) = try commerce.placeOrder(
            checkout: checkout, principal: agent.principal, wallet: wallet, db: db, capturingHold: false, authorization: external)
        if let allowance { try spend(allowance, orderID: order.id, db: db) }
        // Built from what is in hand: the checkout read above, completed by this order (a
        // checkout that waited for approval completes in `decide`, so this one has none).
        var completed = checkout
        completed.status = .completed
        completed.orderID = order.id
        completed.updatedAt = order.createdAt
        return [
            "checkout": completed.json(approval: nil),
            "order": order.json(refundWindowDays: commerce.refundWindowDays),
            // Over the trail as it ends with the debit (nothing was appended after it).
            "receipt": try commerce.trail.receipt(for: debit, orderID: order.id, treeSize: debit.seq, in: db),
        ]
    }

    /// `complete_checkout`: paid from the wallet, or by another registered payment handler
    /// (`payment_handler`), which authorizes before the purchase's transaction and settles or
    /// voids after it.
    var completeCheckoutAction: Action {
        var action = Action(
            name: "complete_checkout", title: "Complete a checkout (pay)",
            description: "Pay from the wallet (or another payment handler the store takes): stock is reserved, every spend limit and the balance are checked, and the wallet is debited, all at once. Above the approval threshold the checkout waits in pending_approval for the principal. Send an Idempotency-Key: a retry returns the first answer and never charges twice.",
            stage: .transacting, scope: "checkout:write", annotations: Self.mutating, write: completeCheckout)
        let commerce = self.commerce
        action.prepares = { arguments in (arguments["payment_handler"]?.stringValue ?? WalletPaymentHandler.id) != WalletPaymentHandler.id }
        action.prepare = { arguments, context, done in
            // The wallet needs nothing reserved outside the transaction: the hot path reads nothing here.
            let handlerID = arguments["payment_handler"]?.stringValue ?? WalletPaymentHandler.id
            if handlerID == WalletPaymentHandler.id { return done(.success(nil)) }
            guard let handler = commerce.paymentHandlers[handlerID] else {
                return done(
                    .failure(
                        .invalid(
                            "unknown_payment_handler",
                            "This store takes \(commerce.paymentHandlers.ids.joined(separator: ", ")), not \(handlerID).", param: "/payment_handler")))
            }
            guard let agent = context.identity?.agent else { return done(.failure(.authenticationRequired)) }
            let id = arguments["checkout_id"]?.stringValue ?? ""
            let checkout: Checkout
            do {
                checkout = try commerce.database.reading { db in try commerce.checkout(id, agentID: agent.id, db: db) }
            } catch {
                return done(.failure(ActionRegistry.actionError(error, "complete_checkout")))
            }
            // Only a checkout that can complete now is worth a reservation (the transaction checks again).
            guard checkout.status == .readyForComplete else { return done(.success(nil)) }
            let request = PaymentRequest(
                agentID: agent.id, checkoutID: id, amount: checkout.total, currency: checkout.currency,
                instrument: arguments["payment_instrument"] ?? [:])
            handler.authorize(request) { authorized in done(authorized.map { Optional($0.json) }) }
        }
        action.finish = { prepared, committed, result in
            guard let authorization = PaymentAuthorization(json: prepared), let handler = commerce.paymentHandlers[authorization.handlerID]
            else { return }
            // Settled only when this request placed the order (a purchase left waiting for the
            // principal placed none: its reservation is released, the wallet is held instead).
            if committed, let orderID = result?["order"]?["id"]?.stringValue {
                handler.settle(authorization, orderID: orderID)
            } else {
                handler.void(authorization)
            }
        }
        return action
    }

    // MARK: Delegated payment (ACP)

    /// The agent's wallet as a network token, as `delegate_payment`'s `payment_method.number` names it.
    static func walletToken(_ agentID: String) -> String { "wallet:" + agentID }

    func delegatePayment(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let method = arguments["payment_method"] ?? [:]
        guard method["type"]?.stringValue == "card", method["card_number_type"]?.stringValue == "network_token",
            method["number"]?.stringValue == Self.walletToken(agent.id)
        else {
            throw ActionError.invalid(
                "invalid_card",
                "This store delegates from the agent's own wallet: payment_method {type: \"card\", card_number_type: \"network_token\", number: \"\(Self.walletToken(agent.id))\"}.",
                param: "/payment_method")
        }
        let allowance = arguments["allowance"] ?? [:]
        guard allowance["reason"]?.stringValue == "one_time" else {
            throw ActionError.invalid("invalid_allowance", "allowance.reason must be one_time.", param: "/allowance/reason")
        }
        let currency = manifests.currency
        guard allowance["currency"]?.stringValue?.uppercased() == currency.uppercased() else {
            throw ActionError.invalid("invalid_allowance", "This store sells in \(currency.lowercased()).", param: "/allowance/currency")
        }
        guard allowance["merchant_id"]?.stringValue == manifests.storeID else {
            throw ActionError.invalid("invalid_allowance", "merchant_id is this store's id, \(manifests.storeID).", param: "/allowance/merchant_id")
        }
        let now = unixNow()
        guard let expiresText = allowance["expires_at"]?.stringValue, let expires = Self.rfc3339Seconds(expiresText), expires > now,
            expires <= now + 30 * 86400
        else {
            throw ActionError.invalid(
                "invalid_allowance", "expires_at must be an RFC 3339 time in the next 30 days.", param: "/allowance/expires_at")
        }
        let checkoutID = allowance["checkout_session_id"]?.stringValue ?? ""
        let checkout = try commerce.checkout(checkoutID, agentID: agent.id, db: db)
        guard checkout.status.isOpen else {
            throw ActionError.conflict("invalid_state", "Checkout \(checkoutID) is \(checkout.status.rawValue); nothing is left to pay.")
        }
        guard try AllowanceStore.openCount(agentID: agent.id, at: now, db: db) < AllowanceStore.openPerAgent else {
            throw ActionError.conflict(
                "quota_exceeded", "At most \(AllowanceStore.openPerAgent) unspent allowances at once; spend one or let it expire.")
        }
        let metadata = arguments["metadata"] ?? [:]
        let id = randomIdentifier(prefix: "spt_")
        try AllowanceStore.insert(
            DelegatedAllowance(
                id: id, agentID: agent.id, checkoutID: checkoutID, maxAmount: allowance["max_amount"]?.intValue ?? 0,
                currency: currency, merchantID: manifests.storeID, expiresAt: expires, metadata: metadata, createdAt: now), db: db)
        try commerce.trail.append(
            TrailEntry(
                agentID: agent.id, principal: agent.principal, action: "payment.delegate", target: id, outcome: "ok",
                amount: allowance["max_amount"]?.intValue, currency: currency), in: db)
        return ["id": .string(id), "created": .string(isoTime(now)), "metadata": metadata]
    }

    /// The allowance `token` if this purchase fits it; otherwise the refusal that says why.
    /// The authorization another payment handler made for this purchase, checked against it;
    /// nil when the wallet pays.
    func externalPayment(_ arguments: JSON, context: ActionContext, checkout: Checkout) throws -> (PaymentAuthorization, any PaymentHandler)? {
        let handlerID = arguments["payment_handler"]?.stringValue ?? WalletPaymentHandler.id
        guard handlerID != WalletPaymentHandler.id else { return nil }
        guard let prepared = context.prepared, let authorization = PaymentAuthorization(json: prepared),
            authorization.handlerID == handlerID, let handler = commerce.paymentHandlers[handlerID]
        else {
            throw ActionError(
                status: 409, kind: .invalidRequest, code: "payment_not_authorized",
                message: "\(handlerID) authorized nothing for this purchase; retry.", details: ["target": .string(checkout.id)])
        }
        guard authorization.amount == checkout.total, authorization.currency == checkout.currency else {
            throw ActionError.conflict(
                "payment_amount_changed",
                "The checkout changed while \(handlerID) authorized it (\(Money(amount: authorization.amount, currency: authorization.currency).displayString) authorized, \(Money(amount: checkout.total, currency: checkout.currency).displayString) due); retry.",
                details: ["target": .string(checkout.id)])
        }
        return (authorization, handler)
    }

    func usableAllowance(_ token: String, agentID: String, checkout: Checkout, db: StoreConnection) throws -> DelegatedAllowance {
        guard let allowance = try AllowanceStore.find(token, agentID: agentID, db: db) else {
            throw ActionError.invalid("invalid_payment_token", "No delegated allowance \(token) for this agent.", param: "/payment_token")
        }
        let money = { (amount: Int64) in Money(amount: amount, currency: checkout.currency).json }
        guard allowance.usedAt == nil else {
            throw ActionError.conflict("payment_token_used", "Allowance \(token) was spent already (it is one-time).")
        }
        guard allowance.checkoutID == checkout.id else {
            throw ActionError.invalid("payment_token_mismatch", "Allowance \(token) is for checkout \(allowance.checkoutID).", param: "/payment_token")
        }
        guard allowance.expiresAt >= unixNow() else {
            throw ActionError.conflict("payment_token_expired", "Allowance \(token) expired at \(isoTime(allowance.expiresAt)).")
        }
        guard checkout.total <= allowance.maxAmount else {
            throw ActionError(
                status: 403, kind: .permission, code: "allowance_exceeded",
                message: "The purchase (\(Money(amount: checkout.total, currency: checkout.currency).displayString)) is more than allowance \(token) allows.",
                details: ["allowed": money(allowance.maxAmount), "attempted": money(checkout.total), "target": .string(checkout.id)])
        }
        return allowance
    }

    func spend(_ allowance: DelegatedAllowance, orderID: String?, db: StoreConnection) throws {
        guard try AllowanceStore.spend(allowance.id, orderID: orderID ?? "", at: unixNow(), db: db) else {
            throw ActionError.conflict("payment_token_used", "Allowance \(allowance.id) was spent already (it is one-time).")
        }
    }

    static func rfc3339Seconds(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }

    func cancelCheckout(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let id = arguments["checkout_id"]?.stringValue ?? ""
        let checkout = try commerce.checkout(id, agentID: agent.id, db: db)
        switch checkout.status {
        case .completed:
            throw ActionError.conflict("invalid_state", "Checkout \(id) completed; cancel its order instead.")
        case .pendingApproval:
            if let approvalID = checkout.approvalID, let approval = try ApprovalStore.find(approvalID, db: db),
                approval.status == .pending
            {
                _ = try commerce.releaseApproval(approval, status: .canceled, db: db, actor: agent.principal)
            }
        case .canceled: break
        case .incomplete, .readyForComplete:
            try CheckoutStore.markCanceled(id, at: unixNow(), db: db)
        }
        return ["checkout": try commerce.checkoutJSON(id, db: db)]
    }

    // MARK: Orders

    func order(_ id: String, agent: Agent, db: StoreConnection) throws -> Order {
        guard let order = try OrderStore.find(id, agentID: agent.id, db: db) else {
            throw ActionError.notFound("No order \(id) for this agent.", param: "/order_id")
        }
        return order
    }

    func getOrder(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        return try commerce.database.reading { db in
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
        let rows = try commerce.database.reading { db in try OrderStore.page(agentID: agent.id, limit: limit + 1, after: after, db: db) }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { OrderCursor.encode(after: $0) } : nil
        return [
            "orders": .array(page.map { $0.json(refundWindowDays: commerce.refundWindowDays) }),
            "next_cursor": next.map(JSON.string) ?? .null,
        ]
    }

    func refund(_ order: Order, amount: Int64, kind: String, db: StoreConnection, agent: Agent, reason: String?) throws {
        let id = order.id
        let currency = order.currency
        try db.appendLedger(agentID: agent.id, kind: "refund", amount: amount, currency: currency, reference: id, note: reason)
        try commerce.trail.append(
            TrailEntry(agentID: agent.id, principal: agent.principal, action: kind, target: id, outcome: "ok", amount: amount, currency: currency),
            in: db)
    }

    func cancelOrder(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
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

    func requestRefund(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
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
