import Foundation
import Store

/// Where the gateway last served this store's manifests from, kept in the store, so an admin
/// command given only the store file (`--store PATH`) works from any folder.
public enum ServedManifests {
    static let settingKey = "manifests_folder"

    /// Records the absolute path of the manifests folder `serve` loaded.
    public static func record(_ folder: URL, in database: Database) throws {
        let path = folder.standardizedFileURL.path
        try database.write { db in
            try db.run("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [.text(settingKey), .text(path)])
        }
    }

    /// The folder last recorded, or nil when the store has never been served.
    public static func folder(in database: Database) throws -> URL? {
        try database.read { db in
            try db.queryOne("SELECT value FROM settings WHERE key = ?", [.text(settingKey)])?[0].string
        }.map { URL(fileURLWithPath: $0) }
    }
}
