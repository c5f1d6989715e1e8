import Foundation
import JSON
import Store
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// The retention sweep deletes what outlived its policy and nothing else.
@Suite struct StoreRetentionTests {
    @Test("idle and ended MCP sessions go with their streams and events; live ones stay")
    func sessionsAreSweptWithTheirEvents() throws {
        let database = try Fixtures.temporaryStore()
        defer { database.close() }
        let store = SQLiteMCPSessionStore(database: database)
        let owner = MCPSessionOwner(agentID: nil, clientAddress: "127.0.0.1")
        let idle = try store.createSession(protocolVersion: "2025-11-25", clientInfo: [:], capabilities: [:], owner: owner, maxPerCreator: 10)
        let live = try store.createSession(protocolVersion: "2025-11-25", clientInfo: [:], capabilities: [:], owner: owner, maxPerCreator: 10)
        for session in [idle, live] {
            let stream = try store.createStream(sessionID: session.id, requestID: nil)
            let written = DispatchSemaphore(value: 0)
            store.appendEvent(sessionID: session.id, streamID: stream, data: "{}", completes: true) { _ in written.signal() }
            written.wait()
        }
        try database.write { try $0.run("UPDATE mcp_sessions SET last_used_at = 0 WHERE id = ?", [.text(idle.id)]) }
        let report = try StoreRetention(database: database, policy: RetentionPolicy()).sweep()
        #expect(report.mcpSessions == 1)
        #expect(try store.session(idle.id) == nil)
        #expect(try store.session(live.id) != nil)
        let left = try database.read { try $0.queryOne("SELECT count(*) FROM mcp_events WHERE session_id = ?", [.text(idle.id)])?[0].int }
        #expect(left == 0)
    }

    @Test("a creator beyond its cap loses its least recently used session")
    func perCreatorCap() throws {
        let database = try Fixtures.temporaryStore()
        defer { database.close() }
        let store = SQLiteMCPSessionStore(database: database)
        let owner = MCPSessionOwner(agentID: "agt_x", clientAddress: "127.0.0.1")
        let ids = try (0..<3).map { _ in
            try store.createSession(protocolVersion: "2025-11-25", clientInfo: [:], capabilities: [:], owner: owner, maxPerCreator: 2).id
        }
        #expect(try store.session(ids[0]) == nil)
        #expect(try store.session(ids[2])?.agentID == "agt_x")
    }

    @Test("only the first refusal of a kind in an hour is to be trailed; every one is counted")
    func refusalsAreCounted() throws {
        let database = try Fixtures.temporaryStore()
        defer { database.close() }
        let firsts = try database.write { db in
            try (0..<5).map { _ in
                try RefusedAttempts.count(agentID: "agt_x", action: "complete_checkout", errorCode: "insufficient_funds",
                                          amount: 100, currency: "USD", db: db, now: 7200)
            }
        }
        #expect(firsts == [true, false, false, false, false])
        let counted = try database.read { try $0.queryOne("SELECT attempts FROM refused_attempts")?[0].int }
        #expect(counted == 5)
    }
}
