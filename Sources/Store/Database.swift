import Foundation

/// The store: a single writer thread that commits queued work in groups (many jobs, one
/// transaction, one fsync), and a pool of read connections. SQLite (one file in WAL mode) is
/// the embedded default; PostgreSQL (StorePostgres) serves several gateway nodes, whose
/// writers then take turns through a lock in the database.
public final class Database: @unchecked Sendable {
    /// Where the store is: the SQLite file's path, or the PostgreSQL URL without its password.
    public let path: String
    public let backend: StoreBackend
    private let writer: GroupCommitWriter
    private let pool: ReadPool
    private var stopWatching: (@Sendable () -> Void)?

    /// Opens or creates the SQLite store file and applies pending migrations.
    public convenience init(path: String, migrations: [Migration], readers: Int = 4) throws {
        try self.init(driver: SQLiteDriver(path: path), migrations: migrations, readers: readers)
    }

    /// Opens the store `driver` reaches and applies pending migrations.
    public init(driver: StoreDriver, migrations: [Migration], readers: Int = 4) throws {
        path = driver.location
        backend = driver.backend
        let writeConnection = try driver.connect(writer: true)
        _ = try writeConnection.migrate(migrations)
        writer = GroupCommitWriter(connection: writeConnection)
        pool = ReadPool(driver: driver, size: max(1, readers))
        let writer = self.writer
        stopWatching = try driver.watchOtherWriters { tables in writer.othersChanged(tables) }
    }

    /// Runs `body` on a read connection (a consistent snapshot for its duration).
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        try pool.with { connection in
            try connection.transaction(immediate: false) { try body(connection) }
        }
    }

    /// Runs `body` on the writer thread inside the current group's transaction and waits for the
    /// group to commit. When `body` throws, only its own changes are rolled back.
    @discardableResult
    public func write<T>(priority: WritePriority = .normal, _ body: @escaping (Connection) throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<T, Error>!
        writer.submit(priority: priority, body) { result in
            outcome = result
            done.signal()
        }
        done.wait()
        return try outcome.get()
    }

    /// Queues `body` for the writer and calls `completion` (on the writer thread) after commit.
    public func write<T>(
        priority: WritePriority = .normal, _ body: @escaping (Connection) throws -> T,
        completion: @escaping (Result<T, Error>) -> Void
    ) {
        writer.submit(priority: priority, body, completion: completion)
    }

    /// Runs `body` in a short write transaction that takes no store-wide writer lock, where
    /// the store has row locks (PostgreSQL: on a pool connection, so claims from a queue by
    /// several nodes wait neither for the writers nor for each other); `body` must change only
    /// rows it locks (`FOR UPDATE SKIP LOCKED`, or updates by key). On SQLite, one writer per
    /// file, it runs on the writer like any write.
    public func writeLockingRows<T>(_ body: @escaping (Connection) throws -> T) throws -> T {
        guard backend == .postgres else { return try write(body) }
        return try pool.with { connection in try connection.transaction(.rowLocks) { try body(connection) } }
    }

    /// Jobs waiting for the writer.
    public var queuedWrites: Int { writer.depth }

    /// Calls `observer` on the writer thread after each commit that changed rows of any of
    /// `tables` (inserts, updates and deletes, triggers' included on SQLite), before any job of
    /// that commit reports: caches of those tables drop what they hold before a caller can read
    /// again. A change rolled back inside a committed group may also be reported (harmless for
    /// a cache). On PostgreSQL, other nodes' commits are reported too (on the listener's
    /// thread, within milliseconds); on SQLite, writes by other processes are not seen.
    public func observeCommits(to tables: Set<String>, _ observer: @escaping @Sendable () -> Void) {
        writer.observe(tables, observer)
    }

    /// Commits what is queued and closes every connection; readers close first so the
    /// writer's close, the last one, folds the write-ahead log into the file.
    public func close() {
        stopWatching?()
        stopWatching = nil
        pool.close()
        writer.stop()
    }
}

public enum WritePriority: Sendable {
    /// Requests waiting on a result.
    case normal
    /// Work nobody waits on (analytics); taken only when no normal work is queued.
    case background
}

/// The single writer. Each round takes every queued job (normal first), runs each in a
/// savepoint inside one transaction, commits once, then reports to every job.
final class GroupCommitWriter: @unchecked Sendable {
    /// A job is built by `submit`, handed to the writer thread under `condition`, run there, then
    /// reported once on `reporters`: one thread at a time touches it, in that order.
    private struct Job: @unchecked Sendable {
        let run: (Connection) -> Void
        let fail: (Error) -> Void
        let report: () -> Void
    }

    private let connection: Connection
    private let condition = NSCondition()
    private var normal: [Job] = []
    private var background: [Job] = []
    private var stopping = false
    private var thread: Thread!
    private let stopped = DispatchSemaphore(value: 0)
    private let reporters = DispatchQueue(label: "store-writer-reports")
    /// Jobs in one transaction at most (the connection says: see `Connection.maxGroup`).
    private let maxGroup: Int

