import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// ACP's request signatures (`Signature` + `Timestamp`). ACP leaves the algorithm to be published
/// out of band ("client SHOULD sign requests over canonical JSON with an accompanying Timestamp");
/// this store publishes its own in `/agents` (`authentication.methods`, type
/// `acp_request_signature`) and checks it for every platform the merchant onboarded with a
/// `request_signing` entry in `--acp-platforms`:
///
/// - signed content: `Timestamp + "\n" + METHOD + "\n" + path + "\n" + Idempotency-Key + "\n" +
///   RFC 8785 canonical JSON of the body` (empty for a GET's key and for no body), so a signature
///   cannot be moved to another time, route, key or body;
/// - `{"alg": "hmac-sha256"}` with the platform's shared `secret`, `{"alg": "ed25519", "public_key":
///   <OKP JWK>}` or `{"alg": "es256", "public_key": <P-256 JWK>}` (raw r ‖ s);
/// - `Signature` is base64url (padding optional); `Timestamp` RFC 3339 within 5 minutes of now;
/// - a POST's signature is accepted once (kept in memory for the window), so a captured request
///   cannot be replayed (a GET may be repeated: reading again changes nothing).
struct ACPSignature {
    static let window: Int64 = 300

    let configuration: JSON
    let secret: String?

    /// The platform's signing settings, if it signs.
    init?(platform: JSON) {
        guard let signing = platform["request_signing"], signing.objectValue != nil else { return nil }
        configuration = signing
        secret = platform["secret"]?.stringValue
    }

    static func content(_ request: Request, timestamp: String) -> [UInt8] {
        var body: [UInt8] = []
        if !request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }), let parsed = try? JSON.parse(bytes: request.body) {
            body = parsed.canonicalized()
        }
        let key = request.headers["Idempotency-Key"] ?? ""
        return Array("\(timestamp)\n\(request.method.uppercased())\n\(request.rawPath)\n\(key)\n".utf8) + body
    }

    /// Nil when the request is signed as configured; else what is wrong (for a 401).
    func problem(_ request: Request, seen: BoundedMemo<String, Int64>, now: Int64 = unixNow()) -> String? {
        guard let timestamp = request.headers["Timestamp"], let signature = request.headers["Signature"], !signature.isEmpty else {
            return "This platform signs its requests: send Signature and Timestamp (see authentication.methods in /agents)."
        }
        guard let time = UCP.seconds(timestamp), abs(time - now) <= Self.window else {
            return "Timestamp must be an RFC 3339 time within \(Self.window) seconds of now."
        }
        guard signature.utf8.count <= 1024, let raw = Base64URL.decode(signature.replacingOccurrences(of: "=", with: "")) else {
            return "Signature is base64url."
        }
        let message = Data(Self.content(request, timestamp: timestamp))
        let valid: Bool
        switch configuration["alg"]?.stringValue?.lowercased() {
        case "hmac-sha256":
            guard let secret, !secret.isEmpty else { return "The store has no shared secret for this platform." }
            let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8))))
            valid = APIKey.equal(Array(raw), expected)
        case "ed25519":
            guard let x = configuration["public_key"]?["x"]?.stringValue.flatMap(Base64URL.decode),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x)
            else { return "The store has no usable Ed25519 key for this platform." }
            valid = key.isValidSignature(raw, for: message)
        case "es256":
            guard let jwk = configuration["public_key"], let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode),
                let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode),
                let key = try? P256.Signing.PublicKey(x963Representation: Data([0x04]) + x + y)
            else { return "The store has no usable ES256 key for this platform." }
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { return "An ES256 Signature is r ‖ s, 64 bytes." }
            valid = key.isValidSignature(ecdsa, for: message)
        default:
            return "The store's request_signing for this platform names no known alg (hmac-sha256, ed25519, es256)."
        }
        guard valid else { return "The Signature does not verify over Timestamp, method, path, Idempotency-Key and the canonical body." }
        guard request.method == "POST" else { return nil }
        let replayed: Bool = ACPSignature.lock.withLock {
            if let until = seen[signature], until >= now { return true }
            seen.insert(signature, now + Self.window)
            return false
        }
        return replayed ? "This Signature was already used; sign each request anew." : nil
    }

    static let lock = NSLock()
}
