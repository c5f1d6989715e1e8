import Foundation
import JSON
import Store

/// Records what happened to an agent's orders, approvals and wallet: an inbox entry for the
/// agent and, for order events, a webhook delivery for each of the merchant's endpoints — in
/// the same transaction as the change itself, so neither is lost or sent for a change that
/// did not commit.
public struct AgentEvents: Sendable {
    /// The merchant's webhook endpoints for order events.
    public var webhookURLs: [String] = []

    public init(webhookURLs: [String] = []) {
        self.webhookURLs = webhookURLs
    }

    public func record(_ type: String, agentID: String, orderID: String? = nil, data: JSON, db: Connection) throws {
        let now = unixNow()
        try db.run(
            "INSERT INTO inbox_events (agent_id, type, data, created_at) VALUES (?, ?, ?, ?)",
            [.text(agentID), .text(type), .text(data.compactString), .integer(now)])
        let inboxID = db.lastInsertRowID
        guard type.hasPrefix("order."), !webhookURLs.isEmpty else { return }
        let eventID = "evt_\(inboxID)_" + randomIdentifier(prefix: "").prefix(8)
        let body: JSON = [
            "id": .string(eventID), "type": .string(type), "created_at": .string(Timestamp.iso8601(seconds: now)),
            "agent_id": .string(agentID), "data": data,
        ]
        for url in webhookURLs {
            try db.run(
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
