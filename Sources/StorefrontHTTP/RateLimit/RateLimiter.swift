import Foundation
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// Token buckets for every (caller, class) pair, in a striped table: a request locks one of
/// 64 stripes (chosen by its key's hash) for a dictionary lookup and a few integer operations,
/// so threads rarely wait on each other. Each stripe holds at most `capacity / 64` buckets: when
/// one is full, buckets that have refilled completely are dropped (a full bucket is the same as
/// no bucket), and if none has, the one closest to full; so an attacker with many addresses
/// cannot grow the table, only churn it.
public final class RateLimiter: @unchecked Sendable {
    /// Whose bucket: an agent id or a client address, and the class.
    struct Key: Hashable {
        var caller: String
        var kind: UInt8
    }

    final class Stripe {
        let lock = NSLock()
        var buckets: [Key: TokenBucket] = [:]
    }

    public let policy: RateLimitPolicy
    /// The most buckets kept (over all stripes).
    public let capacity: Int
    private let stripes: [Stripe]
    private let perStripe: Int
    /// Nanoseconds on a monotonic clock; injected by tests.
    private let clock: @Sendable () -> Int64
    /// Rules by caller and class, looked up without hashing.
    private let table: [RateRule?]
    /// Each rule's header texts, formatted once.
    private let texts: [RateLimitDecision.HeaderTexts?]
    private let countersLock = NSLock()
    private var refused: [Int64]

    static let stripeCount = 64

    public init(
        policy: RateLimitPolicy, capacity: Int = 65_536,
        clock: @escaping @Sendable () -> Int64 = { Int64(DispatchTime.now().uptimeNanoseconds) }
    ) {
        self.policy = policy
        self.capacity = max(Self.stripeCount, capacity)
        perStripe = max(1, self.capacity / Self.stripeCount)
        stripes = (0..<Self.stripeCount).map { _ in Stripe() }
        self.clock = clock
        var table: [RateRule?] = []
        var texts: [RateLimitDecision.HeaderTexts?] = []
        for caller in RateCaller.allCases {
            for rateClass in RateClass.allCases {
                let rule = policy.rule(caller, rateClass)
                table.append(rule)
                texts.append(rule.map { RateLimitDecision.HeaderTexts(caller, rateClass, $0) })
            }
        }
        self.table = table
        self.texts = texts
        refused = Array(repeating: 0, count: RateCaller.allCases.count * RateClass.allCases.count)
    }

    private static func slot(_ caller: RateCaller, _ rateClass: RateClass) -> Int {
        caller.rawValue * RateClass.allCases.count + rateClass.rawValue
    }

    /// Whether the class is limited for this kind of caller.
    public func limits(_ caller: RateCaller, _ rateClass: RateClass) -> Bool {
        table[Self.slot(caller, rateClass)] != nil
    }

    /// Spends one request of `rateClass` from `id`'s bucket (an agent id, or for anonymous
    /// callers and registration, the client address). nil when the class is not limited.
    public func take(_ caller: RateCaller, id: String, _ rateClass: RateClass) -> RateLimitDecision? {
        let caller: RateCaller = rateClass == .registration ? .anonymous : caller
        let slot = Self.slot(caller, rateClass)
        guard let rule = table[slot], let texts = texts[slot] else { return nil }
        let key = Key(caller: id, kind: UInt8(slot))
        let stripe = stripes[Int(UInt(bitPattern: key.hashValue) % UInt(Self.stripeCount))]
        let now = clock()
        let outcome: TokenBucket.Outcome = stripe.lock.withLock {
            if var bucket = stripe.buckets[key] {
                let outcome = bucket.take(rule, now: now)
                stripe.buckets[key] = bucket
                return outcome
            }
            if stripe.buckets.count >= perStripe { evict(in: stripe, now: now) }
            var bucket = TokenBucket()
            let outcome = bucket.take(rule, now: now)
            stripe.buckets[key] = bucket
            return outcome
        }
        if !outcome.allowed { countersLock.withLock { refused[slot] += 1 } }
        let retry = Self.seconds(outcome.untilNext)
        return RateLimitDecision(
            allowed: outcome.allowed, caller: caller, rateClass: rateClass, rule: rule, remaining: outcome.remaining,
            reset: outcome.remaining == 0 ? max(1, retry) : Self.seconds(outcome.untilFull), retryAfter: max(1, retry),
            texts: texts)
    }

    /// Nanoseconds rounded up to whole seconds.
    static func seconds(_ nanoseconds: Int64) -> Int {
        Int((max(0, nanoseconds) + 999_999_999) / 1_000_000_000)
    }

    /// Makes room in a full stripe (its lock held): drops every full bucket, else the one
    /// closest to full.
    private func evict(in stripe: Stripe, now: Int64) {
        let before = stripe.buckets.count
        stripe.buckets = stripe.buckets.filter { !$0.value.isFull(at: now) }
        guard stripe.buckets.count == before, let closest = stripe.buckets.min(by: { $0.value.fullAt < $1.value.fullAt }) else {
            return
        }
        stripe.buckets[closest.key] = nil
    }

    /// Buckets held now (for tests and metrics).
    public var bucketCount: Int { stripes.reduce(0) { total, stripe in total + stripe.lock.withLock { stripe.buckets.count } } }

    /// Refused requests by class and caller since the start.
    public var refusals: [(caller: RateCaller, rateClass: RateClass, count: Int64)] {
        let counts = countersLock.withLock { refused }
        return RateCaller.allCases.flatMap { caller in
            RateClass.allCases.map { rateClass in (caller, rateClass, counts[Self.slot(caller, rateClass)]) }
        }
    }
}
