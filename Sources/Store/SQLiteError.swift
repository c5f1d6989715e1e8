import CSQLite

/// An SQLite failure with SQLite's own result code (https://sqlite.org/rescode.html).
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var sql: String?

    public var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " in «\($0)»" } ?? "")
    }

    /// A UNIQUE or PRIMARY KEY constraint refused the write.
    public var isConstraintViolation: Bool { code & 0xFF == SQLITE_CONSTRAINT }
    public var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
}
