import Crypto
import Foundation
import JSON
import Store

/// A session of the 2025-11-25 transport as the store keeps it.
public struct MCPSession: Sendable {
    public var id: String
    public var protocolVersion: String
    public var initialized: Bool
    public var ended: Bool
}

/// One SSE event of a session's stream.
public struct MCPEvent: Sendable, Equatable {
    public var id: Int64
    public var streamID: String
    public var data: String
}

/// Where MCP sessions, their streams and every event sent on them live: rows in the store, so
/// any gateway process on the same store serves any session and a reconnecting client gets
/// exactly what it missed. SQLite implements it; PostgreSQL would implement the same protocol.
public protocol MCPSessionStore: Sendable {
    func createSession(protocolVersion: String, clientInfo: JSON, capabilities: JSON) throws -> MCPSession
    func session(_ id: String) throws -> MCPSession?
    func markInitialized(_ id: String) throws
    func endSession(_ id: String) throws -> Bool
    func createStream(sessionID: String, requestID: String?) throws -> String
    /// Appends an event; returns its id, unique across every session.
    func appendEvent(sessionID: String, streamID: String, data: String, completes: Bool) throws -> Int64
    /// The stream an event belongs to, if the event is the session's.
    func stream(ofEvent eventID: Int64, sessionID: String) throws -> (streamID: String, completed: Bool)?
    func events(streamID: String, after eventID: Int64) throws -> [MCPEvent]
    func isCompleted(streamID: String) throws -> Bool
    func latestEventID() throws -> Int64
    /// The streams that events with ids in `after+1 ... upTo` belong to; nil when more than `limit`.
    func streamIDs(ofEventsAfter after: Int64, upTo: Int64, limit: Int) throws -> Set<String>?
    func recordCancellation(sessionID: String, requestID: String, reason: String?) throws
    func isCancelled(sessionID: String, requestID: String) throws -> Bool
    func setSubscription(sessionID: String, uri: String, agentID: String, on: Bool) throws
}

/// Random identifiers: 128 bits, hex, visible ASCII as the transport requires.
func randomIdentifier(prefix: String) -> String {
    var generator = SystemRandomNumberGenerator()
    let words = (0..<2).map { _ in generator.next() as UInt64 }
    return prefix + words.map { String(format: "%016llx", $0) }.joined()
}

struct SQLiteMCPSessionStore: MCPSessionStore {
    let database: Database

    func createSession(protocolVersion: String, clientInfo: JSON, capabilities: JSON) throws -> MCPSession {
        let id = randomIdentifier(prefix: "mcp_")
        try database.write { db in
            try db.run(
                "INSERT INTO mcp_sessions (id, protocol_version, client_info, client_capabilities) VALUES (?, ?, ?, ?)",
                [.text(id), .text(protocolVersion), .text(clientInfo.compactString), .text(capabilities.compactString)])
        }
        return MCPSession(id: id, protocolVersion: protocolVersion, initialized: false, ended: false)
    }

    func session(_ id: String) throws -> MCPSession? {
        guard id.count <= 64 else { return nil }
        return try database.read { db in
            try db.queryOne(
                "SELECT protocol_version, initialized, ended_at IS NOT NULL FROM mcp_sessions WHERE id = ?", [.text(id)]
            ).map { row in
                MCPSession(
                    id: id, protocolVersion: row[0].string ?? "", initialized: row[1].int == 1, ended: row[2].int == 1)
            }
        }
    }

    func markInitialized(_ id: String) throws {
        try database.write { try $0.run("UPDATE mcp_sessions SET initialized = 1 WHERE id = ?", [.text(id)]) }
    }

    func endSession(_ id: String) throws -> Bool {
        try database.write { db in
            try db.run(
                "UPDATE mcp_sessions SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ? AND ended_at IS NULL",
                [.text(id)]) == 1
        }
    }

    func createStream(sessionID: String, requestID: String?) throws -> String {
        let id = randomIdentifier(prefix: "st_")
        try database.write { db in
            try db.run(
                "INSERT INTO mcp_streams (id, session_id, request_id) VALUES (?, ?, ?)",
                [.text(id), .text(sessionID), SQLValue(requestID)])
        }
        return id
    }

    func appendEvent(sessionID: String, streamID: String, data: String, completes: Bool) throws -> Int64 {
        try database.write { db in
            try db.run(
                "INSERT INTO mcp_events (session_id, stream_id, data) VALUES (?, ?, ?)",
                [.text(sessionID), .text(streamID), .text(data)])
            let id = db.lastInsertRowID
            if completes { try db.run("UPDATE mcp_streams SET completed = 1 WHERE id = ?", [.text(streamID)]) }
            return id
        }
    }

    func stream(ofEvent eventID: Int64, sessionID: String) throws -> (streamID: String, completed: Bool)? {
        try database.read { db in
            try db.queryOne(
                """
                SELECT e.stream_id, s.completed FROM mcp_events e JOIN mcp_streams s ON s.id = e.stream_id
                WHERE e.id = ? AND e.session_id = ?
                """, [.integer(eventID), .text(sessionID)]
            ).map { ($0[0].string ?? "", $0[1].int == 1) }
        }
    }

    func events(streamID: String, after eventID: Int64) throws -> [MCPEvent] {
        try database.read { db in
            try db.query(
                "SELECT id, data FROM mcp_events WHERE stream_id = ? AND id > ? ORDER BY id",
                [.text(streamID), .integer(eventID)]
            ).map { MCPEvent(id: $0[0].int ?? 0, streamID: streamID, data: $0[1].string ?? "") }
        }
    }

    func isCompleted(streamID: String) throws -> Bool {
        try database.read { db in
            try db.queryOne("SELECT completed FROM mcp_streams WHERE id = ?", [.text(streamID)])?[0].int == 1
        }
    }

    func streamIDs(ofEventsAfter after: Int64, upTo: Int64, limit: Int) throws -> Set<String>? {
        try database.read { db in
            let rows = try db.query(
                "SELECT DISTINCT stream_id FROM mcp_events WHERE id > ? AND id <= ? LIMIT ?",
                [.integer(after), .integer(upTo), .integer(Int64(limit + 1))])
            return rows.count > limit ? nil : Set(rows.compactMap { $0[0].string })
        }
    }

    func latestEventID() throws -> Int64 {
        try database.read { try $0.queryOne("SELECT coalesce(max(id), 0) FROM mcp_events")?[0].int ?? 0 }
    }

    func recordCancellation(sessionID: String, requestID: String, reason: String?) throws {
        try database.write { db in
            try db.run(
                "INSERT OR IGNORE INTO mcp_cancellations (session_id, request_id, reason) VALUES (?, ?, ?)",
                [.text(sessionID), .text(requestID), SQLValue(reason)])
        }
    }

    func setSubscription(sessionID: String, uri: String, agentID: String, on: Bool) throws {
        try database.write { db in
            if on {
                try db.run(
                    "INSERT OR REPLACE INTO mcp_subscriptions (session_id, uri, agent_id) VALUES (?, ?, ?)",
                    [.text(sessionID), .text(uri), .text(agentID)])
            } else {
                try db.run("DELETE FROM mcp_subscriptions WHERE session_id = ? AND uri = ?", [.text(sessionID), .text(uri)])
            }
        }
    }

    func isCancelled(sessionID: String, requestID: String) throws -> Bool {
        try database.read { db in
            try db.queryOne(
                "SELECT 1 FROM mcp_cancellations WHERE session_id = ? AND request_id = ?",
                [.text(sessionID), .text(requestID)]) != nil
        }
    }
}
