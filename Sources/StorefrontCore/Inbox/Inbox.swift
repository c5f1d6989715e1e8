import Foundation
import HTTPServer
import JSON
import Store
import StorefrontDomain

/// An agent's inbox: every event about its orders, approvals and wallet, kept in the store.
/// Read as a page (`after`), acknowledged, or followed live as Server-Sent Events that resume
/// with `Last-Event-ID` — on any gateway process, after any restart.
package struct Inbox: Sendable {
    let database: Database
    package let feed: ChangeFeed
    package static let maxPage = 200

    package init(database: Database) {
        self.database = database
        feed = ChangeFeed(
            pollInterval: 0.2,
            latest: { try database.read { try $0.queryOne("SELECT coalesce(max(id), 0) FROM inbox_events")?[0].int ?? 0 } },
            topics: { after, upTo in
                // The agents the new events are for (a stream listens to its agent's inbox).
                try database.read { db in
                    let rows = try db.query(
                        "SELECT DISTINCT agent_id FROM inbox_events WHERE id > ? AND id <= ? LIMIT 1001",
                        [.integer(after), .integer(upTo)])
                    return rows.count > 1000 ? nil : Set(rows.compactMap { $0[0].string })
                }
            })
    }

    package func page(agentID: String, after: Int64, limit: Int, unreadOnly: Bool) throws -> JSON {
        try database.read { db in
            let rows = try db.query(
                """
                SELECT * FROM inbox_events WHERE agent_id = ? AND id > ? AND (? = 0 OR read_at IS NULL)
                ORDER BY id LIMIT ?
                """, [.text(agentID), .integer(after), SQLValue(unreadOnly), SQLValue(limit)])
            let unread = try db.queryOne(
                "SELECT count(*) FROM inbox_events WHERE agent_id = ? AND read_at IS NULL", [.text(agentID)])?[0].int ?? 0
            return [
                "events": .array(rows.map(AgentEvents.json)),
                "next_after": .int(rows.last?["id"].int ?? after),
                "unread": .int(unread),
            ]
        }
    }

    /// Marks events read: everything up to `upTo`, and/or the listed ids.
    func acknowledge(agentID: String, upTo: Int64?, ids: [Int64], db: Connection) throws -> Int {
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

    /// The live stream of an agent's events after `after`.
    package func stream(agentID: String, after: Int64, stillAllowed: (@Sendable () -> Bool)? = nil) -> Response {
        let database = self.database
        let tail = SSETail(after: after, feed: feed, topic: agentID) { cursor in
            try database.read { db in
                try db.query(
                    "SELECT * FROM inbox_events WHERE agent_id = ? AND id > ? ORDER BY id LIMIT ?",
                    [.text(agentID), .integer(cursor), .integer(Int64(SSETail.pageSize))]
                ).map { row in
                    let id = row["id"].int ?? 0
                    return (id, "id: \(id)\nevent: \(row["type"].string ?? "message")\ndata: \(AgentEvents.json(row).compactString)\n\n")
                }
            }
        }
        tail.stillAllowed = stillAllowed
        tail.stream.owner = .agent(agentID)
        tail.start()
        return Response(
            status: 200,
            headers: HTTPHeaders([
                ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache, no-transform"), ("X-Accel-Buffering", "no"),
            ]),
            body: .stream(tail.stream))
    }
}
