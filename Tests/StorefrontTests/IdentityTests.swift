import Crypto
import Foundation
import JSON
import StorefrontApp
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// The parts of issue 16 that are decisions rather than wiring: which addresses a fetch for a
/// caller may reach, which redirect URIs match, how `Signature-Agent` names an origin, what of a
/// key directory is believed, and the OAuth store's one-time codes and rotating refresh tokens.
@Suite struct IdentityTests {
    @Test func internalAddressesAreNeverFetched() {
        for address in [[127, 0, 0, 1], [10, 1, 2, 3], [172, 16, 0, 1], [172, 31, 255, 255], [192, 168, 1, 1], [169, 254, 169, 254],
                         [0, 0, 0, 0], [100, 64, 0, 1], [224, 0, 0, 1], [255, 255, 255, 255]] as [[UInt8]] {
            #expect(BoundedFetch.isInternal(ipv4: address), "\(address)")
        }
        for address in [[8, 8, 8, 8], [172, 32, 0, 1], [192, 169, 0, 1], [1, 1, 1, 1], [100, 128, 0, 1]] as [[UInt8]] {
            #expect(!BoundedFetch.isInternal(ipv4: address), "\(address)")
        }
        #expect(BoundedFetch.refusedAddress(host: "127.0.0.1", port: 443) != nil)
        #expect(BoundedFetch.refusedAddress(host: "localhost", port: 443) != nil)
        #expect(BoundedFetch.refusedAddress(host: "::1", port: 443) != nil)
        #expect(BoundedFetch.refusedAddress(host: "::ffff:10.0.0.1", port: 443) != nil)
    }

    @Test func redirectURIsMatchExactlyExceptALoopbackPort() {
        #expect(Gateway.redirectMatches(registered: "https://a.example/cb", presented: "https://a.example/cb"))
        #expect(!Gateway.redirectMatches(registered: "https://a.example/cb", presented: "https://a.example/cb/"))
        #expect(!Gateway.redirectMatches(registered: "https://a.example/cb", presented: "https://a.example:8443/cb"))
        #expect(Gateway.redirectMatches(registered: "http://127.0.0.1:5000/cb", presented: "http://127.0.0.1:61234/cb"))
        #expect(!Gateway.redirectMatches(registered: "http://127.0.0.1:5000/cb", presented: "http://127.0.0.1:61234/other"))
        #expect(!Gateway.redirectMatches(registered: "http://localhost:5000/cb", presented: "http://127.0.0.1:5000/cb"))
        #expect(Gateway.acceptableRedirect("com.example.app:/oauth"))
        #expect(Gateway.acceptableRedirect("http://[::1]:8080/cb"))
        #expect(!Gateway.acceptableRedirect("http://example.com/cb"))
        #expect(!Gateway.acceptableRedirect("javascript:alert(1)"))
        #expect(!Gateway.acceptableRedirect("myapp:/cb"))  // a private-use scheme is a reverse domain name
        #expect(!Gateway.acceptableRedirect("https://a.example/cb#x"))
    }

    @Test func signatureAgentNamesAnOriginInEitherForm() {
        #expect(KeyDirectories.agentOrigin("\"https://Bot.Example/\"", label: "sig1") == "https://bot.example")
        #expect(KeyDirectories.agentOrigin("sig1=\"https://bot.example:8443\"", label: "sig1") == "https://bot.example:8443")
        #expect(KeyDirectories.agentOrigin("sig2=\"https://other.example\", sig1=\"https://bot.example\"", label: "sig1") == "https://bot.example")
        #expect(KeyDirectories.agentOrigin("sig2=\"https://other.example\"", label: "sig1") == nil)
        #expect(KeyDirectories.agentOrigin("\"ftp://bot.example\"", label: "sig1") == nil)
        #expect(KeyDirectories.agentOrigin("https://bot.example", label: "sig1") == nil)  // not a structured string
    }

