import Foundation
import Store

/// What a refused attempt costs the store: one counter per agent (or "-" for anonymous
/// callers), action, error code and UTC hour in `refused_attempts`, kept as long as raw
/// analytics. Only the first refusal of its kind in an hour is also appended to the permanent
/// trail; the rest only count. Refusals change no state, so the trail still records every
/// real change, while a client repeating a refused call cannot grow it without bound.
package enum RefusedAttempts {
    /// Counts a refusal; true when it is the first of its kind this hour (record it in the trail).
    package static func count(
        agentID: String?, action: String, errorCode: String, amount: Int64?, currency: String?, db: Connection,
        now: Int64 = Int64(Date().timeIntervalSince1970)
    ) throws -> Bool {
        let key = agentID ?? "-"
        let hour = now / 3600
        try db.run(
            """
            INSERT INTO refused_attempts (agent_key, action, error_code, hour, attempts, first_at, last_at, last_amount, currency)
            VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
            ON CONFLICT (agent_key, action, error_code, hour) DO UPDATE SET
                attempts = refused_attempts.attempts + 1, last_at = excluded.last_at, last_amount = excluded.last_amount, currency = excluded.currency
            """,
            [.text(key), .text(action), .text(errorCode), .integer(hour), .integer(now), .integer(now),
             amount.map(SQLValue.integer) ?? .null, SQLValue(currency)])
        let attempts = try db.queryOne(
            "SELECT attempts FROM refused_attempts WHERE agent_key = ? AND action = ? AND error_code = ? AND hour = ?",
            [.text(key), .text(action), .text(errorCode), .integer(hour)])?[0].int ?? 1
        return attempts == 1
    }
}
