import JSON

/// The applicators: keywords that apply subschemas to the instance or to its members.
extension SchemaEvaluation {
    /// Each declared property present in the object, against its schema.
    mutating func properties(
        _ schemas: [(name: String, node: Int)], _ instance: JSON, _ local: inout SchemaAnnotations?
    ) -> Bool {
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
    }

    /// Each property whose name matches a pattern, against that pattern's schema.
    mutating func patternProperties(
        _ schemas: [(pattern: SchemaRegex, node: Int)], _ instance: JSON, _ local: inout SchemaAnnotations?
    ) -> Bool {
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
    }

    /// Properties neither declared nor matched by a pattern.
    mutating func additionalProperties(
        _ child: Int, _ declared: Set<String>, _ patterns: [SchemaRegex], _ instance: JSON,
        _ local: inout SchemaAnnotations?
    ) -> Bool {
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
    }

    /// Every property name, as a string.
    mutating func propertyNames(_ child: Int, _ instance: JSON) -> Bool {
        guard case .object(let members) = instance else { return true }
        var ok = true
        for name in keys(of: members) where !evaluate(child, child: .key(name), .string(name)) {
            ok = false
            if !isRecording { return false }
        }
        return ok
    }

    /// The whole object against each schema whose property is present.
    mutating func dependentSchemas(
        _ schemas: [(property: String, node: Int)], _ instance: JSON, _ local: inout SchemaAnnotations?
    ) -> Bool {
        guard case .object(let members) = instance else { return true }
        var ok = true
        for (property, child) in schemas where members[property] != nil {
            if !evaluate(child, instance, &local) {
                ok = false
                if !isRecording { return false }
            }
        }
        return ok
    }

    /// Properties no other keyword here (or in a passing in-place subschema) evaluated.
    mutating func unevaluatedProperties(_ child: Int, _ instance: JSON, _ local: inout SchemaAnnotations?) -> Bool {
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
    }

    /// Items by position.
    mutating func prefixItems(_ schemas: [Int], _ instance: JSON, _ local: inout SchemaAnnotations?) -> Bool {
        guard case .array(let items) = instance else { return true }
        var ok = true
        for (i, child) in zip(items.indices, schemas) where !evaluate(child, child: .index(i), items[i]) {
            ok = false
            if !isRecording { return false }
        }
        if let prefix = local?.itemPrefix { local?.itemPrefix = max(prefix, min(items.count, schemas.count)) }
        return ok
    }

    /// Items after those `prefixItems` covers.
    mutating func items(_ child: Int, from start: Int, _ instance: JSON, _ local: inout SchemaAnnotations?) -> Bool {
        guard case .array(let items) = instance else { return true }
        var ok = true
        for i in items.indices.dropFirst(start) where !evaluate(child, child: .index(i), items[i]) {
            ok = false
            if !isRecording { return false }
        }
        local?.allItems = true
        return ok
    }

    /// How many items match, against `minContains`/`maxContains`. An item that does not match is
    /// not a violation in itself, so the item checks run silently.
    mutating func contains(
        _ child: Int, min minimum: Int, max maximum: Int?, minIsExplicit: Bool, _ node: SchemaNode, _ instance: JSON,
        _ local: inout SchemaAnnotations?
    ) -> Bool {
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
    }

    /// Items no other keyword here (or in a passing in-place subschema) evaluated.
    mutating func unevaluatedItems(_ child: Int, _ instance: JSON, _ local: inout SchemaAnnotations?) -> Bool {
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
    }

    /// `$dynamicRef`: the static target, unless it was found through a `$dynamicAnchor`; then the
    /// outermost resource in the dynamic scope that declares the same anchor wins.
    mutating func dynamicRef(
        _ target: Int, anchor: String?, _ node: SchemaNode, _ instance: JSON, _ local: inout SchemaAnnotations?
    ) -> Bool {
        var resolved = target
        if let anchor {
            for resource in scope {
                if let found = program.dynamicAnchors[resource][anchor] {
                    resolved = found
                    break
                }
            }
        }
        return follow(resolved, node, "$dynamicRef", instance, &local)
    }

    mutating func allOf(_ schemas: [Int], _ instance: JSON, _ local: inout SchemaAnnotations?) -> Bool {
        var ok = true
        for child in schemas where !evaluate(child, instance, &local) {
            ok = false
            if !isRecording { return false }
        }
        return ok
    }

    /// Every branch runs when annotations are wanted: each passing branch contributes.
    mutating func anyOf(_ schemas: [Int], _ node: SchemaNode, _ instance: JSON, _ local: inout SchemaAnnotations?)
        -> Bool
    {
        var passed = false
        silently { evaluation in
            for child in schemas where evaluation.evaluate(child, instance, &local) {
                passed = true
                if local == nil { break }
            }
        }
        if !passed, isRecording { explainAlternatives(node, "anyOf", schemas, instance) }
        return passed
    }

    mutating func oneOf(_ schemas: [Int], _ node: SchemaNode, _ instance: JSON, _ local: inout SchemaAnnotations?)
        -> Bool
    {
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
    }

    mutating func not(_ child: Int, _ node: SchemaNode, _ instance: JSON) -> Bool {
        var none: SchemaAnnotations? = nil
        let matched = silently { $0.evaluate(child, instance, &none) }
        if !matched { return true }
        return fail(node, "not", "expected the value not to match the schema in not")
    }

    /// `if`/`then`/`else`: `if` only picks the branch, so its failures are not reported.
    mutating func conditional(
        if ifNode: Int, then thenNode: Int?, else elseNode: Int?, _ instance: JSON, _ local: inout SchemaAnnotations?
    ) -> Bool {
        let holds = silently { $0.evaluate(ifNode, instance, &local) }
        guard let branch = holds ? thenNode : elseNode else { return true }
        return evaluate(branch, instance, &local)
    }

    mutating func follow(
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
    mutating func explainAlternatives(
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
}
