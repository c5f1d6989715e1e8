import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// Rate limits on the request path. A request is charged once, where its class is known:
/// action routes (`POST /tools/{name}`, the REST aliases, the checkout-session routes,
/// `GET /catalog`) and MCP `tools/call` where the action is named, after authentication; every
/// other route before it runs, from its path. The merchant's routes are never charged.
extension Gateway {
    /// The class of an action (unknown names are reads: they run nothing).
    func rateClass(action: String?) -> RateClass {
        guard let action, let found = actionClasses[action] else { return .reads }
        return found
    }

    /// The class a route is charged before it runs; nil for the merchant's routes and for the
    /// routes charged where their action is known.
    static func routeRateClass(_ request: Request) -> RateClass? {
        let path = request.path
        if path.hasPrefix("/admin") || path.hasPrefix("/dashboard") || path.hasPrefix("/vendor/") || path == "/metrics" {
            return nil
        }
        switch request.method {
        case "GET", "HEAD":
            if path == "/catalog" || path.hasPrefix("/checkout-sessions/") || path.hasPrefix(Gateway.a2aPath + "/v1/tasks/")
                || path.hasPrefix("/checkout_sessions/") || path.hasPrefix("/orders/") || path.hasPrefix("/carts/")
            {
                return nil
            }
            return .reads
        case "POST", "PUT":
            if path == "/agents/register" { return .registration }
            if path == "/mcp" || path == "/ucp/mcp" || path == "/acp/mcp" || path.hasPrefix("/tools/") || path == Gateway.a2aPath || path.hasPrefix(Gateway.a2aPath + "/")
                || path.hasPrefix("/checkout_sessions") || path == "/agentic_commerce/delegate_payment" || path.hasPrefix("/carts") || path == "/catalog/search" || path == "/catalog/lookup"
                || path == "/inbox/ack" || path.hasPrefix("/checkout-sessions")
            {
                return nil
            }
            return .reads
        default:
            return .reads
        }
    }

    /// Spends from the bucket of whoever sent the request: the verified agent when it presents
    /// credentials that verify, else its client address.
    func chargeRoute(_ request: Request, _ rateClass: RateClass, limiter: RateLimiter) -> RateLimitDecision? {
        if rateClass != .registration, limiter.limits(.agent, rateClass),
            request.headers.contains("Authorization", or: "Signature-Input")
        {
            let result = authenticate(request)
            // The route may check the credentials again: it must not see the nonce as replayed.
            VerifiedSignature.remember(result, for: request)
            if case .success(let identity?) = result { return limiter.take(.agent, id: identity.agent.id, rateClass) }
        }
        return limiter.take(.anonymous, id: request.remoteAddress, rateClass)
    }

    /// Spends for an action call by a known caller (nil: anonymous, or credentials that failed).
    /// An anonymous call of an action that needs an identity runs nothing (it is answered 401),
    /// so it costs the address a read, whatever the action: probing checkout without a key
    /// cannot spend anyone's checkout budget, and guessing keys is not free either.
    func chargeAction(_ action: String?, identity: Identity?, request: Request) -> RateLimitDecision? {
        guard let limiter = rateLimiter else { return nil }
        let rateClass = rateClass(action: action)
        if let identity { return limiter.take(.agent, id: identity.agent.id, rateClass) }
        let runsAnonymously = action.flatMap { actions.entry($0) }.map { $0.action.scope == nil } ?? true
        return limiter.take(.anonymous, id: request.remoteAddress, runsAnonymously ? rateClass : .reads)
    }

    /// The refusal of a REST call, noted for analytics under its action.
    func refusal(_ decision: RateLimitDecision, identity: Identity?, action: String?) -> Response {
        var response = decision.response
        response.noteCaller(identity, action: action)
        return response
    }

    /// Prometheus lines: refused requests by class and caller, and the buckets held.
    func rateLimitMetrics() -> [String] {
        var lines = [
            "# HELP storefront_rate_limited_total Requests refused with 429 by the rate limits, by class and caller.",
            "# TYPE storefront_rate_limited_total counter",
        ]
        let refusals = rateLimiter?.refusals ?? []
        for rateClass in RateClass.allCases {
            for caller in RateCaller.allCases {
                let count = refusals.first { $0.caller == caller && $0.rateClass == rateClass }?.count ?? 0
                lines.append("storefront_rate_limited_total{class=\"\(rateClass.name)\",caller=\"\(caller.name)\"} \(count)")
            }
        }
        lines.append("# HELP storefront_rate_limit_buckets Token buckets held (bounded; full ones are dropped first).")
        lines.append("# TYPE storefront_rate_limit_buckets gauge")
        lines.append("storefront_rate_limit_buckets \(rateLimiter?.bucketCount ?? 0)")
        return lines
    }

    /// The actions of each class, for the published policy.
    static func actionsByClass(_ actions: ActionRegistry) -> [RateClass: [String]] {
        var result: [RateClass: [String]] = [:]
        for entry in actions.entries { result[RateClass.of(entry.action), default: []].append(entry.action.name) }
        return result
    }
}
