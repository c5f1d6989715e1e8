import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// Which limits apply: a rule per caller (verified agent, anonymous client address) and class;
/// a class without a rule is not limited. The merchant's routes (`/admin`, the dashboard,
/// `/metrics`) are never limited by these buckets.
public struct RateLimitPolicy: Sendable, Equatable {
    public var rules: [RateCaller: [RateClass: RateRule]]

    public init(rules: [RateCaller: [RateClass: RateRule]]) { self.rules = rules }

    /// Generous enough that an ordinary agent never meets them; anonymous addresses are
    /// stricter than agents, and registration (always by address) is the strictest. Writes and
    /// checkouts need an identity, so an anonymous call of them is charged as a read (it is
    /// answered 401): addresses have no writes or checkout bucket unless one is configured.
    public static let defaults = RateLimitPolicy(rules: [
        .agent: [
            .reads: RateRule(limit: 6000, period: 60, burst: 3000),
            .writes: RateRule(limit: 1200, period: 60, burst: 600),
            .checkout: RateRule(limit: 600, period: 60, burst: 600),
        ],
        .anonymous: [
            .reads: RateRule(limit: 3000, period: 60, burst: 3000),
            .registration: RateRule(limit: 30, period: 3600, burst: 30),
        ],
    ])

    /// No limits at all.
    public static let unlimited = RateLimitPolicy(rules: [:])

    public var isEnabled: Bool { rules.values.contains { !$0.isEmpty } }

    /// The rule for a caller and class. Registration is keyed by client address whoever
    /// calls, so it always has the anonymous rule.
    public func rule(_ caller: RateCaller, _ rateClass: RateClass) -> RateRule? {
        rules[rateClass == .registration ? .anonymous : caller]?[rateClass]
    }

    /// The policy's name in headers and documents: the class for agents (`"checkout"`),
    /// `anonymous.` and the class for addresses (`"anonymous.checkout"`).
    public static func name(_ caller: RateCaller, _ rateClass: RateClass) -> String {
        caller == .agent && rateClass != .registration ? rateClass.name : "anonymous.\(rateClass.name)"
    }

    /// A setting that cannot be used, with the reason.
    public struct SettingError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Applies one `CLASS=RATE/PERIOD[,burst=N]` setting (as `--rate-limit` takes it): CLASS is
    /// `reads`, `writes`, `registration` or `checkout` (agents), optionally prefixed `agent.` or
    /// `anonymous.` (client addresses); `CLASS=off` lifts the limit.
    public mutating func apply(_ setting: String) throws {
        let pair = setting.split(separator: "=", maxSplits: 1).map(String.init)
        guard pair.count == 2 else {
            throw SettingError(description: "a rate limit is CLASS=RATE/PERIOD[,burst=N] (e.g. reads=600/60s), not \(setting)")
        }
        try apply(key: pair[0], value: pair[1])
    }

    mutating func apply(key: String, value: String) throws {
        let (caller, rateClass) = try Self.parseKey(key)
        if value == "off" {
            rules[caller, default: [:]][rateClass] = nil
            return
        }
        guard let rule = RateRule(parsing: value) else {
            throw SettingError(
                description: "\(key): a rate is RATE/PERIOD[,burst=N] with positive whole numbers (600/60s, 10/1s,burst=20, 100/1h) or off, not \(value)")
        }
        rules[caller, default: [:]][rateClass] = rule
    }

    static func parseKey(_ key: String) throws -> (RateCaller, RateClass) {
        var caller = RateCaller.agent
        var name = Substring(key)
        if name.hasPrefix("anonymous.") {
            caller = .anonymous
            name = name.dropFirst("anonymous.".count)
        } else if name.hasPrefix("agent.") {
            name = name.dropFirst("agent.".count)
        }
        guard let rateClass = RateClass(name: String(name)) else {
            throw SettingError(
                description: "unknown rate-limit class \(key): use reads, writes, registration or checkout, optionally prefixed agent. or anonymous.")
        }
        // Registration is keyed by address whoever calls.
        return (rateClass == .registration ? .anonymous : caller, rateClass)
    }

