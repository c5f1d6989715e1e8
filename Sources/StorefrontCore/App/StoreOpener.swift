import Store
import StorePostgres

/// Opens the store a `--store` names: a `postgres://` (or `postgresql://`) URL is a PostgreSQL
/// database that several gateway nodes may share; anything else is an SQLite file, created on
/// first start. Pending migrations are applied either way.
public enum StoreOpener {
    public static func open(_ store: String, readers: Int = 4) throws -> Database {
        if PostgresDriver.accepts(store) {
            return try Database(driver: PostgresDriver(url: store), migrations: StoreMigrations.postgres, readers: readers)
        }
        return try Database(path: store, migrations: StoreMigrations.all, readers: readers)
    }

    public static func isPostgres(_ store: String) -> Bool { PostgresDriver.accepts(store) }

    /// One connection outside the store's writer and pool (maintenance such as VACUUM).
    public static func connect(_ store: String) throws -> Connection {
        if PostgresDriver.accepts(store) { return try PostgresDriver(url: store).connect(writer: false) }
        return try SQLiteDriver(path: store).connect(writer: true)
    }

    /// The store for messages: a PostgreSQL URL without its password.
    public static func describe(_ store: String) -> String {
        PostgresDriver.accepts(store) ? PostgresDriver(url: store).location : store
    }
}
