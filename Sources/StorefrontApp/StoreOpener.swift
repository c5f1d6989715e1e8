import Foundation
import Store
import StorePostgres
import StorefrontActions
import StorefrontStore

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

    /// Whether the store has been created (by a first `serve`): the SQLite file exists, or the
    /// PostgreSQL database is reachable and holds the schema. Admin commands never create one.
    public static func exists(_ store: String) -> Bool {
        guard PostgresDriver.accepts(store) else { return FileManager.default.fileExists(atPath: store) }
        guard let connection = try? PostgresDriver(url: store).connect(writer: false) else { return false }
        defer { connection.close() }
        let row = try? connection.queryOne("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
        return row?[0].int == 1
    }

    /// One connection outside the store's writer and pool (maintenance such as VACUUM).
    public static func connect(_ store: String) throws -> Connection {
        if PostgresDriver.accepts(store) { return try PostgresDriver(url: store).connect(writer: false) }
        return try SQLiteDriver(path: store).connect(writer: true)
    }

    /// The store for messages: a PostgreSQL URL without its password.
    public static func describe(_ store: String) -> String {
        PostgresDriver.accepts(store) ? PostgresDriver(url: store).location : store
    }

    /// Where the store's signing key file is by default: beside an SQLite store (`STORE.key`);
    /// for a PostgreSQL store, named after its host, port and database in `~/.storefront/keys/`,
    /// where every node and admin command on this machine finds it (nodes on other machines
    /// need a copy: pass `--signing-key`).
    public static func signingKeyPath(store: String) -> String {
        guard PostgresDriver.accepts(store), let url = URLComponents(string: store) else { return store + ".key" }
        let parts: [String] = [url.host ?? "localhost", url.port.map { String($0) } ?? "5432", String(url.path.dropFirst())]
        let name = String(parts.joined(separator: "-").map { (c: Character) -> Character in
            c.isLetter || c.isNumber || c == "." || c == "-" ? c : "_"
        })
        // $HOME first (as Unix tools do), then the account's home directory.
        let home = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        let folder = home.appendingPathComponent(".storefront/keys")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return folder.appendingPathComponent(name + ".key").path
    }
}