    /// Applies a `--rate-limits` file: a JSON object whose keys are settings' classes and whose
    /// values are rates (`"600/60s,burst=100"`), `"off"`, or `{"limit", "period", "burst"?}`;
    /// `{"enabled": false}` lifts every limit.
    public mutating func apply(file: JSON) throws {
        guard case .object(let members) = file else { throw SettingError(description: "the rate-limits file must hold a JSON object") }
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            if key == "$schema" || key == "description" { continue }
            if key == "enabled" {
                guard let on = value.boolValue else { throw SettingError(description: "enabled must be true or false") }
                if !on { self = .unlimited }
                continue
            }
            switch value {
            case .string(let text): try apply(key: key, value: text)
            case .object:
                guard let limit = value["limit"]?.intValue, let period = value["period"]?.intValue else {
                    throw SettingError(description: "\(key): an object rate needs integer limit and period (seconds)")
                }
                let burst = value["burst"]?.intValue.map { ",burst=\($0)" } ?? ""
                try apply(key: key, value: "\(limit)/\(period)s\(burst)")
            default:
                throw SettingError(description: "\(key): give a rate as \"RATE/PERIOD[,burst=N]\", \"off\" or {\"limit\", \"period\", \"burst\"}")
            }
        }
    }

    /// Every rule, in a stable order.
    public var all: [(caller: RateCaller, rateClass: RateClass, rule: RateRule)] {
        RateCaller.allCases.flatMap { caller in
            RateClass.allCases.compactMap { rateClass in
                rules[caller]?[rateClass].map { (caller, rateClass, $0) }
            }
        }
    }

    /// The policy as `/agents` and the capability manifest publish it; `classes` names the
    /// actions of each class.
    public func json(actionsByClass: [RateClass: [String]], refusalsPerSecond: Int = 0, refusalDelay: Double = 0) -> JSON {
        guard isEnabled else { return .null }
        let descriptions: [RateClass: String] = [
            .reads: "read-only actions (MCP readOnlyHint), documents, catalog and product pages, MCP methods other than tools/call, streams",
            .writes: "mutating actions other than checkout (carts, orders, refunds, notes, feedback, inbox acknowledgements)",
            .registration: "POST /agents/register, keyed by client address",
            .checkout: "the checkout actions (scope checkout:write), over REST, the UCP checkout-session routes and MCP alike",
        ]
        var classes: [String: JSON] = [:]
        for rateClass in RateClass.allCases {
            var entry: [String: JSON] = ["description": .string(descriptions[rateClass] ?? "")]
            if let names = actionsByClass[rateClass] { entry["actions"] = .array(names.map(JSON.string)) }
            classes[rateClass.name] = .object(entry)
        }
        return [
            "algorithm": "token_bucket",
            "keyed_by": [
                "agent": "the verified agent (API key or HTTP message signature), per class",
                "anonymous": "the client's IP address, per class (stricter than agents); an anonymous call of an action that needs an identity is a read (answered 401)",
            ],
            "action_from": "the action named in the request: POST /tools/{name}, its REST aliases, or params.name of an MCP tools/call",
            "policies": .array(all.map { caller, rateClass, rule in
                [
                    "name": .string(Self.name(caller, rateClass)), "class": .string(rateClass.name), "caller": .string(caller.name),
                    "quota": .int(Int64(rule.limit)), "window_seconds": .int(Int64(rule.period)), "burst": .int(Int64(rule.burst)),
                ]
            }),
            "classes": .object(classes),
            "unlimited": "the merchant's routes (/admin, /dashboard, /metrics)",
            "refusal": [
                "status": 429, "code": "rate_limited",
                "headers": ["Retry-After", "RateLimit", "RateLimit-Policy"],
                "mcp": "HTTP 429 with Retry-After, carrying a JSON-RPC error (code -32029) with the same details",
            ],
            "paced": refusalsPerSecond > 0
                ? .string(
                    "a client address refused more than \(refusalsPerSecond) times in a second gets each further refusal "
                        + "after \(refusalDelay) s: honour Retry-After") : .null,
            "headers_spec": "draft-ietf-httpapi-ratelimit-headers (RateLimit-Policy: \"reads\";q=6000;w=60, RateLimit: \"reads\";r=5999;t=1)",
        ]
    }
}
