import Store
import StorefrontDomain

/// Caps on the collections an agent can grow by calling actions. Each refusal is a 409 that
/// names the collection and its limit and says what frees room; abandoned carts and
/// checkouts also expire (`--checkout-ttl`).
package enum AgentQuota {
    /// Active carts per agent.
    package static let activeCarts: Int64 = 100
    /// Checkouts per agent not yet completed or canceled.
    package static let openCheckouts: Int64 = 1000
    /// Support tickets per agent per day.
    package static let ticketsPerDay: Int64 = 50

    /// Throws when the agent already has `limit` rows of `table` matching `condition`.
    package static func check(
        _ table: String, condition: String, parameters: [SQLValue] = [], agentID: String, limit: Int64, what: String,
        remedy: String, db: Connection
    ) throws {
        let count = try db.queryOne(
            "SELECT count(*) FROM \(table) WHERE agent_id = ? AND \(condition)", [.text(agentID)] + parameters)?[0].int ?? 0
        guard count >= limit else { return }
        throw ActionError(
            status: 409, kind: .invalidRequest, code: "quota_exceeded",
            message: "This agent has \(count) \(what), the most allowed (\(limit)); \(remedy)",
            details: ["collection": .string(table), "limit": .int(limit), "count": .int(count)])
    }
}
