import JSON

/// The assertions: keywords that judge the instance itself and never apply a subschema, so
/// their stack frame stays off the recursion path.
extension SchemaEvaluation {
    mutating func assertion(_ keyword: SchemaKeyword, _ node: SchemaNode, _ instance: JSON) -> Bool {
        switch keyword {
        case .type(let types):
            if types.contains(typeOf: instance) { return true }
            return fail(node, "type", "expected \(types.description), found \(instance.typeName)")

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
        default:
            return true
        }
    }

    /// The first pair of equal items (JSON Schema equality: 1 equals 1.0), if any.
    static func duplicate(in items: [JSON]) -> (Int, Int)? {
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
