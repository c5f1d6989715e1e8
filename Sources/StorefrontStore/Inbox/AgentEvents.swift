import Foundation
import JSON
import Store
import StorefrontDomain

/// Records what happened to an agent's orders, approvals and wallet: an inbox entry for the
/// agent and, for order events, a webhook delivery for each of the merchant's endpoints — in
/// the same transaction as the change itself, so neither is lost or sent for a change that
/// did not commit.
public struct AgentEvents: Sendable {
    /// The merchant's webhook endpoints for order events.
    public var webhookURLs: [String] = []
    /// The gateway's public URL (UCP orders name it); nil: no UCP platform hears of orders.
    public var publicURL: String?

    public init(webhookURLs: [String] = [], publicURL: String? = nil) {
        self.webhookURLs = webhookURLs
        self.publicURL = publicURL
    }

    public func record(_ type: String, agentID: String, orderID: String? = nil, data: JSON, db: Connection) throws {
        let now = unixNow()
        let inboxID = try db.queryOne(
            "INSERT INTO inbox_events (agent_id, type, data, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            [.text(agentID), .text(type), .text(data.compactString), .integer(now)])?[0].int ?? 0
        // MCP sessions subscribed to this agent's inbox hear of it on their server-to-client
        // stream (the latest one each session opened).
        let notification: JSON = [
            "jsonrpc": "2.0", "method": "notifications/resources/updated", "params": ["uri": .string(AgentInbox.resourceURI)],
        ]
        try db.runDeferred(
            """
            INSERT INTO mcp_events (session_id, stream_id, data)
            SELECT s.session_id, st.id, ? FROM mcp_subscriptions s
            JOIN mcp_streams st ON st.id = (SELECT id FROM mcp_streams WHERE session_id = s.session_id AND request_id IS NULL
                                            ORDER BY created_at DESC, id DESC LIMIT 1)
            JOIN mcp_sessions ses ON ses.id = s.session_id AND ses.ended_at IS NULL
            WHERE s.agent_id = ? AND s.uri = ?
            """, [.text(notification.compactString), .text(agentID), .text(AgentInbox.resourceURI)])
        guard type.hasPrefix("order.") else { return }
        let eventID = "evt_\(inboxID)_" + randomIdentifier(prefix: "").prefix(8)
        // The UCP platform the order was bought through hears of it: the whole order as it is
        // now, signed when it is sent.
        // (An ACP platform hears of it as ACP's order event, signed with its shared secret.)
        if let publicURL, let orderID, let target = try UCPOrders.platformWebhook(orderID: orderID, db: db),
            let order = try OrderStore.find(orderID, db: db)
        {
            let acp = target.platform.hasPrefix("acp:")
            let body: JSON = acp
                ? ["type": .string(type == "order.created" ? "order_create" : "order_update"),
                   "data": try ACPOrders.json(order, baseURL: publicURL, db: db)]
                : try UCPOrders.json(order, baseURL: publicURL, db: db)
            try db.runDeferred(
                """
                INSERT INTO webhook_outbox (event_id, url, order_id, type, body, next_attempt_at, created_at, scheme)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(eventID), .text(target.url), .text(orderID), .text(type), .text(body.compactString), .integer(now), .integer(now),
                 .text(acp ? "acp" : "ucp")])
        }
        guard !webhookURLs.isEmpty else { return }
        let body: JSON = [
            "id": .string(eventID), "type": .string(type), "created_at": .string(Timestamp.iso8601(seconds: now)),
            "agent_id": .string(agentID), "data": data,
        ]
        for url in webhookURLs {
            try db.runDeferred(
                """
                INSERT INTO webhook_outbox (event_id, url, order_id, type, body, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(eventID), .text(url), SQLValue(orderID), .text(type), .text(body.compactString), .integer(now), .integer(now)])
        }
    }

    static func json(_ row: Row) -> JSON {
        [
            "id": .int(row["id"].int ?? 0), "type": .string(row["type"].string ?? ""),
            "created_at": .string(Timestamp.iso8601(seconds: row["created_at"].int ?? 0)),
            "read": .bool(row["read_at"].int != nil),
            "data": (try? JSON.parse(row["data"].string ?? "{}")) ?? [:],
        ]
    }
}
