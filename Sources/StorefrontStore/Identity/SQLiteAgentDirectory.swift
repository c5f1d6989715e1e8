import Crypto
import Foundation
import JSON
import Store
import StorefrontDomain

/// Agents and their API keys as rows of the store; registrations, revocations and key rotations
/// are trail entries.
package struct SQLiteAgentDirectory: AgentDirectory {
    let database: Database
    let trail: AuditTrail

    package init(database: Database, trail: AuditTrail) {
        self.database = database
        self.trail = trail
    }

    /// The principal an agent acts for, read in a transaction.
    package static func principal(of agentID: String, db: Connection) throws -> String? {
        try db.queryOne("SELECT principal FROM agents WHERE id = ?", [.text(agentID)])?[0].string
    }

    static func agent(from row: Row) throws -> Agent {
        let r = RowDecoder(row, table: "agents")
        let status = try r.text("status")
        return Agent(
            id: try r.text("id"), principal: try r.text("principal"), displayName: try r.text("display_name"),
            operatorName: try r.text("operator"), scopes: Set(try r.text("scopes").split(separator: " ").map(String.init)),
            active: status == "active")
    }

    package func register(principal: String, displayName: String, operatorName: String, scopes: Set<String>, publicJWK: JSON?,
                  issueAPIKey: Bool, currency: String) throws -> (Agent, apiKey: String?) {
        let id = randomIdentifier(prefix: "agt_")
        let key = issueAPIKey ? APIKey.generate() : nil
        let thumbprint = try publicJWK.map { jwk -> String in
            guard let t = jwkThumbprint(jwk) else {
                throw AuthenticationError(code: "invalid_public_key", message: "public_key must be an Ed25519 JWK: {\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"<base64url>\"}.")
            }
            return t
        }
        let agent = Agent(id: id, principal: principal, displayName: displayName, operatorName: operatorName, scopes: scopes, active: true)
        try database.write { db in
            try db.run(
                "INSERT INTO agents (id, principal, display_name, operator, scopes) VALUES (?, ?, ?, ?, ?)",
                [.text(id), .text(principal), .text(displayName), .text(operatorName), .text(scopes.sorted().joined(separator: " "))])
            if let key {
                try db.run(
                    "INSERT INTO agent_keys (agent_id, kind, prefix, secret_hash) VALUES (?, 'api_key', ?, ?)",
                    [.text(id), .text(key.prefix), .blob(APIKey.hash(key.key))])
            }
            if let publicJWK, let thumbprint {
                try db.run(
                    "INSERT INTO agent_keys (agent_id, kind, thumbprint, public_jwk) VALUES (?, 'jwk', ?, ?)",
                    [.text(id), .text(thumbprint), .text(publicJWK.compactString)])
            }
            try db.run("INSERT INTO wallets (agent_id, currency) VALUES (?, ?)", [.text(id), .text(currency)])
            try trail.append(
                TrailEntry(agentID: id, principal: principal, action: "agent.register", target: id, outcome: "ok"), in: db)
        }
        return (agent, key?.key)
    }

    package func agent(_ id: String) throws -> Agent? {
        try database.read { try $0.queryOne("SELECT * FROM agents WHERE id = ?", [.text(id)]).map(Self.agent(from:)) }
    }

    package func list() throws -> [Agent] {
        try database.read { try $0.query("SELECT * FROM agents ORDER BY created_at, id").map(Self.agent(from:)) }
    }

    package func authenticate(apiKey: String) throws -> Agent? {
        guard let prefix = APIKey.prefix(of: apiKey) else { return nil }
        return try database.read { db in
            guard let row = try db.queryOne(
                """
                SELECT a.*, k.secret_hash FROM agent_keys k JOIN agents a ON a.id = k.agent_id
                WHERE k.prefix = ? AND k.revoked_at IS NULL AND a.status = 'active'
                """, [.text(prefix)]),
                let stored = row["secret_hash"].bytes, APIKey.equal(stored, APIKey.hash(apiKey))
            else { return nil }
            return try Self.agent(from: row)
        }
    }

    package func agent(forKeyThumbprint thumbprint: String) throws -> (Agent, jwk: JSON)? {
        try database.read { db in
            guard let row = try db.queryOne(
                """
                SELECT a.*, k.public_jwk FROM agent_keys k JOIN agents a ON a.id = k.agent_id
                WHERE k.thumbprint = ? AND k.revoked_at IS NULL AND a.status = 'active'
                """, [.text(thumbprint)]),
                let text = row["public_jwk"].string, let jwk = try? JSON.parse(text)
            else { return nil }
            return (try Self.agent(from: row), jwk)
        }
    }

    package func revoke(_ id: String) throws -> Bool {
        try database.write { db in
            let changed = try db.run(
                "UPDATE agents SET status = 'revoked', revoked_at = ? WHERE id = ? AND status = 'active'",
                [.text(Timestamp.iso8601(Date(), milliseconds: true)), .text(id)])
            guard changed == 1 else { return false }
            try db.run(
                "UPDATE agent_keys SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL",
                [.text(Timestamp.iso8601(Date(), milliseconds: true)), .text(id)])
            try trail.append(TrailEntry(agentID: id, action: "agent.revoke", target: id, outcome: "ok"), in: db)
            return true
        }
    }

    package func rotateKey(_ id: String) throws -> String? {
        let key = APIKey.generate()
        return try database.write { db in
            guard try db.queryOne("SELECT 1 FROM agents WHERE id = ? AND status = 'active'", [.text(id)]) != nil else { return nil }
            try db.run(
                "UPDATE agent_keys SET revoked_at = ? WHERE agent_id = ? AND kind = 'api_key' AND revoked_at IS NULL",
                [.text(Timestamp.iso8601(Date(), milliseconds: true)), .text(id)])
            try db.run(
                "INSERT INTO agent_keys (agent_id, kind, prefix, secret_hash) VALUES (?, 'api_key', ?, ?)",
                [.text(id), .text(key.prefix), .blob(APIKey.hash(key.key))])
            try trail.append(TrailEntry(agentID: id, action: "agent.rotate_key", target: id, outcome: "ok"), in: db)
            return key.key
        }
    }

    package func isActive(_ credential: Credential) throws -> Bool {
        let (column, value): (String, String)
        switch credential {
        case .apiKey(let prefix): (column, value) = ("prefix", prefix)
        case .messageSignature(let keyID): (column, value) = ("thumbprint", keyID)
        case .oauthToken(let hash):
            return try database.read { db in
                try db.queryOne(
                    """
                    SELECT 1 FROM oauth_tokens t JOIN agents a ON a.id = t.agent_id
                    WHERE t.token_sha256 = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND a.status = 'active'
                    """, [.text(hash), .integer(unixNow())]) != nil
            }
        }
        return try database.read { db in
            try db.queryOne(
                "SELECT 1 FROM agent_keys k JOIN agents a ON a.id = k.agent_id WHERE k.\(column) = ? AND k.revoked_at IS NULL AND a.status = 'active'",
                [.text(value)]) != nil
        }
    }

    package func useNonce(_ nonce: String, agentID: String, expiresAt: Int64) throws -> Bool {
        try database.write { db in
            try db.run("DELETE FROM signature_nonces WHERE expires_at < ?", [.integer(Int64(Date().timeIntervalSince1970))])
            return try db.run(
                "INSERT INTO signature_nonces (nonce, agent_id, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(nonce), .text(agentID), .integer(expiresAt)]) == 1
        }
    }
}
