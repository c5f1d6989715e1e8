import Store

/// The SQL of idempotency records: a mutating action's stored answer per agent, action and key.
package enum IdempotencyStore {
    /// Deletes records older than `time` (a retry that late is a new request).
    package static func deleteOlder(than time: Int64, db: Connection) throws {
        try db.run("DELETE FROM idempotency_keys WHERE created_at < ?", [.integer(time)])
    }
}
