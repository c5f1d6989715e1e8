import JSON

/// A product refused by a catalog change, a feed or an import, and why. `row` counts from 1: the
/// data row of a TSV (the header is not counted), the line of a JSON Lines file, the `<item>` of an
/// XML feed, the element of a JSON array, the product of an admin request (blank lines of a TSV
/// are not rows; of JSON Lines they are lines). A feed that cannot be read past some point
/// (malformed JSON, an unterminated XML element, a TSV without an id column) ends with one
/// rejection whose field is `"feed"`, its reason saying where; its row is 0 when the failure is
/// not in a row.
public struct CatalogRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var row: Int
    public var id: String?
    public var field: String
    public var reason: String

    public init(row: Int, id: String?, field: String, reason: String) {
        self.row = row
        self.id = id
        self.field = field
        self.reason = reason
    }

    public var description: String { "row \(row)\(id.map { " (\($0))" } ?? ""): \(field): \(reason)" }

    public var json: JSON {
        ["row": .int(Int64(row)), "id": JSON(id), "field": .string(field), "reason": .string(reason)]
    }
}
