import Store
import StorefrontDomain

/// The store as the actions hold it. StorefrontActions (the actions) does not depend on the `Store`
/// module and builds with MemberImportVisibility: it can name a database and a connection and
/// open transactions, but it cannot run SQL; every statement is a typed function of this module.
public typealias StoreDatabase = Database
/// A connection inside a transaction, handed to this module's typed functions.
public typealias StoreConnection = Connection

extension Database {
    /// A read-only transaction on a pooled connection.
    package func reading<T>(_ body: (Connection) throws -> T) throws -> T {
        try read(body)
    }

    /// A write in the writer's group commit; returns after the commit. A background write
    /// (sweeps) yields to the requests' writes.
    package func writing<T>(inBackground: Bool = false, _ body: @escaping (Connection) throws -> T) throws -> T {
        try write(priority: inBackground ? .background : .normal, body)
    }

    /// A write in the writer's group commit, reported through `completion` after the commit
    /// (no thread waits meanwhile).
    package func writing<T>(
        _ body: @escaping (Connection) throws -> T, completion: @escaping (Result<T, Error>) -> Void
    ) {
        write(body, completion: completion)
    }
}

/// What other parts of the gateway follow in the store: caches drop what a commit changed, live
/// streams wake when another node wrote (PostgreSQL's NOTIFY; SQLite's own commits).
package enum StoreChange: Sendable {
    /// Feedback (products' aggregate ratings).
    case ratings
    /// What is left of each SKU.
    case stock
    /// Events of MCP sessions' streams.
    case mcpEvents
    /// Agents' inbox events.
    case inboxEvents
    /// The merchant's access policy.
    case accessPolicy
    /// The catalog (every change bumps its version).
    case catalog

    var tables: Set<String> {
        switch self {
        case .ratings: ["feedback"]
        case .stock: ["inventory"]
        case .mcpEvents: ["mcp_events"]
        case .inboxEvents: ["inbox_events"]
        case .accessPolicy: ["access_policy"]
        case .catalog: ["catalog_state"]
        }
    }
}

extension Database {
    /// Calls `observer` after each commit that changes `change`.
    package func onCommit(changing change: StoreChange, _ observer: @escaping @Sendable () -> Void) {
        observeCommits(to: change.tables, observer)
    }

    /// Whether several gateway nodes may share this store (PostgreSQL), so their commits must
    /// be heard from the database rather than from this process.
    package var isShared: Bool { backend == .postgres }

    /// `sqlite` or `postgres`, for status documents.
    package var backendName: String { backend.rawValue }

    /// Writes waiting for the writer (a gauge for `/metrics`).
    package var writeQueueDepth: Int { queuedWrites }

    /// The catalog's search index on this store's engine; remembered pages follow `catalogVersion`.
    package func catalogIndex(catalogVersion: @escaping @Sendable () -> Int) -> any CatalogIndex {
        switch backend {
        case .sqlite: SQLiteCatalogIndex(database: self, catalogVersion: catalogVersion)
        case .postgres: PostgresCatalogIndex(database: self, catalogVersion: catalogVersion)
        }
    }
}
