import CPostgres
import Foundation
import Store

/// A connection to PostgreSQL through libpq. Statements use the SQL the SQLite store uses (the
/// subset both accept); placeholders `?` and `?N` become `$N`. Each statement is prepared once
/// per connection, its parameter types inferred by the server, and sent in text format.
public final class PostgresConnection: Connection {
    private var handle: OpaquePointer?
    private let conninfo: String
    private let node: String
    private var prepared: [String: (name: String, changes: String?)] = [:]
    private var changed: Set<String> = []
    /// Writes sent in pipeline mode whose results are not read yet (`runDeferred`), by SQL.
    private var deferred: [String] = []
    public var backend: StoreBackend { .postgres }
    /// Each job runs in a savepoint (a subtransaction; an action adds a second); past 64
    /// subtransactions in one transaction PostgreSQL's snapshots overflow to `pg_subtrans`, which
    /// slows every session's reads. Groups stay under that (measured: 24 or 512 jobs a group made
    /// no difference to checkout throughput, which round trips bound; bench/nodes.sh).
    public var maxGroup: Int { 24 }

    /// The advisory lock every write transaction of every node takes first: writers take
    /// turns, as SQLite's single writer does, so a limit checked inside a write holds when the
    /// write commits, whichever node wrote it.
    static let writerLock: Int64 = 0x5354_4f52_4546_524e  // "STOREFRN"
    static let channel = "storefront_changes"

    init(conninfo: String, node: String) throws {
        self.conninfo = conninfo
        self.node = node
        try connect()
    }

    deinit { close() }

    private func connect() throws {
        if let handle { PQfinish(handle) }
        prepared.removeAll()
        deferred.removeAll()
        guard let connection = PQconnectdb(conninfo) else { throw StoreError(message: "libpq could not allocate a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            handle = nil
            throw StoreError(message: "cannot connect to PostgreSQL: \(message)")
        }
        handle = connection
        // Nothing waits forever: a writer queued behind another node's transaction gives up after
        // lock_timeout (its requests get a 503 and may retry), a runaway statement after
        // statement_timeout, and a node that stops mid-transaction (a partition, a hung process)
        // loses its transaction, and the lock every writer needs, after the idle timeout.
        try execute(
            """
            SET client_min_messages = warning; SET TIME ZONE 'UTC'; SET lock_timeout = '10s';
            SET statement_timeout = '30s'; SET idle_in_transaction_session_timeout = '30s'
            """)
    }

    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared.removeAll()
        deferred.removeAll()
    }

    private var live: OpaquePointer {
        get throws {
            guard let handle else { throw StoreError(message: "the PostgreSQL connection is closed") }
            return handle
        }
    }

