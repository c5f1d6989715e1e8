import Foundation
import JSON
import Store

/// What `serve` was started with that admin commands need too, kept in the store, so a command
/// given only the store file (`--store PATH`) works from any folder and acts as the gateway
/// would: the manifests folder it serves, and the merchant's webhook endpoints (an order an
/// admin command completes is queued for them, and the running gateway delivers it).
public enum ServedConfiguration {
    static let manifestsKey = "manifests_folder"
    static let webhooksKey = "webhook_urls"
    static let ucpPublicURLKey = "ucp_public_url"
    static let publicURLKey = "public_url"

    /// Records the absolute path of the manifests folder and the webhook URLs `serve` uses, and
    /// the public URL when UCP platforms hear of orders (nil: none do).
    public static func record(
        manifests folder: URL, webhookURLs: [String], ucpPublicURL: String? = nil, publicURL: String? = nil, in database: Database
    ) throws {
        let path = folder.standardizedFileURL.path
        let urls = JSON.array(webhookURLs.map(JSON.string)).compactString
        try database.write { db in
            try db.run("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [.text(manifestsKey), .text(path)])
            try db.run("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [.text(webhooksKey), .text(urls)])
            if let publicURL {
                try db.run(
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [.text(publicURLKey), .text(publicURL)])
            }
            if let ucpPublicURL {
                try db.run(
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [.text(ucpPublicURLKey), .text(ucpPublicURL)])
            } else {
                try db.run("DELETE FROM settings WHERE key = ?", [.text(ucpPublicURLKey)])
            }
        }
    }

    /// The public URL recorded for UCP orders (nil: the gateway serves no UCP platform).
    public static func ucpPublicURL(in database: Database) throws -> String? {
        try setting(ucpPublicURLKey, in: database)
    }

    /// The public URL the gateway last served at (feeds exported from the store link there).
    public static func publicURL(in database: Database) throws -> String? {
        try setting(publicURLKey, in: database)
    }

    /// The manifests folder last recorded, or nil when the store has never been served.
    public static func manifestsFolder(in database: Database) throws -> URL? {
        try setting(manifestsKey, in: database).map { URL(fileURLWithPath: $0) }
    }

    /// The webhook URLs last recorded (none when the store has never been served with any).
    public static func webhookURLs(in database: Database) throws -> [String] {
        guard let text = try setting(webhooksKey, in: database) else { return [] }
        return (try JSON.parse(text)).arrayValue?.compactMap(\.stringValue) ?? []
    }

    static func setting(_ key: String, in database: Database) throws -> String? {
        try database.read { db in
            try db.queryOne("SELECT value FROM settings WHERE key = ?", [.text(key)])?[0].string
        }
    }
}
