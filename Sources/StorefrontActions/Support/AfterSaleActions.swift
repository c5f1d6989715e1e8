import Foundation
import JSON
import StorefrontDomain
import StorefrontStore

/// The Using and Recommending stages: the inbox, the agent's memory, executable support,
/// feedback and referrals.
package struct AfterSaleActions: Sendable {
    let commerce: Commerce
    let inbox: Inbox
    let baseURL: String

    package init(commerce: Commerce, inbox: Inbox, baseURL: String) {
        self.commerce = commerce
        self.inbox = inbox
        self.baseURL = baseURL
    }
    var manifests: StoreManifests { commerce.manifests }
    var database: StoreDatabase { commerce.database }

    /// A note may be at most this large, and an agent's notes together this large.
    static let maxEntryBytes = 4096
    static let maxAgentBytes = 64 * 1024
    static let maxEntries = 200

    package var all: [Action] {
        let mutating = CommerceActions.mutating
        return [
            Action(
                name: "get_inbox", title: "Read the inbox",
                description: "Events about this agent's orders, approvals and wallet, oldest first after a given id, with the unread count. Follow them live as Server-Sent Events at GET /inbox.",
                stage: .using, scope: "orders:read", handler: getInbox),
            Action(
                name: "ack_inbox", title: "Acknowledge inbox events", description: "Mark events read, up to an id or by ids.",
                stage: .using, scope: "orders:read", annotations: mutating, write: ackInbox),
            Action(
                name: "remember", title: "Remember a note",
                description: "Keep a note for later (preferences, sizes, shipping aliases): any JSON value up to 4 KiB under a key; 64 KiB and 200 notes per agent. Only this agent and its principal can read it.",
                stage: .using, scope: "orders:read", annotations: mutating, write: remember),
            Action(
                name: "recall", title: "Recall a note", description: "Read a note kept with remember.",
                stage: .using, scope: "orders:read", handler: recall),
            Action(
                name: "forget", title: "Forget a note", description: "Delete a note.",
                stage: .using, scope: "orders:read", annotations: CommerceActions.destructive, write: forget),
            Action(
                name: "list_memories", title: "List notes", description: "Every note this agent kept, optionally by key prefix, with the space used.",
                stage: .using, scope: "orders:read", handler: listMemories),
            Action(
                name: "report_issue", title: "Report a problem",
                description: "Report a problem with an order (damaged, missing, wrong item, late, billing) and get a resolution or a ticket with what happens next, as actions to call — not a link to a help page.",
                stage: .using, scope: "orders:write", annotations: mutating, write: reportIssue),
            Action(
                name: "get_support_options", title: "Support options",
                description: "What this agent can do about an order right now (cancel, refund, report) and how to reach people.",
                stage: .using, handler: supportOptions),
            Action(
                name: "leave_feedback", title: "Rate a purchase",
                description: "Rate a product bought in an order, 1 to 5, with tags and optional text; once per order line, editable. Ratings are published as aggregates.",
                stage: .recommending, scope: "orders:write", annotations: mutating, write: leaveFeedback),
            Action(
                name: "watch_product", title: "Watch a product",
                description: "Hear of a product's price changes, restocks and discontinuation in the inbox (price_changed, back_in_stock, discontinued); watch: false stops. Products bought are watched already.",
                stage: .evaluating, scope: "orders:read", annotations: mutating, write: watchProduct),
            Action(
                name: "recommend", title: "Recommend a product",
                description: "A referral code and link for a product; orders placed with the code (create_checkout referral_code) are attributed to this agent.",
                stage: .recommending, scope: "orders:read", annotations: mutating, write: recommend),
        ]
    }

    // MARK: Watching products

    /// How many products one agent may watch (each is a row the agent makes the store keep).
    static let maxWatched: Int64 = 1000

    func watchProduct(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let productID = arguments["product_id"]?.stringValue ?? ""
        let watch = arguments["watch"]?.boolValue ?? true
        var result: [String: JSON] = [
            "product_id": .string(productID), "watching": .bool(watch),
            "events": ["price_changed", "back_in_stock", "discontinued"],
        ]
        guard watch else {
            result["was_watching"] = .bool(try CatalogRows.unwatch(productID: productID, agentID: agent.id, db: db))
            return .object(result)
        }
        guard manifests.liveCatalog.product(productID) != nil else {
            throw ActionError.notFound("No product \(productID). Find ids with search_catalog.", param: "/product_id")
        }
        guard try CatalogRows.watchCount(agentID: agent.id, db: db) < Self.maxWatched else {
            throw ActionError.invalid(
                "too_many_watched", "An agent watches at most \(Self.maxWatched) products; stop watching some with watch: false.",
                param: "/product_id")
        }
        try CatalogRows.watch(productID: productID, agentID: agent.id, reason: "watching", now: unixNow(), db: db)
        return .object(result)
    }

    // MARK: Inbox

    func getInbox(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        return try inbox.page(
            agentID: agent.id, after: arguments["after"]?.intValue ?? 0, limit: Int(arguments["limit"]?.intValue ?? 50),
            unreadOnly: arguments["unread_only"]?.boolValue ?? false)
    }

    func ackInbox(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let changed = try inbox.acknowledge(
            agentID: agent.id, upTo: arguments["up_to"]?.intValue, ids: arguments["ids"]?.arrayValue?.compactMap(\.intValue) ?? [],
            db: db)
        let unread = try Inbox.unreadCount(agentID: agent.id, db: db)
        return ["acknowledged": .int(Int64(changed)), "unread": .int(unread)]
    }

    // MARK: Memory

    func remember(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let key = arguments["key"]?.stringValue ?? ""
        let value = (arguments["value"] ?? .null).compactString
        let size = value.utf8.count + key.utf8.count
        guard size <= Self.maxEntryBytes else {
            throw ActionError.invalid(
                "memory_entry_too_large", "A note may be at most \(Self.maxEntryBytes) bytes; this one is \(size).", param: "/value")
        }
        let (used, count) = try MemoryStore.usage(agentID: agent.id, excluding: key, db: db)
        guard used + Int64(size) <= Self.maxAgentBytes else {
            throw ActionError(
                status: 409, kind: .invalidRequest, code: "memory_full",
                message: "This agent's notes would take \(used + Int64(size)) of \(Self.maxAgentBytes) bytes; forget some first (list_memories).",
                details: ["used_bytes": .int(used), "limit_bytes": .int(Int64(Self.maxAgentBytes))])
        }
        guard count < Self.maxEntries else {
            throw ActionError(
                status: 409, kind: .invalidRequest, code: "memory_full",
                message: "This agent keeps \(count) notes, the most allowed; forget some first.")
        }
        let now = unixNow()
        try MemoryStore.save(agentID: agent.id, key: key, valueText: value, bytes: size, at: now, db: db)
        let note = AgentNote(key: key, value: arguments["value"] ?? .null, updatedAt: now)
        return ["memory": note.json, "used_bytes": .int(used + Int64(size)), "limit_bytes": .int(Int64(Self.maxAgentBytes))]
    }

    func recall(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        let key = arguments["key"]?.stringValue ?? ""
        guard let note = try database.reading({ try MemoryStore.find(agentID: agent.id, key: key, db: $0) }) else {
            throw ActionError.notFound("No note \(key). list_memories shows the keys kept.", param: "/key")
        }
        return ["memory": note.json]
    }

    func forget(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let removed = try MemoryStore.delete(agentID: agent.id, key: arguments["key"]?.stringValue ?? "", db: db)
        return ["forgotten": .bool(removed)]
    }

    func listMemories(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        let prefix = arguments["prefix"]?.stringValue ?? ""
        return try database.reading { db in
            let notes = try MemoryStore.list(agentID: agent.id, prefix: prefix, db: db)
            let used = try MemoryStore.usedBytes(agentID: agent.id, db: db)
            return ["memories": .array(notes.map(\.json)), "used_bytes": .int(used), "limit_bytes": .int(Int64(Self.maxAgentBytes))]
        }
    }

    // MARK: Support

    func order(_ id: String, agent: Agent, db: StoreConnection) throws -> Order {
        guard let order = try OrderStore.find(id, agentID: agent.id, db: db) else {
            throw ActionError.notFound("No order \(id) for this agent. list_orders shows them.", param: "/order_id")
        }
        return order
    }

    /// Resolves what can be resolved at once, and otherwise opens a ticket; either way the
    /// answer lists the actions to call next.
    func reportIssue(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let category = arguments["category"]?.stringValue ?? "other"
        var placed: Order?
        if let id = arguments["order_id"]?.stringValue { placed = try order(id, agent: agent, db: db) }
        let ticketID = randomIdentifier(prefix: "tkt_")
        let firstResponseHours = manifests.policies["sla"]?["support_first_response_hours"]?.intValue ?? 24
        var status = "open"
        var resolution = "A person will look at this; the ticket id is \(ticketID)."
        var steps: [JSON] = [
            ["action": "get_inbox", "description": "The answer arrives in the inbox as a support.ticket event."]
        ]
        if let placed {
            let orderID = placed.id
            let refundable = placed.refundable
            let windowOpen = unixNow() <= placed.refundWindowEnds(days: commerce.refundWindowDays)
            switch (category, placed.status) {
            case (_, "canceled"):
                status = "resolved"
                resolution = "Order \(orderID) was canceled and refunded in full; nothing more is owed."
                steps = []
            case ("damaged", _), ("missing", _), ("wrong_item", _):
                if windowOpen && refundable > 0 {
                    status = "resolved"
                    resolution = "Within the refund window: call request_refund for a refund to the wallet now. Returns of \(category.replacingOccurrences(of: "_", with: " ")) items are free."
                    steps = [[
                        "action": "request_refund", "description": "Refund the order to the wallet.",
                        "arguments": ["order_id": .string(orderID), "reason": .string(category)],
                    ]]
                }
            case ("late", "confirmed"):
                status = "resolved"
                resolution = "The order has not shipped; cancel_order refunds it in full, or wait for the shipping event in the inbox."
                steps = [
                    ["action": "cancel_order", "description": "Cancel and refund in full.", "arguments": ["order_id": .string(orderID)]],
                    ["action": "get_inbox", "description": "Watch for the order's next event."],
                ]
            default: break
            }
        }
        try AgentQuota.ticketsPerDay.check(agentID: agent.id, db: db)
        try SupportTicketStore.insert(
            id: ticketID, agentID: agent.id, orderID: placed?.id, category: category,
            description: arguments["description"]?.stringValue ?? "", status: status, resolution: resolution, at: unixNow(), db: db)
        try commerce.events.record(
            "support.ticket", agentID: agent.id,
            data: ["ticket_id": .string(ticketID), "status": .string(status), "resolution": .string(resolution)], db: db)
        var result: [String: JSON] = [
            "ticket_id": .string(ticketID), "status": .string(status), "resolution": .string(resolution), "next_steps": .array(steps),
        ]
        if status == "open" { result["response_due_by"] = .string(isoTime(unixNow() + firstResponseHours * 3600)) }
        return .object(result)
    }

    func supportOptions(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let support = manifests.policies["support"]
        var actions: [JSON] = [
            ["action": "report_issue", "when": "Anything went wrong: damaged, missing, wrong item, late, billing.", "available": .bool(context.identity != nil)],
            ["action": "get_order", "when": "To see an order's status and refund window.", "available": .bool(context.identity != nil)],
        ]
        if let id = arguments["order_id"]?.stringValue {
            let agent = try context.requireAgent()
            let placed = try database.reading { try order(id, agent: agent, db: $0) }
            let confirmed = placed.status == "confirmed"
            let refundable = placed.refundable > 0
            let windowOpen = unixNow() <= placed.refundWindowEnds(days: commerce.refundWindowDays)
            actions.append(["action": "cancel_order", "when": "Before the order ships: a full refund.", "available": .bool(confirmed)])
            actions.append([
                "action": "request_refund", "when": .string("Within \(commerce.refundWindowDays) days of the order."),
                "available": .bool(refundable && windowOpen && placed.status != "canceled"),
            ])
        } else {
            actions.append(["action": "cancel_order", "when": "Before an order ships: a full refund."])
            actions.append(["action": "request_refund", "when": .string("Within \(commerce.refundWindowDays) days of an order.")])
        }
        return [
            "actions": .array(actions),
            "channels": support?["channels"] ?? [],
            "hours": support?["hours"] ?? "",
            "first_response_hours": manifests.policies["sla"]?["support_first_response_hours"] ?? .null,
        ]
    }

    // MARK: Feedback and referrals

    func leaveFeedback(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let orderID = arguments["order_id"]?.stringValue ?? ""
        let productID = arguments["product_id"]?.stringValue ?? ""
        let placed = try order(orderID, agent: agent, db: db)
        // Only a purchase the agent kept rates a product: buying, getting every cent back and
        // rating would otherwise move a product's rating at no cost.
        guard Ratings.keeps(status: placed.status) else {
            throw ActionError(
                status: 409, kind: .invalidRequest, code: "order_not_kept",
                message: "Order \(orderID) is \(placed.status) (refunded in full); only purchases that were kept can be rated.",
                param: "/order_id", details: ["target": .string(orderID)])
        }
        let items = placed.lineItems
        guard items.contains(where: { $0["product_id"]?.stringValue == productID }) else {
            throw ActionError(
                status: 403, kind: .permission, code: "not_purchased",
                message: "Order \(orderID) has no \(productID); feedback is for products this agent bought.", param: "/product_id")
        }
        let now = unixNow()
        let existing = try FeedbackStore.createdAt(orderID: orderID, productID: productID, db: db)
        let created = existing ?? now
        let tags = arguments["tags"] ?? []
        try FeedbackStore.save(
            orderID: orderID, productID: productID, agentID: agent.id, rating: arguments["rating"]?.intValue ?? 0, tags: tags,
            text: arguments["text"]?.stringValue, createdAt: created, updatedAt: now, db: db)
        return [
            "feedback": [
                "order_id": .string(orderID), "product_id": .string(productID), "rating": arguments["rating"] ?? 0, "tags": tags,
                "text": JSON(arguments["text"]?.stringValue), "created_at": .string(isoTime(created)), "updated_at": .string(isoTime(now)),
            ],
            "product_rating": try FeedbackStore.productRating(productID, db: db) ?? .null,
            "edited": .bool(existing != nil),
        ]
    }

    func recommend(_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON {
        let agent = try context.requireAgent()
        let productID = arguments["product_id"]?.stringValue ?? ""
        guard manifests.liveCatalog.product(productID) != nil else {
            throw ActionError.notFound("No product \(productID).", param: "/product_id")
        }
        let code: String
        if let existing = try ReferralStore.code(agentID: agent.id, productID: productID, db: db) {
            code = existing
        } else {
            code = "ref_" + APIKey.random(12)
            try ReferralStore.insert(code: code, agentID: agent.id, productID: productID, at: unixNow(), db: db)
        }
        return [
            "referral_code": .string(code), "product_id": .string(productID),
            "url": .string("\(baseURL)/products/\(productID)?ref=\(code)"),
            "how_to_use": "Another agent passes referral_code to create_checkout; the order is attributed to you.",
        ]
    }
}
