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
    /// Applies the migrations not yet applied, each in its own transaction, in version order.
    /// Refuses a database written by a newer version of the program.
    public func migrate(_ migrations: [Migration]) throws -> [Int] {
        try execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            )
            """)
        let applied = Set(try query("SELECT version FROM schema_migrations").compactMap { $0[0].int }.map(Int.init))
        let known = Set(migrations.map(\.version))
        if let unknown = applied.subtracting(known).max(), unknown > (known.max() ?? 0) {
            throw SQLiteError(
                code: 1,
                message: "the store was migrated to version \(unknown) by a newer storefront; this one knows up to \(known.max() ?? 0)"
            )
        }
        var done: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
            try transaction {
                try execute(migration.sql)
                try run(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                    [.integer(Int64(migration.version)), .text(migration.name)])
            }
            done.append(migration.version)
        }
        return done
    }

    public func appliedMigrations() throws -> [Int] {
        try query("SELECT version FROM schema_migrations ORDER BY version").compactMap { $0[0].int }.map(Int.init)
    }
}