    /// Who wants to hear about changes to which tables.
    final class Changes {
        var observers: [(tables: Set<String>, call: @Sendable () -> Void)] = []
        let lock = NSLock()
    }
    private let changes = Changes()

    init(connection: Connection) {
        self.connection = connection
        maxGroup = connection.maxGroup
        // The thread holds the writer until its loop ends (on stop): a writer released before
        // its thread first ran must still be there when it does.
        thread = Thread { self.loop() }
        thread.name = "store-writer"
        thread.start()
    }

    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return normal.count + background.count
    }

    func submit<T>(
        priority: WritePriority, _ body: @escaping (Connection) throws -> T,
        completion: @escaping (Result<T, Error>) -> Void
    ) {
        // The result is held until the group commits, so callers never see uncommitted state.
        let slot = ResultSlot<T>()
        let job = Job(
            run: { connection in
                do {
                    // Sent with the job's first statement (PostgreSQL's pipeline). The RELEASE is
                    // read: any error of a write the job deferred is thrown here at the latest,
                    // so it fails this job and never the next one.
                    try connection.runDeferred("SAVEPOINT job", [])
                    do {
                        let value = try body(connection)
                        _ = try connection.run("RELEASE job")
                        slot.result = .success(value)
                    } catch {
                        _ = try? connection.run("ROLLBACK TO job")
                        _ = try? connection.run("RELEASE job")
                        slot.result = .failure(error)
                    }
                } catch {
                    slot.result = .failure(error)
                }
            },
            fail: { error in slot.result = .failure(error) },
            report: { completion(slot.result ?? .failure(StoreError(message: "job did not run"))) })
        condition.lock()
        if stopping {
            condition.unlock()
            completion(.failure(StoreError(message: "the store is closed")))
            return
        }
        switch priority {
        case .normal: normal.append(job)
        case .background: background.append(job)
        }
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while normal.isEmpty && background.isEmpty && !stopping { condition.wait() }
            if normal.isEmpty && background.isEmpty && stopping {
                condition.unlock()
                break
            }
            var group = Array(normal.prefix(maxGroup))
            normal.removeFirst(group.count)
            if group.count < maxGroup {
                let extra = background.prefix(maxGroup - group.count)
                group.append(contentsOf: extra)
                background.removeFirst(extra.count)
            }
            condition.unlock()
            commit(group)
        }
        connection.close()
        reporters.sync {}
        stopped.signal()
    }

    func observe(_ tables: Set<String>, _ call: @escaping @Sendable () -> Void) {
        changes.lock.withLock { changes.observers.append((tables, call)) }
    }

    /// Another node's commit changed `tables` (PostgreSQL's listener thread).
    func othersChanged(_ tables: Set<String>) {
        let observers = changes.lock.withLock { changes.observers }
        for observer in observers where !observer.tables.isDisjoint(with: tables) { observer.call() }
    }

    private func commit(_ group: [Job]) {
        _ = connection.takeChangedTables()
        do {
            try connection.begin(.write)
            for job in group { job.run(connection) }
            let tables = connection.takeChangedTables()
            if !tables.isEmpty { try connection.announce(tables) }
            try connection.commit()
            if !tables.isEmpty {
                let observers = changes.lock.withLock { changes.observers }
                for observer in observers where !observer.tables.isDisjoint(with: tables) { observer.call() }
            }
        } catch {
            connection.rollback()
            for job in group { job.fail(error) }
        }
        // Reporting (serialising responses, resuming connections) happens off the writer, so
        // the writer goes straight on to the next group.
        reporters.async { for job in group { job.report() } }
    }

    func stop() {
        condition.lock()
        guard !stopping else { condition.unlock(); return }
        stopping = true
        condition.signal()
        condition.unlock()
        stopped.wait()
    }
}

/// Holds a job's result until its group commits.
final class ResultSlot<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// Read connections, opened on demand up to `size`; callers wait when all are busy.
final class ReadPool: @unchecked Sendable {
    private let driver: StoreDriver
    private let size: Int
    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var opened = 0
    private var closed = false

    init(driver: StoreDriver, size: Int) {
        self.driver = driver
        self.size = size
    }

    func with<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try checkout()
        defer { checkin(connection) }
        return try body(connection)
    }

    private func checkout() throws -> Connection {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if closed { throw StoreError(message: "the store is closed") }
            if let connection = idle.popLast() { return connection }
            if opened < size {
                opened += 1
                condition.unlock()
                do {
                    let connection = try driver.connect(writer: false)
                    condition.lock()
                    return connection
                } catch {
                    condition.lock()
                    opened -= 1
                    throw error
                }
            }
            condition.wait()
        }
    }

    private func checkin(_ connection: Connection) {
        condition.lock()
        if closed {
            condition.unlock()
            connection.close()
            return
        }
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        for connection in idle { connection.close() }
        idle.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
