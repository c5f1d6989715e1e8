import Foundation
import Store
import StorefrontDomain

/// Caps on the collections an agent can grow by calling actions. Each refusal is a 409 that
/// names the collection and its limit and says what frees room; abandoned carts and
/// checkouts also expire (`--checkout-ttl`).
package enum AgentQuota: Sendable {
    /// Active carts per agent.
    case activeCarts
    /// Checkouts per agent not yet completed or canceled.
    case openCheckouts
    /// Support tickets per agent per day.
    case ticketsPerDay

    package var limit: Int64 {
        switch self {
        case .activeCarts: 100
        case .openCheckouts: 1000
        case .ticketsPerDay: 50
        }
    }

    /// The collection, as the refusal's details name it.
    var collection: String {
        switch self {
        case .activeCarts: "carts"
        case .openCheckouts: "checkouts"
        case .ticketsPerDay: "support_tickets"
        }
    }

    var what: String {
        switch self {
        case .activeCarts: "active carts"
        case .openCheckouts: "open checkouts"
        case .ticketsPerDay: "support tickets in the last 24 hours"
        }
    }

    var remedy: String {
        switch self {
        case .activeCarts: "check one out or cancel_cart first (unused carts expire)."
        case .openCheckouts: "complete or cancel_checkout one first (abandoned checkouts expire)."
        case .ticketsPerDay: "try again tomorrow."
        }
    }

    func count(agentID: String, db: Connection) throws -> Int64 {
        let row: Row?
        switch self {
        case .activeCarts:
            row = try db.queryOne("SELECT count(*) FROM carts WHERE agent_id = ? AND status = 'active'", [.text(agentID)])
        case .openCheckouts:
            row = try db.queryOne(
                "SELECT count(*) FROM checkouts WHERE agent_id = ? AND status IN ('incomplete', 'ready_for_complete')",
                [.text(agentID)])
        case .ticketsPerDay:
            row = try db.queryOne(
                "SELECT count(*) FROM support_tickets WHERE agent_id = ? AND created_at > ?",
                [.text(agentID), .integer(unixNow() - 86400)])
        }
        return row?[0].int ?? 0
    }

    /// Throws when the agent already has as many as the quota allows.
    package func check(agentID: String, db: Connection) throws {
        let count = try count(agentID: agentID, db: db)
        guard count >= limit else { return }
        throw ActionError(
            status: 409, kind: .invalidRequest, code: "quota_exceeded",
            message: "This agent has \(count) \(what), the most allowed (\(limit)); \(remedy)",
            details: ["collection": .string(collection), "limit": .int(limit), "count": .int(count)])
    }
}
