import Foundation
import HTTPServer
import JSON
import Store
@testable import StorefrontActions
import StorefrontApp
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Synchronization
import Testing

/// A gateway with one registered, funded agent.
struct Shop {
    let gateway: Gateway
    let agent: Agent
    var identity: Identity { Identity(agent: agent, credential: .apiKey(prefix: "test")) }

    init(fund: Int64 = 1_000_000, limits: JSON = [:]) throws {
        gateway = try Fixtures.gateway()
        let response = gateway.registerAgent(["principal": "Ada", "display_name": "bot"])
        let body = try JSON.parse(bytes: response.bodyBytes)
        agent = try #require(try gateway.services.agentList().first { $0.id == body["id"]?.stringValue })
        if fund > 0 { _ = try gateway.commerce.fund(agent.id, amount: fund, note: nil, by: "test") }
        if limits != [:] { _ = try gateway.commerce.setControls(agent.id, limits, by: "test") }
    }

    func call(_ name: String, _ arguments: JSON, key: String? = nil) -> ActionOutcome {
        gateway.actions.callWaiting(
            name, arguments: arguments, context: ActionContext(requestID: "t", identity: identity, idempotencyKey: key))
    }

    /// A ready checkout for `quantity` of a cheap in-stock product without variants.
    func checkout(quantity: Int64 = 1, product: String = "micro-canister-stove") throws -> String {
        try checkoutWithTotal(quantity: quantity, product: product).id
    }

    /// The checkout and its total (items, discounts and shipping).
    func checkoutWithTotal(quantity: Int64 = 1, product: String = "micro-canister-stove") throws -> (id: String, total: Int64) {
        let outcome = call("create_checkout", ["items": [["product_id": .string(product), "quantity": .int(quantity)]]])
        let result = try outcome.result.get()
        return (
            try #require(result["checkout"]?["id"]?.stringValue),
            try #require(result["checkout"]?["totals"]?["total"]?["amount"]?.intValue)
        )
    }

    func balance() throws -> Int64 {
        try #require(try gateway.commerce.wallet(agent.id)?["balance"]?["amount"]?.intValue)
    }
}

@Suite("Wallets, checkout and the trail", .serialized)
struct CommerceTests {
    @Test("anonymous callers are told to register; reading stays open")
    func anonymous() throws {
        let gateway = try Fixtures.gateway()
        let outcome = gateway.actions.callWaiting("get_wallet", arguments: [:], context: ActionContext(requestID: "t"))
        guard case .failure(let error) = outcome.result else { Issue.record("anonymous wallet read"); return }
        #expect(error.status == 401)
        #expect(error.message.contains("/agents/register"))
        #expect((try? gateway.actions.call("search_catalog", arguments: [:], context: ActionContext(requestID: "t")).get()) != nil)
    }

    @Test("a completed checkout debits the wallet by its total and creates an order")
    func purchase() throws {
        let shop = try Shop()
        let id = try shop.checkout(quantity: 2)
        let result = try shop.call("complete_checkout", ["checkout_id": .string(id)]).result.get()
        #expect(result["checkout"]?["status"] == "completed")
        let total = try #require(result["checkout"]?["totals"]?["total"]?["amount"]?.intValue)
        #expect(try shop.balance() == 1_000_000 - total)
        #expect(result["order"]?["status"] == "confirmed")
    }

