import Foundation

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
    private struct ActiveReference: Hashable {
        var node: Int
        var depth: Int
    }

    /// Deep enough for any sensible document, shallow enough to stay clear of a thread's stack.
    static let maxDepth = 100000

    let program: CompiledSchema
    private(set) var violations: [SchemaViolation] = []
    private(set) var isRecording: Bool
    private var path: [PathToken] = []
    /// The schema resources entered so far, outermost first: `$dynamicRef`'s dynamic scope.
    private var scope: [Int] = []
    private var activeReferences: Set<ActiveReference> = []
    private var depth = 0

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
    private mutating func evaluate(_ index: Int, _ instance: JSON, _ annotations: inout SchemaAnnotations?) -> Bool {
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
    private mutating func evaluate(_ index: Int, child token: PathToken, _ value: JSON) -> Bool {
        path.append(token)
        defer { path.removeLast() }
        var none: SchemaAnnotations? = nil
        return evaluate(index, value, &none)
    }

    /// Runs `body` with recording switched on or off, and returns the violations it recorded.
    private mutating func withRecording<T>(_ recording: Bool, _ body: (inout Self) -> T) -> (T, [SchemaViolation]) {
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
    private mutating func silently<T>(_ body: (inout Self) -> T) -> T {
        guard isRecording else { return body(&self) }
        return withRecording(false, body).0
    }

    // MARK: Keywords

    private mutating func check(
        _ keyword: SchemaKeyword, _ node: SchemaNode, _ instance: JSON, _ local: inout SchemaAnnotations?
    ) -> Bool {
        switch keyword {
        case .type(let types):
            if types.contains(typeOf: instance) { return true }
            return fail(node, "type", "expected \(types.description), found \(Self.kind(of: instance))")

        case .enumeration(let options):
            if options.contains(where: { SchemaEquality.equal($0, instance) }) { return true }
            let listed = options.prefix(10).map(Self.describe).joined(separator: ", ")
            return fail(
                node, "enum",
                "expected one of \(listed)\(options.count > 10 ? ", ..." : ""), found \(Self.describe(instance))")

        case .constant(let value):
            if SchemaEquality.equal(value, instance) { return true }
            return fail(node, "const", "expected exactly \(Self.describe(value)), found \(Self.describe(instance))")

        case .minimum(let limit):
            guard let order = SchemaNumber.compare(instance, limit), order < 0 else { return true }
            return fail(node, "minimum", "expected a number of at least \(Self.describe(limit))", found: instance)
        case .maximum(let limit):
            guard let order = SchemaNumber.compare(instance, limit), order > 0 else { return true }
            return fail(node, "maximum", "expected a number of at most \(Self.describe(limit))", found: instance)
        case .exclusiveMinimum(let limit):
            guard let order = SchemaNumber.compare(instance, limit), order <= 0 else { return true }
            return fail(
                node, "exclusiveMinimum", "expected a number greater than \(Self.describe(limit))", found: instance)
        case .exclusiveMaximum(let limit):
            guard let order = SchemaNumber.compare(instance, limit), order >= 0 else { return true }
            return fail(
                node, "exclusiveMaximum", "expected a number less than \(Self.describe(limit))", found: instance)
        case .multipleOf(let divisor, let written):
            guard instance.isNumber, !SchemaDecimal(instance).isMultiple(of: divisor) else { return true }
            return fail(node, "multipleOf", "expected a multiple of \(Self.describe(written))", found: instance)

        case .minLength(let limit):
            guard case .string(let s) = instance else { return true }
            let length = s.unicodeScalars.count
            if length >= limit { return true }
            return fail(node, "minLength", "expected at least \(Self.plural(limit, "character")), found \(length)")
        case .maxLength(let limit):
            guard case .string(let s) = instance else { return true }
            let length = s.unicodeScalars.count
            if length <= limit { return true }
            return fail(node, "maxLength", "expected at most \(Self.plural(limit, "character")), found \(length)")
        case .pattern(let regex):
            guard case .string(let s) = instance, !regex.matches(s) else { return true }
            return fail(node, "pattern", "expected a string matching the pattern \(regex.source)")
        case .format(let format):
            guard case .string(let s) = instance, !format.accepts(s) else { return true }
            return fail(node, "format", "expected a valid \(format.rawValue), found \(Self.describe(instance))")

        case .minProperties(let limit):
            guard case .object(let members) = instance, members.count < limit else { return true }
            return fail(
                node, "minProperties", "expected at least \(Self.plural(limit, "property")), found \(members.count)")
        case .maxProperties(let limit):
            guard case .object(let members) = instance, members.count > limit else { return true }
            return fail(
                node, "maxProperties", "expected at most \(Self.plural(limit, "property")), found \(members.count)")
        case .required(let names):
            guard case .object(let members) = instance else { return true }
            var ok = true
            for name in names where members[name] == nil {
                ok = false
                guard isRecording else { break }
                report(node, "required", "missing required property \"\(name)\"")
            }
            return ok
        case .dependentRequired(let dependencies):
            guard case .object(let members) = instance else { return true }
            var ok = true
            for (property, names) in dependencies where members[property] != nil {
                for name in names where members[name] == nil {
                    ok = false
                    guard isRecording else { return false }
                    report(
                        node, "dependentRequired",
                        "missing property \"\(name)\", required when \"\(property)\" is present")
                }
            }
            return ok
        case .properties(let schemas):
            guard case .object(let members) = instance else { return true }
            var ok = true
            for (name, child) in schemas {
                guard let value = members[name] else { continue }
                local?.properties.insert(name)
                if !evaluate(child, child: .key(name), value) {
                    ok = false
                    if !isRecording { return false }
                }
            }
            return ok
        case .patternProperties(let schemas):
            guard case .object(let members) = instance else { return true }
            var ok = true
            for name in keys(of: members) {
                for (regex, child) in schemas where regex.matches(name) {
                    local?.properties.insert(name)
                    if !evaluate(child, child: .key(name), members[name]!) {
                        ok = false
                        if !isRecording { return false }
                    }
                }
            }
            return ok
        case .additionalProperties(let child, let declared, let patterns):
            guard case .object(let members) = instance else { return true }
            var ok = true
            for name in keys(of: members)
            where !declared.contains(name) && !patterns.contains(where: { $0.matches(name) }) {
                local?.properties.insert(name)
                if !evaluate(child, child: .key(name), members[name]!) {
                    ok = false
                    if !isRecording { return false }
                }
            }
            return ok
        case .propertyNames(let child):
            guard case .object(let members) = instance else { return true }
            var ok = true
            for name in keys(of: members) where !evaluate(child, child: .key(name), .string(name)) {
                ok = false
                if !isRecording { return false }
            }
            return ok
        case .dependentSchemas(let schemas):
            guard case .object(let members) = instance else { return true }
            var ok = true
            for (property, child) in schemas where members[property] != nil {
                if !evaluate(child, instance, &local) {
                    ok = false
                    if !isRecording { return false }
                }
            }
            return ok
        case .unevaluatedProperties(let child):
            guard case .object(let members) = instance else { return true }
            var ok = true
            let evaluated = local ?? SchemaAnnotations()
            for name in keys(of: members) where !evaluated.hasEvaluated(property: name) {
                if !evaluate(child, child: .key(name), members[name]!) {
                    ok = false
                    if !isRecording { return false }
                }
            }
            local?.allProperties = true
            return ok

        case .minItems(let limit):
            guard case .array(let items) = instance, items.count < limit else { return true }
            return fail(node, "minItems", "expected at least \(Self.plural(limit, "item")), found \(items.count)")
        case .maxItems(let limit):
            guard case .array(let items) = instance, items.count > limit else { return true }
            return fail(node, "maxItems", "expected at most \(Self.plural(limit, "item")), found \(items.count)")
        case .uniqueItems:
            guard case .array(let items) = instance, let (first, second) = Self.duplicate(in: items) else {
                return true
            }
            return fail(node, "uniqueItems", "expected unique items, but items \(first) and \(second) are equal")
        case .prefixItems(let schemas):
            guard case .array(let items) = instance else { return true }
            var ok = true
            for (i, child) in zip(items.indices, schemas) where !evaluate(child, child: .index(i), items[i]) {
                ok = false
                if !isRecording { return false }
            }
            if let prefix = local?.itemPrefix { local?.itemPrefix = max(prefix, min(items.count, schemas.count)) }
            return ok
        case .items(let child, let start):
            guard case .array(let items) = instance else { return true }
            var ok = true
            for i in items.indices.dropFirst(start) where !evaluate(child, child: .index(i), items[i]) {
                ok = false
                if !isRecording { return false }
            }
            local?.allItems = true
            return ok
        case .contains(let child, let minimum, let maximum, let minIsExplicit):
            guard case .array(let items) = instance else { return true }
            var matches = 0
            let needsAll = local != nil || maximum != nil
            silently { evaluation in
                for i in items.indices where evaluation.evaluate(child, child: .index(i), items[i]) {
                    matches += 1
                    local?.items.insert(i)
                    if !needsAll && matches >= minimum { break }
                }
            }
            if matches < minimum {
                let keyword = minIsExplicit ? "minContains" : "contains"
                return fail(
                    node, keyword,
                    "expected at least \(Self.plural(minimum, "item")) matching the contains schema, found \(matches)")
            }
            if let maximum, matches > maximum {
                return fail(
                    node, "maxContains",
                    "expected at most \(Self.plural(maximum, "item")) matching the contains schema, found \(matches)")
            }
            return true
        case .unevaluatedItems(let child):
            guard case .array(let items) = instance else { return true }
            var ok = true
            let evaluated = local ?? SchemaAnnotations()
            for i in items.indices where !evaluated.hasEvaluated(item: i) {
                if !evaluate(child, child: .index(i), items[i]) {
                    ok = false
                    if !isRecording { return false }
                }
            }
            local?.allItems = true
            return ok

        case .ref(let target):
            return follow(target, node, "$ref", instance, &local)
        case .dynamicRef(let target, let anchor):
            var resolved = target
            if let anchor {
                // The outermost resource in the dynamic scope with this $dynamicAnchor wins.
                for resource in scope {
                    if let found = program.dynamicAnchors[resource][anchor] {
                        resolved = found
                        break
                    }
                }
            }
            return follow(resolved, node, "$dynamicRef", instance, &local)
        case .allOf(let schemas):
            var ok = true
            for child in schemas where !evaluate(child, instance, &local) {
                ok = false
                if !isRecording { return false }
            }
            return ok
        case .anyOf(let schemas):
            // Every branch runs when annotations are wanted: each passing branch contributes.
            var passed = false
            silently { evaluation in
                for child in schemas where evaluation.evaluate(child, instance, &local) {
                    passed = true
                    if local == nil { break }
                }
            }
            if !passed, isRecording { explainAlternatives(node, "anyOf", schemas, instance) }
            return passed
        case .oneOf(let schemas):
            var passing: [Int] = []
            var annotations: SchemaAnnotations? = nil
            silently { evaluation in
                for (i, child) in schemas.enumerated() {
                    var branch: SchemaAnnotations? = local == nil ? nil : SchemaAnnotations()
                    if evaluation.evaluate(child, instance, &branch) {
                        passing.append(i)
                        annotations = branch
                        if passing.count > 1 { break }
                    }
                }
            }
            if passing.count == 1 {
                if let annotations { local?.merge(annotations) }
                return true
            }
            guard isRecording else { return false }
            if passing.isEmpty {
                explainAlternatives(node, "oneOf", schemas, instance)
            } else {
                report(
                    node, "oneOf",
                    "expected the value to match exactly one schema in oneOf, "
                        + "but it matches schemas \(passing[0]) and \(passing[1])")
            }
            return false
        case .not(let child):
            var none: SchemaAnnotations? = nil
            let matched = silently { $0.evaluate(child, instance, &none) }
            if !matched { return true }
            return fail(node, "not", "expected the value not to match the schema in not")
        case .conditional(let ifNode, let thenNode, let elseNode):
            let holds = silently { $0.evaluate(ifNode, instance, &local) }
            guard let branch = holds ? thenNode : elseNode else { return true }
            return evaluate(branch, instance, &local)
        }
    }

    private mutating func follow(
        _ target: Int, _ node: SchemaNode, _ keyword: String, _ instance: JSON, _ local: inout SchemaAnnotations?
    ) -> Bool {
        let visit = ActiveReference(node: target, depth: path.count)
        guard activeReferences.insert(visit).inserted else {
            return fail(node, keyword, "the schema refers to itself here without validating anything in between")
        }
        defer { activeReferences.remove(visit) }
        return evaluate(target, instance, &local)
    }

    /// Why no branch of `anyOf`/`oneOf` matched. A branch whose `type`, `const` or `enum` rejects
    /// this very value was not what the caller meant; among the rest, the branch with the fewest
    /// `const`/`enum` failures on direct properties (discriminators such as `"kind"`) is. When
    /// exactly one branch is closest, its own violations say what to fix; otherwise one summary.
    private mutating func explainAlternatives(
        _ node: SchemaNode, _ keyword: String, _ schemas: [Int], _ instance: JSON
    ) {
        let here = instancePointer
        var best: (score: Int, violations: [SchemaViolation])? = nil
        var tied = false
        for child in schemas {
            var none: SchemaAnnotations? = nil
            let (_, found) = withRecording(true) { $0.evaluate(child, instance, &none) }
            let rejectedOutright =
                found.isEmpty
                || found.contains {
                    $0.instancePointer == here && ["type", "const", "enum", "false"].contains($0.keyword)
                }
            if rejectedOutright { continue }
            let score = found.filter { violation in
                guard ["const", "enum"].contains(violation.keyword),
                    violation.instancePointer.hasPrefix(here + "/")
                else { return false }
                return !violation.instancePointer.dropFirst(here.count + 1).contains("/")
            }.count
            if let current = best, current.score <= score {
                if current.score == score { tied = true }
                continue
            }
            best = (score, found)
            tied = false
        }
        if let best, !tied {
            violations.append(contentsOf: best.violations)
            return
        }
        let expectation = keyword == "oneOf" ? "exactly one" : "at least one"
        report(
            node, keyword, "expected the value to match \(expectation) of the \(schemas.count) schemas in \(keyword)")
    }

    // MARK: Reporting

    private var instancePointer: String {
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
    private mutating func fail(_ node: SchemaNode, _ keyword: String, _ message: @autoclosure () -> String) -> Bool {
        if isRecording { report(node, keyword, message()) }
        return false
    }

    /// As `fail`, with ", found <value>" after the message.
    private mutating func fail(
        _ node: SchemaNode, _ keyword: String, _ message: @autoclosure () -> String, found value: JSON
    ) -> Bool {
        if isRecording { report(node, keyword, message() + ", found " + Self.describe(value)) }
        return false
    }

    private mutating func report(_ node: SchemaNode, _ keyword: String, _ message: String) {
        violations.append(
            SchemaViolation(
                instancePointer: instancePointer, keyword: keyword,
                schemaPointer: node.location + "/" + keyword, message: message))
    }

    private mutating func reportFalseSchema(_ node: SchemaNode, _ context: FalseSchemaContext) {
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
    private func keys(of members: [String: JSON]) -> [String] {
        isRecording ? members.keys.sorted() : Array(members.keys)
    }

    private static func plural(_ n: Int, _ noun: String) -> String {
        if n == 1 { return "1 \(noun)" }
        return noun.hasSuffix("y") ? "\(n) \(noun.dropLast())ies" : "\(n) \(noun)s"
    }

    /// "string", "integer", "number"... with "an object"/"an array" kept short.
    private static func kind(of value: JSON) -> String { value.typeName }

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

    /// The first pair of equal items (JSON Schema equality: 1 equals 1.0), if any.
    private static func duplicate(in items: [JSON]) -> (Int, Int)? {
        if items.count < 2 { return nil }
        // Strings are the common case (ids, tags) and can use a hash set.
        if items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
            // Keyed by UTF-8 bytes: String hashing would merge canonically equivalent strings.
            var seen: [[UInt8]: Int] = [:]
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else { continue }
                let bytes = Array(s.utf8)
                if let first = seen[bytes] { return (first, i) }
                seen[bytes] = i
            }
            return nil
        }
        for i in items.indices {
            for j in items.indices where j > i && SchemaEquality.equal(items[i], items[j]) { return (i, j) }
        }
        return nil
    }
}
