import JSON

/// A JSON Schema (draft 2020-12), compiled once and then used to validate any number of values.
///
/// Compilation resolves every `$ref`, `$anchor` and embedded `$id` resource and compiles every
/// regular expression, so validating is a walk over prepared nodes. A compiled schema is
/// immutable: share one across threads and call ``validate(_:)`` from all of them.
///
/// ```swift
/// let schema = try JSONSchema(JSON.parse(schemaText), assertFormats: true)
/// for violation in schema.validate(try JSON.parse(body)) {
///     print(violation.instancePointer, violation.message)   // "/items/2/price/amount", "expected..."
/// }
/// ```
///
/// Supported: every keyword of the core, applicator, unevaluated and validation vocabularies,
/// including `$dynamicRef`/`$dynamicAnchor`; `format` as an assertion for `date-time`, `date`,
/// `time`, `email`, `uri`, `uri-reference`, `uuid`, `ipv4` and `ipv6` when asked for.
/// Not supported: `$vocabulary` (every vocabulary is always on) and `$schema` values other than
/// draft 2020-12 (the keyword is ignored). `content*` keywords are annotations only, as the
/// specification makes them by default.
public struct JSONSchema: Sendable {
    /// Fetches a schema document by absolute URI (no fragment) for a `$ref` that leaves the
    /// documents already known; return nil when there is no such document.
    public typealias Resolver = (_ uri: String) throws -> JSON?

    private let program: CompiledSchema

    /// Compiles `schema`.
    ///
    /// - Parameters:
    ///   - schema: The schema document: an object or a boolean.
    ///   - baseURI: The URI the document was retrieved from, against which a relative root `$id`
    ///     and `$ref`s resolve. Without one, refs within the document still work.
    ///   - assertFormats: Whether `format` fails values that are not of the named format. Off by
    ///     default, as draft 2020-12 makes `format` an annotation unless a schema opts in.
    ///   - resolver: Supplies documents for `$ref`s to URIs outside `schema`; called only during
    ///     this initializer.
    /// - Throws: ``JSONSchemaError`` when the schema is malformed or a reference cannot be resolved.
    public init(_ schema: JSON, baseURI: String? = nil, assertFormats: Bool = false, resolver: Resolver? = nil) throws
    {
        let compiler = SchemaCompiler(assertFormats: assertFormats, resolver: resolver)
        program = try compiler.compile(schema, baseURI: baseURI)
    }

    /// Every way `instance` fails the schema, in a stable order; empty when it is valid.
    public func validate(_ instance: JSON) -> [SchemaViolation] {
        var evaluation = SchemaEvaluation(program: program, recording: true)
        _ = evaluation.run(instance)
        return evaluation.violations
    }

    /// Whether `instance` satisfies the schema. Faster than ``validate(_:)``: it stops at the
    /// first failure and builds no messages.
    public func isValid(_ instance: JSON) -> Bool {
        var evaluation = SchemaEvaluation(program: program, recording: false)
        return evaluation.run(instance)
    }
}
