import Foundation
import JSON
import Store
@testable import StorefrontActions
import StorefrontApp
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// A payment processor as a store would add one: registered at composition, never named by the
/// checkout code. It records what it is asked, so the tests can see the two phases: authorize
/// before the purchase's transaction (off the writer: it asserts no transaction of this store is
/// open on its thread), capture inside it, settle or void after it.
final class RecordingProcessor: PaymentHandler, @unchecked Sendable {
    let id = "test-processor"
    let paysFromWallet = false
    private let lock = NSLock()
    private var entries: [String] = []
    var declines = false
    var log: [String] { lock.withLock { entries } }

    func note(_ entry: String) { lock.withLock { entries.append(entry) } }

    func authorize(_ request: PaymentRequest, completion: @escaping @Sendable (Result<PaymentAuthorization, ActionError>) -> Void) {
        // A processor answers later, on its own thread.
        let declines = self.declines
        DispatchQueue.global().async { [self] in
            note("authorize \(request.amount) \(request.instrument["token"]?.stringValue ?? "")")
            if declines {
                return completion(.failure(ActionError(status: 402, kind: .paymentRequired, code: "card_declined", message: "The card was declined.")))
            }
            completion(.success(PaymentAuthorization(handlerID: id, reference: "auth_\(request.checkoutID)", amount: request.amount, currency: request.currency)))
        }
    }

    var ucpDescriptor: (name: String, entry: JSON)? {
        ("com.example.processor", ["id": .string(id), "version": "2026-08-25", "available_instruments": [["type": "card"]], "config": [:]])
    }

    func capture(_ authorization: PaymentAuthorization, orderID: String, db: StoreConnection) throws { note("capture \(orderID)") }
    func settle(_ authorization: PaymentAuthorization, orderID: String) { note("settle \(orderID)") }
    func void(_ authorization: PaymentAuthorization) { note("void \(authorization.reference)") }
}

@Suite("Payment handlers: a processor added without touching checkout", .serialized)
struct PaymentHandlerTests {
    struct Store {
        let gateway: Gateway
        let processor: RecordingProcessor
        let agent: Agent
        var identity: Identity { Identity(agent: agent, credential: .apiKey(prefix: "test")) }

        init(limits: JSON = [:]) throws {
            let processor = RecordingProcessor()
            var configuration = GatewayConfiguration(publicURL: "http://shop.test")
            configuration.paymentHandlers = [processor]
            gateway = try Gateway(
                configuration: configuration, manifests: Fixtures.demoStore(), database: Fixtures.temporaryStore(), schemas: Fixtures.schemas)
            self.processor = processor
            let response = gateway.registerAgent(["principal": "Ada", "display_name": "bot"])
            let id = try JSON.parse(bytes: response.bodyBytes)["id"]?.stringValue
            agent = try #require(try gateway.services.agentList().first { $0.id == id })
            if limits != [:] { _ = try gateway.commerce.setControls(agent.id, limits, by: "test") }
        }

        func call(_ name: String, _ arguments: JSON, key: String? = nil) -> ActionOutcome {
            gateway.actions.callWaiting(name, arguments: arguments, context: ActionContext(requestID: "t", identity: identity, idempotencyKey: key))
        }

