import Foundation
import JSON
import Store
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// `trail verify --against`: a head saved earlier pins the store to its history.
@Suite("Consistency with a saved trail head")
struct TrailConsistencyTests {
    /// A store with `count` entries, and a head signed after the first `savedAt`.
    static func store(count: Int, savedAt: Int) throws -> (Database, AuditTrail, TrailHead) {
        let database = try Fixtures.temporaryStore()
        let trail = AuditTrail(signingKey: .generate(), checkpointEvery: 4)
        var saved: TrailHead?
        for i in 1...count {
            try database.write { db in
                try trail.append(TrailEntry(agentID: "agt_\(i % 3)", action: "wallet.debit", target: "ord_\(i)", outcome: "ok",
                                            amount: Int64(100 * i), currency: "USD"), in: db)
            }
            if i == savedAt { saved = try database.read { try trail.signHead(in: $0) } }
        }
        return (database, trail, saved!)
    }

    @Test("an untouched store extends the saved head, by a proof that verifies")
    func consistent() throws {
        let (database, trail, saved) = try Self.store(count: 30, savedAt: 13)
        defer { database.close() }
        let check = try TrailConsistencyCheck.run(saved: saved, database: database, publicJWK: trail.signingKey.publicJWK)
        #expect(check.consistent, "\(check.problem ?? "")")
        #expect(check.currentSize == 30 && check.proofLength > 0)
    }

    @Test("entries cut from the end are truncation, however clean the cut")
    func truncated() throws {
        let (database, trail, saved) = try Self.store(count: 30, savedAt: 25)
        defer { database.close() }
        try database.write { db in
            try db.run("DELETE FROM trail WHERE seq > 20")
            try db.run("DELETE FROM trail_checkpoints WHERE seq > 20")
            try db.run("DELETE FROM trail_heads WHERE tree_size > 20")
        }
        #expect(try AuditTrail.verify(database: database, publicJWK: trail.signingKey.publicJWK).intact)
        let check = try TrailConsistencyCheck.run(saved: saved, database: database, publicJWK: trail.signingKey.publicJWK)
        #expect(check.problem?.hasPrefix("truncated") == true, "\(check.problem ?? "")")
    }

    @Test("an entry rewritten with a recomputed chain is a rewrite")
    func rewritten() throws {
        let (database, trail, saved) = try Self.store(count: 30, savedAt: 13)
        defer { database.close() }
        try database.write { db in
            try db.run("UPDATE trail SET amount = 1 WHERE seq = 5")
            var prev = TrailEntry.genesis
            for row in try db.query("SELECT * FROM trail ORDER BY seq") {
                var entry = AuditTrail.entry(from: row)
                entry.hash = entry.computedHash(prev: prev)
                try db.run("UPDATE trail SET prev_hash = ?, hash = ? WHERE seq = ?", [.text(prev), .text(entry.hash), .integer(entry.seq)])
                prev = entry.hash
            }
            try TrailTree.rebuild(in: db)
        }
        let check = try TrailConsistencyCheck.run(saved: saved, database: database, publicJWK: trail.signingKey.publicJWK)
        #expect(check.problem?.hasPrefix("rewritten") == true, "\(check.problem ?? "")")
    }

    @Test("a head signed by another key is refused")
    func foreignHead() throws {
        let (database, _, saved) = try Self.store(count: 8, savedAt: 8)
        defer { database.close() }
        let check = try TrailConsistencyCheck.run(saved: saved, database: database, publicJWK: StoreSigningKey.generate().publicJWK)
        #expect(check.problem?.contains("signature") == true)
    }
}
