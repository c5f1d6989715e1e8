import CatalogFeeds
import Crypto
import Foundation
import JSON
import Store
import StorefrontDomain
import StorefrontStore

/// The store is the catalog's record; `manifests/catalog.json` is where it starts. At start the
/// file is imported when it is not the one imported last (compared by size and modification
/// time, then by digest): its products are upserted (their stock only seeded for SKUs the store
/// does not know, so a restart never restocks what was sold), and products it declared before
/// and no longer does are removed. Products added through the admin API or a feed are not the
/// manifest's and are left alone.
public enum CatalogSync {
    /// Imports catalog.json when it changed since the last import; returns what it did (nil
    /// when nothing was to do).
    @discardableResult
    package static func importManifestIfChanged(_ manifests: StoreManifests, database: Database) throws -> CatalogChangeReport? {
        let file = manifests.directory.appendingPathComponent("catalog.json")
        let attributes = try? FileManager.default.attributesOfItem(atPath: file.path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let quick = "\(size) \(Int64(modified * 1000))"
        let editor = CatalogEditor(database: database)
        let previous = try editor.manifestStamp()
        if let previous, previous.hasPrefix(quick + " ") { return nil }
        let digest = try fileDigest(file)
        let stamp = quick + " " + digest
        if let previous, previous.hasSuffix(" " + digest) {
            // The same bytes (a copy, a touch): remember the new stamp only.
            _ = try editor.importFeed(origin: "manifest", replace: false, stock: .seedMissing, manifestStamp: stamp, categories: { [] }, next: { nil })
            return nil
        }
        let categories = manifests.catalog.categories
        if manifests.catalogFile != nil {
            // Validated as a stream at load; read again, a product at a time, into the store.
            let stream = JSONArrayStream(source: try ByteSource(path: file.path), members: ["products"])
            return try editor.importFeed(
                origin: "manifest", replace: true, stock: .seedMissing, manifestStamp: stamp, categories: { categories },
                next: {
                    while let element = try stream.next() {
                        guard case .success(let bytes) = element.bytes else { continue }
                        return try Product(json: try JSON.parse(bytes: bytes, maxDepth: 64))
                    }
                    return nil
                })
        }
        let products = manifests.catalog.products
        let cursor = Cursor()
        return try editor.importFeed(
            origin: "manifest", replace: true, stock: .seedMissing, manifestStamp: stamp, categories: { categories },
            next: {
                guard cursor.index < products.count else { return nil }
                defer { cursor.index += 1 }
                return products[cursor.index]
            })
    }

    private final class Cursor: @unchecked Sendable {
        var index = 0
    }

    /// SHA-256 of a file, read in 1 MiB pieces.
    static func fileDigest(_ url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
