import Foundation

/// One versioned change to the schema. Versions only grow; an applied migration never changes.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

extension Connection {
    /// Applies the migrations not yet applied, each in its own write transaction, in version
    /// order. Refuses a database written by a newer version of the program. Write
    /// transactions exclude each other, so nodes starting together on one PostgreSQL database
    /// apply each migration once: each looks again, inside its transaction, at what is applied.
    public func migrate(_ migrations: [Migration]) throws -> [Int] {
        try transaction {
            try execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TEXT NOT NULL
                )
                """)
        }
        let known = Set(migrations.map(\.version))
        let applied = Set(try appliedMigrations())
        if let unknown = applied.subtracting(known).max(), unknown > (known.max() ?? 0) {
            throw StoreError(
                message: "the store was migrated to version \(unknown) by a newer storefront; this one knows up to \(known.max() ?? 0)"
            )
        }
        var done: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
            let ran = try transaction { () -> Bool in
                guard try queryOne("SELECT 1 FROM schema_migrations WHERE version = ?", [.integer(Int64(migration.version))]) == nil
                else { return false }
                try execute(migration.sql)
                try run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.integer(Int64(migration.version)), .text(migration.name), .text(Self.utcNow())])
                return true
            }
            if ran { done.append(migration.version) }
        }
        return done
    }

    public func appliedMigrations() throws -> [Int] {
        try query("SELECT version FROM schema_migrations ORDER BY version").compactMap { $0[0].int }.map(Int.init)
    }

    /// The time now as RFC 3339 UTC with milliseconds (what SQLite's strftime wrote before).
    static func utcNow() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = now.tv_nsec / 1_000_000
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}
