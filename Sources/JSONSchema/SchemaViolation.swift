import JSON

/// One way a JSON instance fails a ``JSONSchema``.
///
/// Violations are values so a caller can turn them into an API error as it likes: the pointers
/// say where, ``keyword`` says which rule, and ``message`` says what was expected in words an
/// agent or a person can act on.
public struct SchemaViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// RFC 6901 JSON Pointer to the failing value inside the instance; `""` is the whole instance.
    public var instancePointer: String
    /// The schema keyword that failed, such as `"required"` or `"minimum"`.
    public var keyword: String
    /// Where the failing keyword sits: an RFC 6901 pointer into the root schema document
    /// (`"/properties/price/minimum"`), or `"<uri>#<pointer>"` for a keyword in another document.
    public var schemaPointer: String
    /// What was expected, in plain words.
    public var message: String

    public init(instancePointer: String, keyword: String, schemaPointer: String, message: String) {
        self.instancePointer = instancePointer
        self.keyword = keyword
        self.schemaPointer = schemaPointer
        self.message = message
    }

    public var description: String {
        "\(instancePointer.isEmpty ? "(root)" : instancePointer): \(message) [\(keyword) at \(schemaPointer)]"
    }
}