    @Test("concurrent purchases never pass the daily limit: exactly as many succeed as it allows")
    func dailyLimitUnderConcurrency() throws {
        let allowed: Int64 = 7
        let shop = try Shop()
        let price = try shop.checkoutWithTotal().total
        _ = try shop.gateway.commerce.setControls(shop.agent.id, ["daily": .int(price * allowed + price / 2)], by: "test")
        let ids = try (0..<40).map { _ in try shop.checkout(quantity: 1) }
        let succeeded = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: ids.count) { i in
            let outcome = shop.call("complete_checkout", ["checkout_id": .string(ids[i])], key: "k\(i)")
            if case .success = outcome.result { succeeded.withLock { $0 += 1 } }
        }
        #expect(succeeded.withLock { $0 } == Int(allowed))
        #expect(try shop.balance() == 1_000_000 - allowed * price)
    }

    @Test("insufficient funds is 402 with the amount missing")
    func insufficientFunds() throws {
        let shop = try Shop(fund: 1000)
        let (id, total) = try shop.checkoutWithTotal()
        guard case .failure(let error) = shop.call("complete_checkout", ["checkout_id": .string(id)]).result else {
            Issue.record("purchase without funds"); return
        }
        #expect(error.status == 402)
        #expect(error.kind == .paymentRequired)
        #expect(error.details?["missing"]?["amount"]?.intValue == total - 1000)
        #expect(try shop.balance() == 1000)
    }

    @Test("a blocked category is refused and names the category")
    func blockedCategory() throws {
        let shop = try Shop(limits: ["blocked_categories": ["cooking"]])
        let id = try shop.checkout()
        guard case .failure(let error) = shop.call("complete_checkout", ["checkout_id": .string(id)]).result else {
            Issue.record("blocked category bought"); return
        }
        #expect(error.code == "category_blocked")
    }

    @Test("above the threshold a purchase waits; approval completes it, denial releases the hold")
    func approvals() throws {
        let shop = try Shop(limits: ["approval_threshold": 5000])
        let (first, price) = try shop.checkoutWithTotal()
        let pending = try shop.call("complete_checkout", ["checkout_id": .string(first)]).result.get()
        #expect(pending["checkout"]?["status"] == "pending_approval")
        #expect(try shop.balance() == 1_000_000 - price)
        let approvalID = try #require(pending["checkout"]?["approval"]?["id"]?.stringValue)
        let approved = try shop.gateway.commerce.decide(approvalID, .approve, by: "principal")
        #expect(approved["checkout"]?["status"] == "completed")
        #expect(try shop.balance() == 1_000_000 - price)

        let second = try shop.checkout()
        let held = try shop.call("complete_checkout", ["checkout_id": .string(second)]).result.get()
        let secondApproval = try #require(held["checkout"]?["approval"]?["id"]?.stringValue)
        #expect(try shop.balance() == 1_000_000 - 2 * price)
        _ = try shop.gateway.commerce.decide(secondApproval, .deny, by: "principal")
        #expect(try shop.balance() == 1_000_000 - price)
        #expect(throws: ActionError.self) { try shop.gateway.commerce.decide(secondApproval, .approve, by: "principal") }
    }

    @Test("the same idempotency key replays the answer; different arguments conflict; nothing is charged twice")
    func idempotency() throws {
        let shop = try Shop()
        let (id, price) = try shop.checkoutWithTotal()
        let first = shop.call("complete_checkout", ["checkout_id": .string(id)], key: "once")
        let again = shop.call("complete_checkout", ["checkout_id": .string(id)], key: "once")
        #expect(!first.replayed)
        #expect(again.replayed)
        #expect(try first.result.get().canonicalized() == again.result.get().canonicalized())
        #expect(try shop.balance() == 1_000_000 - price)
        let other = try shop.checkout()
        guard case .failure(let conflict) = shop.call("complete_checkout", ["checkout_id": .string(other)], key: "once").result else {
            Issue.record("reused key accepted"); return
        }
        #expect(conflict.status == 422)
    }

    @Test("a refund within the window credits the wallet; more than was paid is refused")
    func refunds() throws {
        let shop = try Shop()
        let id = try shop.checkout(quantity: 2)
        let order = try #require(try shop.call("complete_checkout", ["checkout_id": .string(id)]).result.get()["order"])
        let orderID = try #require(order["id"]?.stringValue)
        let total = try #require(order["totals"]?["total"]?["amount"]?.intValue)
        let partial = try shop.call("request_refund", ["order_id": .string(orderID), "amount": 1000]).result.get()
        #expect(partial["order"]?["status"] == "partially_refunded")
        #expect(try shop.balance() == 1_000_000 - total + 1000)
        guard case .failure = shop.call("request_refund", ["order_id": .string(orderID), "amount": .int(total)]).result else {
            Issue.record("over-refund accepted"); return
        }
    }

    @Test("stock runs out: the last unit sells once, then the sale is refused")
    func stock() throws {
        let shop = try Shop(fund: 100_000_000)
        let product = try #require(shop.gateway.manifests.catalog.products.first { $0.variants.isEmpty && $0.inventory > 0 && $0.inventory < 50 && $0.source["pricing_model"] == nil })
        let all = try shop.checkout(quantity: product.inventory, product: product.id)
        _ = try shop.call("complete_checkout", ["checkout_id": .string(all)]).result.get()
        let more = try shop.call("create_checkout", ["items": [["product_id": .string(product.id), "quantity": 1]]]).result.get()
        #expect(more["checkout"]?["status"] == "incomplete")
    }

    @Test("the trail verifies, and catches an edited, a deleted and a reordered entry")
    func tamperEvidence() throws {
        let shop = try Shop()
        for _ in 0..<3 {
            let id = try shop.checkout()
            _ = try shop.call("complete_checkout", ["checkout_id": .string(id)]).result.get()
        }
        let db = shop.gateway.database
        let jwk = shop.gateway.signingKey.publicJWK
        #expect(try AuditTrail.verify(database: db, publicJWK: jwk).intact)
        try db.write { try $0.run("UPDATE trail SET amount = 1 WHERE seq = 4") }
        let result = try AuditTrail.verify(database: db, publicJWK: jwk)
        #expect(result.firstBadSeq == 4)
        #expect(result.problem == .edited)
    }

    @Test("a deleted entry is named as missing")
    func deletion() throws {
        let shop = try Shop()
        let id = try shop.checkout()
        _ = try shop.call("complete_checkout", ["checkout_id": .string(id)]).result.get()
        try shop.gateway.database.write { try $0.run("DELETE FROM trail WHERE seq = 2") }
        let result = try AuditTrail.verify(database: shop.gateway.database, publicJWK: shop.gateway.signingKey.publicJWK)
        #expect(result.firstBadSeq == 2)
        #expect(result.problem == .missing)
    }
}

