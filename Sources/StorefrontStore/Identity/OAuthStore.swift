import Crypto
import Foundation
import JSON
import Store
import StorefrontDomain

/// A client that registered itself (RFC 7591) or published a client ID metadata document.
public struct OAuthClient: Sendable, Equatable {
    public var clientID: String
    public var name: String
    public var redirectURIs: [String]
    /// The metadata as the client sent or published it (RFC 7591 §2).
    public var metadata: JSON

    public init(clientID: String, name: String, redirectURIs: [String], metadata: JSON) {
        self.clientID = clientID
        self.name = name
        self.redirectURIs = redirectURIs
        self.metadata = metadata
    }
}

/// A live access token, as a request presents it.
public struct OAuthAccess: Sendable, Equatable {
    public var agentID: String
    public var clientID: String
    public var scopes: Set<String>
    /// The resource (RFC 8707) the token was issued for: its audience.
    public var resource: String
    public var expiresAt: Int64
    /// The token's SHA-256 (hex): how a credential names it without holding it.
    public var tokenHash: String
}

/// Tokens issued to a client for one authorization.
public struct OAuthTokens: Sendable {
    public var accessToken: String
    public var refreshToken: String
    public var expiresIn: Int64
    public var scopes: Set<String>
    public var resource: String
}

/// Why the token endpoint refuses (RFC 6749 §5.2 error codes).
public struct OAuthError: Error, Sendable, Equatable {
    public var code: String
    public var description: String
    public var status: Int

    public init(_ code: String, _ description: String, status: Int = 400) {
        self.code = code
        self.description = description
        self.status = status
    }
}

