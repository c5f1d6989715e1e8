import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontMCP
import StorefrontStore
import Synchronization

/// The access policy in force and the documents written from it (robots.txt, llms.txt, `/agents`
/// and the policy itself), swapped together when the merchant changes it. Reading costs a lock and
/// one retain (a snapshot is immutable); whether any rule restricts anything is one atomic load,
/// so a store without a policy pays nothing more per request.
final class PolicyState: @unchecked Sendable {
    final class Current: Sendable {
        let policy: AccessPolicy
        let robotsTxt: Document
        let llmsTxt: Document
        let agents: Document
        let agentsHTML: Document
        let policyDocument: Document
        /// The catalog version llms.txt was written from (it lists products).
        let catalogVersion: Int
        /// What the policy answers for each family (and Web Bot Auth host) at each stage, worked
        /// out once: a request is then one lookup, however many rules there are.
        private let answers = BoundedMemo<AnswerKey, [AccessPolicy.Access]>(capacity: 4096)
        struct AnswerKey: Hashable {
            let familyID: Int32
            let originHost: String?
        }

        /// Every stage's access (in ``AccessPolicy/stages`` order) for a subject.
        func accesses(familyID: Int32, family: AgentClassifier.Family, originHost: String?) -> [AccessPolicy.Access] {
            let key = AnswerKey(familyID: familyID, originHost: originHost)
            if let known = answers[key] { return known }
            let answer = AccessPolicy.stages.map {
                policy.access(family: family.name, operatorName: family.operatorName, category: family.category, originHost: originHost, stage: $0)
            }
            answers.insert(key, answer)
            return answer
        }

        init(
            policy: AccessPolicy, robotsTxt: Document, llmsTxt: Document, agents: Document, agentsHTML: Document, policyDocument: Document,
            catalogVersion: Int
        ) {
            self.catalogVersion = catalogVersion
            self.policy = policy
            self.robotsTxt = robotsTxt
            self.llmsTxt = llmsTxt
            self.agents = agents
            self.agentsHTML = agentsHTML
            self.policyDocument = policyDocument
        }
    }

    private let lock = NSLock()
    private var state: Current
    private let restricting: Atomic<Bool>

    init(_ state: Current) {
        self.state = state
        restricting = Atomic(!state.policy.isEmpty)
    }

    var current: Current {
        get { lock.withLock { state } }
        set {
            lock.withLock { state = newValue }
            restricting.store(!newValue.policy.isEmpty, ordering: .releasing)
        }
    }

    /// Whether any rule refuses or charges anyone.
    var isRestricting: Bool { restricting.load(ordering: .acquiring) }
}

/// What the policy decides for one request.
enum PolicyScope: Equatable {
    /// Not governed (the merchant's routes, robots.txt, the policy, sign-in and consent pages).
    case exempt
    /// One stage of the journey.
    case stage(String)
    /// An endpoint that serves every stage (MCP's session plumbing, A2A): refused only as far as
    /// every stage is; its messages are judged one by one where the endpoint can tell them apart.
    case anyStage
}

extension Gateway {
    /// Where the policy is published; every refusal links to it.
    static let policyPath = "/agents/policy"

    /// Paths no policy closes: what a crawler must read to learn the rules, and the pages and
    /// endpoints people (principals, the merchant) and OAuth clients use.
    static func policyExempt(_ pattern: String) -> Bool {
        pattern == "/robots.txt" || pattern == policyPath || pattern == "/status" || pattern.hasPrefix("/admin")
            || pattern.hasPrefix("/dashboard") || pattern.hasPrefix("/vendor") || pattern == "/metrics"
            || pattern.hasPrefix("/principal") || pattern.hasPrefix("/oauth/") || pattern.hasPrefix("/.well-known/oauth-")
            || pattern.hasSuffix("/continue") || pattern.hasSuffix("/confirm")
            || pattern == Endpoints.mcpPath || pattern == Endpoints.ucpMCPPath || pattern == Endpoints.acpMCPPath
    }

