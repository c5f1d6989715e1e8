import Foundation
import JSON

/// The JSON Schemas under `schemas/`, compiled once and shared.
public final class SchemaLibrary: @unchecked Sendable {
    public let directory: URL
    private let lock = NSLock()
    private var compiled: [String: JSONSchema] = [:]
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