    @Test func aDirectoryIsBelievedOnlyWhereItIsWellFormed() throws {
        let key = Curve25519.Signing.PrivateKey()
        let x = Base64URL.encode(key.publicKey.rawRepresentation)
        let jwk: JSON = ["kty": "OKP", "crv": "Ed25519", "x": .string(x)]
        let thumbprint = try #require(jwkThumbprint(jwk))
        func fetched(_ keys: [JSON], type: String = KeyDirectories.mediaType, status: Int = 200, maxAge: Int64? = nil) -> KeyDirectories.Directory {
            KeyDirectories.directory(
                from: .success(BoundedFetch.Fetched(status: status, contentType: type, body: JSON.object(["keys": .array(keys)]).serialized(), maxAge: maxAge)),
                now: 1_000)
        }
        #expect(fetched([jwk]).keys[thumbprint] != nil)
        #expect(fetched([jwk]).until == 1_000 + 3600)
        #expect(fetched([jwk], maxAge: 0).until == 1_001)  // at least a second
        #expect(fetched([jwk], maxAge: 10 * 86_400).until == 1_000 + 86_400)  // at most a day
        #expect(fetched([["kty": "OKP", "crv": "Ed25519", "x": .string(x), "kid": "not-it"]]).keys.isEmpty)
        #expect(fetched([["kty": "OKP", "crv": "Ed25519", "x": .string(x), "nbf": 2_000]]).keys.isEmpty)
        #expect(fetched([["kty": "OKP", "crv": "Ed25519", "x": .string(x), "exp": 999]]).keys.isEmpty)
        #expect(fetched([jwk], type: "text/html").failure != nil)
        #expect(fetched([jwk], status: 302).failure != nil)
        #expect(fetched(Array(repeating: ["kty": "OKP"], count: 40) + [jwk]).keys.isEmpty)  // only the first 32 are read
    }

    @Test func codesAreSpentOnceAndRefreshTokensRotate() throws {
        let gateway = try Fixtures.gateway()
        let oauth = gateway.services.oauth
        let client = OAuthClient(clientID: "sfc_test", name: "Test", redirectURIs: ["https://a.example/cb"], metadata: [:])
        let verifier = String(repeating: "v", count: 50)
        let challenge = Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8))))
        let granted = try oauth.grant(
            principal: "ana@example.com", client: client, scopes: ["orders:read"], redirectURI: "https://a.example/cb",
            codeChallenge: challenge, resource: "http://shop.test", currency: "USD")
        #expect(granted.created)
        func redeem(_ verifier: String) throws -> Result<OAuthTokens, OAuthError> {
            try oauth.redeem(code: granted.code, clientID: "sfc_test", redirectURI: "https://a.example/cb", verifier: verifier,
                             resource: nil, accessLifetime: 60)
        }
        #expect(try redeem(String(repeating: "w", count: 50)).failureCode == "invalid_grant")
        let tokens = try redeem(verifier).get()
        #expect(try oauth.access(tokens.accessToken)?.agentID == granted.agentID)
        #expect(try redeem(verifier).failureCode == "invalid_grant")  // twice: refused, and the first use's tokens revoked
        #expect(try oauth.access(tokens.accessToken) == nil)

        // the same principal and client again: the same agent, a new authorization
        let again = try oauth.grant(
            principal: "ana@example.com", client: client, scopes: ["orders:read", "orders:write"], redirectURI: "https://a.example/cb",
            codeChallenge: challenge, resource: "http://shop.test", currency: "USD")
        #expect(again.agentID == granted.agentID && !again.created)
        let second = try oauth.redeem(
            code: again.code, clientID: "sfc_test", redirectURI: "https://a.example/cb", verifier: verifier, resource: nil, accessLifetime: 60
        ).get()
        let rotated = try oauth.refresh(second.refreshToken, clientID: "sfc_test", scopes: ["orders:read"], resource: nil, accessLifetime: 60).get()
        #expect(rotated.scopes == ["orders:read"])
        #expect(try oauth.refresh(second.refreshToken, clientID: "sfc_test", scopes: nil, resource: nil, accessLifetime: 60).failureCode == "invalid_grant")
        #expect(try oauth.access(rotated.accessToken) == nil)  // the reuse revoked the family
        #expect(try oauth.refresh(rotated.refreshToken, clientID: "sfc_test", scopes: nil, resource: nil, accessLifetime: 60).failureCode == "invalid_grant")
    }

    @Test func ucpScopesStandForTheActionsScopes() {
        #expect(OAuthScopes.effective(["dev.ucp.shopping.order:read"]) == ["dev.ucp.shopping.order:read", "orders:read"])
        #expect(OAuthScopes.effective(["dev.ucp.shopping.checkout:manage"]).isSuperset(of: ["cart:write", "checkout:write"]))
        #expect(OAuthScopes.effective(["orders:read"]) == ["orders:read"])
    }
}

extension Result where Failure == OAuthError {
    var failureCode: String? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}

