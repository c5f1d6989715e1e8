import CSQLite
import Foundation

/// An SQLite store: one file in WAL mode, a single writer thread that commits queued work in
/// groups (many jobs, one transaction, one fsync), and a pool of read connections.
public final class Database: @unchecked Sendable {
    public let path: String
    private let writer: GroupCommitWriter
    private let pool: ReadPool

    /// Opens or creates the store and applies pending migrations.
    public init(path: String, migrations: [Migration], readers: Int = 4) throws {
        self.path = path
        let writeConnection = try Connection(path: path)
        _ = try writeConnection.migrate(migrations)
        writer = GroupCommitWriter(connection: writeConnection)
        pool = ReadPool(path: path, size: max(1, readers))
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

    /// Jobs waiting for the writer.
    public var queuedWrites: Int { writer.depth }

    /// Calls `observer` on the writer thread after each commit that changed rows of any of
    /// `tables` (inserts, updates and deletes, triggers' included), before any job of that
    /// commit reports: caches of those tables drop what they hold before a caller can read
    /// again. A change rolled back inside a committed group may also be reported (harmless for
    /// a cache). Writes by other processes are not seen.
    public func observeCommits(to tables: Set<String>, _ observer: @escaping @Sendable () -> Void) {
        writer.observe(tables, observer)
    }

    /// Commits what is queued and closes every connection; readers close first so the
    /// writer's close, the last one, folds the write-ahead log into the file.
    public func close() {
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
    static let maxGroup = 512

    /// Tables changed by the group being committed (filled by SQLite's update hook, on the
    /// writer thread only), and who wants to hear about which.
    final class Changes {
        var tables: Set<String> = []
        var observers: [(tables: Set<String>, call: @Sendable () -> Void)] = []
        let lock = NSLock()
    }
    private let changes = Changes()

    init(connection: Connection) {
        self.connection = connection
        sqlite3_update_hook(
            connection.handle,
            { context, _, _, table, _ in
                guard let context, let table else { return }
                let changes = Unmanaged<Changes>.fromOpaque(context).takeUnretainedValue()
                changes.tables.insert(String(cString: table))
            }, Unmanaged.passUnretained(changes).toOpaque())
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
                    _ = try connection.run("SAVEPOINT job")
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
            report: { completion(slot.result ?? .failure(SQLiteError(code: 1, message: "job did not run"))) })
        condition.lock()
        if stopping {
            condition.unlock()
            completion(.failure(SQLiteError(code: 1, message: "the store is closed")))
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
            var group = Array(normal.prefix(Self.maxGroup))
            normal.removeFirst(group.count)
            if group.count < Self.maxGroup {
                let extra = background.prefix(Self.maxGroup - group.count)
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

    private func commit(_ group: [Job]) {
        changes.tables.removeAll(keepingCapacity: true)
        do {
            _ = try connection.run("BEGIN IMMEDIATE")
            for job in group { job.run(connection) }
            _ = try connection.run("COMMIT")
            if !changes.tables.isEmpty {
                let observers = changes.lock.withLock { changes.observers }
                for observer in observers where !observer.tables.isDisjoint(with: changes.tables) { observer.call() }
            }
        } catch {
            try? connection.execute("ROLLBACK")
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
    private let path: String
    private let size: Int
    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var opened = 0
    private var closed = false

    init(path: String, size: Int) {
        self.path = path
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
            if closed { throw SQLiteError(code: 1, message: "the store is closed") }
            if let connection = idle.popLast() { return connection }
            if opened < size {
                opened += 1
                condition.unlock()
                do {
                    let connection = try Connection(path: path, readOnly: false, create: false)
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
