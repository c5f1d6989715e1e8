import JSON
import Store

/// The SQL of idempotency records: a mutating action's stored answer per agent, action and key,
/// written in the action's transaction so a retry replays it and never runs the action twice.
package enum IdempotencyStore {
    /// What was stored for a key: the arguments' digest, the HTTP status and the answer.
    package struct Record: Sendable {
        package var requestDigest: String
        package var status: Int
        package var response: JSON
    }

    /// `agentID` is "-" for anonymous callers.
    package static func find(agentID: String, action: String, key: String, db: Connection) throws -> Record? {
        guard let row = try db.queryOne(
            "SELECT request_digest, status, response FROM idempotency_keys WHERE agent_id = ? AND action = ? AND key = ?",
            [.text(agentID), .text(action), .text(key)])
        else { return nil }
        let r = RowDecoder(row, table: "idempotency_keys")
        return Record(requestDigest: try r.text("request_digest"), status: Int(try r.int("status")), response: try r.json("response"))
    }

    /// Stores an answer (its result is not read: pipelined on PostgreSQL).
    package static func insert(
        agentID: String, action: String, key: String, requestDigest: String, status: Int, responseText: String, at time: Int64,
        db: Connection
    ) throws {
        try db.runDeferred(
            """
            INSERT INTO idempotency_keys (agent_id, action, key, request_digest, status, response, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(agentID), .text(action), .text(key), .text(requestDigest), SQLValue(status), .text(responseText), .integer(time)])
    }

    /// Deletes records older than `time` (a retry that late is a new request).
    package static func deleteOlder(than time: Int64, db: Connection) throws {
        try db.run("DELETE FROM idempotency_keys WHERE created_at < ?", [.integer(time)])
    }
}

extension Connection {
    /// Opens a savepoint: what follows can be undone alone (`rollbackSavepoint`) while the
    /// transaction goes on. Deferred like the writes it guards (pipelined on PostgreSQL).
    package func beginSavepoint(_ name: String) throws {
        try runDeferred("SAVEPOINT \(name)", [])
    }

    /// Keeps what was done since the savepoint.
    package func releaseSavepoint(_ name: String) throws {
        try runDeferred("RELEASE \(name)", [])
    }

    /// Undoes what was done since the savepoint, and closes it.
    package func rollbackSavepoint(_ name: String) throws {
        _ = try run("ROLLBACK TO \(name)")
        _ = try run("RELEASE \(name)")
    }
}
