import Foundation
import JSON
import JSONSchema
import StorefrontDomain

extension StoreManifests {
    /// Loads and validates a folder. Throws `ManifestValidationError` listing every problem.
    public static func load(from directory: URL, schemas: SchemaLibrary) throws -> StoreManifests {
        var problems: [ManifestError] = []
        var documents: [String: JSON] = [:]
        /// Every file that parsed, valid or not: cross-references are still checked against them.
        var parsed: [String: JSON] = [:]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw ManifestValidationError(
                directory: directory.path,
                problems: [ManifestError(file: directory.lastPathComponent, pointer: "", message: "no such folder")])
        }
        for (file, schemaName) in files {
            let url = directory.appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                problems.append(ManifestError(file: file, pointer: "", message: "file is missing"))
                continue
            }
            let document: JSON
            do {
                document = try JSON.parse(bytes: [UInt8](data), maxDepth: 64)
            } catch let error as JSONParseError {
                problems.append(ManifestError(file: file, pointer: "", message: "not valid JSON: \(error)"))
                continue
            }
            parsed[file] = document
            do {
                let schema = try schemas.schema(schemaName)
                let violations = schema.validate(document)
                problems.append(
                    contentsOf: violations.map {
                        ManifestError(file: file, pointer: $0.instancePointer, message: $0.message)
                    })
                if violations.isEmpty { documents[file] = document }
            } catch let error as ManifestError {
                problems.append(error)
            }
        }
        guard problems.isEmpty, let store = documents["store.json"], let catalogDocument = documents["catalog.json"],
            let pricing = documents["pricing.json"], let policies = documents["policies.json"]
        else {
            // A schema problem does not hide a broken reference: when the catalog itself is valid,
            // the references between files are checked too (against whatever the others hold), so
            // the merchant sees every problem in one pass.
            if let catalogDocument = documents["catalog.json"], let catalog = try? Catalog(json: catalogDocument) {
                let partial = StoreManifests(
                    directory: directory, store: parsed["store.json"] ?? [:], catalogDocument: catalogDocument,
                    catalog: catalog, pricing: parsed["pricing.json"] ?? [:], policies: parsed["policies.json"] ?? [:])
                for problem in partial.crossReferenceProblems() where !problems.contains(problem) {
                    problems.append(problem)
                }
            }
            throw ManifestValidationError(directory: directory.path, problems: problems)
        }
        let catalog = try Catalog(json: catalogDocument)
        let manifests = StoreManifests(
            directory: directory, store: store, catalogDocument: catalogDocument, catalog: catalog, pricing: pricing,
            policies: policies)
        problems = manifests.crossReferenceProblems()
        guard problems.isEmpty else { throw ManifestValidationError(directory: directory.path, problems: problems) }
        return manifests
    }
}
