/// A token bucket kept as one number: the moment it will be full again (the "theoretical
/// arrival time" of GCRA, the generic cell rate algorithm). Equivalent to a bucket of `burst`
/// tokens refilled at `limit/period` per second, with integer arithmetic only and no stored
/// token count; a bucket whose moment has passed is full, so it can be forgotten (and a
/// forgotten bucket is a full one).
public struct TokenBucket: Sendable, Equatable {
    /// Nanoseconds on the limiter's clock at which the bucket is full again.
    public private(set) var fullAt: Int64

    /// A full bucket.
    public init(fullAt: Int64 = .min) { self.fullAt = fullAt }

    /// What taking one token answered.
    public struct Outcome: Sendable, Equatable {
        public var allowed: Bool
        /// Whole tokens left after this request.
        public var remaining: Int
        /// Nanoseconds until the bucket is full again.
        public var untilFull: Int64
        /// Nanoseconds until one token is available (0 when one is).
        public var untilNext: Int64
    }

    /// Takes one token at `now` if there is one.
    public mutating func take(_ rule: RateRule, now: Int64) -> Outcome {
        let interval = rule.interval
        let capacity = Int64(rule.burst) * interval
        // The deficit: how far below full the bucket is, in time.
        let deficit = fullAt <= now ? 0 : fullAt - now
        // Room for one more token: the deficit after taking it stays within the capacity.
        if deficit + interval <= capacity {
            let after = deficit + interval
            fullAt = now + after
            let remaining = Int((capacity - after) / interval)
            return Outcome(allowed: true, remaining: remaining, untilFull: after, untilNext: remaining > 0 ? 0 : after - (capacity - interval))
        }
        return Outcome(
            allowed: false, remaining: 0, untilFull: deficit, untilNext: deficit - (capacity - interval))
    }

    /// Whether the bucket is full at `now` (and so the same as a new one).
    public func isFull(at now: Int64) -> Bool { fullAt <= now }
}
