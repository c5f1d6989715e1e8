import Foundation
import JSON
import Testing

@testable import StorefrontCore

@Suite("The store's signing key")
struct SigningTests {
    @Test("a detached JWS verifies against the published JWK, and not after one byte changes")
    func detachedJWS() throws {
        let key = StoreSigningKey.generate()
        let payload = Array("{\"a\":1}".utf8)
        let jws = try key.detachedJWS(payload: payload, type: "test")
        #expect(jws.contains(".."))
        #expect(StoreSigningKey.verifyDetachedJWS(jws, payload: payload, publicJWK: key.publicJWK))
        #expect(!StoreSigningKey.verifyDetachedJWS(jws, payload: Array("{\"a\":2}".utf8), publicJWK: key.publicJWK))
        #expect(!StoreSigningKey.verifyDetachedJWS(jws, payload: payload, publicJWK: StoreSigningKey.generate().publicJWK))
    }

    @Test("the key id is the RFC 7638 thumbprint")
    func thumbprint() throws {
        // RFC 8037 Appendix A.3's example key and thumbprint.
        let raw = Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")!
        let key = try StoreSigningKey(rawRepresentation: raw)
        #expect(key.publicJWK["x"]?.stringValue == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        #expect(key.keyID == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    }

    @Test("the key is generated once and kept in the store")
    func persisted() throws {
        let db = try Fixtures.temporaryStore()
        let first = try StoreSigningKey.loadOrCreate(in: db)
        let second = try StoreSigningKey.loadOrCreate(in: db)
        #expect(first.keyID == second.keyID)
        db.close()
    }
}
