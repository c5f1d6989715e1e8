import Crypto
import Foundation
import JSON
@testable import StorefrontDomain
@testable import StorefrontHTTP
import Testing

/// The protocol adapters' pure parts: A2A's two wire shapes, UCP's header and path forms, the
/// ES256 key the store derives.
@Suite("Protocol shapes")
struct ProtocolShapesTests {
    @Test("an A2A task converts to the HTTP+JSON shape: no kind, enum states, parts wrapped")
    func a2aRestShape() throws {
        let task: JSON = [
            "kind": "task", "id": "t1", "contextId": "c1",
            "status": ["state": "canceled", "timestamp": "2026-01-01T00:00:00Z"],
            "artifacts": [["artifactId": "a", "name": "result", "parts": [["kind": "data", "data": ["x": 1]]]]],
            "history": [["kind": "message", "messageId": "m", "role": "user", "parts": [["kind": "text", "text": "hi"]]]],
        ]
        let rest = A2AWire.rest(task)
        #expect(rest["kind"] == nil)
        #expect(rest["status"]?["state"] == "TASK_STATE_CANCELLED")
        #expect(rest["artifacts"]?[0]?["parts"]?[0] == ["data": ["data": ["x": 1]]])
        #expect(rest["history"]?[0]?["role"] == "ROLE_USER")
        #expect(rest["history"]?[0]?["content"]?[0] == ["text": "hi"])
        #expect(A2AWire.restState("input-required") == "TASK_STATE_INPUT_REQUIRED")
    }

    @Test("messages in either A2A shape normalize to the JSON-RPC one")
    func a2aNormalizedMessage() throws {
        let snake: JSON = ["message_id": "m1", "context_id": "c", "role": "ROLE_USER", "content": [["data": ["data": ["action": "x"]]]]]
        let normalized = try #require(A2AWire.normalizedMessage(snake))
        #expect(normalized["messageId"] == "m1" && normalized["contextId"] == "c")
        #expect(normalized["parts"]?[0] == ["kind": "data", "data": ["action": "x"]])
        #expect(A2AWire.normalizedMessage(["parts": []]) == nil, "a message without an id is refused")
    }

    @Test("UCP-Agent's profile parameter is read from an RFC 8941 dictionary; JSON Pointers become JSONPath")
    func ucpForms() {
        #expect(UCP.profileParameter(#"profile="https://p.example/ucp", other=1"#) == "https://p.example/ucp")
        #expect(UCP.profileParameter(#"other="x""#) == nil)
        #expect(UCP.profileParameter("profile=https://unquoted") == nil)
        #expect(UCP.jsonPath("/line_items/0/quantity") == "$.line_items[0].quantity")
    }

    @Test("the ES256 key is derived the same way every time, and its signatures verify as r||s")
    func es256Derivation() throws {
        let key = StoreSigningKey.generate()
        let again = try StoreSigningKey(rawRepresentation: key.privateKey.rawRepresentation)
        #expect(key.es256.keyID == again.es256.keyID)
        #expect(key.es256.keyID != StoreSigningKey.generate().es256.keyID)
        let message = Array("signature base".utf8)
        let signature = try key.es256.sign(message)
        #expect(signature.count == 64)
        let jwk = key.es256.publicJWK
        let x = try #require(Base64URL.decode(jwk["x"]?.stringValue ?? "")), y = try #require(Base64URL.decode(jwk["y"]?.stringValue ?? ""))
        let publicKey = try P256.Signing.PublicKey(x963Representation: Data([0x04]) + x + y)
        #expect(publicKey.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: signature), for: Data(message)))
    }
}
