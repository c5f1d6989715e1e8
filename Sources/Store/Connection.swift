/// Which database engine a connection speaks to. The SQL the store's users write is the
/// subset both engines accept (standard upserts, `RETURNING`, `?` and `?N` placeholders); the
/// few statements that cannot be shared ask the backend.
public enum StoreBackend: String, Sendable {
    case sqlite
    case postgres
}

/// How a transaction begins.
public enum TransactionKind: Sendable {
    /// A consistent snapshot for reading (SQLite: a deferred transaction; PostgreSQL:
    /// REPEATABLE READ).
    case read
    /// A write that excludes every other writer of the store until it commits (SQLite:
    /// BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock every writer of every
    /// node takes first), so writers see each other's commits in one total order.
    case write
    /// A short write that takes no store-wide writer lock: it changes only rows it locks itself
    /// (`SELECT … FOR UPDATE SKIP LOCKED`, or an `UPDATE` of rows by key), so nodes claiming
    /// work from a queue neither wait for each other's writers nor take the same row
    /// (PostgreSQL: READ COMMITTED). SQLite has one writer per file: there it is `write`.
    case rowLocks
}

/// One connection to the store. Not thread-safe: the writer owns one, each reader checks one
/// out of the pool. Statements are prepared once per connection and cached.
public protocol Connection: AnyObject {
    var backend: StoreBackend { get }

    /// The most jobs the group-commit writer puts in one transaction on this connection (each
    /// runs in its own savepoints).
    var maxGroup: Int { get }

    /// Runs SQL without parameters (schema changes). Several statements are allowed.
    func execute(_ sql: String) throws

    /// Runs a statement with parameters (`?` or `?N`) and returns its rows.
    @discardableResult
    func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row]

    /// Runs a write and returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ parameters: [SQLValue]) throws -> Int

    /// Runs a write whose result the caller does not read. The store may send it with the next
    /// statement that is read instead of waiting for it (PostgreSQL: pipeline mode, one round
    /// trip for all of them); its error, if any, is thrown by that next statement at the latest
    /// (the job's `RELEASE`), so the job that wrote it fails and is rolled back. SQLite runs it
    /// at once.
    func runDeferred(_ sql: String, _ parameters: [SQLValue]) throws

    func begin(_ kind: TransactionKind) throws
    func commit() throws
    func rollback()

    /// The tables written since the last call (inserts, updates, deletes; triggers' too on SQLite).
    func takeChangedTables() -> Set<String>

    /// Called inside a write transaction just before it commits, with the tables it changed:
    /// PostgreSQL tells the other nodes (NOTIFY, delivered at commit); SQLite has no one to tell.
    func announce(_ tables: Set<String>) throws

    func close()
}

extension Connection {
    public func runDeferred(_ sql: String, _ parameters: [SQLValue]) throws { _ = try run(sql, parameters) }

    @discardableResult
    public func query(_ sql: String) throws -> [Row] { try query(sql, []) }

    public func queryOne(_ sql: String, _ parameters: [SQLValue] = []) throws -> Row? {
        try query(sql, parameters).first
    }

    @discardableResult
    public func run(_ sql: String) throws -> Int { try run(sql, []) }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// `immediate` (the default) makes it a write transaction.
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try transaction(immediate ? .write : .read, body)
    }

    /// Runs `body` in a transaction of `kind`: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        try begin(kind)
        do {
            let result = try body()
            try commit()
            return result
        } catch {
            rollback()
            throw error
        }
    }
}

/// How a store is reached: opens connections and, where other processes write the same store
/// (PostgreSQL nodes), reports the tables they changed.
public protocol StoreDriver: Sendable {
    var backend: StoreBackend { get }
    /// Where the store is, for messages (a PostgreSQL URL without its password).
    var location: String { get }
    func connect(writer: Bool) throws -> Connection
    /// Starts reporting the tables other processes' commits changed; returns how to stop, or nil
    /// when the backend cannot tell (SQLite).
    func watchOtherWriters(_ changed: @escaping @Sendable (Set<String>) -> Void) throws -> (@Sendable () -> Void)?
}

/// A store failure that is not the engine's own (a closed store, a job that never ran), or
/// a PostgreSQL error with its SQLSTATE.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var sqlState: String?
    public var sql: String?

    public init(message: String, sqlState: String? = nil, sql: String? = nil) {
        self.message = message
        self.sqlState = sqlState
        self.sql = sql
    }

    public var description: String {
        (sqlState.map { "PostgreSQL error \($0): " } ?? "") + message + (sql.map { " in «\($0)»" } ?? "")
    }

    /// A UNIQUE or PRIMARY KEY constraint refused the write.
    public var isConstraintViolation: Bool { sqlState == "23505" }
}
