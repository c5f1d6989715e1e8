import Foundation
import JSON
import Store
import StorefrontDomain

/// MCP sessions, their streams and events as rows of the store (SQLite or PostgreSQL: the SQL
/// here is the common subset both speak).
package struct SQLiteMCPSessionStore: MCPSessionStore {
    let database: Database

    package init(database: Database) {
        self.database = database
    }

    package func createSession(
        protocolVersion: String, clientInfo: JSON, capabilities: JSON, owner: MCPSessionOwner, maxPerCreator: Int
    ) throws -> MCPSession {
        let id = randomIdentifier(prefix: "mcp_")
        let now = unixNow()
        try database.write { db in
            try MCPSessionSweep.evictOldest(of: owner.creator, keeping: maxPerCreator - 1, db: db)
            try db.run(
                """
                INSERT INTO mcp_sessions (id, protocol_version, client_info, client_capabilities, agent_id, creator, last_used_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(id), .text(protocolVersion), .text(clientInfo.compactString), .text(capabilities.compactString),
                 SQLValue(owner.agentID), .text(owner.creator), .integer(now)])
        }
        return MCPSession(
            id: id, protocolVersion: protocolVersion, initialized: false, ended: false, agentID: owner.agentID, lastUsedAt: now)
    }

    package func session(_ id: String) throws -> MCPSession? {
        guard id.count <= 64 else { return nil }
        return try database.read { db in
            try db.queryOne(
                "SELECT protocol_version, initialized, ended_at IS NOT NULL, agent_id, last_used_at FROM mcp_sessions WHERE id = ?",
                [.text(id)]
            ).map { row in
                MCPSession(
                    id: id, protocolVersion: row[0].string ?? "", initialized: row[1].int == 1, ended: row[2].int == 1,
                    agentID: row[3].string, lastUsedAt: row[4].int ?? 0)
            }
        }
    }

    package func touch(_ id: String) {
        database.write(
            { try $0.run("UPDATE mcp_sessions SET last_used_at = ? WHERE id = ?", [.integer(unixNow()), .text(id)]) },
            completion: { _ in })
    }

    package func claim(_ id: String, agentID: String, completion: @escaping @Sendable (Result<Bool, Error>) -> Void) {
        database.write(
            { db -> Bool in
                let changed = try db.run(
                    "UPDATE mcp_sessions SET agent_id = ? WHERE id = ? AND agent_id IS NULL", [.text(agentID), .text(id)])
                if changed > 0 { return true }
                return try db.queryOne("SELECT agent_id FROM mcp_sessions WHERE id = ?", [.text(id)])?[0].string == agentID
            },
            completion: completion)
    }

    package func markInitialized(_ id: String) throws {
        try database.write { try $0.run("UPDATE mcp_sessions SET initialized = 1 WHERE id = ?", [.text(id)]) }
    }

    package func endSession(_ id: String) throws -> Bool {
        try database.write { db in
            try db.run(
                "UPDATE mcp_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                [.text(Timestamp.iso8601(Date(), milliseconds: true)), .text(id)]) == 1
        }
    }

    package func createStream(sessionID: String, requestID: String?) throws -> String {
        let id = randomIdentifier(prefix: "st_")
        try database.write { db in try Self.insertStream(id, sessionID: sessionID, requestID: requestID, db: db) }
        return id
    }

    package func createStream(
        sessionID: String, requestID: String?, completion: @escaping @Sendable (Result<String, Error>) -> Void
    ) {
        let id = randomIdentifier(prefix: "st_")
        database.write(
            { db in try Self.insertStream(id, sessionID: sessionID, requestID: requestID, db: db) },
            completion: { result in completion(result.map { id }) })
    }

    static func insertStream(_ id: String, sessionID: String, requestID: String?, db: Connection) throws {
        try db.run(
            "INSERT INTO mcp_streams (id, session_id, request_id) VALUES (?, ?, ?)", [.text(id), .text(sessionID), SQLValue(requestID)])
    }

    package func appendEvent(
        sessionID: String, streamID: String, data: String, completes: Bool,
        completion: @escaping @Sendable (Result<Int64, Error>) -> Void
    ) {
        database.write(
            { db -> Int64 in
                let id = try db.queryOne(
                    "INSERT INTO mcp_events (session_id, stream_id, data) VALUES (?, ?, ?) RETURNING id",
                    [.text(sessionID), .text(streamID), .text(data)])?[0].int ?? 0
                if completes { try db.run("UPDATE mcp_streams SET completed = 1 WHERE id = ?", [.text(streamID)]) }
                return id
            },
            completion: completion)
    }

    package func stream(ofEvent eventID: Int64, sessionID: String) throws -> (streamID: String, completed: Bool)? {
        try database.read { db in
            try db.queryOne(
                """
                SELECT e.stream_id, s.completed FROM mcp_events e JOIN mcp_streams s ON s.id = e.stream_id
                WHERE e.id = ? AND e.session_id = ?
                """, [.integer(eventID), .text(sessionID)]
            ).map { ($0[0].string ?? "", $0[1].int == 1) }
        }
    }

    package func events(streamID: String, after eventID: Int64, limit: Int) throws -> [MCPEvent] {
        try database.read { db in
            try db.query(
                "SELECT id, data FROM mcp_events WHERE stream_id = ? AND id > ? ORDER BY id LIMIT ?",
                [.text(streamID), .integer(eventID), .integer(Int64(limit))]
            ).map { MCPEvent(id: $0[0].int ?? 0, streamID: streamID, data: $0[1].string ?? "") }
        }
    }

    package func isCompleted(streamID: String) throws -> Bool {
        try database.read { db in
            try db.queryOne("SELECT completed FROM mcp_streams WHERE id = ?", [.text(streamID)])?[0].int == 1
        }
    }

    package func streamIDs(ofEventsAfter after: Int64, upTo: Int64, limit: Int) throws -> Set<String>? {
        try database.read { db in
            let rows = try db.query(
                "SELECT DISTINCT stream_id FROM mcp_events WHERE id > ? AND id <= ? LIMIT ?",
                [.integer(after), .integer(upTo), .integer(Int64(limit + 1))])
            return rows.count > limit ? nil : Set(rows.compactMap { $0[0].string })
        }
    }

    package func latestEventID() throws -> Int64 {
        try database.read { try $0.queryOne("SELECT coalesce(max(id), 0) FROM mcp_events")?[0].int ?? 0 }
    }

    package func recordCancellation(sessionID: String, requestID: String, reason: String?) throws {
        try database.write { db in
            try db.run(
                "INSERT INTO mcp_cancellations (session_id, request_id, reason) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(sessionID), .text(requestID), SQLValue(reason)])
        }
    }

    package func setSubscription(sessionID: String, uri: String, agentID: String, on: Bool) throws {
        try database.write { db in
            if on {
                try db.run(
                    "INSERT INTO mcp_subscriptions (session_id, uri, agent_id) VALUES (?, ?, ?) ON CONFLICT (session_id, uri) DO UPDATE SET agent_id = excluded.agent_id",
                    [.text(sessionID), .text(uri), .text(agentID)])
            } else {
                try db.run("DELETE FROM mcp_subscriptions WHERE session_id = ? AND uri = ?", [.text(sessionID), .text(uri)])
            }
        }
    }

    package func isCancelled(sessionID: String, requestID: String) throws -> Bool {
        try database.read { db in
            try db.queryOne(
                "SELECT 1 FROM mcp_cancellations WHERE session_id = ? AND request_id = ?",
                [.text(sessionID), .text(requestID)]) != nil
        }
    }
}

/// Deletes MCP sessions with everything kept for them: streams, events, subscriptions and
/// cancellations.
enum MCPSessionSweep {
    /// Deletes sessions unused since `idleBefore` and sessions already ended, at most `limit`.
    static func deleteExpired(database: Database, idleBefore: Int64, limit: Int) throws -> Int {
        try database.write(priority: .background) { db in
            let ids = try db.query(
                "SELECT id FROM mcp_sessions WHERE last_used_at < ? OR ended_at IS NOT NULL LIMIT ?",
                [.integer(idleBefore), .integer(Int64(limit))]
            ).compactMap { $0[0].string }
            for id in ids { try delete(id, db: db) }
            return ids.count
        }
    }

    /// Deletes the creator's least recently used live sessions so that at most `keeping` remain.
    static func evictOldest(of creator: String, keeping: Int, db: Connection) throws {
        let live = try db.queryOne(
            "SELECT count(*) FROM mcp_sessions WHERE creator = ? AND ended_at IS NULL", [.text(creator)])?[0].int ?? 0
        let excess = live - Int64(max(0, keeping))
        guard excess > 0 else { return }
        // Ties in last use (whole seconds) go to the session opened first: SQLite's rowid is the
        // order of creation; PostgreSQL has none, so creation time (milliseconds) decides there.
        let creationOrder = db.backend == .sqlite ? "rowid" : "created_at, id"
        let ids = try db.query(
            "SELECT id FROM mcp_sessions WHERE creator = ? AND ended_at IS NULL ORDER BY last_used_at, \(creationOrder) LIMIT ?",
            [.text(creator), .integer(excess)]
        ).compactMap { $0[0].string }
        for id in ids { try delete(id, db: db) }
    }

    /// Deletes one session and what belongs to it.
    static func delete(_ id: String, db: Connection) throws {
        for table in ["mcp_events", "mcp_subscriptions", "mcp_cancellations", "mcp_streams"] {
            try db.run("DELETE FROM \(table) WHERE session_id = ?", [.text(id)])
        }
        try db.run("DELETE FROM mcp_sessions WHERE id = ?", [.text(id)])
    }
}
