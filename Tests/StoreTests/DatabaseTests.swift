import Foundation
import Testing

@testable import Store

func temporaryStorePath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).db").path
}

let counterMigrations = [
    Migration(version: 1, name: "counters", sql: "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"),
    Migration(version: 2, name: "events", sql: "CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"),
]

@Suite("The SQLite store")
struct DatabaseTests {
    @Test("migrations run once, in order, and are recorded")
    func migrations() throws {
        let path = temporaryStorePath()
        let db = try Database(path: path, migrations: counterMigrations)
        #expect(try db.read { try $0.appliedMigrations() } == [1, 2])
        db.close()
        let again = try Database(path: path, migrations: counterMigrations)
        #expect(try again.read { try $0.appliedMigrations() } == [1, 2])
        again.close()
    }

    @Test("a store migrated by a newer program is refused")
    func newerStore() throws {
        let path = temporaryStorePath()
        try Database(path: path, migrations: counterMigrations).close()
        #expect(throws: StoreError.self) { try Database(path: path, migrations: [counterMigrations[0]]) }
    }

    @Test("a failing migration leaves nothing half-applied")
    func failingMigration() throws {
        let path = temporaryStorePath()
        let broken = counterMigrations + [
            Migration(version: 3, name: "broken", sql: "CREATE TABLE t3 (a INTEGER); THIS IS NOT SQL")
        ]
        #expect(throws: SQLiteError.self) { try Database(path: path, migrations: broken) }
        let db = try Database(path: path, migrations: counterMigrations)
        #expect(try db.read { try $0.queryOne("SELECT count(*) FROM sqlite_master WHERE name = 't3'")?[0].int } == 0)
        db.close()
    }

    @Test("the file is in WAL mode")
    func wal() throws {
        let db = try Database(path: temporaryStorePath(), migrations: counterMigrations)
        #expect(try db.read { try $0.queryOne("PRAGMA journal_mode")?[0].string } == "wal")
        db.close()
    }

    @Test("parameters are bound, never spliced: input that looks like SQL is just text")
    func binding() throws {
        let db = try Database(path: temporaryStorePath(), migrations: counterMigrations)
        let hostile = "x'); DROP TABLE counters; --"
        try db.write { try $0.run("INSERT INTO counters (name, value) VALUES (?, ?)", [.text(hostile), 1]) }
        #expect(try db.read { try $0.queryOne("SELECT name FROM counters")?[0].string } == hostile)
        db.close()
    }

    @Test("concurrent writers never lose an increment, and their writes share commits")
    func groupCommit() throws {
        let db = try Database(path: temporaryStorePath(), migrations: counterMigrations)
        try db.write { try $0.run("INSERT INTO counters (name, value) VALUES ('n', 0)") }
        DispatchQueue.concurrentPerform(iterations: 400) { _ in
            _ = try? db.write { try $0.run("UPDATE counters SET value = value + 1 WHERE name = 'n'") }
        }
        #expect(try db.read { try $0.queryOne("SELECT value FROM counters WHERE name = 'n'")?[0].int } == 400)
        db.close()
    }

    @Test("a job that throws rolls back only its own changes")
    func jobIsolation() throws {
        struct Refused: Error {}
        let db = try Database(path: temporaryStorePath(), migrations: counterMigrations)
        let group = DispatchGroup()
        nonisolated(unsafe) var outcomes: [Bool] = []
        let lock = NSLock()
        for i in 0..<20 {
            group.enter()
            db.write({ connection -> Int in
                try connection.run("INSERT INTO events (body) VALUES (?)", [.text("e\(i)")])
                if i % 2 == 1 { throw Refused() }
                return i
            }) { result in
                lock.withLock { if case .success = result { outcomes.append(true) } else { outcomes.append(false) } }
                group.leave()
            }
        }
        group.wait()
        #expect(outcomes.filter { $0 }.count == 10)
        #expect(try db.read { try $0.queryOne("SELECT count(*) FROM events")?[0].int } == 10)
        db.close()
    }

    @Test("a write is durable once acknowledged: a new process sees it")
    func durability() throws {
        let path = temporaryStorePath()
        let db = try Database(path: path, migrations: counterMigrations)
        try db.write { try $0.run("INSERT INTO events (body) VALUES ('kept')") }
        // A second, independent connection (as another process would open).
        let other = try SQLiteConnection(path: path)
        #expect(try other.queryOne("SELECT body FROM events")?[0].string == "kept")
        db.close()
    }

    @Test("background work waits behind normal work but is committed")
    func priorities() throws {
        let db = try Database(path: temporaryStorePath(), migrations: counterMigrations)
        let group = DispatchGroup()
        for i in 0..<50 {
            group.enter()
            db.write(priority: i % 2 == 0 ? .background : .normal, { try $0.run("INSERT INTO events (body) VALUES ('x')") }) { _ in
                group.leave()
            }
        }
        group.wait()
        #expect(try db.read { try $0.queryOne("SELECT count(*) FROM events")?[0].int } == 50)
        db.close()
    }

    @Test("after close, writes fail cleanly")
    func closed() throws {
        let db = try Database(path: temporaryStorePath(), migrations: counterMigrations)
        db.close()
        #expect(throws: StoreError.self) { try db.write { try $0.run("INSERT INTO events (body) VALUES ('x')") } }
    }

    @Test("commit observers hear about their tables after the commit and before the writer reports")
    func commitObservers() throws {
        let db = try Database(path: temporaryStorePath(), migrations: counterMigrations)
        final class Heard: @unchecked Sendable {
            let lock = NSLock()
            var calls: [String] = []
            func note(_ s: String) { lock.withLock { calls.append(s) } }
            var all: [String] { lock.withLock { calls } }
        }
        let heard = Heard()
        db.observeCommits(to: ["counters"]) {
            // Called after the commit: a reader already sees the change.
            let value = (try? db.read { try $0.queryOne("SELECT value FROM counters WHERE name = 'a'")?[0].int }) ?? nil
            heard.note("counters=\(value.map(String.init) ?? "none")")
        }
        db.observeCommits(to: ["events", "counters"]) { heard.note("either") }
        try db.write { try $0.run("INSERT INTO events (body) VALUES ('x')") }
        #expect(heard.all == ["either"], "only the observers of a changed table")
        try db.write { try $0.run("INSERT INTO counters (name, value) VALUES ('a', 1)") }
        #expect(heard.all == ["either", "counters=1", "either"], "before write returned")
        try db.write { try $0.run("UPDATE counters SET value = 2 WHERE name = 'a'") }
        try db.write { try $0.run("DELETE FROM counters WHERE name = 'a'") }
        #expect(heard.all.filter { $0.hasPrefix("counters") } == ["counters=1", "counters=2", "counters=none"])
        // Reads and writes that change nothing are not commits of the table.
        let before = heard.all.count
        _ = try db.read { try $0.queryOne("SELECT count(*) FROM counters") }
        try db.write { try $0.run("UPDATE counters SET value = 3 WHERE name = 'nobody'") }
        #expect(heard.all.count == before)
        db.close()
    }
}
