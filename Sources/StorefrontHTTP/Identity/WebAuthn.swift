import Crypto
import Foundation
import JSON
import StorefrontDomain

/// The parts of WebAuthn Level 3 a relying party checks, for the principal's passkeys: the CBOR
/// of an attestation object and a COSE key, the authenticator data, the client data, and an
/// ES256 assertion signature. Attestation statements are not judged (the store asks for
/// `attestation: "none"`: it trusts the person who enrols, signed in by their link, not a make
/// of authenticator).
enum WebAuthn {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: CBOR (RFC 8949), the subset WebAuthn uses

    indirect enum CBOR: Equatable {
        case unsigned(UInt64), negative(Int64), bytes([UInt8]), text(String), array([CBOR]), map([(CBOR, CBOR)]), simple(UInt8)

        static func == (a: CBOR, b: CBOR) -> Bool {
            switch (a, b) {
            case (.unsigned(let x), .unsigned(let y)): return x == y
            case (.negative(let x), .negative(let y)): return x == y
            case (.bytes(let x), .bytes(let y)): return x == y
            case (.text(let x), .text(let y)): return x == y
            case (.simple(let x), .simple(let y)): return x == y
            case (.array(let x), .array(let y)): return x == y
            case (.map(let x), .map(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            default: return false
            }
        }

        subscript(key: CBOR) -> CBOR? {
            guard case .map(let pairs) = self else { return nil }
            return pairs.first { $0.0 == key }?.1
        }

        var bytes: [UInt8]? { if case .bytes(let b) = self { return b }; return nil }
        var text: String? { if case .text(let t) = self { return t }; return nil }
        var int: Int64? {
            switch self {
            case .unsigned(let u): return u <= UInt64(Int64.max) ? Int64(u) : nil
            case .negative(let n): return n
            default: return nil
            }
        }
    }

    /// Decodes one CBOR item from `bytes` at `offset` (definite lengths only, 16 levels deep at most).
    static func decode(_ bytes: [UInt8], offset: inout Int, depth: Int = 0) throws -> CBOR {
        guard depth < 16 else { throw Failure("CBOR nested too deeply") }
        guard offset < bytes.count else { throw Failure("CBOR ends early") }
        let initial = bytes[offset]
        offset += 1
        let major = initial >> 5, info = initial & 0x1f
        func argument() throws -> UInt64 {
            switch info {
            case 0..<24: return UInt64(info)
            case 24, 25, 26, 27:
                let size = 1 << Int(info - 24)
                guard offset + size <= bytes.count else { throw Failure("CBOR ends early") }
                var value: UInt64 = 0
                for byte in bytes[offset..<offset + size] { value = value << 8 | UInt64(byte) }
                offset += size
                return value
            default: throw Failure("CBOR indefinite lengths are not used by WebAuthn")
            }
        }
        func length() throws -> Int {
            let n = try argument()
            guard n <= UInt64(bytes.count - offset) || major >= 4 else { throw Failure("CBOR length past the end") }
            guard n <= 1 << 20 else { throw Failure("CBOR item too large") }
            return Int(n)
        }
        switch major {
        case 0: return .unsigned(try argument())
        case 1:
            let n = try argument()
            guard n < UInt64(Int64.max) else { throw Failure("CBOR negative integer out of range") }
            return .negative(-1 - Int64(n))
        case 2:
            let n = try length()
            defer { offset += n }
            return .bytes(Array(bytes[offset..<offset + n]))
        case 3:
            let n = try length()
            defer { offset += n }
            guard let text = String(bytes: bytes[offset..<offset + n], encoding: .utf8) else { throw Failure("CBOR text is not UTF-8") }
            return .text(text)
        case 4:
            let n = try length()
            guard n <= bytes.count - offset else { throw Failure("CBOR array longer than its bytes") }
            return .array(try (0..<n).map { _ in try decode(bytes, offset: &offset, depth: depth + 1) })
        case 5:
            let n = try length()
            guard n * 2 <= bytes.count - offset else { throw Failure("CBOR map longer than its bytes") }
            return .map(try (0..<n).map { _ in (try decode(bytes, offset: &offset, depth: depth + 1), try decode(bytes, offset: &offset, depth: depth + 1)) })
        case 7:
            guard info < 24 else { throw Failure("CBOR floats are not used by WebAuthn") }
            return .simple(info)
        default:
            throw Failure("CBOR tags are not used by WebAuthn")
        }
    }

    // MARK: Authenticator data (WebAuthn §6.1)

    struct AuthenticatorData {
        var rpIDHash: [UInt8]
        var userPresent: Bool
        var userVerified: Bool
        var signCount: UInt32
        /// With an attestation: the credential's id and its COSE public key.
        var credentialID: [UInt8]?
        var publicKey: CBOR?
    }

    static func authenticatorData(_ data: [UInt8]) throws -> AuthenticatorData {
        guard data.count >= 37 else { throw Failure("authenticator data is shorter than 37 bytes") }
        let flags = data[32]
        let count = data[33..<37].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var parsed = AuthenticatorData(
            rpIDHash: Array(data[0..<32]), userPresent: flags & 0x01 != 0, userVerified: flags & 0x04 != 0, signCount: count)
        if flags & 0x40 != 0 {
            guard data.count >= 55 else { throw Failure("attested credential data is cut short") }
            let length = Int(data[53]) << 8 | Int(data[54])
            guard length >= 16, length <= 1023, 55 + length <= data.count else { throw Failure("the credential id's length is wrong") }
            parsed.credentialID = Array(data[55..<55 + length])
            var offset = 55 + length
            parsed.publicKey = try decode(data, offset: &offset)
        }
        return parsed
    }

    // MARK: Keys (COSE, RFC 9053)

    /// An ES256 COSE key (kty 2, alg -7, crv 1) as a JWK.
    static func jwk(cose: CBOR) throws -> JSON {
        guard cose[.unsigned(1)]?.int == 2, cose[.unsigned(3)]?.int == -7, cose[.negative(-1)]?.int == 1,
            let x = cose[.negative(-2)]?.bytes, let y = cose[.negative(-3)]?.bytes, x.count == 32, y.count == 32,
            (try? P256.Signing.PublicKey(x963Representation: Data([0x04] + x + y))) != nil
        else { throw Failure("the passkey's key is not an ES256 (P-256) key") }
        return ["kty": "EC", "crv": "P-256", "x": .string(Base64URL.encode(Data(x))), "y": .string(Base64URL.encode(Data(y)))]
    }

    static func verify(signature der: [UInt8], over message: [UInt8], jwk: JSON) -> Bool {
        guard let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode), let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode),
            let key = try? P256.Signing.PublicKey(x963Representation: Data([0x04]) + x + y),
            let signature = try? P256.Signing.ECDSASignature(derRepresentation: Data(der))
        else { return false }
        return key.isValidSignature(signature, for: Data(message))
    }

    // MARK: Client data (WebAuthn §5.8.1)

    /// Checks the client data of a ceremony: its type, that it answers `challenge`, and that the
    /// page that asked is this store's (`origin`).
    static func checkClientData(_ raw: [UInt8], type: String, challenge: String, origin: String) throws {
        guard let client = try? JSON.parse(bytes: raw) else { throw Failure("clientDataJSON is not JSON") }
        guard client["type"]?.stringValue == type else { throw Failure("clientDataJSON.type is not \(type)") }
        guard client["challenge"]?.stringValue == challenge else { throw Failure("clientDataJSON answers another challenge") }
        guard client["origin"]?.stringValue == origin else {
            throw Failure("the ceremony ran on \(client["origin"]?.stringValue ?? "no origin"), not \(origin)")
        }
        if client["crossOrigin"]?.boolValue == true { throw Failure("the ceremony ran in a cross-origin frame") }
    }
}