    /// The stage a route serves, for the policy (the same stage analytics files it under).
    func policyScope(pattern: String, request: Request?) -> PolicyScope {
        if Self.policyExempt(pattern) { return .exempt }
        if pattern.hasPrefix(Self.a2aPath) { return .anyStage }
        if pattern == "/tools/{name}" {
            guard let name = request?.pathParameters["name"], let entry = actions.entry(name) else { return .stage(JourneyStage.finding.rawValue) }
            return .stage(entry.action.stage.rawValue)
        }
        return .stage(stage(route: pattern, action: nil))
    }

    /// The policy's verdict on a request before its route runs: nil lets it through.
    func policyRefusal(_ request: Request, pattern: String) -> Response? {
        guard policyState.isRestricting else { return nil }
        // Each route's scope is worked out once (`/tools/{name}` depends on the name).
        let scope = pattern == "/tools/{name}" ? policyScope(pattern: pattern, request: request)
            : (patternScopes[pattern] ?? policyScope(pattern: pattern, request: request))
        guard scope != .exempt else { return nil }
        let current = policyState.current
        guard !current.policy.isEmpty else { return nil }
        return judge(request, scope: scope, current: current) { status, error, extra, headers in
            var body = ["error": .object(error)] as [String: JSON]
            for (key, value) in extra { body[key] = value }
            var response = jsonResponse(.object(body), status: status)
            for (name, value) in headers { response.headers.add(name, value) }
            return response
        }
    }

    /// The policy's verdict on an MCP message (the action a `tools/call` names; nil for any
    /// other method): a JSON-RPC error with the refusal's HTTP status, or nil.
    func policyRefusal(mcp request: Request, action: String?, identity: Identity?, id: JSON?) -> Response? {
        guard policyState.isRestricting else { return nil }
        let current = policyState.current
        guard !current.policy.isEmpty, identity == nil else { return nil }
        let scope: PolicyScope = action.flatMap { actions.entry($0) }.map { .stage($0.action.stage.rawValue) } ?? .anyStage
        return judge(request, scope: scope, current: current) { status, error, extra, headers in
            var data = error
            for (key, value) in extra { data[key] = value }
            let body: JSON = [
                "jsonrpc": "2.0", "id": id ?? .null,
                "error": ["code": .int(status == 402 ? -32002 : -32003), "message": error["message"] ?? "", "data": .object(data)],
            ]
            var response = jsonResponse(body, status: status)
            for (name, value) in headers { response.headers.add(name, value) }
            return response
        }
    }

    /// Who the policy sees in a request: its agent family (by User-Agent, or the Web Bot Auth
    /// origin that signed it), whether that is proven, and the origin's host; nil when the policy
    /// does not govern the request (a browser, an unrecognised client, a registered agent).
    private func policySubject(_ request: Request) -> (family: AgentClassifier.Family, familyID: Int32, originHost: String?, signed: Bool)? {
        let claimed = claimedFamily(request)
        let signed = request.headers["Signature-Input"] != nil
        if request.headers["Authorization"] != nil || signed {
            switch authenticate(request) {
            case .success(.some): return nil  // a registered agent: the merchant's own customer
            case .success(.none):
                if let origin = verifiedOperators[request.id], let host = URL(string: origin)?.host?.lowercased() {
                    if Self.webBotAuthHosts[claimed.family.name] == host { return (claimed.family, claimed.id, host, true) }
                    let family = AgentClassifier.Family(name: "\(host) (verified)", operatorName: host, category: claimed.family.category)
                    return (family, AnalyticsLabels.shared.id(family), host, true)
                }
            case .failure: break  // judged as what it claims; its route answers the bad credentials
            }
        }
        guard claimed.family.operatorName != nil else { return nil }
        return (claimed.family, claimed.id, nil, false)
    }

