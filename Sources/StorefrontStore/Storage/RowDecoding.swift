import JSON
import Store

/// Reads a typed record from a row: a required column that is missing or of the wrong type,
/// stored JSON that does not parse, or a status the code does not know is an error naming the
/// table, the row and the column, never a silent default.
struct RowDecoder {
    let row: Row
    let table: String

    init(_ row: Row, table: String) {
        self.row = row
        self.table = table
    }

    func failure(_ column: String, _ problem: String) -> StoreError {
        StoreError(message: "\(table) row \(row["id"].string ?? "?") \(problem) in \(column)")
    }

    func text(_ column: String) throws -> String {
        guard let value = row[column].string else { throw failure(column, "has no text") }
        return value
    }

    func int(_ column: String) throws -> Int64 {
        guard let value = row[column].int else { throw failure(column, "has no integer") }
        return value
    }

    func optionalText(_ column: String) -> String? { row[column].string }

    func optionalInt(_ column: String) -> Int64? { row[column].int }

    /// A column holding JSON text, parsed.
    func json(_ column: String) throws -> JSON {
        let text = try text(column)
        do {
            return try JSON.parse(text)
        } catch {
            throw failure(column, "holds text that is not JSON (\(error))")
        }
    }

    /// A column holding one of an enumeration's raw values.
    func value<T: RawRepresentable>(_ column: String, as type: T.Type) throws -> T where T.RawValue == String {
        let text = try text(column)
        guard let value = T(rawValue: text) else { throw failure(column, "holds the unknown value \(text)") }
        return value
    }
}
