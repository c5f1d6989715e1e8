import Foundation
import JSON

/// One validation of one instance against a ``CompiledSchema``.
///
/// All per-call state lives here, so a compiled schema is only read and any number of
/// validations can run at once. When violations are not wanted (``isRecording`` false) every
/// check stops at the first failure.
struct SchemaEvaluation {
    /// A step of the path to the value being validated.
    enum PathToken {
        case key(String)
        case index(Int)
    }

    /// A `$ref` being followed: the target node at a depth of the instance path. Along one branch
    /// of the recursion the path at a given depth is always the same value, so meeting the same
    /// pair again means the schema would loop without consuming any input.
    struct ActiveReference: Hashable {
        var node: Int
        var depth: Int
    }

    /// How deeply subschemas may nest during one validation (about 250 levels of a recursive
    /// schema; the parser's depth limit keeps requests far below). Deeper fails with a violation
    /// rather than exhausting the thread's stack; in release builds this fits a 512 KiB stack.
    static let maxDepth = 500

    let program: CompiledSchema
    var violations: [SchemaViolation] = []
    var isRecording: Bool
    var path: [PathToken] = []
    /// The schema resources entered so far, outermost first: `$dynamicRef`'s dynamic scope.
    var scope: [Int] = []
    var activeReferences: Set<ActiveReference> = []
    var depth = 0

    init(program: CompiledSchema, recording: Bool) {
        self.program = program
        self.isRecording = recording
    }

    mutating func run(_ instance: JSON) -> Bool {
        var none: SchemaAnnotations? = nil
        return evaluate(program.root, instance, &none)
    }

    // MARK: Nodes

    /// Validates `instance` against node `index`. When `annotations` is non-nil and the instance
    /// is valid, what this node evaluated is merged into it.
    mutating func evaluate(_ index: Int, _ instance: JSON, _ annotations: inout SchemaAnnotations?) -> Bool {
        let node = program.nodes[index]
        let keywords: [SchemaKeyword]
        switch node.body {
        case .alwaysValid:
            return true
        case .neverValid(let context):
            if isRecording { reportFalseSchema(node, context) }
            return false
        case .keywords(let list):
            keywords = list
        }
        guard depth < Self.maxDepth else {
            report(
                node, "$ref",
                "the schema nests deeper than \(Self.maxDepth) levels here; the value cannot be validated")
            return false
        }
        depth += 1
        defer { depth -= 1 }
        let entersResource = scope.last != node.resource
        if entersResource { scope.append(node.resource) }
        defer { if entersResource { scope.removeLast() } }

        var local: SchemaAnnotations? = annotations != nil || node.collectsAnnotations ? SchemaAnnotations() : nil
        var valid = true
        for keyword in keywords where !check(keyword, node, instance, &local) {
            valid = false
            if !isRecording { break }
        }
        if valid, let local, annotations != nil { annotations!.merge(local) }
        return valid
    }

    /// A subschema applied to a child of the instance: annotations do not cross into a child.
    mutating func evaluate(_ index: Int, child token: PathToken, _ value: JSON) -> Bool {
        path.append(token)
        defer { path.removeLast() }
        var none: SchemaAnnotations? = nil
        return evaluate(index, value, &none)
    }

    /// Runs `body` with recording switched on or off, and returns the violations it recorded.
    mutating func withRecording<T>(_ recording: Bool, _ body: (inout Self) -> T) -> (T, [SchemaViolation]) {
        let savedRecording = isRecording
        let savedViolations = violations
        isRecording = recording
        violations = []
        let result = body(&self)
        let recorded = violations
        isRecording = savedRecording
        violations = savedViolations
        return (result, recorded)
    }

    /// Runs `body` without recording: for subschemas whose failures are not the instance's
    /// failures (`anyOf` branches, `not`, `if`, `contains`).
    mutating func silently<T>(_ body: (inout Self) -> T) -> T {
        guard isRecording else { return body(&self) }
        return withRecording(false, body).0
    }

    // MARK: Keywords