    /// Applies the policy to a governed request at `scope`; `refuse` writes the refusal in the
    /// surface's shape (REST error JSON or a JSON-RPC error).
    private func judge(
        _ request: Request, scope: PolicyScope, current: PolicyState.Current,
        refuse: (_ status: Int, _ error: [String: JSON], _ extra: [String: JSON], _ headers: [(String, String)]) -> Response
    ) -> Response? {
        guard let subject = policySubject(request) else { return nil }
        let family = subject.family, policy = current.policy
        let accesses = current.accesses(familyID: subject.familyID, family: family, originHost: subject.originHost)
        let stageName: String
        let verdict: AccessPolicy.Access
        switch scope {
        case .exempt: return nil
        case .stage(let stage):
            stageName = stage
            verdict = AccessPolicy.stageIndex[stage].map { accesses[$0] } ?? .allow
        case .anyStage:
            // The most that any stage allows: allow, then charge, then require verification.
            stageName = "*"
            verdict = [AccessPolicy.Access.allow, .charge, .requireVerification].first { accesses.contains($0) } ?? .block
        }
        guard verdict != .allow else { return nil }
        let policyURL = configuration.publicURL + Self.policyPath
        let who = family.operatorName.map { "\(family.name) (\($0))" } ?? family.name
        let stageTitle = JourneyStage(rawValue: stageName)?.title ?? "any stage"
        let link = [("Link", "<\(policyURL)>; rel=\"describedby\"")]
        func noted(_ response: Response, _ outcome: PolicyOutcome) -> Response {
            var response = response
            var caller = response.callerNote ?? CallerNote()
            caller.outcome = outcome
            response.callerNote = caller
            return response
        }
        var verified: Bool { subject.signed || operatorRanges.verifies(familyID: subject.familyID, family: family.name, address: request.remoteAddress) }
        switch verdict {
        case .allow:
            return nil
        case .block:
            return noted(
                refuse(
                    403,
                    ["type": "permission_error", "code": "blocked_by_policy",
                     "message": .string("This store's policy does not let \(who) reach \(stageTitle) (\(request.path)); robots.txt says the same. See \(policyURL)."),
                     "policy": .string(policyURL), "stage": .string(stageName)],
                    [:], link),
                .disallowed)
        case .requireVerification:
            if verified { return nil }
            return noted(
                refuse(
                    403,
                    ["type": "permission_error", "code": "verification_required",
                     "message": .string("This store serves \(stageTitle) only to agents that prove who they are. \(who) is only claimed by the User-Agent: sign the request with Web Bot Auth (RFC 9421, Signature-Agent naming your operator's key directory), send it from your operator's published addresses, or authenticate as a registered agent."),
                     "policy": .string(policyURL), "stage": .string(stageName)],
                    ["verify": Self.howToVerify(family.name)], link),
                .verificationRequired)
        case .charge:
            guard let price = policy.price else { return nil }
            let priceText = Self.crawlerPrice(price)
            let terms: JSON = [
                "price": price.json, "per": "request", "stage": .string(stageName), "protocol": "pay-per-crawl",
                "accept": .string("Send crawler-exact-price: \(priceText) (or crawler-max-price at or above it) on a verified request."),
                "charged_header": "crawler-charged",
                "billing": "Charged requests (2xx answers only) are billed to the operator; the merchant's dashboard lists them.",
                "verify": Self.howToVerify(family.name),
            ]
            var headers = link + [("crawler-price", priceText)]
            guard verified else {
                return noted(
                    refuse(
                        402,
                        ["type": "payment_required", "code": "payment_required",
                         "message": .string("\(stageTitle) costs \(priceText) a request for \(who), payable only by a verified crawler: verify first (see terms.verify), then accept the price."),
                         "policy": .string(policyURL), "stage": .string(stageName)],
                        ["terms": terms], headers),
                    .paymentRequired)
            }
            if let offered = Self.acceptedPrice(request, price: price) {
                if offered {
                    chargedRequests.insert(request.id, price)
                    return nil
                }
                headers.append(("crawler-error", "price not accepted: the price is \(priceText)"))
            }
            return noted(
                refuse(
                    402,
                    ["type": "payment_required", "code": "payment_required",
                     "message": .string("\(stageTitle) costs \(priceText) a request for \(who): send crawler-exact-price: \(priceText) (or a crawler-max-price at or above it) to be served and charged."),
                     "policy": .string(policyURL), "stage": .string(stageName)],
                    ["terms": terms], headers),
                .paymentRequired)
        }
    }

