import CSQLite
import Foundation

/// Opens SQLite store files: the embedded default, one file in WAL mode.
public struct SQLiteDriver: StoreDriver {
    public let path: String
    public var backend: StoreBackend { .sqlite }
    public var location: String { path }

    public init(path: String) { self.path = path }

    public func connect(writer: Bool) throws -> Connection {
        try SQLiteConnection(path: path, readOnly: false, create: writer, checkpointsInBackground: writer)
    }

    /// Other processes on the same file are not reported (their commits are seen by polling).
    public func watchOtherWriters(_ changed: @escaping @Sendable (Set<String>) -> Void) throws -> (@Sendable () -> Void)? { nil }
}

/// A connection to an SQLite database. Not thread-safe: the writer owns one, each reader
/// checks one out of the pool. Statements are prepared once per connection and cached.
public final class SQLiteConnection: Connection {
    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]
    private var closed = false
    /// Tables changed since the last `takeChangedTables` (SQLite's update hook fills it).
    private final class Changes { var tables: Set<String> = [] }
    private let changes = Changes()
    public var backend: StoreBackend { .sqlite }
    public var maxGroup: Int { 512 }
    /// Folds the write-ahead log into the file on its own thread (the writer's connection).
    private var checkpointer: WALCheckpointer?

    /// Opens (creating when asked) the database file in WAL mode. With
    /// `checkpointsInBackground`, this connection's commits leave checkpoints to a thread of
    /// their own instead of running them at the end of a commit (SQLite's default).
    public init(path: String, readOnly: Bool = false, create: Bool = true, checkpointsInBackground: Bool = false) throws {
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_NOMUTEX
        if readOnly { flags |= SQLITE_OPEN_READONLY } else { flags |= SQLITE_OPEN_READWRITE }
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "\(message) (\(path))")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 1)
        if !readOnly {
            try execute("PRAGMA journal_mode=WAL")
            // FULL: a commit is on disk before it returns, so an acknowledged purchase survives
            // a power cut (NORMAL in WAL mode may lose the last commits).
            try execute("PRAGMA synchronous=FULL")
            // Every job and action runs in a savepoint, whose sub-journal keeps the first
            // version of each page it changes: in memory, not in a temporary file (a pwrite per
            // page once the sub-journal passed 64 KB).
            try execute("PRAGMA temp_store=MEMORY")
        }
        try execute("PRAGMA foreign_keys=ON")
        // Pages are read from the OS's page cache in place rather than copied by a pread each
        // (most of a large catalog search's time was the kernel copying pages).
        try execute("PRAGMA mmap_size=1073741824")
        sqlite3_update_hook(
            db,
            { context, _, _, table, _ in
                guard let context, let table else { return }
                let changes = Unmanaged<Changes>.fromOpaque(context).takeUnretainedValue()
                changes.tables.insert(String(cString: table))
            }, Unmanaged.passUnretained(changes).toOpaque())
        if checkpointsInBackground && !readOnly {
            let checkpointer = WALCheckpointer(path: path)
            self.checkpointer = checkpointer
            // Replaces SQLite's automatic checkpoint, which ran on the committing thread (a
            // twentieth of the writer's time, with an fsync of the database file).
            sqlite3_wal_hook(
                db,
                { context, _, _, pages in
                    if let context, pages >= WALCheckpointer.pages {
                        Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().request()
                    }
                    return SQLITE_OK
                }, Unmanaged.passUnretained(checkpointer).toOpaque())
        }
    }

    deinit { close() }

    /// Finalizes every statement and closes the file. The last connection to close folds the
    /// write-ahead log back into the database.
    public func close() {
        guard !closed else { return }
        closed = true
        checkpointer?.stop()
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs SQL without parameters (schema changes, pragmas). Several statements are allowed.
    public func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    /// A prepared statement for this SQL, cached for the connection's life.
    public func statement(_ sql: String) throws -> Statement {
        if let cached = statements[sql] { return cached }
        let statement = try Statement(connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// Runs a statement with parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] {
        let statement = try statement(sql)
        return try statement.rows(parameters)
    }

    /// Runs a write and returns the number of rows changed.
    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        let statement = try statement(sql)
        _ = try statement.rows(parameters)
        return Int(sqlite3_changes(handle))
    }

    func error(_ rc: Int32, sql: String? = nil) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    // Prepared once and cached, like every statement: no SQL is parsed per transaction.
    public func begin(_ kind: TransactionKind) throws {
        _ = try run(kind == .read ? "BEGIN" : "BEGIN IMMEDIATE")
    }

    public func commit() throws { _ = try run("COMMIT") }

    public func rollback() { try? execute("ROLLBACK") }

    public func takeChangedTables() -> Set<String> {
        defer { changes.tables.removeAll(keepingCapacity: true) }
        return changes.tables
    }

    public func announce(_ tables: Set<String>) throws {}
}