@Suite("HTTP message signatures (RFC 9421, Web Bot Auth)")
struct MessageSignatureTests {
    @Test("the signature base is built from the covered components and the params as sent")
    func base() throws {
        var request = Request(method: "POST", path: "/tools/get_wallet", headers: HTTPHeaders([("Host", "Shop.Example")]))
        request.rawTarget = "/tools/get_wallet?x=1"
        let input = try #require(
            try MessageSignature.parseInputs(
                #"sig1=("@method" "@authority" "@path" "@query");created=1;expires=2;keyid="k";tag="web-bot-auth""#
            ).first)
        let base = try MessageSignature.signatureBase(input, request: request, scheme: "https")
        #expect(
            base == """
                "@method": POST
                "@authority": shop.example
                "@path": /tools/get_wallet
                "@query": ?x=1
                "@signature-params": ("@method" "@authority" "@path" "@query");created=1;expires=2;keyid="k";tag="web-bot-auth"
                """)
    }
}

@Suite("Ledger totals and calendar windows")
struct LedgerTotalsTests {
    @Test("window bounds by arithmetic equal Foundation's ISO 8601 UTC calendar, across centuries")
    func boundsMatchTheCalendar() {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SystemRandomNumberGenerator()
        var instants: [Int64] = [0, -1, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, -2_208_988_800]
        for _ in 0..<3000 { instants.append(Int64.random(in: -2_208_988_800...7_258_118_400, using: &generator)) }
        for t in instants {
            let date = Date(timeIntervalSince1970: TimeInterval(t))
            for (window, component) in [(SpendControls.Window.daily, Calendar.Component.day), (.weekly, .weekOfYear), (.monthly, .month)] {
                let interval = calendar.dateInterval(of: component, for: date)!
                let bounds = SpendControls.bounds(window, at: t)
                #expect(bounds.start == Int64(interval.start.timeIntervalSince1970), "\(window) start at \(t)")
                #expect(bounds.end == Int64(interval.end.timeIntervalSince1970), "\(window) end at \(t)")
            }
        }
    }

