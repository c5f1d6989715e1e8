import JSON

/// Turns schema documents into ``SchemaNode``s, resolving every `$ref` once, ahead of validation.
///
/// Compilation runs in two steps per document. A scan walks the subschemas (only where keywords
/// hold schemas, so an `$id` inside `enum` or `const` means nothing) and records the schema
/// resources (`$id`), `$anchor`s and `$dynamicAnchor`s with their locations. Nodes are then built
/// from the root on demand, memoised by location, so a recursive `$ref` becomes an index to a
/// node already being built instead of an endless descent.
final class SchemaCompiler {
    /// A place in a loaded document: the document's index and an RFC 6901 pointer into it.
    struct Location: Hashable {
        var document: Int
        var pointer: String

        func appending(_ token: String) -> Location {
            Location(document: document, pointer: SchemaPointer.appending(token, to: pointer))
        }
    }

    /// A schema resource: a subschema with its own base URI.
    struct Resource {
        var uri: String
        var location: Location
        var dynamicAnchors: [String: Location] = [:]
    }

    private struct AnchorKey: Hashable {
        var resource: Int
        var name: String
    }

    typealias Resolver = (String) throws -> JSON?

    private var documents: [(uri: String, root: JSON)] = []
    private var resources: [Resource] = []
    private var resourceByURI: [String: Int] = [:]
    private var resourceRootedAt: [Location: Int] = [:]
    private var anchors: [AnchorKey: Location] = [:]
    /// Every scanned subschema location and the resource it belongs to.
    private var resourceAt: [Location: Int] = [:]
    private var nodeAt: [Location: Int] = [:]
    private var nodes: [SchemaNode?] = []
    /// `$dynamicAnchor` names some `$dynamicRef` may look up at run time.
    private var dynamicNames: Set<String> = []

    private let assertFormats: Bool
    private let resolver: Resolver?

    init(assertFormats: Bool, resolver: Resolver?) {
        self.assertFormats = assertFormats
        self.resolver = resolver
    }

    func compile(_ root: JSON, baseURI: String?) throws -> CompiledSchema {
        let document = try addDocument(root, uri: SchemaURI(baseURI ?? "").withoutFragment.text)
        let rootNode = try node(at: Location(document: document, pointer: ""))
        // A $dynamicRef may land on any same-named $dynamicAnchor in the dynamic scope, so every
        // such anchor is compiled now; compiling one may load documents with more of them.
        var compiled: Set<Location> = []
        var changed = true
        while changed {
            changed = false
            var r = 0
            while r < resources.count {
                for (name, location) in resources[r].dynamicAnchors
                where dynamicNames.contains(name) && !compiled.contains(location) {
                    compiled.insert(location)
                    _ = try node(at: location)
                    changed = true
                }
                r += 1
            }
        }
        let dynamicAnchors = resources.map { resource in
            resource.dynamicAnchors.compactMapValues { nodeAt[$0] }
        }
        return CompiledSchema(nodes: nodes.map { $0! }, root: rootNode, dynamicAnchors: dynamicAnchors)
    }

    // MARK: Documents, resources and anchors

    private func addDocument(_ root: JSON, uri: String) throws -> Int {
        let document = documents.count
        documents.append((uri, root))
        let location = Location(document: document, pointer: "")
        let resource = try registerResource(uri, at: location)
        try scan(root, at: location, resource: resource)
        return document
    }

    /// Registers `uri` for the subschema at `location`; a second URI for the same place (a
    /// document's retrieval URI and its root `$id`) becomes an alias, and the `$id` the base.
    private func registerResource(_ uri: String, at location: Location) throws -> Int {
        if let existing = resourceByURI[uri] {
            guard resources[existing].location == location else {
                throw JSONSchemaError(
                    code: .invalidIdentifier, schemaPointer: display(location),
                    message: "the schema resource \(uri) is declared more than once")
            }
            return existing
        }
        if let existing = resourceRootedAt[location] {
            resources[existing].uri = uri
            resourceByURI[uri] = existing
            return existing
        }
        let index = resources.count
        resources.append(Resource(uri: uri, location: location))
        resourceByURI[uri] = index
        resourceRootedAt[location] = index
        return index
    }