/// A prepared statement. Parameters are always bound, never spliced into SQL.
public final class Statement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection
    let sql: String
    let columnNames: [String]

    init(connection: SQLiteConnection, sql: String) throws {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw connection.error(rc, sql: sql) }
        handle = statement
        self.connection = connection
        self.sql = sql
        columnNames = (0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) }
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ parameters: [SQLValue]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        guard Int(sqlite3_bind_parameter_count(handle)) == parameters.count else {
            throw SQLiteError(
                code: SQLITE_RANGE,
                message: "expected \(sqlite3_bind_parameter_count(handle)) parameters, got \(parameters.count)",
                sql: sql)
        }
        for (offset, value) in parameters.enumerated() {
            let i = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, i)
            case .integer(let v): rc = sqlite3_bind_int64(handle, i, v)
            case .real(let v): rc = sqlite3_bind_double(handle, i, v)
            case .text(let v): rc = sqlite3_bind_text(handle, i, v, -1, CSQLite_transient())
            case .blob(let v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob(handle, i, $0.baseAddress, Int32($0.count), CSQLite_transient()) }
            }
            if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
        }
    }

    func rows(_ parameters: [SQLValue]) throws -> [Row] {
        try bind(parameters)
        defer { sqlite3_reset(handle) }
        var rows: [Row] = []
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw connection.error(rc, sql: sql) }
            var values: [SQLValue] = []
            values.reserveCapacity(columnNames.count)
            for c in 0..<Int32(columnNames.count) { values.append(column(c)) }
            rows.append(Row(columns: columnNames, values: values))
        }
        return rows
    }

    private func column(_ i: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, i))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, i))
            guard let text = sqlite3_column_text(handle, i) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, i))
            guard let blob = sqlite3_column_blob(handle, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default: return .null
        }
    }
}

/// Copies committed pages from the write-ahead log into the database file (a passive
/// checkpoint, which never blocks the writer or readers) on a thread and connection of its
/// own, when the writer's commits have grown the log past `pages`. SQLite restarts the log
/// from its beginning at the next write once every frame is copied and no reader needs it.
final class WALCheckpointer: @unchecked Sendable {
    /// SQLite's own threshold for its automatic checkpoint.
    static let pages: Int32 = 1000
    private let path: String
    private let condition = NSCondition()
    private var wanted = false
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)

    init(path: String) {
        self.path = path
        let thread = Thread { self.loop() }
        thread.name = "store-checkpoint"
        thread.start()
    }

    func request() {
        condition.lock()
        wanted = true
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread after any checkpoint in progress; the caller then closes the writer,
    /// whose close (the last connection's) folds what is left.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        stopped.wait()
    }

    private func loop() {
        var connection: SQLiteConnection?
        while true {
            condition.lock()
            while !wanted && !stopping { condition.wait() }
            let stop = stopping
            wanted = false
            condition.unlock()
            if stop { break }
            do {
                if connection == nil { connection = try SQLiteConnection(path: path, create: false) }
                // Busy (another checkpoint) or an error: the next commit past the threshold asks again.
                _ = sqlite3_wal_checkpoint_v2(connection!.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            } catch {
                connection = nil
            }
        }
        connection?.close()
        stopped.signal()
    }
}
