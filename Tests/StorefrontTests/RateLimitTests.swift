import Foundation
import HTTPServer
import JSON
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// A clock the test moves by hand (nanoseconds).
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64 = 1_000_000_000_000
    var now: Int64 { lock.withLock { value } }
    func advance(seconds: Double) { lock.withLock { value += Int64(seconds * 1_000_000_000) } }
}

@Suite("Rate limits: token buckets, rules, policy")
struct RateLimitTests {
    let second: Int64 = 1_000_000_000

    @Test("a bucket spends its burst at once, then refills one token per interval")
    func bucketMath() {
        let rule = RateRule(limit: 60, period: 60, burst: 3)  // one token a second, three at once
        var bucket = TokenBucket()
        let t0: Int64 = 5_000 * second
        #expect(bucket.take(rule, now: t0) == .init(allowed: true, remaining: 2, untilFull: second, untilNext: 0))
        #expect(bucket.take(rule, now: t0).remaining == 1)
        let last = bucket.take(rule, now: t0)
        #expect(last.allowed && last.remaining == 0 && last.untilNext == second && last.untilFull == 3 * second)
        let refused = bucket.take(rule, now: t0)
        #expect(!refused.allowed && refused.untilNext == second)
        // Refusals spend nothing: still one second to wait.
        #expect(bucket.take(rule, now: t0 + second / 2) == .init(allowed: false, remaining: 0, untilFull: 5 * second / 2, untilNext: second / 2))
        // One token back after a second, exactly.
        #expect(bucket.take(rule, now: t0 + second - 1).allowed == false)
        #expect(bucket.take(rule, now: t0 + second).allowed)
        #expect(!bucket.take(rule, now: t0 + second).allowed)
        // Long idle: full again, never more than the burst.
        #expect(bucket.isFull(at: t0 + 100 * second))
        #expect(bucket.take(rule, now: t0 + 100 * second).remaining == 2)
    }

    @Test("limit/period sets the sustained rate: 600/60s lets 10 a second through after the burst")
    func sustainedRate() {
        let rule = RateRule(limit: 600, period: 60, burst: 1)
        var bucket = TokenBucket()
        var passed = 0
        for tick in 0..<1000 {  // every millisecond for a second
            if bucket.take(rule, now: 10 * second + Int64(tick) * second / 1000).allowed { passed += 1 }
        }
        #expect(passed == 10)
    }

