import Foundation
import HTTPServer
import JSON

/// Headers handlers set for analytics; removed before a response leaves the gateway.
enum InternalHeader {
    static let agent = "X-Storefront-Agent"
    static let principal = "X-Storefront-Principal"
    static let action = "X-Storefront-Action"
    static let amount = "X-Storefront-Amount"
    static let currency = "X-Storefront-Currency"
    static let referral = "X-Storefront-Referral"
    static let all = [agent, principal, action, amount, currency, referral]
}

extension Response {
    /// Notes who called and which action ran, for analytics.
    mutating func noteCaller(_ identity: Identity?, action: String?) {
        if let identity {
            headers.add(InternalHeader.agent, identity.agent.id)
            headers.add(InternalHeader.principal, identity.agent.principal)
        }
        if let action { headers.add(InternalHeader.action, action) }
    }
}

extension Gateway {
    /// Every request: routed, then recorded for analytics (off the request path).
    public func handle(_ request: Request) -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let (response, pattern) = routes.routeWithPattern(request)
        if case .deferred(let produce) = response.body {
            return .later { [self] complete in
                produce { result in complete(self.finish(request, result, start: start, pattern: pattern)) }
            }
        }
        return finish(request, response, start: start, pattern: pattern)
    }

    func finish(_ request: Request, _ response: Response, start: UInt64, pattern: String?) -> Response {
        var response = response
        var agentID: String?, principal: String?, action: String?, amount: Int64?, currency: String?, referral: String?
        // Most responses carry no internal header: one scan decides.
        if response.headers.fields.contains(where: { $0.name.hasPrefix("X-Storefront-") }) {
            agentID = response.headers[InternalHeader.agent]
            principal = response.headers[InternalHeader.principal]
            action = response.headers[InternalHeader.action]
            amount = response.headers[InternalHeader.amount].flatMap(Int64.init)
            currency = response.headers[InternalHeader.currency]
            referral = response.headers[InternalHeader.referral]
            for name in InternalHeader.all { response.headers.remove(name) }
        }
        guard analytics.enabled else { return response }
        let latency = Int64((DispatchTime.now().uptimeNanoseconds - start) / 1000)
        let route = action.map { "action:\($0)" } ?? pattern ?? "(unmatched)"
        var family = AgentClassifier.Family(name: "unknown client", operatorName: nil, category: "unknown_client")
        if agentID == nil {
            let userAgent = request.headers["User-Agent"] ?? ""
            if let known = families[userAgent] {
                family = known
            } else {
                family = classifier.classify(userAgent: userAgent)
                families.insert(userAgent, family)
            }
        }
        let bytes: Int64
        switch response.body {
        case .bytes(let b): bytes = Int64(b.count)
        default: bytes = 0
        }
        analytics.record(
            AnalyticsEvent(
                atMs: Int64(Date().timeIntervalSince1970 * 1000),
                visitor: agentID ?? "\(family.name)@\(request.remoteAddress)",
                agentID: agentID, principal: principal,
                family: agentID != nil ? "registered agent" : family.name,
                operatorName: family.operatorName,
                category: agentID != nil ? "agent" : family.category,
                stage: stage(route: pattern ?? "", action: action),
                route: route, method: request.method, status: response.status, latencyUs: latency, bytesOut: bytes,
                amount: amount, currency: currency, referral: referral))
        return response
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
        case "/agents/register": return JourneyStage.trustChecking.rawValue
        case "/checkout-sessions", "/checkout-sessions/{id}", "/checkout-sessions/{id}/complete", "/checkout-sessions/{id}/cancel":
            return JourneyStage.transacting.rawValue
        case "/inbox/ack": return JourneyStage.using.rawValue
        default: return JourneyStage.finding.rawValue
        }
    }
}
