import Foundation
import Store

/// Who created an MCP session: the agent (sessions created with credentials are usable only
/// with that agent's credentials) and the key its live-session cap counts under (the agent,
/// or for anonymous sessions the client's address).
public struct MCPSessionOwner: Sendable, Equatable {
    public var agentID: String?
    public var creator: String

    public init(agentID: String?, clientAddress: String) {
        self.agentID = agentID
        creator = agentID.map { "agent:" + $0 } ?? "address:" + clientAddress
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