    /// The triggers' sums must always equal a scan of the ledger, whatever is done to its rows.
    @Test("ledger_totals equal a scan of the ledger after inserts, edits and deletes")
    func totalsFollowTheLedger() throws {
        let shop = try Shop(fund: 0)
        let registered = try JSON.parse(
            bytes: shop.gateway.registerAgent(["principal": "Bea", "display_name": "other"]).bodyBytes)
        let otherID = try #require(registered["id"]?.stringValue)
        let database = shop.gateway.database
        let kinds = ["credit", "debit", "hold", "release", "refund"]
        var generator = SystemRandomNumberGenerator()
        let base: Int64 = 1_763_000_000
        try database.write { db in
            for agent in [shop.agent.id] {
                for _ in 0..<400 {
                    try db.run(
                        "INSERT INTO ledger (agent_id, kind, amount, currency, at) VALUES (?, ?, ?, 'USD', ?)",
                        [.text(agent), .text(kinds.randomElement(using: &generator)!),
                         .integer(Int64.random(in: -50_000...50_000, using: &generator)),
                         .integer(base + Int64.random(in: -90 * 86_400...90 * 86_400, using: &generator))])
                }
            }
            try db.run("UPDATE ledger SET at = at - 86400 * 40 WHERE id % 7 = 0", [])
            try db.run("UPDATE ledger SET amount = amount * 2, kind = 'debit' WHERE id % 11 = 0", [])
            try db.run("UPDATE ledger SET agent_id = ? WHERE id % 13 = 0", [.text(otherID)])
            try db.run("UPDATE ledger SET note = 'only a note' WHERE id % 3 = 0", [])
            try db.run("DELETE FROM ledger WHERE id % 5 = 0", [])
        }
        try compareTotalsWithScan(database)
        // The migration's backfill, from the ledger as it now is, gives the same totals.
        try database.write { db in
            _ = try db.run("DELETE FROM ledger_totals")
            try db.execute(LedgerTotals.backfill)
        }
        try compareTotalsWithScan(database)
        // And the wallet reads them: its balance is the ledger's sum.
        let balance = try database.read { try $0.queryOne("SELECT sum(amount) FROM ledger WHERE agent_id = ?", [.text(shop.agent.id)])?[0].int ?? 0 }
        #expect(try database.read { try WalletState.load(shop.agent.id, db: $0) }?.balance == balance)
    }

    func compareTotalsWithScan(_ database: Database) throws {
        let spend = "CASE WHEN kind IN ('debit', 'hold', 'release') THEN -amount ELSE 0 END"
        let periods = [
            ("all", "0"), ("day", "at - at % 86400"), ("week", "(at / 86400 - (at / 86400 + 3) % 7) * 86400"),
            ("month", "CAST(strftime('%s', at, 'unixepoch', 'start of month') AS INTEGER)"),
        ]
        try database.read { db in
            for (period, start) in periods {
                let scanned = try db.query(
                    "SELECT agent_id, \(start) AS s, sum(amount), sum(\(spend)) FROM ledger GROUP BY agent_id, s ORDER BY agent_id, s", [])
                let kept = try db.query(
                    "SELECT agent_id, start, amount, spend FROM ledger_totals WHERE period = ? AND (amount != 0 OR spend != 0) ORDER BY agent_id, start",
                    [.text(period)])
                let a = scanned.filter { ($0[2].int ?? 0) != 0 || ($0[3].int ?? 0) != 0 }.map { "\($0[0].string!) \($0[1].int!) \($0[2].int!) \($0[3].int!)" }
                let b = kept.map { "\($0[0].string!) \($0[1].int!) \($0[2].int!) \($0[3].int!)" }
                #expect(a == b, "\(period)")
                #expect(a.count > 1)
            }
        }
    }
}
