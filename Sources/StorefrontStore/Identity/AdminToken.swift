import Crypto
import Foundation
import Store
import StorefrontDomain

/// The merchant's admin token: created on first start and printed once, or read from a file;
/// only its SHA-256 is stored.
public enum AdminToken {
    static let settingKey = "admin_token_sha256"

    static func hash(_ token: String) -> String {
        hexString(SHA256.hash(data: Data(token.utf8)))
    }

    /// Ensures an admin token exists. Returns the new token when one was generated (to print
    /// once), nil when the store already had one or `fromFile` supplied it.
    public static func ensure(in database: Database, fromFile: String?) throws -> String? {
        if let fromFile {
            guard let text = try? String(contentsOfFile: fromFile, encoding: .utf8) else {
                throw AuthenticationError(code: "admin_token_file", message: "Cannot read the admin token file \(fromFile).")
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.count >= 24 else {
                throw AuthenticationError(code: "admin_token_file", message: "The admin token in \(fromFile) must be at least 24 characters.")
            }
            try database.write { db in
                try db.run("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [.text(settingKey), .text(hash(token))])
            }
            return nil
        }
        let token = "sf_admin_" + APIKey.random(40)
        let created = try database.write { db -> Bool in
            try db.run("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING", [.text(settingKey), .text(hash(token))]) == 1
        }
        return created ? token : nil
    }

    public static func verify(_ token: String, in database: Database) -> Bool {
        guard let stored = try? database.read({ try $0.queryOne("SELECT value FROM settings WHERE key = ?", [.text(settingKey)]) })?[0].string
        else { return false }
        return APIKey.equal(Array(stored.utf8), Array(hash(token).utf8))
    }
}
