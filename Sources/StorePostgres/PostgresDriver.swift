import CPostgres
import Foundation
import Store

/// Opens connections to one PostgreSQL database (`postgres://user:password@host:port/db?…`,
/// anything libpq accepts) and listens for the commits of the other gateway nodes sharing it.
public struct PostgresDriver: StoreDriver {
    public let url: String
    /// This process's name in change notifications, so it does not hear its own.
    let node: String
    public var backend: StoreBackend { .postgres }

    public init(url: String) {
        self.url = url
        node = String(getpid()) + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    public static func accepts(_ store: String) -> Bool {
        store.hasPrefix("postgres://") || store.hasPrefix("postgresql://")
    }

    /// The URL with its password replaced by `***`.
    public var location: String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = "***"
        return parts.string ?? url
    }

    public func connect(writer: Bool) throws -> Connection {
        try PostgresConnection(conninfo: url, node: node)
    }

    public func watchOtherWriters(_ changed: @escaping @Sendable (Set<String>) -> Void) throws -> (@Sendable () -> Void)? {
        let listener = try ChangeListener(conninfo: url, node: node, changed: changed)
        return { listener.stop() }
    }
}

/// A thread on its own connection that LISTENs for other nodes' commits and reports the tables
/// they changed. After a lost connection it reconnects and reports every table ("*"): what
/// happened meanwhile is unknown, so caches drop everything.
final class ChangeListener: @unchecked Sendable {
    private let conninfo: String
    private let node: String
    private let changed: @Sendable (Set<String>) -> Void
    private let lock = NSLock()
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    init(conninfo: String, node: String, changed: @escaping @Sendable (Set<String>) -> Void) throws {
        self.conninfo = conninfo
        self.node = node
        self.changed = changed
        nonisolated(unsafe) let first = try open()
        let thread = Thread { [self] in loop(first) }
        thread.name = "store-listener"
        thread.start()
    }

    func stop() {
        let already = lock.withLock { () -> Bool in
            defer { stopping = true }
            return stopping
        }
        if !already { done.wait() }
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func open() throws -> OpaquePointer {
        guard let connection = PQconnectdb(conninfo), PQstatus(connection) == CONNECTION_OK else {
            throw StoreError(message: "cannot open the change listener's PostgreSQL connection")
        }
        let result = PQexec(connection, "LISTEN \(PostgresConnection.channel)")
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            PQfinish(connection)
            throw StoreError(message: "LISTEN failed")
        }
        return connection
    }

    private func loop(_ first: OpaquePointer) {
        var connection: OpaquePointer? = first
        while !isStopping {
            guard let live = connection, PQstatus(live) == CONNECTION_OK else {
                if let connection { PQfinish(connection) }
                connection = nil
                Thread.sleep(forTimeInterval: 0.5)
                connection = try? open()
                if connection != nil { changed(["*"]) }
                continue
            }
            var descriptor = pollfd(fd: PQsocket(live), events: Int16(POLLIN), revents: 0)
            // A short timeout so that stop() is noticed promptly.
            if poll(&descriptor, 1, 200) <= 0 { continue }
            if PQconsumeInput(live) == 0 {
                PQfinish(live)
                connection = nil
                continue
            }
            var tables: Set<String> = []
            while let notice = PQnotifies(live) {
                let payload = String(cString: notice.pointee.extra)
                PQfreemem(notice)
                let parts = payload.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0] != node else { continue }
                tables.formUnion(parts[1].split(separator: ",").map(String.init))
            }
            if !tables.isEmpty { changed(tables) }
        }
        if let connection { PQfinish(connection) }
        done.signal()
    }
}
