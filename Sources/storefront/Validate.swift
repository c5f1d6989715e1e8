import ArgumentParser
import Foundation
import StorefrontActions
import StorefrontDomain
import StorefrontStore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a manifests folder against the schemas without serving it.")

    @Argument(help: "The manifests folder to check.")
    var directory: String = "manifests"

    @Option(help: "The JSON Schemas folder (default: ./schemas or the one shipped beside the binary).")
    var schemas: String?

    func run() throws {
        let library = try ProjectFolder.schemas(schemas)
        do {
            let manifests = try StoreManifests.load(from: URL(fileURLWithPath: directory), schemas: library)
            print(
                "\(directory): valid — \(manifests.storeName), \(manifests.declaredProductCount) products in "
                    + "\(manifests.catalog.categories.count) categories")
        } catch let error as ManifestValidationError {
            print(error, to: &standardError)
            throw ExitCode(65)
        } catch let error as ManifestError {
            print(error, to: &standardError)
            throw ExitCode(65)
        }
    }
}