/// OAuth's rows: registered clients, the principal's grants (each one an agent acting for that
/// principal through that client), authorization codes, access and refresh tokens, and the
/// principal's page sessions. Secrets are stored as SHA-256 only. A refresh token is used once:
/// using it again (a stolen copy, or the client's own retry) revokes every token of that
/// authorization (OAuth 2.1 §4.3.1).
package struct OAuthStore: Sendable {
    let database: Database
    let trail: AuditTrail

    /// Seconds an authorization code is valid.
    package static let codeLifetime: Int64 = 60
    /// Seconds a refresh token is valid.
    package static let refreshLifetime: Int64 = 30 * 24 * 3600
    /// Registered clients never used that the store keeps at most: beyond it the oldest unused
    /// one goes (and any unused one after a day).
    package static let unusedClientLimit: Int64 = 10_000
    /// Unused clients one address may have registered at once.
    package static let unusedClientsPerAddress: Int64 = 100
    /// Seconds a principal's page session lasts.
    package static let sessionLifetime: Int64 = 8 * 3600

    package init(database: Database, trail: AuditTrail) {
        self.database = database
        self.trail = trail
    }

    static func hash(_ secret: String) -> String { hexString(SHA256.hash(data: Data(secret.utf8))) }

    static func scopeText(_ scopes: Set<String>) -> String { scopes.sorted().joined(separator: " ") }
    static func scopeSet(_ text: String) -> Set<String> { Set(text.split(separator: " ").map(String.init)) }

    // MARK: Clients

    /// Stores a registered client; false when the address that registers it already has as many
    /// unused clients as one address may (a client is used once a principal grants it).
    package func register(_ client: OAuthClient, by address: String, now: Int64 = unixNow()) throws -> Bool {
        try database.write { db in
            // A client registered a day ago and never used is a probe's leftover.
            try db.run("DELETE FROM oauth_clients WHERE last_used_at IS NULL AND created_at < ?", [.integer(now - 24 * 3600)])
            let mine = try db.queryOne(
                "SELECT count(*) FROM oauth_clients WHERE last_used_at IS NULL AND registered_by = ?", [.text(address)])?[0].int ?? 0
            guard mine < Self.unusedClientsPerAddress else { return false }
            // Past the store-wide bound the oldest unused client makes room: no one can fill it for everyone.
            let unused = try db.queryOne("SELECT count(*) FROM oauth_clients WHERE last_used_at IS NULL")?[0].int ?? 0
            if unused >= Self.unusedClientLimit {
                try db.run(
                    """
                    DELETE FROM oauth_clients WHERE client_id IN (
                        SELECT client_id FROM oauth_clients WHERE last_used_at IS NULL ORDER BY created_at, client_id LIMIT ?)
                    """, [.integer(unused - Self.unusedClientLimit + 1)])
            }
            try db.run(
                """
                INSERT INTO oauth_clients (client_id, client_name, redirect_uris, metadata, registered_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [.text(client.clientID), .text(client.name), .text(JSON.array(client.redirectURIs.map(JSON.string)).compactString),
                 .text(client.metadata.compactString), .text(address), .integer(now)])
            return true
        }
    }

    package func client(_ id: String) throws -> OAuthClient? {
        try database.read { db in
            guard let row = try db.queryOne("SELECT * FROM oauth_clients WHERE client_id = ?", [.text(id)]) else { return nil }
            let r = RowDecoder(row, table: "oauth_clients")
            return OAuthClient(
                clientID: try r.text("client_id"), name: try r.text("client_name"),
                redirectURIs: (try r.json("redirect_uris")).arrayValue?.compactMap(\.stringValue) ?? [],
                metadata: try r.json("metadata"))
        }
    }

    // MARK: Grants and codes

    /// The principal grants `scopes` to `client`: the agent acting for them through it is made
    /// (with its wallet) or given the new scopes, and a code for it is issued. Returns the code
    /// and the agent's id.
    package func grant(
        principal: String, client: OAuthClient, scopes: Set<String>, redirectURI: String, codeChallenge: String, resource: String,
        currency: String, now: Int64 = unixNow()
    ) throws -> (code: String, agentID: String, created: Bool) {
        let code = "sf_ac_" + APIKey.random(43)
        let operatorName = URL(string: client.clientID)?.host ?? client.name
        return try database.write { db in
            var agentID = try db.queryOne(
                "SELECT g.agent_id FROM oauth_grants g JOIN agents a ON a.id = g.agent_id WHERE g.principal = ? AND g.client_id = ? AND a.status = 'active'",
                [.text(principal), .text(client.clientID)])?[0].string
            let created = agentID == nil
            if let id = agentID {
                try db.run("UPDATE agents SET scopes = ? WHERE id = ?", [.text(Self.scopeText(scopes)), .text(id)])
                try db.run(
                    "UPDATE oauth_grants SET scopes = ?, updated_at = ? WHERE principal = ? AND client_id = ?",
                    [.text(Self.scopeText(scopes)), .integer(now), .text(principal), .text(client.clientID)])
            } else {
                let id = randomIdentifier(prefix: "agt_")
                agentID = id
                try db.run(
                    "INSERT INTO agents (id, principal, display_name, operator, scopes) VALUES (?, ?, ?, ?, ?)",
                    [.text(id), .text(principal), .text(String(client.name.prefix(200))), .text(String(operatorName.prefix(200))),
                     .text(Self.scopeText(scopes))])
                try db.run("INSERT INTO wallets (agent_id, currency) VALUES (?, ?)", [.text(id), .text(currency)])
                try db.run("DELETE FROM oauth_grants WHERE principal = ? AND client_id = ?", [.text(principal), .text(client.clientID)])
                try db.run(
                    "INSERT INTO oauth_grants (principal, client_id, agent_id, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [.text(principal), .text(client.clientID), .text(id), .text(Self.scopeText(scopes)), .integer(now), .integer(now)])
                try trail.append(
                    TrailEntry(agentID: id, principal: principal, action: "agent.register", target: id, input: ["via": "oauth", "client_id": .string(client.clientID)],
                               outcome: "ok"), in: db)
            }
            try db.run("DELETE FROM oauth_codes WHERE expires_at < ?", [.integer(now - 3600)])
            try db.run(
                """
                INSERT INTO oauth_codes (code_sha256, family, client_id, agent_id, redirect_uri, code_challenge, scopes, resource, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(Self.hash(code)), .text(randomIdentifier(prefix: "oaf_")), .text(client.clientID), .text(agentID!),
                 .text(redirectURI), .text(codeChallenge), .text(Self.scopeText(scopes)), .text(resource), .integer(now + Self.codeLifetime)])
            try db.run("UPDATE oauth_clients SET last_used_at = ? WHERE client_id = ?", [.integer(now), .text(client.clientID)])
            try trail.append(
                TrailEntry(agentID: agentID!, principal: principal, action: "oauth.grant", target: client.clientID, input: ["scopes": .string(Self.scopeText(scopes)), "resource": .string(resource)],
                           outcome: "ok"), in: db)
            return (code, agentID!, created)
        }
    }

    /// Exchanges a code (RFC 6749 §4.1.3 with PKCE, RFC 7636): once, by the client it was
    /// issued to, with the same redirect URI and the verifier of its challenge. A code used
    /// twice revokes what its first use issued.
    package func redeem(
        code: String, clientID: String, redirectURI: String, verifier: String, resource: String?, accessLifetime: Int64,
        now: Int64 = unixNow()
    ) throws -> Result<OAuthTokens, OAuthError> {
        try database.write { db in
            guard let row = try db.queryOne("SELECT * FROM oauth_codes WHERE code_sha256 = ?", [.text(Self.hash(code))]) else {
                return .failure(OAuthError("invalid_grant", "The authorization code is unknown."))
            }
            let r = RowDecoder(row, table: "oauth_codes")
            let family = try r.text("family")
            if r.optionalInt("used_at") != nil {
                try revokeFamily(family, now: now, db: db)
                return .failure(OAuthError("invalid_grant", "The authorization code was already used; what it issued is revoked."))
            }
            guard try r.int("expires_at") >= now else { return .failure(OAuthError("invalid_grant", "The authorization code expired.")) }
            guard try r.text("client_id") == clientID else {
                return .failure(OAuthError("invalid_grant", "The authorization code was issued to another client."))
            }
            guard try r.text("redirect_uri") == redirectURI else {
                return .failure(OAuthError("invalid_grant", "redirect_uri differs from the authorization request's."))
            }
            let challenge = Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8))))
            guard APIKey.equal(Array(challenge.utf8), Array(try r.text("code_challenge").utf8)) else {
                return .failure(OAuthError("invalid_grant", "code_verifier does not match the code_challenge (S256)."))
            }
            let bound = try r.text("resource")
            if let resource, resource != bound {
                return .failure(OAuthError("invalid_target", "resource differs from the one the principal authorized (\(bound))."))
            }
            try db.run("UPDATE oauth_codes SET used_at = ? WHERE code_sha256 = ?", [.integer(now), .text(Self.hash(code))])
            return .success(
                try issue(family: family, clientID: clientID, agentID: try r.text("agent_id"), scopes: Self.scopeSet(try r.text("scopes")),
                          resource: bound, accessLifetime: accessLifetime, now: now, db: db))
        }
    }

    /// Rotates a refresh token (OAuth 2.1 §4.3): the old one is spent, a new pair issued, with
    /// the same or fewer scopes. A spent refresh token presented again revokes its family.
    package func refresh(
        _ token: String, clientID: String, scopes requested: Set<String>?, resource: String?, accessLifetime: Int64,
        now: Int64 = unixNow()
    ) throws -> Result<OAuthTokens, OAuthError> {
        try database.write { db in
            guard let row = try db.queryOne(
                "SELECT t.*, a.status FROM oauth_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.token_sha256 = ? AND t.kind = 'refresh'",
                [.text(Self.hash(token))])
            else { return .failure(OAuthError("invalid_grant", "The refresh token is unknown.")) }
            let r = RowDecoder(row, table: "oauth_tokens")
            let family = try r.text("family")
            guard try r.text("client_id") == clientID else {
                return .failure(OAuthError("invalid_grant", "The refresh token was issued to another client."))
            }
            if r.optionalInt("used_at") != nil {
                try revokeFamily(family, now: now, db: db)
                return .failure(OAuthError("invalid_grant", "The refresh token was already used; every token of this authorization is revoked."))
            }
            guard r.optionalInt("revoked_at") == nil, try r.text("status") == "active" else {
                return .failure(OAuthError("invalid_grant", "The refresh token is revoked."))
            }
            guard try r.int("expires_at") >= now else { return .failure(OAuthError("invalid_grant", "The refresh token expired.")) }
            // At most what the token had, and what the principal grants the agent now.
            let current = Self.scopeSet(try db.queryOne("SELECT scopes FROM agents WHERE id = ?", [.text(try r.text("agent_id"))])?[0].string ?? "")
            let granted = Self.scopeSet(try r.text("scopes")).intersection(current)
            let scopes = requested ?? granted
            guard scopes.isSubset(of: granted) else {
                return .failure(OAuthError("invalid_scope", "A refresh may narrow the scopes, not widen them: granted \(Self.scopeText(granted))."))
            }
            let bound = try r.text("resource")
            if let resource, resource != bound {
                return .failure(OAuthError("invalid_target", "resource differs from the one the principal authorized (\(bound))."))
            }
            try db.run("UPDATE oauth_tokens SET used_at = ? WHERE token_sha256 = ?", [.integer(now), .text(Self.hash(token))])
            return .success(
                try issue(family: family, clientID: clientID, agentID: try r.text("agent_id"), scopes: scopes, resource: bound,
                          accessLifetime: accessLifetime, now: now, db: db))
        }
    }

    private func issue(
        family: String, clientID: String, agentID: String, scopes: Set<String>, resource: String, accessLifetime: Int64, now: Int64,
        db: Connection
    ) throws -> OAuthTokens {
        let access = "sf_at_" + APIKey.random(43)
        let refresh = "sf_rt_" + APIKey.random(43)
        // Tokens past their life (and a day's grace for reuse detection) go as new ones are issued.
        try db.run("DELETE FROM oauth_tokens WHERE expires_at < ?", [.integer(now - 24 * 3600)])
        for (kind, secret, lifetime) in [("access", access, accessLifetime), ("refresh", refresh, Self.refreshLifetime)] {
            try db.run(
                """
                INSERT INTO oauth_tokens (token_sha256, kind, family, client_id, agent_id, scopes, resource, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(Self.hash(secret)), .text(kind), .text(family), .text(clientID), .text(agentID), .text(Self.scopeText(scopes)),
                 .text(resource), .integer(now), .integer(now + lifetime)])
        }
        return OAuthTokens(accessToken: access, refreshToken: refresh, expiresIn: accessLifetime, scopes: scopes, resource: resource)
    }

    private func revokeFamily(_ family: String, now: Int64, db: Connection) throws {
        try db.run("UPDATE oauth_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL", [.integer(now), .text(family)])
    }

    /// RFC 7009: revokes the token (an access token alone; a refresh token with its whole
    /// authorization). Unknown tokens and other clients' tokens change nothing (the answer is
    /// the same, so it reveals nothing).
    package func revoke(_ token: String, clientID: String?, now: Int64 = unixNow()) throws {
        try database.write { db in
            guard let row = try db.queryOne(
                "SELECT kind, family, client_id FROM oauth_tokens WHERE token_sha256 = ?", [.text(Self.hash(token))])
            else { return }
            if let clientID, row["client_id"].string != clientID { return }
            if row["kind"].string == "refresh", let family = row["family"].string {
                try revokeFamily(family, now: now, db: db)
            } else {
                try db.run("UPDATE oauth_tokens SET revoked_at = ? WHERE token_sha256 = ? AND revoked_at IS NULL",
                           [.integer(now), .text(Self.hash(token))])
            }
        }
    }

    /// The live access token `token` stands for: unexpired, unrevoked, its agent active.
    package func access(_ token: String, now: Int64 = unixNow()) throws -> OAuthAccess? {
        let hash = Self.hash(token)
        return try access(hash: hash, now: now)
    }

    package func access(hash: String, now: Int64 = unixNow()) throws -> OAuthAccess? {
        try database.read { db in
            guard let row = try db.queryOne(
                """
                SELECT t.* FROM oauth_tokens t JOIN agents a ON a.id = t.agent_id
                WHERE t.token_sha256 = ? AND t.kind = 'access' AND t.revoked_at IS NULL AND t.expires_at > ? AND a.status = 'active'
                """, [.text(hash), .integer(now)])
            else { return nil }
            let r = RowDecoder(row, table: "oauth_tokens")
            return OAuthAccess(
                agentID: try r.text("agent_id"), clientID: try r.text("client_id"), scopes: Self.scopeSet(try r.text("scopes")),
                resource: try r.text("resource"), expiresAt: try r.int("expires_at"), tokenHash: hash)
        }
    }

    // MARK: The principal's agents

    /// Every agent acting for `principal` through OAuth, newest grant first: (agent id, client id, scopes).
    package func grants(of principal: String) throws -> [(agentID: String, clientID: String, scopes: Set<String>, createdAt: Int64)] {
        try database.read { db in
            try db.query(
                "SELECT agent_id, client_id, scopes, created_at FROM oauth_grants WHERE principal = ? ORDER BY updated_at DESC, agent_id",
                [.text(principal)]
            ).map { row in
                let r = RowDecoder(row, table: "oauth_grants")
                return (try r.text("agent_id"), try r.text("client_id"), Self.scopeSet(try r.text("scopes")), try r.int("created_at"))
            }
        }
    }

    /// Revokes an agent of `principal`'s: the agent, its keys and every token issued to it.
    /// False when the agent is not theirs or already revoked.
    package func revokeAgent(_ agentID: String, principal: String, now: Int64 = unixNow()) throws -> Bool {
        try database.write { db in
            let changed = try db.run(
                "UPDATE agents SET status = 'revoked', revoked_at = ? WHERE id = ? AND principal = ? AND status = 'active'",
                [.text(Timestamp.iso8601(Date(), milliseconds: true)), .text(agentID), .text(principal)])
            guard changed == 1 else { return false }
            try db.run("UPDATE agent_keys SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL",
                       [.text(Timestamp.iso8601(Date(), milliseconds: true)), .text(agentID)])
            try db.run("UPDATE oauth_tokens SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL", [.integer(now), .text(agentID)])
            try trail.append(
                TrailEntry(agentID: agentID, principal: principal, action: "agent.revoke", target: agentID, input: ["by": "principal"],
                           outcome: "ok"), in: db)
            return true
        }
    }

    /// Every agent acting for `principal` (by OAuth or registered with that principal), with
    /// the client it came through and its newest orders.
    package func principalAgents(_ principal: String, ordersEach: Int = 10) throws -> [JSON] {
        try database.read { db in
            try db.query(
                """
                SELECT a.id, a.display_name, a.operator, a.scopes, a.status, a.created_at, g.client_id
                FROM agents a LEFT JOIN oauth_grants g ON g.agent_id = a.id
                WHERE a.principal = ? ORDER BY a.created_at DESC, a.id LIMIT 200
                """, [.text(principal)]
            ).map { row in
                let r = RowDecoder(row, table: "agents")
                let id = try r.text("id")
                let orders = try db.query(
                    "SELECT id, status, total, currency, created_at FROM orders WHERE agent_id = ? ORDER BY created_at DESC, id LIMIT ?",
                    [.text(id), .integer(Int64(ordersEach))]
                ).map { order -> JSON in
                    let o = RowDecoder(order, table: "orders")
                    return [
                        "id": .string(try o.text("id")), "status": .string(try o.text("status")),
                        "total": Money(amount: try o.int("total"), currency: try o.text("currency")).json,
                        "created_at": .string(isoTime(try o.int("created_at"))),
                    ]
                }
                return [
                    "id": .string(id), "display_name": .string(try r.text("display_name")), "operator": .string(try r.text("operator")),
                    "scopes": .array(Self.scopeSet(try r.text("scopes")).sorted().map(JSON.string)),
                    "status": .string(try r.text("status") == "active" ? "active" : "revoked"),
                    "created_at": .string(try r.text("created_at")),
                    "via": r.optionalText("client_id").map { _ in "oauth" } ?? "registration",
                    "client_id": r.optionalText("client_id").map(JSON.string) ?? .null,
                    "orders": .array(orders),
                ]
            }
        }
    }

    // MARK: Passkeys

    /// Passkeys one principal may enrol.
    package static let passkeysPerPrincipal: Int64 = 20

    /// Enrols a passkey for `principal`; false when the credential is enrolled already or the
    /// principal has as many as they may.
    package func addPasskey(principal: String, credentialID: String, publicKey: JSON, signCount: Int64, now: Int64 = unixNow()) throws -> Bool {
        try database.write { db in
            let count = try db.queryOne("SELECT count(*) FROM principal_passkeys WHERE principal = ?", [.text(principal)])?[0].int ?? 0
            guard count < Self.passkeysPerPrincipal else { return false }
            return try db.run(
                """
                INSERT INTO principal_passkeys (credential_id, principal, public_key, sign_count, created_at)
                VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """,
                [.text(credentialID), .text(principal), .text(publicKey.compactString), .integer(signCount), .integer(now)]) == 1
        }
    }

    package func passkey(_ credentialID: String) throws -> (principal: String, publicKey: JSON, signCount: Int64)? {
        try database.read { db in
            guard let row = try db.queryOne("SELECT * FROM principal_passkeys WHERE credential_id = ?", [.text(credentialID)]) else { return nil }
            let r = RowDecoder(row, table: "principal_passkeys")
            return (try r.text("principal"), try r.json("public_key"), try r.int("sign_count"))
        }
    }

    package func passkeys(of principal: String) throws -> [JSON] {
        try database.read { db in
            try db.query(
                "SELECT credential_id, created_at, last_used_at FROM principal_passkeys WHERE principal = ? ORDER BY created_at, credential_id",
                [.text(principal)]
            ).map { row in
                let r = RowDecoder(row, table: "principal_passkeys")
                return [
                    "id": .string(try r.text("credential_id")), "created_at": .string(isoTime(try r.int("created_at"))),
                    "last_used_at": r.optionalInt("last_used_at").map { .string(isoTime($0)) } ?? .null,
                ]
            }
        }
    }

    /// Records a sign-in with a passkey: false when its counter went backwards (a cloned
    /// authenticator: WebAuthn §6.1.1) — counters that stay at zero are authenticators without one.
    package func usePasskey(_ credentialID: String, signCount: Int64, now: Int64 = unixNow()) throws -> Bool {
        try database.write { db in
            guard let stored = try db.queryOne("SELECT sign_count FROM principal_passkeys WHERE credential_id = ?", [.text(credentialID)])?[0].int
            else { return false }
            if stored > 0 || signCount > 0 { guard signCount > stored else { return false } }
            try db.run(
                "UPDATE principal_passkeys SET sign_count = ?, last_used_at = ? WHERE credential_id = ?",
                [.integer(signCount), .integer(now), .text(credentialID)])
            return true
        }
    }

    package func removePasskey(_ credentialID: String, principal: String) throws -> Bool {
        try database.write { db in
            try db.run("DELETE FROM principal_passkeys WHERE credential_id = ? AND principal = ?", [.text(credentialID), .text(principal)]) == 1
        }
    }

    // MARK: Principal sessions

    /// Spends a sign-in link's nonce: false when it was used before.
    package func useLink(_ nonce: String, expiresAt: Int64, now: Int64 = unixNow()) throws -> Bool {
        try database.write { db in
            try db.run("DELETE FROM principal_links_used WHERE expires_at < ?", [.integer(now)])
            return try db.run(
                "INSERT INTO principal_links_used (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [.text(nonce), .integer(expiresAt)]) == 1
        }
    }

    /// Starts a session for `principal`: its id (shown once, kept by the browser in a cookie).
    package func startSession(principal: String, now: Int64 = unixNow()) throws -> (id: String, expiresAt: Int64) {
        let id = "sfp_" + APIKey.random(43)
        let expires = now + Self.sessionLifetime
        try database.write { db in
            try db.run("DELETE FROM principal_sessions WHERE expires_at <= ?", [.integer(now)])
            try db.run(
                "INSERT INTO principal_sessions (id_sha256, principal, created_at, expires_at) VALUES (?, ?, ?, ?)",
                [.text(Self.hash(id)), .text(principal), .integer(now), .integer(expires)])
        }
        return (id, expires)
    }

    package func session(_ id: String, now: Int64 = unixNow()) -> String? {
        guard !id.isEmpty, id.utf8.count <= 128 else { return nil }
        let row = try? database.read { db in
            try db.queryOne("SELECT principal FROM principal_sessions WHERE id_sha256 = ? AND expires_at > ?",
                            [.text(Self.hash(id)), .integer(now)])
        }
        return row.flatMap { $0 }?[0].string
    }

    package func endSession(_ id: String) throws {
        try database.write { db in try db.run("DELETE FROM principal_sessions WHERE id_sha256 = ?", [.text(Self.hash(id))]) }
    }
}
