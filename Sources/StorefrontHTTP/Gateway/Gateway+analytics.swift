import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// What a handler tells analytics about a response: who called, which action ran, what it
/// earned. Travels as the response's `note`, never on the wire.
struct CallerNote: Sendable {
    var agentID: String?
    var principal: String?
    var action: String?
    var amount: Int64?
    var currency: String?
    var referral: String?
    /// What the access policy did.
    var outcome: PolicyOutcome = .none
}

extension Response {
    var callerNote: CallerNote? {
        get { note as? CallerNote }
        set { note = newValue }
    }

    private mutating func updateCaller(_ change: (inout CallerNote) -> Void) {
        var caller = callerNote ?? CallerNote()
        change(&caller)
        callerNote = caller
    }

    /// Notes who called and which action ran, for analytics.
    mutating func noteCaller(_ identity: Identity?, action: String?) {
        updateCaller { caller in
            if let identity {
                caller.agentID = identity.agent.id
                caller.principal = identity.agent.principal
            }
            if let action { caller.action = action }
        }
    }

    /// Notes the order a person's approval placed (the money it moved) when an AI assistant sent
    /// that person here: analytics files it as revenue from AI-referred humans.
    mutating func noteApprovedOrder(_ result: JSON, request: Request) {
        guard AIReferral.of(request) != nil, let total = Money(json: result["order"]?["totals"]?["total"]) else { return }
        notePurchase(amount: total.amount, currency: total.currency, referral: nil)
    }

    /// Notes the money an order moved (and the referral that brought it).
    mutating func notePurchase(amount: Int64, currency: String, referral: String?) {
        updateCaller { caller in
            caller.amount = amount
            caller.currency = currency
            caller.referral = referral
        }
    }
}

