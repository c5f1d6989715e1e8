import Crypto
import Foundation
import JSON

/// The store's Ed25519 key: signs the capability manifest (a detached JWS), trail checkpoints
/// and trail heads; its public half is published at `/.well-known/jwks.json`. It is kept in
/// its own file (`SigningKeyFile`), not in the store.
public struct StoreSigningKey: @unchecked Sendable {
    let privateKey: Curve25519.Signing.PrivateKey
    /// The RFC 7638 JWK thumbprint (SHA-256 over the required members in canonical order),
    /// computed once: every signed trail head names it.
    public let keyID: String

    public init(rawRepresentation: Data) throws {
        self.init(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation))
    }

    public static func generate() -> StoreSigningKey {
        StoreSigningKey(privateKey: Curve25519.Signing.PrivateKey())
    }

    /// The private JWK (`publicJWK` plus `d`), as the key file holds it.
    public var privateJWK: JSON {
        var jwk = publicJWK.objectValue ?? [:]
        jwk["d"] = .string(Base64URL.encode(privateKey.rawRepresentation))
        return .object(jwk)
    }

    private init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        keyID = Self.thumbprint(privateKey.publicKey)
        es256 = ES256Key(derivedFrom: privateKey)
    }

    /// A P-256 key derived from this one: UCP's baseline algorithm (ES256) for the signatures
    /// platforms verify. Derived, not stored, so every node holding the key file has the same.
    public let es256: ES256Key

    /// The public key as a JWK (RFC 8037), with its thumbprint as `kid`.
    public var publicJWK: JSON {
        [
            "kty": "OKP", "crv": "Ed25519", "x": .string(Base64URL.encode(privateKey.publicKey.rawRepresentation)),
            "kid": .string(keyID), "alg": "EdDSA", "use": "sig",
        ]
    }

    static func thumbprint(_ publicKey: Curve25519.Signing.PublicKey) -> String {
        let x = Base64URL.encode(publicKey.rawRepresentation)
        let canonical = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"\(x)\"}"
        return Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
    }

    public func sign(_ bytes: [UInt8]) throws -> Data {
        try privateKey.signature(for: Data(bytes))
    }

    /// A compact JWS with a detached payload (RFC 7515 Appendix F): `header..signature`.
    /// The signature covers exactly the bytes served, so an agent verifies what it fetched.
    public func detachedJWS(payload: [UInt8], type: String) throws -> String {
        let header: JSON = ["alg": "EdDSA", "kid": .string(keyID), "typ": .string(type)]
        let encodedHeader = Base64URL.encode(header.serialized())
        let signingInput = Array((encodedHeader + "." + Base64URL.encode(payload)).utf8)
        return encodedHeader + ".." + Base64URL.encode(try sign(signingInput))
    }

    /// Verifies a detached JWS made by `detachedJWS` against a public JWK.
    public static func verifyDetachedJWS(_ jws: String, payload: [UInt8], publicJWK: JSON) -> Bool {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].isEmpty, let x = publicJWK["x"]?.stringValue,
            let keyBytes = Base64URL.decode(x), let signature = Base64URL.decode(String(parts[2])),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { return false }
        let signingInput = Data((String(parts[0]) + "." + Base64URL.encode(payload)).utf8)
        return key.isValidSignature(signature, for: signingInput)
    }
}

extension StoreSigningKey {
    /// Verifies a base64url Ed25519 signature with a public JWK.
    public static func verify(signature: String, payload: [UInt8], publicJWK: JSON) -> Bool {
        guard let x = publicJWK["x"]?.stringValue, let keyBytes = Base64URL.decode(x),
            let signatureBytes = Base64URL.decode(signature),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { return false }
        return key.isValidSignature(signatureBytes, for: Data(payload))
    }
}

/// An ECDSA P-256 key (ES256) derived from the store's Ed25519 key with HKDF-SHA256.
public struct ES256Key: @unchecked Sendable {
    let privateKey: P256.Signing.PrivateKey
    public let keyID: String

    init(derivedFrom seed: Curve25519.Signing.PrivateKey) {
        var counter: UInt8 = 0
        while true {
            let material = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: seed.rawRepresentation), salt: Data("storefront".utf8),
                info: Data("ES256 signing key v1".utf8) + Data([counter]), outputByteCount: 32)
            // A scalar at or above the curve's order is refused (odds about 2^-32): derive the next.
            if let key = material.withUnsafeBytes({ try? P256.Signing.PrivateKey(rawRepresentation: Data($0)) }) {
                privateKey = key
                break
            }
            counter &+= 1
        }
        let point = privateKey.publicKey.x963Representation  // 0x04 ‖ X ‖ Y
        let x = Base64URL.encode(point.subdata(in: 1..<33)), y = Base64URL.encode(point.subdata(in: 33..<65))
        let canonical = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"\(x)\",\"y\":\"\(y)\"}"
        keyID = Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
    }

    /// The public key as a JWK (RFC 7518), with its RFC 7638 thumbprint as `kid`.
    public var publicJWK: JSON {
        let point = privateKey.publicKey.x963Representation
        return [
            "kty": "EC", "crv": "P-256", "x": .string(Base64URL.encode(point.subdata(in: 1..<33))),
            "y": .string(Base64URL.encode(point.subdata(in: 33..<65))), "kid": .string(keyID), "alg": "ES256", "use": "sig",
        ]
    }

    /// An ES256 signature: r ‖ s, 64 bytes (not DER), as JWS and RFC 9421 use it.
    public func sign(_ bytes: [UInt8]) throws -> Data {
        try privateKey.signature(for: Data(bytes)).rawRepresentation
    }
}
