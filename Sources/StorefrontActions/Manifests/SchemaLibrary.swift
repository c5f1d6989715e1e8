import Foundation
import JSON
import JSONSchema
import StorefrontDomain

/// The JSON Schemas under `schemas/`, compiled once and shared.
public final class SchemaLibrary: @unchecked Sendable {
    public let directory: URL
    let lock = NSLock()
    var compiled: [String: JSONSchema] = [:]
    private var documents: [String: JSON] = [:]

    public init(directory: URL) {
        self.directory = directory
    }

    /// The schema document `name` (for example `catalog.schema.json`) as JSON.
    public func document(_ name: String) throws -> JSON {
        lock.lock()
        defer { lock.unlock() }
        if let doc = documents[name] { return doc }
        let url = directory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ManifestError(file: name, pointer: "", message: "schema file missing from \(directory.path)")
        }
        let doc: JSON
        do {
            doc = try JSON.parse(bytes: [UInt8](data), maxDepth: 128)
        } catch let error as JSONParseError {
            throw ManifestError(file: name, pointer: "", message: "not valid JSON: \(error)")
        }
        documents[name] = doc
        return doc
    }

    /// The compiled schema `name`; formats (uri, email, date-time) are asserted.
    public func schema(_ name: String) throws -> JSONSchema {
        if let schema = (lock.withLock { compiled[name] }) { return schema }
        let doc = try document(name)
        let schema: JSONSchema
        do {
            schema = try JSONSchema(doc, assertFormats: true)
        } catch {
            throw ManifestError(file: name, pointer: "", message: "not a usable JSON Schema: \(error)")
        }
        lock.withLock { compiled[name] = schema }
        return schema
    }

    /// Every schema file's name.
    public func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.sorted()
    }
}

extension SchemaLibrary {
    /// The schema `name` made self-contained: references into `actions/common.schema.json`
    /// become local `#/$defs/...` with the definitions copied in, so MCP clients and OpenAPI
    /// tools that resolve no external references can use it.
    public func bundled(_ name: String) throws -> JSON {
        let common = try document("actions/common.schema.json")["$defs"]?.objectValue ?? [:]
        var needed: [String] = []
        func rewrite(_ value: JSON) -> JSON {
            switch value {
            case .object(var members):
                if let ref = members["$ref"]?.stringValue {
                    for prefix in ["common.schema.json#/$defs/", "https://storefront.dev/schemas/actions/common.schema.json#/$defs/"]
                    where ref.hasPrefix(prefix) {
                        let def = String(ref.dropFirst(prefix.count))
                        if !needed.contains(def) { needed.append(def) }
                        members["$ref"] = .string("#/$defs/" + def)
                    }
                    if ref.hasPrefix("#/$defs/") {
                        let def = String(ref.dropFirst("#/$defs/".count))
                        if common[def] != nil && !needed.contains(def) { needed.append(def) }
                    }
                }
                for (key, member) in members where key != "$ref" { members[key] = rewrite(member) }
                return .object(members)
            case .array(let items): return .array(items.map(rewrite))
            default: return value
            }
        }
        guard case .object(var root) = rewrite(try document(name)) else { return try document(name) }
        root["$id"] = nil
        var defs = root["$defs"]?.objectValue ?? [:]
        var index = 0
        while index < needed.count {
            let def = needed[index]
            index += 1
            if defs[def] == nil, let definition = common[def] { defs[def] = rewrite(definition) }
        }
        if !defs.isEmpty { root["$defs"] = .object(defs) }
        return .object(root)
    }

    /// A validator compiled from the bundled form of `name`.
    public func bundledSchema(_ name: String) throws -> JSONSchema {
        let key = "bundled:" + name
        if let schema = (lock.withLock { compiled[key] }) { return schema }
        let schema = try JSONSchema(try bundled(name), assertFormats: true)
        lock.withLock { compiled[key] = schema }
        return schema
    }
}