    /// One keyword. Applicators get a function each and assertions share one, so that in debug
    /// builds (where a function's frame holds every local of every branch) the frames on the
    /// recursion path stay small.
    mutating func check(
        _ keyword: SchemaKeyword, _ node: SchemaNode, _ instance: JSON, _ local: inout SchemaAnnotations?
    ) -> Bool {
        switch keyword {
        case .properties(let schemas):
            return properties(schemas, instance, &local)
        case .patternProperties(let schemas):
            return patternProperties(schemas, instance, &local)
        case .additionalProperties(let child, let declared, let patterns):
            return additionalProperties(child, declared, patterns, instance, &local)
        case .propertyNames(let child):
            return propertyNames(child, instance)
        case .dependentSchemas(let schemas):
            return dependentSchemas(schemas, instance, &local)
        case .unevaluatedProperties(let child):
            return unevaluatedProperties(child, instance, &local)
        case .prefixItems(let schemas):
            return prefixItems(schemas, instance, &local)
        case .items(let child, let start):
            return items(child, from: start, instance, &local)
        case .contains(let child, let minimum, let maximum, let minIsExplicit):
            return contains(child, min: minimum, max: maximum, minIsExplicit: minIsExplicit, node, instance, &local)
        case .unevaluatedItems(let child):
            return unevaluatedItems(child, instance, &local)
        case .ref(let target):
            return follow(target, node, "$ref", instance, &local)
        case .dynamicRef(let target, let anchor):
            return dynamicRef(target, anchor: anchor, node, instance, &local)
        case .allOf(let schemas):
            return allOf(schemas, instance, &local)
        case .anyOf(let schemas):
            return anyOf(schemas, node, instance, &local)
        case .oneOf(let schemas):
            return oneOf(schemas, node, instance, &local)
        case .not(let child):
            return not(child, node, instance)
        case .conditional(let ifNode, let thenNode, let elseNode):
            return conditional(if: ifNode, then: thenNode, else: elseNode, instance, &local)
        default:
            return assertion(keyword, node, instance)
        }
    }

    // MARK: Reporting

    var instancePointer: String {
        var pointer = ""
        for token in path {
            switch token {
            case .key(let key): pointer += "/" + SchemaPointer.escape(key)
            case .index(let index): pointer += "/" + String(index)
            }
        }
        return pointer
    }

    /// Records a violation (when recording) and returns false, so checks read `return fail(...)`.
    mutating func fail(_ node: SchemaNode, _ keyword: String, _ message: @autoclosure () -> String) -> Bool {
        if isRecording { report(node, keyword, message()) }
        return false
    }

    /// As `fail`, with ", found <value>" after the message.
    mutating func fail(
        _ node: SchemaNode, _ keyword: String, _ message: @autoclosure () -> String, found value: JSON
    ) -> Bool {
        if isRecording { report(node, keyword, message() + ", found " + Self.describe(value)) }
        return false
    }

    mutating func report(_ node: SchemaNode, _ keyword: String, _ message: String) {
        violations.append(
            SchemaViolation(
                instancePointer: instancePointer, keyword: keyword,
                schemaPointer: node.location + "/" + keyword, message: message))
    }

    mutating func reportFalseSchema(_ node: SchemaNode, _ context: FalseSchemaContext) {
        let message: String
        let keyword: String
        switch (context, path.last) {
        case (.property(let k), .key(let name)?):
            keyword = k
            message = "property \"\(name)\" is not allowed"
        case (.item(let k), .index(let index)?):
            keyword = k
            message = "no item is allowed at index \(index)"
        default:
            keyword = "false"
            message = "no value is allowed here"
        }
        violations.append(
            SchemaViolation(
                instancePointer: instancePointer, keyword: keyword, schemaPointer: node.location, message: message))
    }

    /// Object keys in a stable order when violations are reported, so the same request always
    /// gets the same errors; in any order otherwise, because sorting costs.
    func keys(of members: [String: JSON]) -> [String] {
        isRecording ? members.keys.sorted() : Array(members.keys)
    }

    static func plural(_ n: Int, _ noun: String) -> String {
        if n == 1 { return "1 \(noun)" }
        return noun.hasSuffix("y") ? "\(n) \(noun.dropLast())ies" : "\(n) \(noun)s"
    }

    /// A value as it appears in a message: scalars in full (long strings shortened), containers
    /// by kind, since echoing a whole object back rarely helps.
    static func describe(_ value: JSON) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int, .double: return SchemaNumber.describe(value)
        case .string(let s):
            let shown =
                s.unicodeScalars.count > 60 ? String(String.UnicodeScalarView(s.unicodeScalars.prefix(57))) + "..." : s
            return "\"" + shown.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .array(let items): return items.isEmpty ? "an empty array" : "an array of \(plural(items.count, "item"))"
        case .object(let members): return members.isEmpty ? "an empty object" : "an object"
        }
    }
}