    /// Records the resources and anchors in the subschema at `location` and everything below it.
    private func scan(_ schema: JSON, at location: Location, resource parent: Int) throws {
        guard case .object(let members) = schema else {
            resourceAt[location] = parent
            return
        }
        var resource = parent
        if let value = members["$id"] {
            guard case .string(let id) = value else {
                throw invalid(location.appending("$id"), "$id must be a string")
            }
            let uri = SchemaURI(resources[parent].uri).resolving(id)
            if let fragment = uri.fragment, !fragment.isEmpty {
                throw JSONSchemaError(
                    code: .invalidIdentifier, schemaPointer: display(location.appending("$id")),
                    message: "$id must not contain a fragment; use $anchor for \"#\(fragment)\"")
            }
            resource = try registerResource(uri.withoutFragment.text, at: location)
        }
        resourceAt[location] = resource
        for keyword in ["$anchor", "$dynamicAnchor"] {
            guard let value = members[keyword] else { continue }
            guard case .string(let name) = value, Self.isAnchorName(name) else {
                throw JSONSchemaError(
                    code: .invalidIdentifier, schemaPointer: display(location.appending(keyword)),
                    message: "\(keyword) must be a plain name: a letter or \"_\", "
                        + "then letters, digits, \"-\", \"_\" or \".\"")
            }
            let key = AnchorKey(resource: resource, name: name)
            if let existing = anchors[key], existing != location {
                throw JSONSchemaError(
                    code: .invalidIdentifier, schemaPointer: display(location.appending(keyword)),
                    message: "the anchor \"\(name)\" is declared more than once in \(resources[resource].uri)")
            }
            anchors[key] = location
            if keyword == "$dynamicAnchor" { resources[resource].dynamicAnchors[name] = location }
        }
        for (keyword, value) in members {
            switch keyword {
            case "additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
                "unevaluatedProperties", "unevaluatedItems", "contentSchema":
                try scan(value, at: location.appending(keyword), resource: resource)
            case "properties", "patternProperties", "dependentSchemas", "$defs":
                guard case .object(let schemas) = value else { continue }
                let container = location.appending(keyword)
                for (name, subschema) in schemas {
                    try scan(subschema, at: container.appending(name), resource: resource)
                }
            case "prefixItems", "allOf", "anyOf", "oneOf":
                guard case .array(let schemas) = value else { continue }
                let container = location.appending(keyword)
                for (index, subschema) in schemas.enumerated() {
                    try scan(subschema, at: container.appending(String(index)), resource: resource)
                }
            default:
                continue
            }
        }
    }