    /// Families' Web Bot Auth origins (hosts), as their operators publish them.
    static let webBotAuthHosts: [String: String] = {
        var hosts: [String: String] = [:]
        for (family, methods) in OperatorRanges.methods()["families"]?.objectValue ?? [:] {
            if let origin = methods["web_bot_auth"]?.stringValue, let host = URL(string: origin)?.host?.lowercased() { hosts[family] = host }
        }
        return hosts
    }()

    static func howToVerify(_ family: String) -> JSON {
        let methods = OperatorRanges.methods()["families"]?[family]
        return [
            "web_bot_auth": methods?["web_bot_auth"].map { .string("Sign with RFC 9421 (tag web-bot-auth) naming \($0.stringValue ?? "") in Signature-Agent.") }
                ?? "Sign with RFC 9421 (tag web-bot-auth) naming your operator's key directory in Signature-Agent.",
            "published_addresses": methods?["ranges"] ?? .null,
            "registered_agent": "Or register at /agents/register and send your API key.",
        ]
    }

    /// `USD 0.01`: pay per crawl's price format.
    static func crawlerPrice(_ price: Money) -> String { "\(price.currency) \(price.decimalString)" }

    /// Whether the request accepts `price` (`crawler-exact-price` equal to it, or
    /// `crawler-max-price` at or above it); nil when it offers none.
    static func acceptedPrice(_ request: Request, price: Money) -> Bool? {
        func parse(_ text: String) -> Money? {
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, String(parts[0]) == price.currency else { return nil }
            let number = String(parts[1])
            let pieces = number.split(separator: ".", omittingEmptySubsequences: false)
            guard pieces.count <= 2, pieces.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
                pieces.count == 1 || pieces[1].count <= price.minorUnitDigits, let whole = Int64(pieces[0]), whole < 1_000_000
            else { return nil }
            var fraction = pieces.count == 2 ? String(pieces[1]) : ""
            fraction += String(repeating: "0", count: price.minorUnitDigits - fraction.count)
            var scale: Int64 = 1
            for _ in 0..<price.minorUnitDigits { scale *= 10 }
            return Money(amount: whole * scale + (Int64(fraction) ?? 0), currency: price.currency)
        }
        if let exact = request.headers["crawler-exact-price"] { return parse(exact) == price }
        if let max = request.headers["crawler-max-price"] { return (parse(max)?.amount ?? -1) >= price.amount }
        return nil
    }

    // MARK: - The documents written from the policy

    /// The documents the policy changes, written from `policy`.
    func policyDocuments(_ policy: AccessPolicy) -> PolicyState.Current {
        let catalogVersion = catalog.version
        var facts = storeFacts
        facts.accessPolicy = policy
        facts.policyURL = configuration.publicURL + Self.policyPath
        facts.robotsGroups = robotsGroups(policy)
        let agentsJSON = facts.agentsDocument(signingKeyID: signingKey.keyID, actions: actions)
        return PolicyState.Current(
            policy: policy,
            robotsTxt: .text(facts.robotsTxt(), contentType: "text/plain; charset=utf-8"),
            llmsTxt: .text(facts.llmsTxt(actions: actions), contentType: "text/markdown; charset=utf-8"),
            agents: .json(agentsJSON),
            agentsHTML: Document(bytes: Array(facts.agentsHTML(agentsJSON).utf8), contentType: "text/html; charset=utf-8"),
            policyDocument: .json(policyJSON(policy), cacheControl: "public, max-age=60"),
            catalogVersion: catalogVersion)
    }

    /// The policy's documents, written again first when the catalog changed since (llms.txt
    /// lists products).
    var policyDocumentsNow: PolicyState.Current {
        let current = policyState.current
        guard current.catalogVersion != catalog.version else { return current }
        reloadPolicy()
        return policyState.current
    }

