import Foundation
import JSON
import Store
import StorefrontDomain

/// An agent's inbox: every event about its orders, approvals and wallet, kept in the store.
/// Read as a page (`after`), acknowledged, or followed live (the gateway's `InboxStream` tails
/// ``events(agentID:after:limit:)``) — on any gateway process, after any restart.
package struct Inbox: Sendable {
    let database: Database
    package static let maxPage = 200

    package init(database: Database) {
        self.database = database
    }

    /// The newest event's id (0 when there is none).
    package func latestEventID() throws -> Int64 {
        try database.read { try $0.queryOne("SELECT coalesce(max(id), 0) FROM inbox_events")?[0].int ?? 0 }
    }

    /// The agents that events with ids in `after+1 ... upTo` are for; nil when more than `limit`.
    package func agents(ofEventsAfter after: Int64, upTo: Int64, limit: Int) throws -> Set<String>? {
        try database.read { db in
            let rows = try db.query(
                "SELECT DISTINCT agent_id FROM inbox_events WHERE id > ? AND id <= ? LIMIT ?",
                [.integer(after), .integer(upTo), SQLValue(limit + 1)])
            return rows.count > limit ? nil : Set(rows.compactMap { $0[0].string })
        }
    }

    /// At most `limit` of an agent's events after an id, in order: each one's id, type and wire form.
    package func events(agentID: String, after: Int64, limit: Int) throws -> [(id: Int64, type: String, json: JSON)] {
        try database.read { db in
            try db.query(
                "SELECT * FROM inbox_events WHERE agent_id = ? AND id > ? ORDER BY id LIMIT ?",
                [.text(agentID), .integer(after), SQLValue(limit)]
            ).map { row in (row["id"].int ?? 0, row["type"].string ?? "message", AgentEvents.json(row)) }
        }
    }

    package func page(agentID: String, after: Int64, limit: Int, unreadOnly: Bool) throws -> JSON {
        try database.read { db in
            let rows = try db.query(
                """
                SELECT * FROM inbox_events WHERE agent_id = ? AND id > ? AND (? = 0 OR read_at IS NULL)
                ORDER BY id LIMIT ?
                """, [.text(agentID), .integer(after), SQLValue(unreadOnly), SQLValue(limit)])
            let unread = try Self.unreadCount(agentID: agentID, db: db)
            return [
                "events": .array(rows.map(AgentEvents.json)),
                "next_after": .int(rows.last?["id"].int ?? after),
                "unread": .int(unread),
            ]
        }
    }

    /// How many of the agent's events are unread.
    package static func unreadCount(agentID: String, db: Connection) throws -> Int64 {
        try db.queryOne("SELECT count(*) FROM inbox_events WHERE agent_id = ? AND read_at IS NULL", [.text(agentID)])?[0].int ?? 0
    }

    /// Marks events read: everything up to `upTo`, and/or the listed ids.
    package func acknowledge(agentID: String, upTo: Int64?, ids: [Int64], db: Connection) throws -> Int {
        var changed = 0
        if let upTo {
            changed += try db.run(
                "UPDATE inbox_events SET read_at = ? WHERE agent_id = ? AND id <= ? AND read_at IS NULL",
                [.integer(unixNow()), .text(agentID), .integer(upTo)])
        }
        for id in ids {
            changed += try db.run(
                "UPDATE inbox_events SET read_at = ? WHERE agent_id = ? AND id = ? AND read_at IS NULL",
                [.integer(unixNow()), .text(agentID), .integer(id)])
        }
        return changed
    }
}