    private static func isAnchorName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII,
            first.properties.isAlphabetic || first == "_"
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
        }
    }

    /// The resource a location belongs to: its own if scanned, else its nearest scanned ancestor's.
    private func enclosingResource(of location: Location) -> Int {
        var pointer = location.pointer
        while true {
            if let resource = resourceAt[Location(document: location.document, pointer: pointer)] { return resource }
            guard let slash = pointer.lastIndex(of: "/") else { break }
            pointer = String(pointer[..<slash])
        }
        return resourceAt[Location(document: location.document, pointer: "")]!
    }

    private func resource(for uri: String, from location: Location) throws -> Int {
        if let resource = resourceByURI[uri] { return resource }
        let document = try resolver?(uri)
        guard let document else {
            throw JSONSchemaError(
                code: .unresolvableReference, schemaPointer: display(location),
                message: "no schema is known for \(uri)")
        }
        let index = try addDocument(document, uri: uri)
        return resourceRootedAt[Location(document: index, pointer: "")]!
    }

    /// What a `$ref` or `$dynamicRef` value points at, and the `$dynamicAnchor` name when the
    /// fragment named one in the target resource.
    private func resolveReference(_ reference: String, at location: Location) throws -> (Location, String?) {
        let base = SchemaURI(resources[enclosingResource(of: location)].uri)
        let target = base.resolving(reference)
        let uri = target.withoutFragment.text
        let resource = try resource(for: uri, from: location)
        let root = resources[resource].location
        let fragment = SchemaURI.percentDecoded(target.fragment ?? "")
        if fragment.isEmpty { return (root, nil) }
        if let tokens = SchemaPointer.tokens(fragment) {
            let pointer = root.pointer + tokens.map { "/" + SchemaPointer.escape($0) }.joined()
            return (Location(document: root.document, pointer: pointer), nil)
        }
        guard let anchored = anchors[AnchorKey(resource: resource, name: fragment)] else {
            throw JSONSchemaError(
                code: .unresolvableReference, schemaPointer: display(location),
                message: "no anchor \"\(fragment)\" in \(uri.isEmpty ? "this schema" : uri)")
        }
        let dynamic = resources[resource].dynamicAnchors[fragment] == anchored ? fragment : nil
        return (anchored, dynamic)
    }

    private func value(at location: Location) -> JSON? {
        guard let tokens = SchemaPointer.tokens(location.pointer) else { return nil }
        return SchemaPointer.resolve(tokens, in: documents[location.document].root)
    }

    /// How a location appears in messages: a bare pointer in the root document, else `uri#pointer`.
    private func display(_ location: Location) -> String {
        location.document == 0 ? location.pointer : documents[location.document].uri + "#" + location.pointer
    }

    private func invalid(_ location: Location, _ message: String) -> JSONSchemaError {
        JSONSchemaError(code: .invalidKeyword, schemaPointer: display(location), message: message)
    }

    // MARK: Nodes

    /// The node for the subschema at `location`, building it (and what it needs) on first use.
    private func node(at location: Location) throws -> Int {
        if let index = nodeAt[location] { return index }
        guard let schema = value(at: location) else {
            throw JSONSchemaError(
                code: .unresolvableReference, schemaPointer: display(location),
                message: "no schema at \(display(location))")
        }
        if resourceAt[location] == nil {
            // A pointer into a place the scan did not visit (an unknown keyword); scan it now so
            // its own $id and anchors count.
            try scan(schema, at: location, resource: enclosingResource(of: location))
        }
        let index = nodes.count
        nodes.append(nil)
        nodeAt[location] = index
        nodes[index] = try build(schema, at: location)
        return index
    }

    private func build(_ schema: JSON, at location: Location) throws -> SchemaNode {
        let resource = resourceAt[location]!
        switch schema {
        case .bool(true):
            return SchemaNode(body: .alwaysValid, location: display(location), resource: resource)
        case .bool(false):
            return SchemaNode(
                body: .neverValid(falseContext(location)), location: display(location), resource: resource)
        case .object(let members):
            let keywords = try compileKeywords(members, at: location)
            let body: SchemaNode.Body = keywords.isEmpty ? .alwaysValid : .keywords(keywords)
            return SchemaNode(body: body, location: display(location), resource: resource)
        default:
            throw invalid(location, "a schema must be an object or a boolean, not \(schema.typeName)")
        }
    }

    private func falseContext(_ location: Location) -> FalseSchemaContext {
        let tokens = SchemaPointer.tokens(location.pointer) ?? []
        let last = tokens.last ?? ""
        let parent = tokens.dropLast().last ?? ""
        switch last {
        case "additionalProperties", "unevaluatedProperties": return .property(keyword: last)
        case "items", "unevaluatedItems": return .item(keyword: last)
        default: break
        }
        switch parent {
        case "properties", "patternProperties": return .property(keyword: parent)
        case "prefixItems": return .item(keyword: parent)
        default: return .anywhere
        }
    }

    // MARK: Keywords

    private func compileKeywords(_ m: [String: JSON], at location: Location) throws -> [SchemaKeyword] {
        var keywords: [SchemaKeyword] = []
        func sub(_ keyword: String) throws -> Int? {
            m[keyword] == nil ? nil : try node(at: location.appending(keyword))
        }
        func subs(_ keyword: String) throws -> [Int]? {
            guard let value = m[keyword] else { return nil }
            guard case .array(let items) = value, !items.isEmpty else {
                throw invalid(location.appending(keyword), "\(keyword) must be a non-empty array of schemas")
            }
            let container = location.appending(keyword)
            return try items.indices.map { try node(at: container.appending(String($0))) }
        }
        func schemaMap(_ keyword: String) throws -> [(String, Int)]? {
            guard let value = m[keyword] else { return nil }
            guard case .object(let members) = value else {
                throw invalid(location.appending(keyword), "\(keyword) must be an object of schemas")
            }
            let container = location.appending(keyword)
            return try members.keys.sorted().map { ($0, try node(at: container.appending($0))) }
        }
        func count(_ keyword: String) throws -> Int? {
            guard let value = m[keyword] else { return nil }
            guard let n = value.intValue, n >= 0, n <= Int64(Int.max) else {
                throw invalid(location.appending(keyword), "\(keyword) must be a non-negative integer")
            }
            return Int(n)
        }
        func number(_ keyword: String) throws -> JSON? {
            guard let value = m[keyword] else { return nil }
            guard value.isNumber else { throw invalid(location.appending(keyword), "\(keyword) must be a number") }
            return value
        }
        func regex(_ source: String, _ at: Location) throws -> SchemaRegex {
            do {
                return try SchemaRegex(source)
            } catch {
                throw JSONSchemaError(
                    code: .invalidPattern, schemaPointer: display(at),
                    message: "\"\(source)\" is not a regular expression this validator understands")
            }
        }
        func strings(_ value: JSON, _ at: Location, _ what: String) throws -> [String] {
            guard case .array(let items) = value else { throw invalid(at, "\(what) must be an array of strings") }
            return try items.map {
                guard case .string(let s) = $0 else { throw invalid(at, "\(what) must be an array of strings") }
                return s
            }
        }

        // References first: they usually carry most of the constraints.
        if let value = m["$ref"] {
            guard case .string(let reference) = value else {
                throw invalid(location.appending("$ref"), "$ref must be a string")
            }
            let (target, _) = try resolveReference(reference, at: location.appending("$ref"))
            keywords.append(.ref(try node(at: target)))
        }
        if let value = m["$dynamicRef"] {
            guard case .string(let reference) = value else {
                throw invalid(location.appending("$dynamicRef"), "$dynamicRef must be a string")
            }
            let (target, anchor) = try resolveReference(reference, at: location.appending("$dynamicRef"))
            if let anchor { dynamicNames.insert(anchor) }
            keywords.append(.dynamicRef(node: try node(at: target), anchor: anchor))
        }

        if let value = m["type"] {
            var types = SchemaTypeSet()
            let names: [JSON]
            if case .array(let list) = value { names = list } else { names = [value] }
            for name in names {
                guard case .string(let s) = name, let type = SchemaTypeSet(name: s) else {
                    throw invalid(
                        location.appending("type"),
                        "type must be one of null, boolean, object, array, number, string, integer, "
                            + "or an array of them")
                }
                types.insert(type)
            }
            keywords.append(.type(types))
        }
        if let value = m["enum"] {
            guard case .array(let options) = value else {
                throw invalid(location.appending("enum"), "enum must be an array")
            }
            keywords.append(.enumeration(options))
        }
        if let value = m["const"] { keywords.append(.constant(value)) }

        if let v = try number("minimum") { keywords.append(.minimum(v)) }
        if let v = try number("maximum") { keywords.append(.maximum(v)) }
        if let v = try number("exclusiveMinimum") { keywords.append(.exclusiveMinimum(v)) }
        if let v = try number("exclusiveMaximum") { keywords.append(.exclusiveMaximum(v)) }
        if let v = try number("multipleOf") {
            guard SchemaNumber.compare(v, .int(0)) == 1 else {
                throw invalid(location.appending("multipleOf"), "multipleOf must be greater than 0")
            }
            keywords.append(.multipleOf(SchemaDecimal(v), v))
        }

        if let n = try count("minLength") { keywords.append(.minLength(n)) }
        if let n = try count("maxLength") { keywords.append(.maxLength(n)) }
        if let value = m["pattern"] {
            guard case .string(let source) = value else {
                throw invalid(location.appending("pattern"), "pattern must be a string")
            }
            keywords.append(.pattern(try regex(source, location.appending("pattern"))))
        }
        if assertFormats, case .string(let name)? = m["format"], let format = SchemaFormat(rawValue: name) {
            keywords.append(.format(format))
        }

        if let n = try count("minProperties") { keywords.append(.minProperties(n)) }
        if let n = try count("maxProperties") { keywords.append(.maxProperties(n)) }
        if let value = m["required"] {
            keywords.append(.required(try strings(value, location.appending("required"), "required")))
        }
        if let value = m["dependentRequired"] {
            guard case .object(let members) = value else {
                throw invalid(location.appending("dependentRequired"), "dependentRequired must be an object")
            }
            let at = location.appending("dependentRequired")
            keywords.append(
                .dependentRequired(
                    try members.keys.sorted().map {
                        ($0, try strings(members[$0]!, at.appending($0), "dependentRequired"))
                    }
                ))
        }
        let properties = try schemaMap("properties")
        if let properties { keywords.append(.properties(properties.map { (name: $0.0, node: $0.1) })) }
        var patterns: [SchemaRegex] = []
        if let patternSchemas = try schemaMap("patternProperties") {
            let container = location.appending("patternProperties")
            let compiled = try patternSchemas.map { (pattern: try regex($0.0, container.appending($0.0)), node: $0.1) }
            patterns = compiled.map(\.pattern)
            keywords.append(.patternProperties(compiled))
        }
        if let node = try sub("additionalProperties") {
            keywords.append(
                .additionalProperties(node: node, declared: Set(properties?.map(\.0) ?? []), patterns: patterns))
        }
        if let node = try sub("propertyNames") { keywords.append(.propertyNames(node)) }
        if let dependent = try schemaMap("dependentSchemas") {
            keywords.append(.dependentSchemas(dependent.map { (property: $0.0, node: $0.1) }))
        }

        if let n = try count("minItems") { keywords.append(.minItems(n)) }
        if let n = try count("maxItems") { keywords.append(.maxItems(n)) }
        if let value = m["uniqueItems"] {
            guard case .bool(let unique) = value else {
                throw invalid(location.appending("uniqueItems"), "uniqueItems must be a boolean")
            }
            if unique { keywords.append(.uniqueItems) }
        }
        let prefix = try subs("prefixItems")
        if let prefix { keywords.append(.prefixItems(prefix)) }
        if let node = try sub("items") { keywords.append(.items(node: node, from: prefix?.count ?? 0)) }
        let minContains = try count("minContains")
        let maxContains = try count("maxContains")
        if let node = try sub("contains") {
            keywords.append(
                .contains(node: node, min: minContains ?? 1, max: maxContains, minIsExplicit: minContains != nil))
        }

        if let all = try subs("allOf") { keywords.append(.allOf(all)) }
        if let any = try subs("anyOf") { keywords.append(.anyOf(any)) }
        if let one = try subs("oneOf") { keywords.append(.oneOf(one)) }
        if let node = try sub("not") { keywords.append(.not(node)) }
        // then and else mean nothing without if, but are still compiled so bad ones are reported.
        let thenNode = try sub("then")
        let elseNode = try sub("else")
        if let ifNode = try sub("if") { keywords.append(.conditional(if: ifNode, then: thenNode, else: elseNode)) }

        // Unused definitions are compiled too, so a broken one is reported now, not when first used.
        _ = try schemaMap("$defs")

        // Last: they depend on what every other keyword here evaluated.
        if let node = try sub("unevaluatedProperties") { keywords.append(.unevaluatedProperties(node)) }
        if let node = try sub("unevaluatedItems") { keywords.append(.unevaluatedItems(node)) }
        return keywords
    }
}