    /// The published policy: the rules, the price, and every known family's access per stage.
    func policyJSON(_ policy: AccessPolicy) -> JSON {
        var doc = policy.json(policyURL: configuration.publicURL + Self.policyPath).objectValue ?? [:]
        doc["stages"] = .array(AccessPolicy.stages.map(JSON.string))
        doc["governs"] = "Agents recognised by their User-Agent (the known-agents list) or by a Web Bot Auth signature. Browsers, unrecognised clients and registered agents that authenticate are not governed."
        doc["precedence"] = "The most specific rule wins: agent token, Web Bot Auth origin host, operator, category, *; a rule for the stage before one for every stage. Unnamed: allow."
        doc["outcomes"] = [
            "allow": "served", "block": "403 blocked_by_policy (robots.txt disallows the same paths)",
            "require_verification": "403 verification_required unless the request is verified (Web Bot Auth, the operator's published addresses, or a registered agent's credential)",
            "charge": "402 payment_required with crawler-price; a verified request sending crawler-exact-price (or crawler-max-price at or above it) is served with crawler-charged",
        ]
        doc["effective"] = .array(classifier.families.compactMap { family -> JSON? in
            let accesses = policy.accesses(family: family)
            guard accesses.values.contains(where: { $0 != .allow }) else { return nil }
            return [
                "agent": .string(family.name), "operator": JSON(family.operatorName), "category": .string(family.category),
                "stages": .object(Dictionary(uniqueKeysWithValues: accesses.map { ($0.key, .string($0.value.rawValue)) })),
            ]
        })
        doc["robots_txt"] = .string(configuration.publicURL + "/robots.txt")
        return .object(doc)
    }

    /// Each GET route as robots.txt names it (its pattern, parameters as `*`) with its scope.
    var robotsRoutes: [(path: String, scope: PolicyScope)] {
        var seen = Set<String>()
        var routesOut: [(path: String, scope: PolicyScope)] = []
        for entry in routes.methodsAndPatterns.sorted() where entry.hasPrefix("GET ") {
            let pattern = String(entry.dropFirst(4))
            let scope = policyScope(pattern: pattern, request: nil)
            guard scope != .exempt, !pattern.hasPrefix("/tools/") else { continue }
            let path = Self.robotsPath(pattern)
            if seen.insert(path).inserted { routesOut.append((path, scope)) }
        }
        // Actions called by path (POST, which crawlers do not send, but robots.txt says it all).
        for entry in actions.entries {
            let path = "/tools/" + entry.action.name
            if seen.insert(path).inserted { routesOut.append((path, .stage(entry.action.stage.rawValue))) }
        }
        // A path that is also the start of others (`/tools`, `/catalog`) is named exactly, with
        // or without a query, so that a rule for it says nothing of the paths below it.
        let all = routesOut.map(\.path)
        return routesOut.flatMap { route -> [(path: String, scope: PolicyScope)] in
            guard !route.path.contains("*"), all.contains(where: { $0 != route.path && $0.hasPrefix(route.path) }) else { return [route] }
            return [(route.path + "$", route.scope), (route.path + "?", route.scope)]
        }
    }

    /// `/products/{id}` → `/products/*`; `{path...}` → `*`.
    static func robotsPath(_ pattern: String) -> String {
        var out = "", inBraces = false
        for c in pattern {
            if c == "{" { inBraces = true; out += "*" } else if c == "}" { inBraces = false } else if !inBraces { out.append(c) }
        }
        return out
    }

