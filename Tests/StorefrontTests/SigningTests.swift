import Foundation
import JSON
@testable import StorefrontActions
import StorefrontApp
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

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

    @Test("the key is generated once, kept in its own 0600 file, never in the store")
    func persisted() throws {
        let db = try Fixtures.temporaryStore()
        defer { db.close() }
        let path = db.path + ".key"
        let first = try SigningKeyFile.loadOrCreate(path: path, database: db)
        let second = try SigningKeyFile.loadOrCreate(path: path, database: db)
        #expect(first.keyID == second.keyID)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        #expect(try db.read { try $0.queryOne("SELECT count(*) FROM signing_keys")?[0].int } == 0)
    }

    @Test("a key an older version kept in the store moves to the file and leaves the store")
    func migrated() throws {
        let db = try Fixtures.temporaryStore()
        defer { db.close() }
        let legacy = StoreSigningKey.generate()
        try db.write { c in
            try c.run(
                "INSERT INTO signing_keys (kid, algorithm, private_key) VALUES (?, 'EdDSA', ?)",
                [.text(legacy.keyID), .blob([UInt8](legacy.privateKey.rawRepresentation))])
        }
        let key = try SigningKeyFile.loadOrCreate(path: db.path + ".key", database: db)
        #expect(key.keyID == legacy.keyID)
        #expect(try db.read { try $0.queryOne("SELECT count(*) FROM signing_keys")?[0].int } == 0)
        #expect(try SigningKeyFile.load(path: db.path + ".key", database: db)?.keyID == legacy.keyID)
    }
}