extension Gateway {
    /// Every request: routed, then recorded for analytics (off the request path).
    public func handle(_ request: Request) -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        var decision: RateLimitDecision?
        if let limiter = rateLimiter, let rateClass = Self.routeRateClass(request) {
            decision = chargeRoute(request, rateClass, limiter: limiter)
            if let refused = decision, !refused.allowed {
                return paced(
                    finish(request, refused.response, start: start, pattern: patternLabels[request.path] != nil ? request.path : nil),
                    request)
            }
        }
        // What the request names that must be fetched first (an operator's key directory, a UCP
        // platform's profile): fetched while the connection waits suspended (no thread held),
        // then the request is routed.
        if let fetch = prerequisite(of: request) {
            return .later { [self, decision] complete in
                fetch { complete(self.routed(request, decision: decision, start: start)) }
            }
        }
        return routed(request, decision: decision, start: start)
    }

    /// A fetch the request needs before it can be answered, or nil.
    private func prerequisite(of request: Request) -> (@Sendable (@escaping @Sendable () -> Void) -> Void)? {
        if let origin = KeyDirectories.namedOrigin(request), keyDirectories.cached(origin) == nil,
            unregisteredDirectorySignature(request) != nil
        {
            let directories = keyDirectories
            let caller = request.remoteAddress
            return { then in directories.load(origin, caller: caller, then: then) }
        }
        if let profile = PlatformProfiles.named(in: request, mcpPath: Endpoints.ucpMCPPath), platformProfiles.needsFetch(profile) {
            let profiles = platformProfiles
            let caller = request.remoteAddress
            return { then in profiles.load(profile, caller: caller, then: then) }
        }
        return nil
    }

    private func routed(_ request: Request, decision: RateLimitDecision?, start: UInt64) -> Response {
        var (response, pattern) = routes.routeWithPattern(request)
        if case .deferred(let produce) = response.body {
            return .later { [self, decision, pattern] complete in
                produce { result in
                    var result = self.challenged(request, result)
                    decision?.addHeaders(to: &result)
                    complete(self.finish(request, result, start: start, pattern: pattern))
                }
            }
        }
        response = challenged(request, response)
        decision?.addHeaders(to: &response)
        return paced(finish(request, response, start: start, pattern: pattern), request)
    }

    /// A refusal (429) to an address that has had more than its share of them this second is
    /// sent after a delay: the connection waits suspended (no thread held), so a client that
    /// ignores Retry-After gets a few answers a second per connection and the gateway's cores
    /// stay with everyone else. Connections held this way count against the address's limit.
    func paced(_ response: Response, _ request: Request) -> Response {
        guard response.status == 429, let pacer = refusalPacer,
            let spent = pacer.take(.anonymous, id: request.remoteAddress, .reads), !spent.allowed
        else { return response }
        let delay = configuration.refusalDelay
        return .later { complete in
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) { complete(response) }
        }
    }

    static let selfAuditHeader = "Storefront-Self-Audit"

    /// The token the gateway's own audit (the dashboard's "Audit this store now") sends to itself:
    /// a signature by the store's key, so every node holding the key file knows it and nobody else
    /// can make the gateway leave their requests out of analytics.
    var selfAuditToken: String {
        (try? signingKey.sign(Array("storefront self-audit".utf8)).base64EncodedString()) ?? UUID().uuidString
    }

    /// Whether a request is the gateway's own audit of itself.
    func isSelfAudit(_ request: Request) -> Bool {
        guard let sent = request.headers[Self.selfAuditHeader] else { return false }
        return APIKey.equal(Array(sent.utf8), Array(selfAuditToken.utf8))
    }

    func finish(_ request: Request, _ response: Response, start: UInt64, pattern: String?) -> Response {
        var response = response
        var outcome = response.callerNote?.outcome ?? .none
        var charged: Money?
        if let price = chargedRequests.remove(request.id), (200..<300).contains(response.status) {
            // Pay per crawl: only a successful answer is charged, and says so.
            response.headers.add("crawler-charged", Self.crawlerPrice(price))
            outcome = .charged
            charged = price
        }
        guard analytics.enabled, !isSelfAudit(request) else { return response }
        let caller = response.callerNote
        let latency = Int64((DispatchTime.now().uptimeNanoseconds - start) / 1000)
        let routeID = routeLabel(pattern: pattern, action: caller?.action)
        let familyID: Int32
        if caller?.agentID != nil {
            familyID = registeredAgentFamily
        } else if let origin = verifiedOperators[request.id] {
            // Verified by its operator's key directory: filed under that operator, not its User-Agent.
            familyID = verifiedFamilies.family(of: URL(string: origin)?.host ?? origin)
        } else {
            let claimed = claimedFamily(request)
            // What the User-Agent claims is verified when the address is one its operator publishes.
            if claimed.family.category == "browser", let referred = AIReferral.of(request),
                let id = AIReferral.familyIDs[referred.assistant.key]
            {
                // A person an assistant sent: their visit (and what they buy) is the assistant's referral.
                familyID = id
                if referred.fresh {
                    response.headers.add("Set-Cookie", AIReferral.cookie(referred.assistant, secure: configuration.publicURL.hasPrefix("https://")))
                    // A page that sets a visitor's cookie is not for shared caches.
                    if response.headers["Cache-Control"]?.contains("public") == true { response.headers.set("Cache-Control", "private, max-age=0") }
                }
            } else if claimed.family.operatorName != nil,
                operatorRanges.verifies(familyID: claimed.id, family: claimed.family.name, address: request.remoteAddress)
            {
                var verified = claimed.family
                verified.verification = "verified"
                familyID = AnalyticsLabels.shared.id(verified)
            } else {
                familyID = claimed.id
            }
        }
        let bytes: Int64
        switch response.body {
        case .bytes(let b): bytes = Int64(b.count)
        default: bytes = 0
        }
        // Only what this request alone knows is gathered here, labels as numbers; the visitor's
        // name and the labels' text are looked up when the batch is flushed, off the request path.
        analytics.record(
            AnalyticsEvent(
                atMs: Int64(Date().timeIntervalSince1970 * 1000), remoteAddress: request.remoteAddress,
                agentID: caller?.agentID, principal: caller?.principal, familyID: familyID, routeID: routeID,
                method: request.method, status: response.status, latencyUs: latency, bytesOut: bytes,
                amount: caller?.amount, currency: caller?.currency, referral: caller?.referral, outcome: outcome, charged: charged))
        return response
    }

    /// The family a request's User-Agent names (numbered), as it claims to be.
    func claimedFamily(_ request: Request) -> (id: Int32, family: AgentClassifier.Family) {
        let userAgent = request.headers["User-Agent"] ?? ""
        if let known = families[userAgent] { return known }
        let family = classifier.classify(userAgent: userAgent)
        let claimed = (AnalyticsLabels.shared.id(family), family)
        families.insert(userAgent, claimed)
        return claimed
    }

    static let registeredAgent = AgentClassifier.Family(name: "registered agent", operatorName: nil, category: "agent", verification: "verified")

    /// The route and journey stage analytics files a request under (`action:NAME` and the
    /// action's stage, else the matched route pattern and its stage), as a number: computed once
    /// per action and pattern. A name that is no action (an agent's typo, a probe) is filed under
    /// the route it came by, so what callers send never adds labels.
    func routeLabel(pattern: String?, action: String?) -> Int32 {
        if let action, let id = actionLabels[action] { return id }
        guard let pattern else { return AnalyticsLabels.shared.id(.init(route: "(unmatched)", stage: stage(route: "", action: nil))) }
        if let id = patternLabels[pattern] { return id }
        return AnalyticsLabels.shared.id(.init(route: pattern, stage: stage(route: pattern, action: nil)))
    }

    static let endpointStages: [String: String] = Dictionary(
        Endpoints.all.map { ($0.path, $0.stage.rawValue) }, uniquingKeysWith: { a, _ in a })

    /// The journey stage of a request: its action's, else its route's.
    func stage(route: String, action: String?) -> String {
        if let action, let entry = actions.entry(action) { return entry.action.stage.rawValue }
        if route.hasPrefix("/admin") || route.hasPrefix("/dashboard") || route.hasPrefix("/vendor") || route == "/metrics" {
            return "merchant"
        }
        if let stage = Self.endpointStages[route] { return stage }
        switch route {
        case "/agents/register", "/agents/policy": return JourneyStage.trustChecking.rawValue
        case "/checkout-sessions", "/checkout-sessions/{id}", "/checkout-sessions/{id}/complete", "/checkout-sessions/{id}/cancel":
            return JourneyStage.transacting.rawValue
        case "/inbox/ack": return JourneyStage.using.rawValue
        case "/catalog/search", "/catalog/lookup": return JourneyStage.evaluating.rawValue
        default:
            // The protocols' checkout, cart and order routes (UCP, ACP).
            if route.hasPrefix("/checkout_sessions") || route.hasPrefix("/carts") || route.hasPrefix("/agentic_commerce/") {
                return JourneyStage.transacting.rawValue
            }
            if route.hasPrefix("/orders/") { return JourneyStage.using.rawValue }
            return JourneyStage.finding.rawValue
        }
    }
}

