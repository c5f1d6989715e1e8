import Store
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// The quota checks run on every create_cart, create_checkout and open_ticket: each must be
/// answered from an index that holds the agent and the condition, so its cost does not grow with
/// the rows the agent made before (an agent with 5,000 orders was measured slower at checkout).
@Suite("Agent quotas are counted from indexes")
struct QuotaIndexTests {
    static func plan(_ db: Database, _ sql: String, _ parameters: [SQLValue]) throws -> String {
        try db.read { connection in
            try connection.query("EXPLAIN QUERY PLAN " + sql, parameters).compactMap { $0[3].string }.joined(separator: " | ")
        }
    }

    @Test("open checkouts, active carts and today's tickets: a covering index search, never a scan of the agent's rows")
    func covered() throws {
        let db = try Fixtures.temporaryStore()
        let checks: [(sql: String, parameters: [SQLValue], index: String)] = [
            ("SELECT count(*) FROM checkouts WHERE agent_id = ? AND status IN ('incomplete', 'ready_for_complete')",
             [.text("agt_x")], "checkouts_agent_status"),
            ("SELECT count(*) FROM carts WHERE agent_id = ? AND status = 'active'", [.text("agt_x")], "carts_agent_status"),
            ("SELECT count(*) FROM support_tickets WHERE agent_id = ? AND created_at > ?", [.text("agt_x"), .integer(0)],
             "support_tickets_agent"),
        ]
        for check in checks {
            let plan = try Self.plan(db, check.sql, check.parameters)
            #expect(plan.contains("COVERING INDEX \(check.index)"), "\(check.sql): \(plan)")
        }
    }
}
