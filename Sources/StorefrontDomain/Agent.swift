import Crypto
import Foundation
import JSON

/// A registered agent: who it is, whom it acts for, what it may do.
public struct Agent: Sendable, Equatable {
    public var id: String
    public var principal: String
    public var displayName: String
    public var operatorName: String
    public var scopes: Set<String>
    public var active: Bool

    package init(id: String, principal: String, displayName: String, operatorName: String, scopes: Set<String>, active: Bool) {
        self.id = id
        self.principal = principal
        self.displayName = displayName
        self.operatorName = operatorName
        self.scopes = scopes
        self.active = active
    }

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
    /// An OAuth access token, by its SHA-256 (hex).
    case oauthToken(hash: String)
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

    package static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    package static func generate() -> (key: String, prefix: String) {
        let prefix = random(10)
        return ("sk_agent_\(prefix)_\(random(40))", prefix)
    }

    package static func prefix(of key: String) -> String? {
        let parts = key.split(separator: "_")
        guard parts.count == 4, parts[0] == "sk", parts[1] == "agent", parts[2].count == 10 else { return nil }
        return String(parts[2])
    }

    package static func hash(_ key: String) -> [UInt8] { Array(SHA256.hash(data: Data(key.utf8))) }

    /// Compares without an early exit, so timing does not reveal how much matched.
    package static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public JWK.
package func jwkThumbprint(_ jwk: JSON) -> String? {
    guard jwk["kty"] == "OKP", jwk["crv"] == "Ed25519", let x = jwk["x"]?.stringValue,
        let raw = Base64URL.decode(x), raw.count == 32
    else { return nil }
    let canonical = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"\(x)\"}"
    return Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
}
