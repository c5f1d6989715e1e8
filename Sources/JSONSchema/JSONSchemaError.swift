import JSON

/// Why a schema could not be compiled into a ``JSONSchema``.
public struct JSONSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A keyword's value has the wrong type or range (`"minLength": -1`, `"type": "text"`).
        case invalidKeyword = "invalid_schema_keyword"
        /// A `pattern` or `patternProperties` key is not a regular expression we can compile.
        case invalidPattern = "invalid_schema_pattern"
        /// A `$ref` or `$dynamicRef` points at nothing this schema or its resolver provides.
        case unresolvableReference = "unresolvable_schema_reference"
        /// An `$id` or `$anchor` is malformed or declared twice for different schemas.
        case invalidIdentifier = "invalid_schema_identifier"
    }

    public var code: Code
    /// Where the problem is: a pointer into the schema document, as in ``SchemaViolation``.
    public var schemaPointer: String
    public var message: String

    public init(code: Code, schemaPointer: String, message: String) {
        self.code = code
        self.schemaPointer = schemaPointer
        self.message = message
    }

    public var description: String { "\(message) (at \(schemaPointer.isEmpty ? "schema root" : schemaPointer))" }
}
