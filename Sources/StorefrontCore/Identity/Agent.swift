import Crypto
import Foundation
import JSON
import Store
import StorefrontDomain

/// A registered agent: who it is, whom it acts for, what it may do.
public struct Agent: Sendable, Equatable {
    public var id: String
    public var principal: String
    public var displayName: String
    public var operatorName: String
    public var scopes: Set<String>
    public var active: Bool

    public static let defaultScopes: Set<String> = ["catalog:read", "cart:write", "checkout:write", "orders:read", "orders:write"]

    public var json: JSON {
        [
            "id": .string(id), "principal": .string(principal), "display_name": .string(displayName),
            "operator": .string(operatorName), "scopes": .array(scopes.sorted().map(JSON.string)),
            "status": .string(active ? "active" : "revoked"),
        ]
    }
}

/// How a request proved who it is.
public enum Credential: Sendable, Equatable {
    /// An API key, by its public prefix.
    case apiKey(prefix: String)
    /// An RFC 9421 signature, by the key's JWK thumbprint.
    case messageSignature(keyID: String)
}

/// An authenticated caller.
public struct Identity: Sendable, Equatable {
    public var agent: Agent
    public var credential: Credential

    package init(agent: Agent, credential: Credential) {
        self.agent = agent
        self.credential = credential
    }
}

/// Why authentication failed: always says what to do instead.
public struct AuthenticationError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String

    package init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// The message alone: this is what a merchant reads on the terminal.
    public var description: String { message }
}

/// Agents and their keys. SQLite implements it; PostgreSQL would implement the same protocol.
public protocol AgentDirectory: Sendable {
    func register(principal: String, displayName: String, operatorName: String, scopes: Set<String>, publicJWK: JSON?,
                  issueAPIKey: Bool, currency: String) throws -> (Agent, apiKey: String?)
    func agent(_ id: String) throws -> Agent?
    func list() throws -> [Agent]
    func authenticate(apiKey: String) throws -> Agent?
    func agent(forKeyThumbprint thumbprint: String) throws -> (Agent, jwk: JSON)?
    func revoke(_ id: String) throws -> Bool
    func rotateKey(_ id: String) throws -> String?
    /// Records a signature nonce; false when it was already used (a replay).
    func useNonce(_ nonce: String, agentID: String, expiresAt: Int64) throws -> Bool
    /// Whether the credential a request used still works (its key and agent not revoked).
    func isActive(_ credential: Credential) throws -> Bool
}

/// API keys: `sk_agent_<prefix>_<secret>`. The prefix finds the key; only a SHA-256 of the
/// whole key is stored, so the key is shown once and never again.
package enum APIKey {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    static func generate() -> (key: String, prefix: String) {
        let prefix = random(10)
        return ("sk_agent_\(prefix)_\(random(40))", prefix)
    }

    package static func prefix(of key: String) -> String? {
        let parts = key.split(separator: "_")
        guard parts.count == 4, parts[0] == "sk", parts[1] == "agent", parts[2].count == 10 else { return nil }
        return String(parts[2])
    }

    static func hash(_ key: String) -> [UInt8] { Array(SHA256.hash(data: Data(key.utf8))) }

    /// Compares without an early exit, so timing does not reveal how much matched.
    package static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public JWK.
func jwkThumbprint(_ jwk: JSON) -> String? {
    guard jwk["kty"] == "OKP", jwk["crv"] == "Ed25519", let x = jwk["x"]?.stringValue,
        let raw = Base64URL.decode(x), raw.count == 32
    else { return nil }
    let canonical = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"\(x)\"}"
    return Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
}

package struct SQLiteAgentDirectory: AgentDirectory {
    let database: Database
    let trail: AuditTrail

    static func agent(from row: Row) -> Agent {
        Agent(
            id: row["id"].string ?? "", principal: row["principal"].string ?? "",
            displayName: row["display_name"].string ?? "", operatorName: row["operator"].string ?? "",
            scopes: Set((row["scopes"].string ?? "").split(separator: " ").map(String.init)),
            active: row["status"].string == "active")
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
            return Self.agent(from: row)
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
            return (Self.agent(from: row), jwk)
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