/// WebAuthn's parts checked on bytes built here as an authenticator builds them.
@Suite struct WebAuthnTests {
    /// A minimal CBOR encoder for the test's own authenticator.
    static func head(_ major: UInt8, _ n: Int) -> [UInt8] {
        n < 24 ? [major << 5 | UInt8(n)] : n < 256 ? [major << 5 | 24, UInt8(n)] : [major << 5 | 25, UInt8(n >> 8), UInt8(n & 0xff)]
    }
    static func int(_ v: Int) -> [UInt8] { v >= 0 ? head(0, v) : head(1, -1 - v) }
    static func bytes(_ b: [UInt8]) -> [UInt8] { head(2, b.count) + b }
    static func text(_ t: String) -> [UInt8] { head(3, t.utf8.count) + Array(t.utf8) }

    @Test func anAttestationAndAnAssertionVerify() throws {
        let key = P256.Signing.PrivateKey()
        let raw = Array(key.publicKey.x963Representation)  // 0x04 ‖ x ‖ y
        let cose = Self.head(5, 5) + Self.int(1) + Self.int(2) + Self.int(3) + Self.int(-7) + Self.int(-1) + Self.int(1)
            + Self.int(-2) + Self.bytes(Array(raw[1..<33])) + Self.int(-3) + Self.bytes(Array(raw[33..<65]))
        let credential = [UInt8](repeating: 7, count: 16)
        let rpHash = Array(SHA256.hash(data: Data("localhost".utf8)))
        let attested = rpHash + [0x45] + [0, 0, 0, 0] + [UInt8](repeating: 0, count: 16) + [0, 16] + credential + cose
        let object = Self.head(5, 3) + Self.text("fmt") + Self.text("none") + Self.text("attStmt") + Self.head(5, 0)
            + Self.text("authData") + Self.bytes(attested)
        var offset = 0
        let decoded = try WebAuthn.decode(object, offset: &offset)
        let data = try WebAuthn.authenticatorData(try #require(decoded[.text("authData")]?.bytes))
        #expect(data.rpIDHash == rpHash && data.userPresent && data.userVerified && data.credentialID == credential)
        let jwk = try WebAuthn.jwk(cose: try #require(data.publicKey))

        let assertion = rpHash + [0x05] + [0, 0, 0, 9]
        let clientData = Array(#"{"type":"webauthn.get","challenge":"abc","origin":"http://localhost:8080"}"#.utf8)
        let message = assertion + Array(SHA256.hash(data: Data(clientData)))
        let signature = Array(try key.signature(for: Data(message)).derRepresentation)
        #expect(WebAuthn.verify(signature: signature, over: message, jwk: jwk))
        #expect(!WebAuthn.verify(signature: signature, over: message + [0], jwk: jwk))
        #expect(try WebAuthn.authenticatorData(assertion).signCount == 9)
        try WebAuthn.checkClientData(clientData, type: "webauthn.get", challenge: "abc", origin: "http://localhost:8080")
        #expect(throws: WebAuthn.Failure.self) {
            try WebAuthn.checkClientData(clientData, type: "webauthn.get", challenge: "abc", origin: "https://evil.example")
        }
        #expect(throws: WebAuthn.Failure.self) {
            try WebAuthn.checkClientData(clientData, type: "webauthn.create", challenge: "abc", origin: "http://localhost:8080")
        }
    }

    @Test func malformedCBORIsRefused() {
        for bad: [UInt8] in [[], [0x5f], [0x59, 0xff, 0xff], [0x9a, 0xff, 0xff, 0xff, 0xff], [0xfb, 0, 0, 0, 0, 0, 0, 0, 0],
                             Array(repeating: 0x81, count: 40) + [0x00], [0xa1, 0x01]] {
            var offset = 0
            #expect(throws: WebAuthn.Failure.self, "\(bad)") { _ = try WebAuthn.decode(bad, offset: &offset) }
        }
        #expect(throws: WebAuthn.Failure.self) { _ = try WebAuthn.authenticatorData([UInt8](repeating: 0, count: 36)) }
        // an RSA (kty 3) key is not taken
        var offset = 0
        let rsa = (try? WebAuthn.decode(Self.head(5, 2) + Self.int(1) + Self.int(3) + Self.int(3) + Self.int(-257), offset: &offset))!
        #expect(throws: WebAuthn.Failure.self) { _ = try WebAuthn.jwk(cose: rsa) }
    }
}
