import Foundation
import JSON

@testable import CatalogFeeds

/// Fixtures sit beside the tests, found from this file's path (no bundle resources).
func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

func fixture(_ name: String) throws -> ByteSource { try ByteSource(path: fixturePath(name)) }

/// The demo catalog of the repository.
func demoCatalogPath() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("manifests/catalog.json").path
}

/// An importer run to its end: products by id, and the rejections as (row, field) pairs.
struct Imported {
    var products: [JSON] = []
    var rejections: [FeedRejection] = []
    var byID: [String: JSON] {
        Dictionary(products.map { ($0["id"]!.stringValue!, $0) }, uniquingKeysWith: { a, _ in a })
    }
    var rejected: [String] { rejections.map { "\($0.row) \($0.field)" } }
}

func run<I: FeedImporter>(_ importer: I) -> Imported {
    var result = Imported()
    var iterator = importer
    while let item = iterator.next() {
        switch item {
        case .product(let json): result.products.append(json)
        case .rejected(let r): result.rejections.append(r)
        }
    }
    return result
}