    public func execute(_ sql: String) throws {
        try finishPipeline()
        let result = PQexec(try live, sql)
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] {
        let result = try send(sql, parameters)
        defer { PQclear(result) }
        return Self.rows(result)
    }

    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        let result = try send(sql, parameters)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// Sends a write in pipeline mode without waiting for it (a statement prepared before;
    /// the first use of one runs at once, as its preparation must).
    public func runDeferred(_ sql: String, _ parameters: [SQLValue]) throws {
        guard let statement = prepared[sql] else {
            _ = try run(sql, parameters)
            return
        }
        let connection = try live
        if deferred.isEmpty && PQenterPipelineMode(connection) != 1 {
            _ = try run(sql, parameters)
            return
        }
        let texts: [String?] = parameters.map(Self.text)
        let sent = withCStrings(texts) { pointers in
            PQsendQueryPrepared(connection, statement.name, Int32(pointers.count), pointers, nil, nil, 0)
        }
        guard sent == 1 else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            try finishPipeline()
            throw StoreError(message: message, sql: sql)
        }
        deferred.append(sql)
        if let table = statement.changes { changed.insert(table) }
    }

    /// Ends pipeline mode: a sync, then every deferred write's result (and, when `then` is
    /// given, that prepared statement's, sent after them in the same round trip, returned
    /// unread). Throws the first deferred write's error; statements after it were skipped.
    @discardableResult
    private func finishPipeline(then next: (name: String, parameters: [String?], sql: String)? = nil) throws -> OpaquePointer? {
        guard !deferred.isEmpty else { return nil }
        let connection = try live
        let statements = deferred
        deferred.removeAll()
        if let next {
            _ = withCStrings(next.parameters) { pointers in
                PQsendQueryPrepared(connection, next.name, Int32(pointers.count), pointers, nil, nil, 0)
            }
        }
        var failure: StoreError?
        if PQpipelineSync(connection) != 1 {
            failure = StoreError(message: String(cString: PQerrorMessage(connection)), sql: statements.first)
        }
        var results: [OpaquePointer] = []
        var nulls = 0
        let expected = statements.count + (next == nil ? 0 : 1)
        while failure == nil {
            guard let result = PQgetResult(connection) else {
                // One NULL ends each statement's results; more than that, and the sync is lost.
                nulls += 1
                if nulls > expected + 1 || PQstatus(connection) != CONNECTION_OK {
                    failure = StoreError(message: "the PostgreSQL pipeline ended without its sync: \(String(cString: PQerrorMessage(connection)))")
                }
                continue
            }
            if PQresultStatus(result) == PGRES_PIPELINE_SYNC {
                PQclear(result)
                break
            }
            results.append(result)
        }
        _ = PQexitPipelineMode(connection)
        var nextResult: OpaquePointer?
        for (i, result) in results.enumerated() {
            if i < statements.count {
                if failure == nil, PQresultStatus(result) != PGRES_PIPELINE_ABORTED {
                    do { try check(result, sql: statements[i]) } catch let error as StoreError { failure = error }
                }
                PQclear(result)
            } else if i == statements.count, failure == nil {
                nextResult = result
            } else {
                PQclear(result)
            }
        }
        if let failure {
            if let nextResult { PQclear(nextResult) }
            throw failure
        }
        return nextResult
    }

    public func begin(_ kind: TransactionKind) throws {
        // A connection the server dropped (a restart, a failover, an idle timeout) is opened
        // again here, between transactions, where nothing is lost by doing so. libpq notices a
        // dropped connection only when a command fails: a BEGIN that fails on a connection now
        // broken is retried once on a new one.
        if handle == nil || PQstatus(handle) != CONNECTION_OK { try connect() }
        do {
            try start(kind)
        } catch {
            guard let handle, PQstatus(handle) != CONNECTION_OK else { throw error }
            try connect()
            try start(kind)
        }
    }

    private func start(_ kind: TransactionKind) throws {
        switch kind {
        case .read: try execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        case .rowLocks: try execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        case .write:
            try execute("BEGIN")
            do {
                _ = try query("SELECT pg_advisory_xact_lock(?)", [.integer(Self.writerLock)])
            } catch {
                rollback()
                throw error
            }
        }
    }

    public func commit() throws { try execute("COMMIT") }

    public func rollback() {
        _ = try? finishPipeline()
        try? execute("ROLLBACK")
    }

    public func takeChangedTables() -> Set<String> {
        defer { changed.removeAll(keepingCapacity: true) }
        return changed
    }

    public func announce(_ tables: Set<String>) throws {
        // Delivered to every listener when (and only if) the transaction commits.
        _ = try query("SELECT pg_notify(?, ?)", [.text(Self.channel), .text(node + " " + tables.sorted().joined(separator: ","))])
    }

    // MARK: statements

    private func send(_ sql: String, _ parameters: [SQLValue]) throws -> OpaquePointer? {
        let connection = try live
        let statement: (name: String, changes: String?)
        let texts: [String?] = parameters.map(Self.text)
        let result: OpaquePointer?
        if let cached = prepared[sql], !deferred.isEmpty {
            // Writes waiting in the pipeline go first, with this statement after them in the
            // same round trip.
            statement = cached
            result = try finishPipeline(then: (cached.name, texts, sql))
        } else {
            if let cached = prepared[sql] {
                statement = cached
            } else {
                try finishPipeline()
                let translated = Self.placeholders(sql)
                let name = "s\(prepared.count)"
                try prepare(name, translated, sql: sql, parameters: parameters)
                statement = (name, Self.writtenTable(translated))
                prepared[sql] = statement
            }
            result = withCStrings(texts) { pointers in
                PQexecPrepared(connection, statement.name, Int32(pointers.count), pointers, nil, nil, 0)
            }
        }
        do {
            try check(result, sql: sql)
        } catch {
            PQclear(result)
            throw error
        }
        if let table = statement.changes { changed.insert(table) }
        return result
    }

    /// Prepares with every parameter's type inferred by the server. A parameter used only where
    /// no type follows (`?1 IS NULL OR col = ?1` with ?1 first seen in IS NULL) cannot be
    /// inferred (42P08): it is then typed from the value of the first call (a NULL as text).
    private func prepare(_ name: String, _ translated: String, sql: String, parameters: [SQLValue]) throws {
        var types = [Oid](repeating: 0, count: parameters.count)
        // A failed prepare would abort the transaction it runs in: inside one, it runs in a savepoint.
        let inTransaction = PQtransactionStatus(try live) == PQTRANS_INTRANS
        for _ in 0...parameters.count {
            if inTransaction { try execute("SAVEPOINT storefront_prepare") }
            let result = types.withUnsafeBufferPointer { PQprepare(try? live, name, translated, Int32($0.count), $0.baseAddress) }
            defer { PQclear(result) }
            do {
                try check(result, sql: sql)
                if inTransaction { try execute("RELEASE storefront_prepare") }
                return
            } catch let error as StoreError where error.sqlState == "42P08" {
                if inTransaction { try execute("ROLLBACK TO storefront_prepare; RELEASE storefront_prepare") }
                guard let n = Self.undeterminedParameter(error.message), n >= 1, n <= types.count, types[n - 1] == 0 else { throw error }
                types[n - 1] = switch parameters[n - 1] {
                case .integer: 20
                case .real: 701
                case .blob: 17
                case .text, .null: 25
                }
            } catch {
                if inTransaction { try? execute("ROLLBACK TO storefront_prepare; RELEASE storefront_prepare") }
                throw error
            }
        }
    }

    static func undeterminedParameter(_ message: String) -> Int? {
        guard let range = message.range(of: "parameter $") else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }

    private func check(_ result: OpaquePointer?, sql: String) throws {
        guard let result else {
            throw StoreError(message: String(cString: PQerrorMessage(try live)), sql: sql)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            throw StoreError(message: message, sqlState: state, sql: sql)
        }
    }

    static func text(_ value: SQLValue) -> String? {
        switch value {
        case .null: nil
        case .integer(let v): String(v)
        case .real(let v): String(v)
        case .text(let v): v
        case .blob(let bytes):
            "\\x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }

    static func rows(_ result: OpaquePointer?) -> [Row] {
        guard let result else { return [] }
        let count = Int(PQntuples(result))
        let fields = Int32(PQnfields(result))
        guard count > 0 else { return [] }
        let columns = (0..<fields).map { String(cString: PQfname(result, $0)) }
        let types = (0..<fields).map { PQftype(result, $0) }
        var rows: [Row] = []
        rows.reserveCapacity(count)
        for r in 0..<Int32(count) {
            var values: [SQLValue] = []
            values.reserveCapacity(columns.count)
            for c in 0..<fields {
                if PQgetisnull(result, r, c) == 1 {
                    values.append(.null)
                    continue
                }
                let length = Int(PQgetlength(result, r, c))
                let raw = UnsafeRawPointer(PQgetvalue(result, r, c)!)
                let text = String(decoding: UnsafeRawBufferPointer(start: raw, count: length), as: UTF8.self)
                values.append(decode(text, type: types[Int(c)]))
            }
            rows.append(Row(columns: columns, values: values))
        }
        return rows
    }

    /// Text-format values by type OID (pg_type.dat): integers as integers, booleans as 0/1 (as
    /// SQLite has them), floats and non-integral numerics as reals, bytea as bytes.
    static func decode(_ text: String, type: Oid) -> SQLValue {
        switch type {
        case 20, 21, 23, 26: return Int64(text).map(SQLValue.integer) ?? .text(text)
        case 16: return .integer(text == "t" ? 1 : 0)
        case 700, 701: return Double(text).map(SQLValue.real) ?? .text(text)
        case 1700:
            if let v = Int64(text) { return .integer(v) }
            return Double(text).map(SQLValue.real) ?? .text(text)
        case 17: return .blob(hexBytes(text))
        default: return .text(text)
        }
    }

    static func hexBytes(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8.dropFirst(2))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
        var i = 0
        while i + 1 < digits.count {
            bytes.append(nibble(digits[i]) << 4 | nibble(digits[i + 1]))
            i += 2
        }
        return bytes
    }

    /// `?` and `?N` outside quotes become `$N`; a bare `?` takes one more than the largest
    /// number so far (SQLite's rule), so both spellings mean the same parameters.
    static func placeholders(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var quote: Character?
        var largest = 0
        var chars = Array(sql)[...]
        while let c = chars.popFirst() {
            if let q = quote {
                out.append(c)
                if c == q { quote = nil }
                continue
            }
            if c == "'" || c == "\"" {
                quote = c
                out.append(c)
                continue
            }
            guard c == "?" else {
                out.append(c)
                continue
            }
            var digits = ""
            while let d = chars.first, d.isASCII, d.isNumber {
                digits.append(d)
                chars.removeFirst()
            }
            let n = Int(digits) ?? (largest + 1)
            largest = max(largest, n)
            out += "$\(n)"
        }
        return out
    }

    /// The table an INSERT, UPDATE or DELETE writes (for caches' change reports).
    static func writtenTable(_ sql: String) -> String? {
        let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }).prefix(4).map { $0.lowercased() }
        guard let first = words.first else { return nil }
        switch first {
        case "insert" where words.count > 2 && words[1] == "into": return words[2]
        case "update" where words.count > 1: return words[1]
        case "delete" where words.count > 2 && words[1] == "from": return words[2]
        default: return nil
        }
    }
}

private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var owned: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } }
    defer { for p in owned { free(p) } }
    return owned.withUnsafeMutableBufferPointer { buffer in
        body(buffer.map { $0.map { UnsafePointer($0) } })
    }
}
