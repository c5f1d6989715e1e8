import JSON

/// A compiled subschema: what the evaluator walks instead of the schema's JSON.
///
/// Nodes are immutable once the compiler has built them and refer to each other by index into
/// ``CompiledSchema/nodes``, so recursive schemas need no reference cycles and a compiled schema
/// can be read from many threads at once.
final class SchemaNode {
    enum Body {
        /// The `true` schema (and `{}`).
        case alwaysValid
        /// The `false` schema, with what to say when something reaches it.
        case neverValid(FalseSchemaContext)
        case keywords([SchemaKeyword])
    }

    let body: Body
    /// Where the subschema sits, the prefix of ``SchemaViolation/schemaPointer``.
    let location: String
    /// The schema resource (`$id` scope) the subschema belongs to; entering a different one
    /// extends the dynamic scope that `$dynamicRef` searches.
    let resource: Int
    /// True when `unevaluatedProperties` or `unevaluatedItems` here need to know what the other
    /// keywords evaluated, so the evaluator gathers annotations for this node.
    let collectsAnnotations: Bool

    init(body: Body, location: String, resource: Int) {
        self.body = body
        self.location = location
        self.resource = resource
        if case .keywords(let keywords) = body {
            collectsAnnotations = keywords.contains {
                switch $0 {
                case .unevaluatedProperties, .unevaluatedItems: return true
                default: return false
                }
            }
        } else {
            collectsAnnotations = false
        }
    }
}

/// Where a `false` schema sits decides how its failure is best explained: `"additionalProperties":
/// false` means "this property is not allowed", not "no value is allowed here".
enum FalseSchemaContext {
    /// Under `properties`, `additionalProperties`, `patternProperties` or `unevaluatedProperties`.
    case property(keyword: String)
    /// Under `items`, `prefixItems` or `unevaluatedItems`.
    case item(keyword: String)
    case anywhere
}

/// The JSON Schema type names as a set, so `type` is one bit test.
struct SchemaTypeSet: OptionSet {
    let rawValue: UInt8
    static let null = SchemaTypeSet(rawValue: 1 << 0)
    static let boolean = SchemaTypeSet(rawValue: 1 << 1)
    static let object = SchemaTypeSet(rawValue: 1 << 2)
    static let array = SchemaTypeSet(rawValue: 1 << 3)
    static let number = SchemaTypeSet(rawValue: 1 << 4)
    static let string = SchemaTypeSet(rawValue: 1 << 5)
    static let integer = SchemaTypeSet(rawValue: 1 << 6)

    static let names: [(String, SchemaTypeSet)] = [
        ("null", .null), ("boolean", .boolean), ("object", .object), ("array", .array),
        ("number", .number), ("string", .string), ("integer", .integer),
    ]

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init?(name: String) {
        guard let entry = Self.names.first(where: { $0.0 == name }) else { return nil }
        self = entry.1
    }

    func contains(typeOf value: JSON) -> Bool {
        switch value {
        case .null: return contains(.null)
        case .bool: return contains(.boolean)
        case .object: return contains(.object)
        case .array: return contains(.array)
        case .string: return contains(.string)
        case .int: return contains(.number) || contains(.integer)
        case .double(let d):
            // 1.0 is an integer in JSON Schema: integer-ness is about the value, not the spelling.
            return contains(.number) || (contains(.integer) && d.isFinite && d.rounded() == d)
        }
    }

    var description: String {
        Self.names.filter { contains($0.1) }.map(\.0).joined(separator: " or ")
    }
}

/// One compiled keyword. Subschemas are indices into ``CompiledSchema/nodes``.
enum SchemaKeyword {
    case type(SchemaTypeSet)
    case enumeration([JSON])
    case constant(JSON)

    case properties([(name: String, node: Int)])
    case patternProperties([(pattern: SchemaRegex, node: Int)])
    /// Carries the sibling `properties` names and `patternProperties` patterns it excludes.
    case additionalProperties(node: Int, declared: Set<String>, patterns: [SchemaRegex])
    case propertyNames(Int)
    case minProperties(Int)
    case maxProperties(Int)
    case required([String])
    case dependentRequired([(property: String, required: [String])])
    case dependentSchemas([(property: String, node: Int)])

    case prefixItems([Int])
    /// `items` applies from the end of the sibling `prefixItems` on.
    case items(node: Int, from: Int)
    /// `contains` with its `minContains` (1 when absent) and `maxContains`.
    case contains(node: Int, min: Int, max: Int?, minIsExplicit: Bool)
    case minItems(Int)
    case maxItems(Int)
    case uniqueItems

    case minimum(JSON)
    case maximum(JSON)
    case exclusiveMinimum(JSON)
    case exclusiveMaximum(JSON)
    case multipleOf(SchemaDecimal, JSON)

    case minLength(Int)
    case maxLength(Int)
    case pattern(SchemaRegex)
    case format(SchemaFormat)

    case ref(Int)
    /// The statically resolved target, and the `$dynamicAnchor` name to look up in the dynamic
    /// scope when the static target was found through one.
    case dynamicRef(node: Int, anchor: String?)
    case allOf([Int])
    case anyOf([Int])
    case oneOf([Int])
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
    case unevaluatedProperties(Int)
    case unevaluatedItems(Int)
}

/// The compiled form of a whole schema, possibly spanning several documents.
///
/// Immutable after compilation; `@unchecked Sendable` because the regular expressions inside are
/// `NSRegularExpression`, which is documented as safe to use from many threads.
final class CompiledSchema: @unchecked Sendable {
    let nodes: [SchemaNode]
    let root: Int
    /// For each schema resource, its `$dynamicAnchor` names and the nodes they mark.
    let dynamicAnchors: [[String: Int]]

    init(nodes: [SchemaNode], root: Int, dynamicAnchors: [[String: Int]]) {
        self.nodes = nodes
        self.root = root
        self.dynamicAnchors = dynamicAnchors
    }
}
