import Foundation
import JSON
import Store
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
    var database: Database { commerce.database }

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
                name: "recommend", title: "Recommend a product",
                description: "A referral code and link for a product; orders placed with the code (create_checkout referral_code) are attributed to this agent.",
                stage: .recommending, scope: "orders:read", annotations: mutating, write: recommend),
        ]
    }

    // MARK: Inbox

    func getInbox(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        return try inbox.page(
            agentID: agent.id, after: arguments["after"]?.intValue ?? 0, limit: Int(arguments["limit"]?.intValue ?? 50),
            unreadOnly: arguments["unread_only"]?.boolValue ?? false)
    }

    func ackInbox(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let changed = try inbox.acknowledge(
            agentID: agent.id, upTo: arguments["up_to"]?.intValue, ids: arguments["ids"]?.arrayValue?.compactMap(\.intValue) ?? [],
            db: db)
        let unread = try db.queryOne(
            "SELECT count(*) FROM inbox_events WHERE agent_id = ? AND read_at IS NULL", [.text(agent.id)])?[0].int ?? 0
        return ["acknowledged": .int(Int64(changed)), "unread": .int(unread)]
    }

    // MARK: Memory

    static func memoryJSON(_ row: Row) -> JSON {
        [
            "key": .string(row["key"].string ?? ""),
            "value": (try? JSON.parse(row["value"].string ?? "null")) ?? .null,
            "updated_at": .string(isoTime(row["updated_at"].int ?? 0)),
        ]
    }

    func remember(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let key = arguments["key"]?.stringValue ?? ""
        let value = (arguments["value"] ?? .null).compactString
        let size = value.utf8.count + key.utf8.count
        guard size <= Self.maxEntryBytes else {
            throw ActionError.invalid(
                "memory_entry_too_large", "A note may be at most \(Self.maxEntryBytes) bytes; this one is \(size).", param: "/value")
        }
        let others = try db.queryOne(
            "SELECT coalesce(sum(bytes), 0), count(*) FROM memories WHERE agent_id = ? AND key != ?", [.text(agent.id), .text(key)])
        let used = others?[0].int ?? 0, count = others?[1].int ?? 0
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
        try db.run(
            """
            INSERT INTO memories (agent_id, key, value, bytes, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (agent_id, key) DO UPDATE SET value = excluded.value, bytes = excluded.bytes, updated_at = excluded.updated_at
            """,
            [.text(agent.id), .text(key), .text(value), SQLValue(size), .integer(unixNow())])
        let row = try db.queryOne("SELECT * FROM memories WHERE agent_id = ? AND key = ?", [.text(agent.id), .text(key)])!
        return ["memory": Self.memoryJSON(row), "used_bytes": .int(used + Int64(size)), "limit_bytes": .int(Int64(Self.maxAgentBytes))]
    }

    func recall(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        let key = arguments["key"]?.stringValue ?? ""
        guard let row = try database.read({ try $0.queryOne("SELECT * FROM memories WHERE agent_id = ? AND key = ?", [.text(agent.id), .text(key)]) })
        else { throw ActionError.notFound("No note \(key). list_memories shows the keys kept.", param: "/key") }
        return ["memory": Self.memoryJSON(row)]
    }

    func forget(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let removed = try db.run(
            "DELETE FROM memories WHERE agent_id = ? AND key = ?", [.text(agent.id), .text(arguments["key"]?.stringValue ?? "")])
        return ["forgotten": .bool(removed == 1)]
    }

    func listMemories(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let agent = try context.requireAgent()
        let prefix = arguments["prefix"]?.stringValue ?? ""
        return try database.read { db in
            let rows = try db.query(
                "SELECT * FROM memories WHERE agent_id = ? AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
                [.text(agent.id), .text(prefix)])
            let used = try db.queryOne("SELECT coalesce(sum(bytes), 0) FROM memories WHERE agent_id = ?", [.text(agent.id)])?[0].int ?? 0
            return ["memories": .array(rows.map(Self.memoryJSON)), "used_bytes": .int(used), "limit_bytes": .int(Int64(Self.maxAgentBytes))]
        }
    }

    // MARK: Support

    func order(_ id: String, agent: Agent, db: Connection) throws -> Order {
        guard let order = try OrderStore.find(id, agentID: agent.id, db: db) else {
            throw ActionError.notFound("No order \(id) for this agent. list_orders shows them.", param: "/order_id")
        }
        return order
    }

    /// Resolves what can be resolved at once, and otherwise opens a ticket; either way the
    /// answer lists the actions to call next.
    func reportIssue(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
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
        try AgentQuota.check(
            "support_tickets", condition: "created_at > ?", parameters: [.integer(unixNow() - 86400)], agentID: agent.id,
            limit: AgentQuota.ticketsPerDay, what: "support tickets in the last 24 hours", remedy: "try again tomorrow.", db: db)
        try db.run(
            """
            INSERT INTO support_tickets (id, agent_id, order_id, category, description, status, resolution, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(ticketID), .text(agent.id), SQLValue(placed?.id), .text(category),
             .text(arguments["description"]?.stringValue ?? ""), .text(status), .text(resolution), .integer(unixNow())])
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
            let placed = try database.read { try order(id, agent: agent, db: $0) }
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

    func leaveFeedback(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
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
        let existing = try db.queryOne(
            "SELECT created_at FROM feedback WHERE order_id = ? AND product_id = ?", [.text(orderID), .text(productID)])
        let created = existing?[0].int ?? now
        let tags = arguments["tags"] ?? []
        try db.run(
            """
            INSERT INTO feedback (order_id, product_id, agent_id, rating, tags, text, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (order_id, product_id) DO UPDATE SET agent_id = excluded.agent_id, rating = excluded.rating,
                tags = excluded.tags, text = excluded.text, created_at = excluded.created_at, updated_at = excluded.updated_at
            """,
            [.text(orderID), .text(productID), .text(agent.id), .integer(arguments["rating"]?.intValue ?? 0),
             .text(tags.compactString), SQLValue(arguments["text"]?.stringValue), .integer(created), .integer(now)])
        let aggregate = try db.queryOne(Ratings.productSQL, [.text(productID)])
        return [
            "feedback": [
                "order_id": .string(orderID), "product_id": .string(productID), "rating": arguments["rating"] ?? 0, "tags": tags,
                "text": JSON(arguments["text"]?.stringValue), "created_at": .string(isoTime(created)), "updated_at": .string(isoTime(now)),
            ],
            "product_rating": Ratings.json(average: aggregate?[0].double ?? 0, count: aggregate?[1].int ?? 0) ?? .null,
            "edited": .bool(existing != nil),
        ]
    }

    func recommend(_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON {
        let agent = try context.requireAgent()
        let productID = arguments["product_id"]?.stringValue ?? ""
        guard manifests.catalog.product(productID) != nil else {
            throw ActionError.notFound("No product \(productID).", param: "/product_id")
        }
        let code: String
        if let existing = try db.queryOne(
            "SELECT code FROM referrals WHERE agent_id = ? AND product_id = ?", [.text(agent.id), .text(productID)])?[0].string
        {
            code = existing
        } else {
            code = "ref_" + APIKey.random(12)
            try db.run(
                "INSERT INTO referrals (code, agent_id, product_id, created_at) VALUES (?, ?, ?, ?)",
                [.text(code), .text(agent.id), .text(productID), .integer(unixNow())])
        }
        return [
            "referral_code": .string(code), "product_id": .string(productID),
            "url": .string("\(baseURL)/products/\(productID)?ref=\(code)"),
            "how_to_use": "Another agent passes referral_code to create_checkout; the order is attributed to you.",
        ]
    }
}

/// Aggregate ratings of products, read from the store. Only ratings of kept purchases count:
/// a rating whose order was later canceled or refunded in full drops out of the average.
enum Ratings {
    /// Order statuses whose ratings do not count (every cent went back to the wallet).
    static let voidedStatuses = ["canceled", "refunded"]

    static func keeps(status: String?) -> Bool { !voidedStatuses.contains(status ?? "") }

    static let keptJoin = """
        FROM feedback f JOIN orders o ON o.id = f.order_id
        WHERE o.status NOT IN ('canceled', 'refunded')
        """

    /// One product's average and count (`?1`: the product).
    static let productSQL = "SELECT avg(f.rating), count(*) \(keptJoin) AND f.product_id = ?1"

    /// Called when an order is canceled or refunded in full: touching its feedback rows makes
    /// the ratings cache (which follows commits to `feedback`) read the averages again.
    static func orderVoided(_ orderID: String, db: Connection) throws {
        try db.run("UPDATE feedback SET updated_at = updated_at WHERE order_id = ?", [.text(orderID)])
    }

    static func json(average: Double, count: Int64) -> JSON? {
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
