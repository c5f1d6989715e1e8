import Foundation

/// One limit: `limit` requests per `period` seconds, refilled evenly, with up to `burst` at once.
///
/// Written `RATE/PERIOD[,burst=N]`: `600/60s`, `600/1m,burst=100`, `10/1s`, `5000/1h`; a bare
/// period is seconds. Without `burst`, the whole quota may be spent at once (burst = limit).
public struct RateRule: Sendable, Equatable {
    public var limit: Int
    /// The window, in seconds (whole seconds: the `w` of `RateLimit-Policy`).
    public var period: Int
    public var burst: Int

    public init(limit: Int, period: Int, burst: Int? = nil) {
        self.limit = limit
        self.period = period
        self.burst = burst ?? limit
    }

    /// Nanoseconds between two refilled tokens (the emission interval of the bucket).
    public var interval: Int64 { max(1, Int64(period) * 1_000_000_000 / Int64(limit)) }

    /// Parses `RATE/PERIOD[,burst=N]`; nil when it is not of that form or not positive.
    public init?(parsing text: String) {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first else { return nil }
        let rate = first.split(separator: "/", maxSplits: 1)
        guard rate.count == 2, let limit = Int(rate[0]), limit >= 1, limit <= 1_000_000_000,
            let period = Self.seconds(String(rate[1])), period >= 1, period <= 86_400 * 7
        else { return nil }
        var burst: Int?
        for option in parts.dropFirst() {
            let pair = option.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0] == "burst", let value = Int(pair[1]), value >= 1, value <= 1_000_000_000 else { return nil }
            burst = value
        }
        self.init(limit: limit, period: period, burst: burst)
        // The bucket's capacity in nanoseconds must fit comfortably in 64 bits.
        let (capacity, overflow) = Int64(self.burst).multipliedReportingOverflow(by: interval)
        guard !overflow, capacity < Int64.max / 4 else { return nil }
    }

    /// `60`, `60s`, `1m`, `1h`, `1d` in seconds.
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let last = text.last, let unit = units[last] {
            return Int(text.dropLast()).flatMap { $0 >= 0 ? $0 * unit : nil }
        }
        return Int(text)
    }

    /// The rule as it is written in options.
    public var text: String { "\(limit)/\(period)s" + (burst == limit ? "" : ",burst=\(burst)") }
}