    @Test("rules parse RATE/PERIOD[,burst=N] and refuse nonsense")
    func ruleParsing() {
        #expect(RateRule(parsing: "600/60s") == RateRule(limit: 600, period: 60, burst: 600))
        #expect(RateRule(parsing: "600/1m,burst=100") == RateRule(limit: 600, period: 60, burst: 100))
        #expect(RateRule(parsing: "5/2h") == RateRule(limit: 5, period: 7200))
        #expect(RateRule(parsing: "10/30") == RateRule(limit: 10, period: 30))
        for bad in ["", "600", "0/60s", "-1/60s", "10/0s", "10/60x", "10/60s,burst=0", "10/60s,bursts=3", "ten/60s", "1/7d,burst=1000000000"] {
            #expect(RateRule(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test("settings and files change the defaults; registration is always by address")
    func policySettings() throws {
        var policy = RateLimitPolicy.defaults
        try policy.apply("checkout=5/1m,burst=2")
        try policy.apply("anonymous.reads=off")
        try policy.apply("registration=3/1h")
        #expect(policy.rule(.agent, .checkout) == RateRule(limit: 5, period: 60, burst: 2))
        #expect(policy.rule(.anonymous, .reads) == nil)
        #expect(policy.rule(.agent, .registration) == RateRule(limit: 3, period: 3600))
        #expect(throws: RateLimitPolicy.SettingError.self) { try policy.apply("purchases=1/1s") }
        #expect(throws: RateLimitPolicy.SettingError.self) { try policy.apply("reads=fast") }
        try policy.apply(file: ["writes": ["limit": 7, "period": 10, "burst": 3], "anonymous.writes": "1/1s"])
        #expect(policy.rule(.agent, .writes) == RateRule(limit: 7, period: 10, burst: 3))
        #expect(policy.rule(.anonymous, .writes) == RateRule(limit: 1, period: 1))
        try policy.apply(file: ["enabled": false])
        #expect(!policy.isEnabled)
        #expect(policy.json(actionsByClass: [:]) == .null)
    }

    @Test("anonymous callers are stricter than agents by default")
    func defaults() {
        let policy = RateLimitPolicy.defaults
        let agent = policy.rule(.agent, .reads)!, anonymous = policy.rule(.anonymous, .reads)!
        #expect(anonymous.limit * agent.period < agent.limit * anonymous.period)
        #expect(anonymous.burst <= agent.burst)
        for rateClass in [RateClass.writes, .checkout] {
            #expect(policy.rule(.agent, rateClass) != nil)
        }
        #expect(policy.rule(.anonymous, .registration) != nil)
    }

    @Test("the limiter keeps a bucket per caller and class, answers headers, and counts refusals")
    func limiter() throws {
        let clock = ManualClock()
        var policy = RateLimitPolicy.unlimited
        try policy.apply("checkout=2/10s")
        try policy.apply("reads=100/1s")
        let limiter = RateLimiter(policy: policy, clock: { clock.now })
        #expect(limiter.take(.agent, id: "ag_1", .checkout)?.allowed == true)
        let second = try #require(limiter.take(.agent, id: "ag_1", .checkout))
        #expect(second.allowed && second.remaining == 0 && second.reset == 5)
        let refused = try #require(limiter.take(.agent, id: "ag_1", .checkout))
        #expect(!refused.allowed && refused.retryAfter == 5)
        #expect(refused.policyHeader == "\"checkout\";q=2;w=10")
        #expect(refused.currentHeader == "\"checkout\";r=0;t=5")
        // Another agent, and another class of the same agent, have their own buckets.
        #expect(limiter.take(.agent, id: "ag_2", .checkout)?.allowed == true)
        #expect(limiter.take(.agent, id: "ag_1", .reads)?.allowed == true)
        // Classes without a rule are not limited.
        #expect(limiter.take(.agent, id: "ag_1", .writes) == nil)
        #expect(limiter.take(.anonymous, id: "10.0.0.1", .checkout) == nil)
        clock.advance(seconds: 5)
        #expect(limiter.take(.agent, id: "ag_1", .checkout)?.allowed == true)
        #expect(limiter.refusals.first { $0.caller == .agent && $0.rateClass == .checkout }?.count == 1)
    }

    @Test("the table of buckets stays bounded under many addresses; full buckets go first")
    func bounded() throws {
        let clock = ManualClock()
        var policy = RateLimitPolicy.unlimited
        try policy.apply("anonymous.reads=10/1s")
        let limiter = RateLimiter(policy: policy, capacity: 64 * 4, clock: { clock.now })
        for n in 0..<10_000 { _ = limiter.take(.anonymous, id: "198.51.\(n / 256).\(n % 256)", .reads) }
        #expect(limiter.bucketCount <= 64 * 4)
        // A busy address keeps its (spent) bucket while idle, full ones are dropped around it.
        for _ in 0..<10 { _ = limiter.take(.anonymous, id: "203.0.113.9", .reads) }
        clock.advance(seconds: 0.01)
        for n in 0..<1000 { _ = limiter.take(.anonymous, id: "192.0.2.\(n)", .reads) }
        clock.advance(seconds: 0.01)
        #expect(limiter.take(.anonymous, id: "203.0.113.9", .reads)?.allowed == false)
    }

    @Test("action classes come from the registry's metadata")
    func actionClasses() throws {
        let gateway = try Fixtures.gateway()
        #expect(gateway.rateClass(action: "search_catalog") == .reads)
        #expect(gateway.rateClass(action: "complete_checkout") == .checkout)
        #expect(gateway.rateClass(action: "create_checkout") == .checkout)
        #expect(gateway.rateClass(action: "get_checkout") == .reads)
        #expect(gateway.rateClass(action: "create_cart") == .writes)
        #expect(gateway.rateClass(action: "no_such_action") == .reads)
    }

    @Test("routes are charged before they run, except where the action is known later; the merchant's never")
    func routeClasses() {
        func rateClass(_ method: String, _ path: String) -> RateClass? { Gateway.routeRateClass(Request(method: method, path: path)) }
        #expect(rateClass("GET", "/agents") == .reads)
        #expect(rateClass("GET", "/.well-known/capabilities.json") == .reads)
        #expect(rateClass("GET", "/inbox") == .reads)
        #expect(rateClass("DELETE", "/mcp") == .reads)
        #expect(rateClass("POST", "/agents/register") == .registration)
        for (method, path) in [
            ("POST", "/mcp"), ("POST", "/tools/complete_checkout"), ("POST", "/checkout-sessions"), ("GET", "/checkout-sessions/chk_1"),
            ("POST", "/checkout-sessions/chk_1/complete"), ("GET", "/catalog"), ("POST", "/catalog/search"), ("POST", "/inbox/ack"),
            ("GET", "/admin/api/agents"), ("POST", "/admin/api/wallets/agt_1/fund"), ("GET", "/dashboard/"), ("GET", "/metrics"),
        ] {
            #expect(rateClass(method, path) == nil, "\(method) \(path)")
        }
    }

    @Test("the gateway answers 429 through its own handler once a document's bucket is spent, then the merchant still passes")
    func gatewayRefuses() throws {
        var policy = RateLimitPolicy.unlimited
        try policy.apply("anonymous.reads=2/1h")
        let gateway = try Fixtures.gateway(rateLimits: policy)
        func get(_ path: String) -> Response {
            gateway.handle(Request(method: "GET", path: path, remoteAddress: "192.0.2.7", id: "r\(UUID().uuidString)"))
        }
        #expect(get("/pricing").status == 200)
        #expect(get("/policies").headers["RateLimit"] == "\"anonymous.reads\";r=0;t=1800")
        let refused = get("/agents")
        #expect(refused.status == 429)
        #expect(refused.headers["Retry-After"] == "1800")
        #expect(refused.headers["RateLimit-Policy"] == "\"anonymous.reads\";q=2;w=3600")
        #expect(get("/admin/api/agents").status == 401)  // the admin token is checked, no bucket
        // Another address has its own bucket.
        #expect(gateway.handle(Request(method: "GET", path: "/pricing", remoteAddress: "192.0.2.8", id: "x")).status == 200)
    }
}