/// Analytics families of operators verified by their key directories: one per operator host, for
/// the first 256 hosts; the rest are filed together. Anyone can publish a directory (a wildcard
/// domain publishes endless ones), and each family is a label kept for the process's life and a
/// series in /metrics.
final class VerifiedFamilies: @unchecked Sendable {
    static let limit = 256
    private let lock = NSLock()
    private var ids: [String: Int32] = [:]

    func family(of host: String) -> Int32 {
        lock.withLock {
            if let id = ids[host] { return id }
            guard ids.count < Self.limit else {
                return AnalyticsLabels.shared.id(AgentClassifier.Family(name: "other (verified)", operatorName: nil, category: "agent", verification: "verified"))
            }
            let id = AnalyticsLabels.shared.id(AgentClassifier.Family(name: "\(host) (verified)", operatorName: host, category: "agent", verification: "verified"))
            ids[host] = id
            return id
        }
    }
}

/// The operators' published address ranges, as the store holds them (re-read by the sweep),
/// and what they answered for each family and address lately: an operator's list may hold
/// thousands of prefixes, and a visitor sends many requests from one address.
final class RangesBox: @unchecked Sendable {
    private let lock = NSLock()
    private var current = OperatorRanges()
    struct Key: Hashable {
        let familyID: Int32
        let address: String
    }

    private let answers = BoundedMemo<Key, Bool>(capacity: 65_536)

    var value: OperatorRanges {
        get { lock.withLock { current } }
        set {
            lock.withLock { current = newValue }
            answers.removeAll()
        }
    }

    /// Whether `address` is one the operator of `family` (numbered `familyID`) publishes. A
    /// repeated question is one lookup: no lock on the ranges, no prefix scanned.
    func verifies(familyID: Int32, family: String, address: String) -> Bool {
        let key = Key(familyID: familyID, address: address)
        if let known = answers[key] { return known }
        let answer = value.contains(family: family, address: address)
        answers.insert(key, answer)
        return answer
    }
}
