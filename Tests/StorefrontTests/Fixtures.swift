import Foundation
import JSON
import Store
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore

enum Fixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let manifests = repository.appendingPathComponent("manifests")
    static let schemas = SchemaLibrary(directory: repository.appendingPathComponent("schemas"))

    static func demoStore() throws -> StoreManifests {
        try StoreManifests.load(from: manifests, schemas: schemas)
    }

    static func temporaryStore() throws -> Database {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("core-\(UUID().uuidString).db").path
        return try Database(path: path, migrations: StoreMigrations.all)
    }

    /// A copy of the demo manifests with one file's JSON changed by `edit`.
    static func brokenCopy(_ file: String, _ edit: (inout [String: JSON]) -> Void) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("manifests-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: manifests, to: folder)
        let url = folder.appendingPathComponent(file)
        var json = try JSON.parse(bytes: [UInt8](Data(contentsOf: url))).objectValue!
        edit(&json)
        try Data(JSON.object(json).prettyPrinted()).write(to: url)
        return folder
    }

    static func gateway(rateLimits: RateLimitPolicy = .defaults) throws -> Gateway {
        var configuration = GatewayConfiguration(publicURL: "http://shop.test")
        configuration.rateLimits = rateLimits
        return try Gateway(configuration: configuration, manifests: demoStore(), database: temporaryStore(), schemas: schemas)
    }
}
