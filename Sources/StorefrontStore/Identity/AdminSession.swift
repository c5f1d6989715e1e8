import Crypto
import Foundation
import Store
import StorefrontDomain

/// The merchant dashboard's sign-in: the admin token is sent once (`POST /admin/api/session`)
/// and exchanged for a random session id held in an HttpOnly, SameSite=Strict cookie, so the
/// token never appears in a URL, a log line or the page's script.
///
/// Only the SHA-256 of a session id is stored, with the hash of the admin token it was issued
/// under: a store file that leaks gives no usable cookie, and a new admin token ends every older
/// session. Sessions expire `lifetime` seconds after sign-in.
///
/// State-changing calls authenticated by the cookie must also carry the session's CSRF token in
/// `X-CSRF-Token`; it is an HMAC of the session id, so nothing more is stored and only a page
/// that could read the sign-in answer (same origin) knows it.
public enum AdminSession {
    /// The cookie's name.
    public static let cookieName = "sf_admin_session"
    /// The header state-changing cookie calls carry the CSRF token in.
    public static let csrfHeader = "X-CSRF-Token"
    /// Seconds a session lasts after sign-in (12 hours).
    public static let lifetime: Int64 = 12 * 3600

    /// A signed-in session as the sign-in answer shows it.
    public struct Issued: Sendable {
        public var id: String
        public var csrfToken: String
        public var expiresAt: Int64
    }

    static func hash(_ value: String) -> String {
        hexString(SHA256.hash(data: Data(value.utf8)))
    }

    /// The CSRF token of session `id`: HMAC-SHA256(id, "storefront admin csrf"), base64url.
    public static func csrfToken(for id: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("storefront admin csrf".utf8), using: SymmetricKey(data: Data(id.utf8)))
        return Base64URL.encode(Data(mac))
    }

    /// Starts a session for a caller that presented `adminToken` (already verified).
    public static func create(adminToken: String, in database: Database, now: Int64 = Int64(Date().timeIntervalSince1970))
        throws -> Issued
    {
        let id = "sfs_" + APIKey.random(43)
        let expires = now + lifetime
        try database.write { db in
            try db.run(
                "INSERT INTO admin_sessions (id_sha256, token_sha256, created_at, expires_at) VALUES (?, ?, ?, ?)",
                [.text(hash(id)), .text(AdminToken.hash(adminToken)), .integer(now), .integer(expires)])
            // Expired sessions go as new ones arrive, so the table holds only live ones.
            try db.run("DELETE FROM admin_sessions WHERE expires_at <= ?", [.integer(now)])
        }
        return Issued(id: id, csrfToken: csrfToken(for: id), expiresAt: expires)
    }

    /// The expiry of session `id` when it is live and was issued under the current admin token.
    public static func lookup(_ id: String, in database: Database, now: Int64 = Int64(Date().timeIntervalSince1970)) -> Int64? {
        guard !id.isEmpty, id.utf8.count <= 128 else { return nil }
        let row = try? database.read { db in
            try db.queryOne(
                """
                SELECT s.expires_at FROM admin_sessions s JOIN settings t ON t.key = ? AND t.value = s.token_sha256
                WHERE s.id_sha256 = ? AND s.expires_at > ?
                """,
                [.text(AdminToken.settingKey), .text(hash(id)), .integer(now)])
        }
        return row.flatMap { $0 }?[0].int
    }

    /// Ends session `id` (sign-out).
    public static func delete(_ id: String, in database: Database) throws {
        try database.write { db in
            try db.run("DELETE FROM admin_sessions WHERE id_sha256 = ?", [.text(hash(id))])
        }
    }

    /// Whether `presented` is session `id`'s CSRF token (compared in constant time).
    public static func csrfMatches(_ presented: String?, sessionID id: String) -> Bool {
        guard let presented else { return false }
        return APIKey.equal(Array(presented.utf8), Array(csrfToken(for: id).utf8))
    }

    /// The session id in a request's `Cookie` header(s), if any.
    public static func cookie(in headers: [String]) -> String? {
        for header in headers {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == cookieName {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// The `Set-Cookie` value that hands session `id` to the browser (`Secure` when served over
    /// https), or that clears it when `id` is nil.
    public static func setCookie(_ id: String?, secure: Bool, maxAge: Int64 = lifetime) -> String {
        let attributes = "Path=/admin; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
        guard let id else { return "\(cookieName)=; \(attributes); Max-Age=0" }
        return "\(cookieName)=\(id); \(attributes); Max-Age=\(maxAge)"
    }
}
