import CatalogFeeds
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
        let catalogURL = directory.appendingPathComponent("catalog.json")
        let catalogSize = ((try? FileManager.default.attributesOfItem(atPath: catalogURL.path))?[.size] as? NSNumber)?.int64Value ?? 0
        let streamed = catalogSize > streamedCatalogBytes
        for (file, schemaName) in files where !(streamed && file == "catalog.json") {
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
        if streamed {
            // Too large to hold: checked a category and a product at a time, then read again to import.
            guard problems.isEmpty, let store = documents["store.json"], let pricing = documents["pricing.json"],
                let policies = documents["policies.json"]
            else { throw ManifestValidationError(directory: directory.path, problems: problems) }
            var manifests = StoreManifests(
                directory: directory, store: store, catalogDocument: [:], catalog: try Catalog(json: ["categories": [], "products": []]),
                pricing: pricing, policies: policies)
            try StreamedCatalogCheck(manifests: manifests, schemas: schemas).run(catalogURL, into: &manifests)
            return manifests
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

/// catalog.json checked as a stream (``StoreManifests/streamedCatalogBytes``): each category and
/// product against the catalog schema's own definitions, with the pointer it has in the file,
/// and the references ``ProductReferences`` checks; at most ``maxProblems`` are listed.
struct StreamedCatalogCheck {
    let manifests: StoreManifests
    let category: JSONSchema
    let product: JSONSchema
    static let maxProblems = 1000

    init(manifests: StoreManifests, schemas: SchemaLibrary) throws {
        self.manifests = manifests
        let document = try schemas.document("catalog.schema.json")
        func definition(_ name: String) throws -> JSONSchema {
            try JSONSchema(
                ["$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": document["$defs"] ?? [:], "$ref": .string("#/$defs/\(name)")],
                assertFormats: true)
        }
        category = try definition("category")
        product = try definition("product")
    }

    func run(_ url: URL, into manifests: inout StoreManifests) throws {
        var problems: [ManifestError] = []
        func note(_ problem: ManifestError) { if problems.count < Self.maxProblems { problems.append(problem) } }
        var references = ProductReferences(manifests: manifests)
        var categories: [Category] = []
        var products = 0
        var seen: Set<String> = []
        let stream = JSONArrayStream(source: try ByteSource(path: url.path), members: ["categories", "products"])
        do {
            while let element = try stream.next() {
                guard let member = element.member else { continue }
                seen.insert(member)
                let at = "/\(member)/\(element.index - 1)"
                let json: JSON
                switch element.bytes {
                case .failure(let error):
                    note(ManifestError(file: "catalog.json", pointer: at, message: error.description))
                    continue
                case .success(let bytes):
                    do {
                        json = try JSON.parse(bytes: bytes, maxDepth: 64)
                    } catch {
                        note(ManifestError(file: "catalog.json", pointer: at, message: "not valid JSON: \(error)"))
                        continue
                    }
                }
                let violations = (member == "categories" ? category : product).validate(json)
                for violation in violations { note(ManifestError(file: "catalog.json", pointer: at + violation.instancePointer, message: violation.message)) }
                guard violations.isEmpty else { continue }
                if member == "categories" {
                    if let declared = Category(json: json) { categories.append(declared) }
                } else if let declared = try? Product(json: json) {
                    products += 1
                    references.check(declared, at: element.index - 1).forEach(note)
                }
            }
        } catch {
            note(ManifestError(file: "catalog.json", pointer: "", message: "not valid JSON: \(error)"))
        }
        for member in ["categories", "products"] where !seen.contains(member) && problems.isEmpty {
            note(ManifestError(file: "catalog.json", pointer: "", message: "missing required property \"\(member)\""))
        }
        references.unknownCategories(declared: Set(categories.map(\.id))).forEach(note)
        manifests.catalog = try Catalog(json: ["categories": .array(categories.map { ["id": .string($0.id), "name": .string($0.name), "description": .string($0.description)] }), "products": []])
        manifests.liveCatalog = manifests.catalog
        manifests.catalogFile = url
        manifests.declaredProductCount = products
        manifests.streamedProductIDs = references.productIDs
        if problems.isEmpty { problems = manifests.crossReferenceProblems() }
        guard problems.isEmpty else { throw ManifestValidationError(directory: manifests.directory.path, problems: problems) }
    }
}