    /// One robots.txt group per known agent the policy restricts: the paths of the stages it
    /// blocks (Disallow), the allowed paths those would cover (Allow, longer, so it wins), and
    /// comments for stages that need verification or payment.
    func robotsGroups(_ policy: AccessPolicy) -> [String] {
        guard !policy.isEmpty else { return [] }
        let paths = robotsRoutes
        var groups: [String] = []
        for family in classifier.families {
            let accesses = policy.accesses(family: family)
            guard accesses.values.contains(where: { $0 != .allow }) else { continue }
            func blocked(_ scope: PolicyScope) -> Bool {
                switch scope {
                case .exempt: return false
                case .stage(let stage): return accesses[stage] == .block
                case .anyStage: return accesses.values.allSatisfy { $0 == .block }
                }
            }
            let disallowed = paths.filter { blocked($0.scope) }.map(\.path)
            // An agent robots.txt would tell nothing more than `*` does needs no group of its own
            // (what it must verify or pay is said above the groups, rule by rule).
            guard !disallowed.isEmpty else { continue }
            let allowed = paths.filter { !blocked($0.scope) }.map(\.path).filter { path in
                disallowed.contains { RobotsPattern.matches($0, path) && $0.count <= path.count }
            }
            var lines = ["User-agent: \(family.name)"]
            if disallowed.count == paths.count {
                // Kept out of every stage: all of the store, but what no policy closes.
                lines.append("Disallow: /")
                lines += Endpoints.all.filter { $0.method == "GET" && Self.policyExempt($0.path) }.map { "Allow: \($0.path)$" }
            } else {
                lines += disallowed.map { "Disallow: \($0)" } + allowed.map { "Allow: \($0)" }
                lines.append("Disallow: /admin/")
            }
            groups.append(lines.joined(separator: "\n"))
        }
        return groups
    }

    // MARK: - Managing the policy

    /// Replaces the policy (admin API and dashboard): checked, stored, in force at once.
    func setAccessPolicy(_ body: JSON) throws -> JSON {
        let policy = try AccessPolicy(json: body, classifier: classifier)
        let saved = try AccessPolicy.save(policy, to: database)
        reloadPolicy(saved)
        return policyJSON(saved)
    }

    /// Puts the stored policy in force (`saved` only if the store cannot be read). Reloads run one
    /// at a time and each reads the store inside: a reload woken by an older commit (another
    /// node's NOTIFY, arriving late) can never put an older policy back over a newer one.
    func reloadPolicy(_ saved: AccessPolicy? = nil) {
        policyReloads.withLock {
            guard let policy = (try? AccessPolicy.load(from: database, classifier: classifier)) ?? saved else { return }
            let current = policyState.current
            if current.policy == policy && current.policy.updatedAt == policy.updatedAt && current.catalogVersion == catalog.version { return }
            policyState.current = policyDocuments(policy)
        }
    }

    /// The policy's own routes: the public document and the merchant's API.
    func addPolicyRoutes(to router: inout Router) {
        router.get(Self.policyPath) { [unowned self] request in policyState.current.policyDocument.response(for: request) }
        router.get("/admin/api/access-policy", adminOnly { [unowned self] _ in
            adminResult {
                var doc = policyJSON(policyState.current.policy).objectValue ?? [:]
                // What a rule may name, for the dashboard's form.
                let known = classifier.families
                doc["choices"] = [
                    "categories": .array(AccessPolicy.categories.map(JSON.string) + ["*"]),
                    "operators": .array(Set(known.compactMap(\.operatorName)).sorted().map(JSON.string)),
                    "agents": .array(known.map { .string($0.name) }),
                ]
                return .object(doc)
            }
        })
        router.add("PUT", "/admin/api/access-policy", adminOnly { [unowned self] request in
            adminResult { try setAccessPolicy(Self.body(request)) }
        })
        router.get("/admin/api/policy-outcomes", adminOnly { [unowned self] request in
            let days = min(max(Int(request.query("days") ?? "") ?? 7, 1), 400)
            if request.query("format") == "csv", let report = try? PolicyOutcomes.report(in: database, days: days) {
                var response = Response.text(
                    AnalyticsQueries.csv(report["outcomes"]?.arrayValue ?? []), contentType: "text/csv; charset=utf-8")
                response.headers.add("Content-Disposition", "attachment; filename=\"policy-outcomes.csv\"")
                return response
            }
            return adminResult { try PolicyOutcomes.report(in: database, days: days) }
        })
    }
}
