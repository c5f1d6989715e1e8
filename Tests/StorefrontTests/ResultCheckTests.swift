import Foundation
import JSON
import Store
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import XCTest

/// Every result is checked against its action's output schema: a result that breaks it is a
/// bug in the store, and the caller gets 500 `invalid_result` instead of it. A mutating
/// action is checked after its commit, off the writer thread: the change stands.
final class ResultCheckTests: XCTestCase {
    let agent = Agent(
        id: "agt_check", principal: "pat@example.com", displayName: "Checker", operatorName: "test", scopes: Agent.defaultScopes,
        active: true)

    func registry(_ actions: [Action]) throws -> (ActionRegistry, Database) {
        let registry = try ActionRegistry(actions: actions, schemas: Fixtures.schemas)
        let database = try Fixtures.temporaryStore()
        registry.writer = (database, AuditTrail(signingKey: .generate()))
        return (registry, database)
    }

    func context(key: String? = nil) -> ActionContext {
        ActionContext(requestID: "req_check", identity: Identity(agent: agent, credential: .apiKey(prefix: "sk_check")), idempotencyKey: key)
    }

    func testAReadOnlyResultThatBreaksItsSchemaIsRefused() throws {
        let (registry, _) = try registry([
            Action(name: "get_cart", title: "Get a cart", description: "d", stage: .transacting, scope: "cart:write") { _, _ in
                ["not_a_cart": true]
            }
        ])
        guard case .failure(let error) = registry.call("get_cart", arguments: ["cart_id": "crt_1"], context: context()) else {
            return XCTFail("a result that breaks the output schema was sent")
        }
        XCTAssertEqual(error.status, 500)
        XCTAssertEqual(error.code, "invalid_result")
        XCTAssertTrue(error.message.contains("refused rather than sent"), error.message)
    }

    func testAMutatingResultThatBreaksItsSchemaIsWithheldAfterItsCommit() throws {
        let (registry, database) = try registry([
            Action(
                name: "create_cart", title: "Create a cart", description: "d", stage: .transacting, scope: "cart:write",
                annotations: CommerceActions.mutating
            ) { _, _, db in
                try db.run("INSERT INTO inventory (sku, product_id, available) VALUES ('sku-check', 'p', 5)")
                return ["cart": ["id": "crt_check"]]
            }
        ])
        let arguments: JSON = ["items": [["product_id": "p", "quantity": 1]]]
        for attempt in ["first", "replay"] {
            guard case .failure(let error) = registry.call("create_cart", arguments: arguments, context: context(key: "key-1")) else {
                return XCTFail("\(attempt): a result that breaks the output schema was sent")
            }
            XCTAssertEqual(error.status, 500, attempt)
            XCTAssertEqual(error.code, "invalid_result", attempt)
            XCTAssertTrue(error.message.contains("the change stands"), error.message)
        }
        // Committed once: the row, one trail entry, one idempotency record.
        let (rows, entries) = try database.read { db in
            (
                try db.queryOne("SELECT count(*) FROM inventory WHERE sku = 'sku-check'")?[0].int,
                try db.queryOne("SELECT count(*) FROM trail WHERE action = 'create_cart' AND outcome = 'ok'")?[0].int
            )
        }
        XCTAssertEqual(rows, 1)
        XCTAssertEqual(entries, 1)
    }

    func testAValidMutatingResultIsSent() throws {
        let zero = Money(amount: 0, currency: "USD").json
        let (registry, _) = try registry([
            Action(
                name: "cancel_cart", title: "Cancel a cart", description: "d", stage: .transacting, scope: "cart:write",
                annotations: CommerceActions.destructive
            ) { _, _, _ in
                [
                    "cart": [
                        "id": "crt_1", "status": "canceled", "items": [], "currency": "USD",
                        "totals": ["subtotal": zero, "discount": zero, "shipping": zero, "total": zero],
                        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                    ]
                ]
            }
        ])
        let result = registry.call("cancel_cart", arguments: ["cart_id": "crt_1"], context: context())
        if case .failure(let error) = result { XCTFail("a valid result was refused: \(error.message)") }
    }
}
