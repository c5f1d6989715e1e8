import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontMCP
import StorefrontStore

/// What the limiter answered for one request: allowed or not, and what the headers say.
public struct RateLimitDecision: MCPRateLimit {
    public var allowed: Bool
    public var caller: RateCaller
    public var rateClass: RateClass
    public var rule: RateRule
    /// Requests left now.
    public var remaining: Int
    /// Whole seconds until the quota is restored: until the next request may pass when none
    /// may now (the same as Retry-After), otherwise until the bucket is full again.
    public var reset: Int
    /// Whole seconds to wait before retrying (at least 1); meaningful when refused.
    public var retryAfter: Int
    /// The policy's headers' fixed parts, formatted once per policy by the limiter.
    let texts: HeaderTexts

    /// The fixed parts of a policy's headers.
    struct HeaderTexts: Sendable {
        /// `"reads";q=600;w=60`
        let policy: String
        /// `"reads";r=`
        let currentPrefix: String

        init(_ caller: RateCaller, _ rateClass: RateClass, _ rule: RateRule) {
            let name = RateLimitPolicy.name(caller, rateClass)
            policy = "\"\(name)\";q=\(rule.limit);w=\(rule.period)"
            currentPrefix = "\"\(name)\";r="
        }
    }

    public var policyName: String { RateLimitPolicy.name(caller, rateClass) }

    /// `RateLimit-Policy: "reads";q=600;w=60` (draft-ietf-httpapi-ratelimit-headers, a
    /// structured-field List of quoted policy names with quota and window parameters).
    public var policyHeader: String { texts.policy }

    /// `RateLimit: "reads";r=599;t=1`: remaining quota units and seconds until reset (built by
    /// appending: on every limited response, and cheaper than interpolation).
    public var currentHeader: String {
        var text = texts.currentPrefix
        text.reserveCapacity(text.utf8.count + 24)
        text += String(remaining)
        text += ";t="
        text += String(reset)
        return text
    }

    /// Adds the RateLimit headers (and Retry-After on a refusal) to a response.
    public func addHeaders(to response: inout Response) {
        response.headers.add("RateLimit-Policy", policyHeader)
        response.headers.add("RateLimit", currentHeader)
        if !allowed { response.headers.add("Retry-After", String(retryAfter)) }
    }


    /// What a refusal explains: the class, whose bucket, the limit and when to retry.
    public var details: JSON {
        [
            "class": .string(rateClass.name), "caller": .string(caller.name), "policy": .string(policyName),
            "limit": .int(Int64(rule.limit)), "window_seconds": .int(Int64(rule.period)), "burst": .int(Int64(rule.burst)),
            "retry_after_seconds": .int(Int64(retryAfter)),
        ]
    }

    public var message: String {
        let who = caller == .agent ? "this agent" : "this client address"
        return "Too many \(rateClass.name) requests from \(who): the limit is \(rule.limit) per \(rule.period) s "
            + "(bursts of up to \(rule.burst)). Retry after \(retryAfter) s; /agents publishes every limit (limits.rate_limits)."
    }

    /// The REST refusal: 429 with the error, Retry-After and the RateLimit headers.
    public var response: Response {
        let body: JSON = [
            "error": ["type": "rate_limited", "code": "rate_limited", "message": .string(message), "details": details]
        ]
        var response = Response(status: 429, contentType: "application/json", body: body.serialized())
        response.headers.add("Cache-Control", "no-store")
        addHeaders(to: &response)
        return response
    }
}

extension Response {
    /// The response with the decision's RateLimit headers, also when it is produced later.
    func withRateLimit(_ decision: RateLimitDecision?) -> Response {
        guard let decision else { return self }
        return amended { decision.addHeaders(to: &$0) }
    }
}