        func checkout(quantity: Int64 = 1) throws -> (id: String, total: Int64) {
            let result = try call("create_checkout", ["items": [["product_id": "micro-canister-stove", "quantity": .int(quantity)]]]).result.get()
            return (try #require(result["checkout"]?["id"]?.stringValue), try #require(result["checkout"]?["totals"]?["total"]?["amount"]?.intValue))
        }

        func pay(_ id: String, key: String = UUID().uuidString) -> ActionOutcome {
            call("complete_checkout", ["checkout_id": .string(id), "payment_handler": "test-processor", "payment_instrument": ["token": "tok_1"]], key: key)
        }

        func wallet() throws -> JSON { try #require(try gateway.commerce.wallet(agent.id)) }
    }

    @Test("the processor authorizes before, captures inside and settles after; the wallet's balance does not move, its limits count")
    func purchase() throws {
        let store = try Store()
        let (id, total) = try store.checkout(quantity: 2)
        let key = UUID().uuidString
        let result = try store.pay(id, key: key).result.get()
        let order = try #require(result["order"]?["id"]?.stringValue)
        #expect(result["checkout"]?["status"] == "completed")
        #expect(store.processor.log == ["authorize \(total) tok_1", "capture \(order)", "settle \(order)"])
        let wallet = try store.wallet()
        #expect(wallet["balance"]?["amount"]?.intValue == 0)  // never funded: the processor paid
        #expect(wallet["windows"]?["daily"]?["spent"]?["amount"]?.intValue == total)
        let kinds = try store.gateway.database.reading { db in
            try db.query("SELECT kind, amount FROM ledger WHERE agent_id = ? ORDER BY id", [.text(store.agent.id)]).map {
                "\($0[0].string ?? "") \($0[1].int ?? 0)"
            }
        }
        #expect(kinds == ["external \(total)", "debit \(-total)"])
        // A retry with the same key is answered from the store: nothing is authorized again.
        let replay = store.pay(id, key: key)
        #expect(replay.replayed)
        #expect(store.processor.log.count == 3)
    }

    @Test("a declined authorization buys nothing and writes nothing")
    func declined() throws {
        let store = try Store()
        store.processor.declines = true
        let (id, _) = try store.checkout()
        guard case .failure(let error) = store.pay(id).result else { Issue.record("a declined card bought"); return }
        #expect(error.code == "card_declined")
        #expect(try store.gateway.database.reading { db in try store.gateway.commerce.checkoutJSON(id, db: db) }["status"] == "ready_for_complete")
        #expect(store.processor.log.count == 1)
    }

    @Test("a purchase the principal's limits refuse voids the authorization")
    func refusedIsVoided() throws {
        let store = try Store(limits: ["per_transaction": 100])
        let (id, _) = try store.checkout()
        guard case .failure(let error) = store.pay(id).result else { Issue.record("over the limit, yet bought"); return }
        #expect(error.code == "spend_limit_exceeded")
        #expect(store.processor.log.last == "void auth_\(id)")
        #expect(!store.processor.log.contains { $0.hasPrefix("capture") || $0.hasPrefix("settle") })
    }

    @Test("above the approval threshold the wallet must pay; an unknown handler is named")
    func approvalAndUnknown() throws {
        let store = try Store(limits: ["approval_threshold": 100])
        let (id, _) = try store.checkout()
        guard case .failure(let error) = store.pay(id).result else { Issue.record("a processor purchase skipped the approval"); return }
        #expect(error.code == "approval_requires_wallet")
        #expect(store.processor.log.last == "void auth_\(id)")
        let unknown = store.call("complete_checkout", ["checkout_id": .string(id), "payment_handler": "nope"], key: "k")
        guard case .failure(let named) = unknown.result else { Issue.record("an unknown handler paid"); return }
        #expect(named.code == "unknown_payment_handler" && named.message.contains("test-processor") && named.message.contains("wallet"))
    }

    @Test("UCP lists the processor beside the wallet and maps its instrument to it")
    func ucp() throws {
        let store = try Store()
        let profile = try JSON.parse(bytes: store.gateway.documents.ucpProfile.bytes)
        #expect(profile["ucp"]?["payment_handlers"]?["com.example.processor"]?[0]?["id"] == "test-processor")
        #expect(profile["ucp"]?["payment_handlers"]?["dev.storefront.wallet"] != nil)
        let instrument: JSON = ["id": "pi_1", "handler_id": "test-processor", "type": "card", "token": "tok_9"]
        let mapped = try store.gateway.ucp.completeArguments(["payment": ["instruments": [instrument]]]).get()
        #expect(mapped == ["payment_handler": "test-processor", "payment_instrument": instrument])
        guard case .failure = store.gateway.ucp.completeArguments(["payment": ["instruments": [["handler_id": "other"]]]]) else {
            Issue.record("an unknown handler was mapped"); return
        }
    }
}
