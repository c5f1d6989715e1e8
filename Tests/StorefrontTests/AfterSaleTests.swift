import Foundation
import JSON
import Store
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Synchronization
import Testing

@Suite("Inbox, memory, feedback and webhooks", .serialized)
struct AfterSaleTests {
    @Test("notes are private to their agent, and the caps are enforced with a clear error")
    func memory() throws {
        let a = try Shop(), b = try Shop()
        _ = try a.call("remember", ["key": "shoe_size", "value": ["eu": 44]]).result.get()
        #expect(try a.call("recall", ["key": "shoe_size"]).result.get()["memory"]?["value"]?["eu"] == 44)
        guard case .failure(let missing) = b.call("recall", ["key": "shoe_size"]).result else {
            Issue.record("another agent read the note"); return
        }
        #expect(missing.status == 404)
        let big = String(repeating: "x", count: 5000)
        guard case .failure(let tooLarge) = a.call("remember", ["key": "big", "value": .string(big)]).result else {
            Issue.record("an oversized note was kept"); return
        }
        #expect(tooLarge.code == "memory_entry_too_large")
        for i in 0..<16 {
            _ = a.call("remember", ["key": .string("k\(i)"), "value": .string(String(repeating: "y", count: 4000))])
        }
        guard case .failure(let full) = a.call("remember", ["key": "more", "value": .string(String(repeating: "z", count: 4000))]).result
        else { Issue.record("the per-agent cap was not enforced"); return }
        #expect(full.code == "memory_full")
    }

    @Test("feedback needs a purchase; ratings aggregate and are published")
    func feedback() throws {
        let shop = try Shop()
        let id = try shop.checkout()
        let order = try #require(try shop.call("complete_checkout", ["checkout_id": .string(id)]).result.get()["order"]?["id"])
        guard case .failure(let notBought) = shop.call(
            "leave_feedback", ["order_id": order, "product_id": "ridgeline-2p-tent", "rating": 5]).result
        else { Issue.record("feedback for a product not bought"); return }
        #expect(notBought.code == "not_purchased")
        _ = try shop.call("leave_feedback", ["order_id": order, "product_id": "micro-canister-stove", "rating": 2]).result.get()
        let edited = try shop.call("leave_feedback", ["order_id": order, "product_id": "micro-canister-stove", "rating": 4]).result.get()
        #expect(edited["edited"] == true)
        #expect(edited["product_rating"]?["count"] == 1)
        #expect(edited["product_rating"]?["average"]?.doubleValue == 4)
        let product = try shop.gateway.actions.call(
            "get_product", arguments: ["id": "micro-canister-stove"], context: ActionContext(requestID: "t")
        ).get()
        #expect(product["product"]?["rating"]?["count"] == 1)
    }

    @Test("cached catalog results follow ratings: read, rate, read again")
    func cachedResultsFollowFeedback() throws {
        let shop = try Shop()
        let context = ActionContext(requestID: "t")
        let search: JSON = ["query": "canister stove"]
        func rating(_ name: String, _ arguments: JSON) throws -> JSON? {
            let result = try shop.gateway.actions.call(name, arguments: arguments, context: context).get()
            return result["product"]?["rating"] ?? result["products"]?.arrayValue?.first { $0["id"] == "micro-canister-stove" }?["rating"]
        }
        #expect(try rating("get_product", ["id": "micro-canister-stove"]) == .null)
        #expect(try rating("search_catalog", search) == .null)
        // Asked again: the same bytes, from the cache.
        let progress = Mutex<[String]>([])
        let watched = ActionContext(requestID: "t2", progress: { _, _, text in progress.withLock { $0.append(text ?? "") } })
        _ = shop.gateway.actions.callWaiting("search_catalog", arguments: search, context: watched)
        #expect(progress.withLock { $0 }.contains("result from the cache"))

        let id = try shop.checkout()
        let order = try #require(try shop.call("complete_checkout", ["checkout_id": .string(id)]).result.get()["order"]?["id"])
        _ = try shop.call("leave_feedback", ["order_id": order, "product_id": "micro-canister-stove", "rating": 3]).result.get()
        #expect(try rating("get_product", ["id": "micro-canister-stove"])?["count"] == 1)
        #expect(try rating("search_catalog", search)?["average"]?.doubleValue == 3)
    }

    @Test("a purchase lands in the inbox, and acknowledging marks it read")
    func inbox() throws {
        let shop = try Shop()
        let id = try shop.checkout()
        _ = try shop.call("complete_checkout", ["checkout_id": .string(id)]).result.get()
        let page = try shop.call("get_inbox", [:]).result.get()
        let types = page["events"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ?? []
        #expect(types.contains("wallet.funded"))
        #expect(types.contains("order.created"))
        let last = try #require(page["next_after"]?.intValue)
        let acked = try shop.call("ack_inbox", ["up_to": .int(last)]).result.get()
        #expect(acked["unread"] == 0)
    }

    @Test("webhook signatures are HMAC-SHA256 over the timestamp and the body")
    func webhookSignature() {
        // A known-answer value computed independently (Python: hmac.new(b"whsec_test", b"1700000000.{}", sha256)).
        let signature = WebhookDispatcher.signature(secret: "whsec_test", timestamp: 1_700_000_000, body: "{}")
        #expect(signature == "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91")
    }
}
