import Foundation
import JSON
import StorefrontDomain

/// How each client fared at the home page, and what that means for the audit.
public struct Reachability: Sendable {
    public enum Status: String, Sendable { case reachable, partlyBlocked = "partly_blocked", blocked, unreachable }
    public struct Seen: Sendable {
        public var client: AuditClient
        /// ok, challenged, refused, error or unreachable.
        public var outcome: String
        public var artifact: Artifact
    }

    public var status: Status
    public var headline: String?
    public var seen: [Seen]
    /// 1 unless robots.txt shuts the agents that buy (ChatGPT-User, Claude-User) out of the whole
    /// site (or answers 5xx, a full disallow under RFC 9309): then 0 — a compliant agent reads nothing.
    public var robotsAccess: Double = 1

    /// The share of the agents that were let in (0…1).
    public var agentAccess: Double {
        let agents = seen.filter { $0.client != .browser }
        guard !agents.isEmpty else { return 1 }
        return Double(agents.filter { $0.outcome == "ok" }.count) / Double(agents.count)
    }

    /// Whether there is anything to score: a page came back to someone.
    public var readable: Bool { status != .unreachable && seen.contains { $0.outcome == "ok" } }

    public var json: JSON {
        [
            "status": .string(status.rawValue), "headline": JSON(headline),
            "agent_access": .double((agentAccess * 100).rounded() / 100), "robots_access": .double(robotsAccess),
            "clients": .array(seen.map { ["as": .string($0.client.rawValue), "outcome": .string($0.outcome), "evidence": $0.artifact.evidence] }),
        ]
    }

    /// What a home page answer means for the client that got it.
    static func outcome(_ a: Artifact) -> String {
        if a.status == 0 { return "unreachable" }
        if !a.ok, let error = a.error, error.hasPrefix("redirect") || error.hasPrefix("more than") { return "error" }
        let head = a.body.prefix(20_000).lowercased()
        // Interstitials of the common bot walls (Cloudflare, PerimeterX, Imperva, DDoS-Guard).
        let walls = ["just a moment...", "cf-chl", "challenge-platform", "attention required! | cloudflare", "px-captcha", "_incapsula_resource",
                     "verify you are human", "are you a robot", "ddos-guard", "checking your browser"]
        let captchas = ["g-recaptcha", "h-captcha", "cf-turnstile"]
        if a.headers["cf-mitigated"]?.lowercased() == "challenge" { return "challenged" }
        if !a.ok && (walls + captchas).contains(where: { head.contains($0) }) { return "challenged" }
        // A 200 that is only a wall: little to read, and a wall's words. (A CAPTCHA on a form of a
        // page that can be read is a finding of its own, not a block.)
        if a.ok && walls.contains(where: { head.contains($0) }) && HTMLText.visible(String(head)).split(whereSeparator: \.isWhitespace).count < 60 {
            return "challenged"
        }
        if [401, 403, 407, 429, 451].contains(a.status) { return "refused" }
        if a.status >= 400 { return "error" }
        return "ok"
    }
}

/// Everything an audit read.
public struct Gathered: Sendable {
    public var artifacts: [String: Artifact] = [:]
    public var reachability = Reachability(status: .unreachable, headline: nil, seen: [])
    public var mcp: [MCPOutcome] = []
    public var productPages: [Artifact] = []
    public var purchasePages: [Artifact] = []
    /// Links from the home page whose text or address names a policy (returns, privacy, terms…).
    public var policyLinks: [(href: String, text: String)] = []
    public var budget: JSON = .null
    /// What was left out because agents may not use it (robots.txt) or the audit may not fetch it
    /// (a private host that is not the site): URL → why.
    public var unusable: [String: String] = [:]
}

/// What one MCP endpoint answered (see `MCPProbe`).
public struct MCPOutcome: Sendable {
    public var endpoint: String
    /// Revisions whose handshake got a JSON-RPC result.
    public var revisions: [String] = []
    public var stateful = false
    public var streamed = false
    public var tools: [JSON] = []
    public var evidence: [JSON] = []
    public var problem: String?
    public var answered: Bool { !revisions.isEmpty }
}

/// Fetches what an agent would look at (Lighthouse's gatherers): the home page as a browser and as
/// agents, then the documents public standards put at known places, and whatever those documents
/// point to — an API catalog's service description, a UCP profile's MCP endpoint, an agent card's
/// endpoint — and a few product, pricing and purchase pages. Nothing is fetched that a document of
/// the site did not name or a standard did not place.
public struct Gatherer: Sendable {
    public let base: String
    public var limits = AuditFetcher.Limits()
    /// When set, the home page is also fetched as a signed agent (Web Bot Auth).
    public var signer: WebBotAuthSigner?

    public init(base: String) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    public func gather() -> Gathered {
        let fetcher = AuditFetcher(site: URL(string: base + "/")!, limits: limits)
        var g = collect(fetcher)
        g.budget = fetcher.budget
        Self.keepUsable(&g, fetcher: fetcher)
        return g
    }

    /// Leaves out what an agent that buys may not use: what robots.txt disallows for ChatGPT-User
    /// or Claude-User (everything, when robots.txt answers 5xx), and documents whose endpoints are on
    /// hosts the audit refused (a private address that is not the site). What is left out stays in
    /// the report as evidence with the reason.
    static func keepUsable(_ g: inout Gathered, fetcher: AuditFetcher) {
        guard g.reachability.readable, let robotsArtifact = g.artifacts["robots"] else { return }
        // RFC 9309 §2.3.1.4: a server error or an unreachable robots.txt is a full disallow.
        let robotsDown = robotsArtifact.status >= 500 || (robotsArtifact.status == 0 && robotsArtifact.error != nil)
        let robots = robotsArtifact.ok && !robotsArtifact.isHTML ? RobotsTxt(robotsArtifact.body) : RobotsTxt("")
        func why(_ url: String) -> String? {
            guard let parsed = URL(string: url, relativeTo: fetcher.site)?.absoluteURL else { return nil }
            // Only what was already decided about a host (or an address literal): judging a
            // document's links never makes the audit resolve new names.
            if let reason = fetcher.knownRefusal(parsed) { return "refused: \(reason)" }
            guard fetcher.isSiteHost(parsed.host ?? "") else { return nil }
            if robotsDown { return "robots.txt answered HTTP \(robotsArtifact.status): a full disallow (RFC 9309 §2.3.1.4)" }
            var path = parsed.path.isEmpty ? "/" : parsed.path
            if let query = parsed.query { path += "?" + query }
            // Usable when one of the agents that buy may fetch it (what the other may not is
            // counted by robotsAccess and the robots audit).
            let verdicts = ["ChatGPT-User", "Claude-User"].map { ($0, robots.verdict(for: $0, path: path)) }
            if verdicts.allSatisfy({ !$0.1.allowed }), let (agent, v) = verdicts.first, let rule = v.rule {
                return "robots.txt line \(rule.line) (\(rule.text)) disallows it for \(agent) and Claude-User"
            }
            return nil
        }
        func drop(_ a: Artifact) -> Artifact {
            guard let reason = why(a.url) else { return a }
            g.unusable[a.url] = reason
            var out = Artifact(url: a.url, status: 0, contentType: a.contentType, headers: [:], body: "", error: "not for agents: \(reason)")
            out.redirects = a.redirects
            return out
        }
        if let reason = why(fetcher.site.absoluteString) {
            g.reachability.robotsAccess = 0
            g.reachability.status = .blocked
            g.reachability.headline = "Blocked by robots.txt: \(reason). A compliant agent reads nothing of this site."
        } else if !robotsDown {
            let shut = ["ChatGPT-User", "Claude-User"].filter { !robots.verdict(for: $0, path: "/").allowed }
            if !shut.isEmpty {
                g.reachability.robotsAccess = 0.5
                if g.reachability.status == .reachable { g.reachability.status = .partlyBlocked }
                g.reachability.headline = g.reachability.headline ?? "Partly blocked by robots.txt: \(shut.joined(separator: ", ")) may not fetch the site."
            }
        }
        for (key, artifact) in g.artifacts where key != "robots" && key != "home" { g.artifacts[key] = drop(artifact) }
        g.productPages = g.productPages.map(drop)
        g.purchasePages = g.purchasePages.map(drop)
        g.policyLinks = g.policyLinks.filter { why($0.href) == nil }
        for i in g.mcp.indices {
            if let reason = why(g.mcp[i].endpoint) {
                g.unusable[g.mcp[i].endpoint] = reason
                g.mcp[i].revisions = []
                g.mcp[i].tools = []
                g.mcp[i].problem = "\(g.mcp[i].endpoint): \(reason)"
            }
        }
        // Documents whose every endpoint is refused lead nowhere.
        func leadsNowhere(_ urls: [String]) -> Bool { !urls.isEmpty && urls.prefix(100).allSatisfy { why($0) != nil } }
        if let spec = g.artifacts["openapi"]?.json {
            let servers = (spec["servers"]?.arrayValue ?? []).compactMap { $0["url"]?.stringValue }.filter { $0.hasPrefix("http") }
            if leadsNowhere(servers), let a = g.artifacts["openapi"] {
                g.unusable[a.url] = "every server it names is refused"
                g.artifacts["openapi"] = Artifact(url: a.url, status: 0, contentType: a.contentType, error: "not for agents: every server it names is refused (\(servers[0]))")
            }
        }
        if let a = g.artifacts["ucp"], leadsNowhere(UCPProfile.services(a.json).map(\.endpoint)) {
            g.unusable[a.url] = "every service endpoint it names is refused"
            g.artifacts["ucp"] = Artifact(url: a.url, status: 0, contentType: a.contentType, error: "not for agents: every service endpoint it names is refused")
        }
        if let a = g.artifacts["llms"], a.ok, !a.isHTML {
            let links = HTMLLinks.matches(#"\]\((https?://[^)\s]+)\)"#, in: a.body).map { $0[0] }
            if leadsNowhere(links) {
                g.unusable[a.url] = "every link it holds is refused"
                g.artifacts["llms"] = Artifact(url: a.url, status: 0, contentType: a.contentType, error: "not for agents: every link it holds is refused")
            }
        }
        if let a = g.artifacts["acp"], let base = a.json?["api_base_url"]?.stringValue, leadsNowhere([base]) {
            g.unusable[a.url] = "its API base is refused"
            g.artifacts["acp"] = Artifact(url: a.url, status: 0, contentType: a.contentType, error: "not for agents: its API base is refused (\(base))")
        }
        if let a = g.artifacts["api_catalog"], let sets = a.json?["linkset"]?.arrayValue {
            let hrefs = sets.flatMap { entry in (entry.objectValue ?? [:]).values.flatMap { ($0.arrayValue ?? []).compactMap { $0["href"]?.stringValue } } }
            if leadsNowhere(hrefs) {
                g.unusable[a.url] = "every link it holds is refused"
                g.artifacts["api_catalog"] = Artifact(url: a.url, status: 0, contentType: a.contentType, error: "not for agents: every link it holds is refused")
            }
        }
        if let a = g.artifacts["mcp_card"], let remotes = a.json?["remotes"]?.arrayValue?.compactMap({ $0["url"]?.stringValue }), leadsNowhere(remotes) {
            g.unusable[a.url] = "every remote it names is refused"
            g.artifacts["mcp_card"] = Artifact(url: a.url, status: 0, contentType: a.contentType, error: "not for agents: every remote it names is refused")
        }
        if let a = g.artifacts["oauth_resource"], let issuers = a.json?["authorization_servers"]?.arrayValue?.compactMap(\.stringValue), leadsNowhere(issuers) {
            g.unusable[a.url] = "its authorization server is refused"
            g.artifacts["oauth_resource"] = Artifact(url: a.url, status: 0, contentType: a.contentType, error: "not for agents: its authorization server is refused")
        }
    }

    private func collect(_ fetcher: AuditFetcher) -> Gathered {
        var g = Gathered()
        // Reachability first: as a browser, then as each agent.
        var seen: [Reachability.Seen] = []
        for client in [AuditClient.browser] + AuditClient.agents {
            let home = fetcher.get(base + "/", accept: "text/html,application/xhtml+xml,*/*;q=0.8", as: client)
            seen.append(.init(client: client, outcome: Reachability.outcome(home), artifact: home))
        }
        if let signer {
            let home = fetcher.get(base + "/", accept: "text/html,application/xhtml+xml,*/*;q=0.8", as: .signedAgent, signer: signer)
            seen.append(.init(client: .signedAgent, outcome: Reachability.outcome(home), artifact: home))
        }
        g.reachability = Self.reachability(seen)
        g.artifacts["home"] = seen.first { $0.outcome == "ok" }?.artifact ?? seen[0].artifact
        guard g.reachability.readable else { return g }

        let home = g.artifacts["home"]!
        let links = LinkHeader.parse(home.headers["link"] ?? "", base: home.url)
        g.artifacts["home_markdown"] = fetcher.get(base + "/", accept: "text/markdown")
        g.artifacts["robots"] = fetcher.get("/robots.txt", accept: "text/plain")
        g.artifacts["llms"] = fetcher.get("/llms.txt", accept: "text/markdown, text/plain")

        // Sitemaps: robots.txt's Sitemap lines, else /sitemap.xml; an index is followed (two children).
        let robots = g.artifacts["robots"]!.ok && !g.artifacts["robots"]!.isHTML ? RobotsTxt(g.artifacts["robots"]!.body) : RobotsTxt("")
        let sitemapURL = robots.sitemaps.first ?? "/sitemap.xml"
        var sitemap = fetcher.get(sitemapURL, accept: "application/xml")
        var locations: [String] = []
        if sitemap.ok {
            locations = Self.locs(sitemap.body)
            if sitemap.body.contains("<sitemapindex") {
                g.artifacts["sitemap_index"] = sitemap
                var children: [String] = []
                for child in locations.sorted().prefix(2) {
                    let fetched = fetcher.get(child, accept: "application/xml")
                    if fetched.ok { children += Self.locs(fetched.body) }
                    sitemap = fetched
                }
                locations = children
            }
        }
        g.artifacts["sitemap"] = sitemap

        // Machine entry points placed by standards.
        g.artifacts["api_catalog"] = fetcher.get(
            links.first { $0.rel == "api-catalog" }?.href ?? "/.well-known/api-catalog", accept: "application/linkset+json, application/json")
        var openAPICandidates = links.filter { $0.rel == "service-desc" }.map(\.href)
        if let linkset = g.artifacts["api_catalog"]?.json?["linkset"]?.arrayValue {
            for entry in linkset {
                openAPICandidates += (entry["service-desc"]?.arrayValue ?? []).compactMap { $0["href"]?.stringValue }
            }
        }
        g.artifacts["ucp"] = fetcher.get("/.well-known/ucp", accept: "application/json")
        let ucpServices = UCPProfile.services(g.artifacts["ucp"]?.json)
        openAPICandidates += ["/openapi.json", "/.well-known/openapi.json", "/api/openapi.json"]
        for candidate in Self.unique(openAPICandidates).prefix(4) {
            let found = fetcher.get(candidate, accept: "application/json")
            g.artifacts["openapi"] = found
            if found.json?["openapi"] != nil || found.json?["swagger"] != nil { break }
        }
        g.artifacts["acp"] = fetcher.get("/.well-known/acp.json", accept: "application/json")
        g.artifacts["oauth_resource"] = fetcher.get("/.well-known/oauth-protected-resource", accept: "application/json")
        let issuer = g.artifacts["oauth_resource"]?.json?["authorization_servers"]?[0]?.stringValue
        g.artifacts["oauth_server"] = fetcher.get(Self.metadataURL(issuer: issuer, base: base), accept: "application/json")
        if g.artifacts["oauth_server"]?.json == nil {
            g.artifacts["openid"] = fetcher.get("/.well-known/openid-configuration", accept: "application/json")
        }
        g.artifacts["bot_auth"] = fetcher.get(
            "/.well-known/http-message-signatures-directory", accept: "application/http-message-signatures-directory+json, application/json")
        g.artifacts["agent_card"] = fetcher.get("/.well-known/agent-card.json", accept: "application/json")
        if let card = g.artifacts["agent_card"]?.json,
            let endpoint = card["supportedInterfaces"]?[0]?["url"]?.stringValue ?? card["url"]?.stringValue
        {
            g.artifacts["a2a_endpoint"] = fetcher.get(endpoint, accept: "application/json")
        }
        g.artifacts["mcp_card"] = fetcher.get("/.well-known/mcp/server-card.json", accept: "application/json")
        if g.artifacts["mcp_card"]?.json == nil { g.artifacts["mcp_card"] = fetcher.get("/.well-known/mcp.json", accept: "application/json") }

        // MCP: the endpoints the documents name, else /mcp; at most two tried.
        var endpoints = ucpServices.filter { $0.transport == "mcp" }.map(\.endpoint)
        endpoints += (g.artifacts["mcp_card"]?.json?["remotes"]?.arrayValue ?? []).compactMap { $0["url"]?.stringValue }
        if let url = g.artifacts["mcp_card"]?.json?["endpoint"]?.stringValue { endpoints.append(url) }
        endpoints += links.filter { $0.rel == "mcp" }.map(\.href)
        endpoints.append(base + "/mcp")
        let probe = MCPProbe(fetcher: fetcher)
        for endpoint in Self.unique(endpoints.map { URL(string: $0, relativeTo: URL(string: base + "/"))?.absoluteString ?? $0 }).prefix(2) {
            g.mcp.append(probe.probe(endpoint))
        }

        // Pages: pricing, products (evenly spread over the sorted sitemap, so its order does not
        // decide), the purchase path, policy links.
        let anchors = HTMLLinks.anchors(home.body, base: home.url)
        let pricingLink = anchors.first { $0.href.lowercased().contains("pricing") || $0.text.lowercased() == "pricing" }?.href
        g.artifacts["pricing"] = fetcher.get(pricingLink ?? "/pricing", accept: "text/html, application/json")
        var productURLs = locations.filter { Self.looksLikeProduct($0) }.sorted()
        if productURLs.isEmpty { productURLs = Self.unique(anchors.map(\.href).filter { Self.looksLikeProduct($0) }).sorted() }
        for url in Self.spread(productURLs, 3) {
            g.productPages.append(fetcher.get(url, accept: "text/html"))
        }
        let words = ["checkout", "cart", "basket", "buy", "signup", "sign-up", "register", "subscribe", "order"]
        var purchase = anchors.map(\.href).filter { href in words.contains { href.lowercased().contains($0) } }
        for page in g.productPages where page.ok {
            purchase += HTMLLinks.formActions(page.body, base: page.url).filter { href in words.contains { href.lowercased().contains($0) } }
        }
        // The checkout itself first: it is where an agent pays.
        purchase = purchase.filter { $0.lowercased().contains("checkout") } + purchase.filter { !$0.lowercased().contains("checkout") }
        for url in Self.unique(purchase).filter({ URL(string: $0)?.host == URL(string: base)?.host }).prefix(3) {
            g.purchasePages.append(fetcher.get(url, accept: "text/html"))
        }
        // A cart page with no form leads to the checkout: one more step along it.
        if !g.purchasePages.contains(where: { $0.ok && $0.body.range(of: "<form", options: .caseInsensitive) != nil }) {
            let fetched = Set(g.purchasePages.map(\.url))
            let next = g.purchasePages.filter(\.ok).flatMap { HTMLLinks.anchors($0.body, base: $0.url).map(\.href) }
                .first { $0.lowercased().contains("checkout") && !fetched.contains($0) && URL(string: $0)?.host == URL(string: base)?.host }
            if let next { g.purchasePages.append(fetcher.get(next, accept: "text/html")) }
        }
        let policyWords = ["refund", "return", "privacy", "terms", "shipping", "legal"]
        g.policyLinks = anchors.filter { a in policyWords.contains { a.href.lowercased().contains($0) || a.text.lowercased().contains($0) } }
            .map { ($0.href, $0.text) }

        // A 402 answer: one GET to a parameterless operation of the API when its description says
        // it charges (x402, MPP), never a POST.
        if let spec = g.artifacts["openapi"]?.json, let paths = spec["paths"]?.objectValue {
            let text = g.artifacts["openapi"]!.body.lowercased()
            if text.contains("\"402\"") || text.contains("x402") || text.contains("payment-required") {
                let server = spec["servers"]?[0]?["url"]?.stringValue ?? base
                if let path = paths.keys.sorted().first(where: { !$0.contains("{") && paths[$0]?["get"] != nil && (paths[$0]?["get"]?["responses"]?["402"] != nil) })
                    ?? paths.keys.sorted().first(where: { !$0.contains("{") && paths[$0]?["get"] != nil })
                {
                    let root = server.hasPrefix("http") ? server : base + server
                    g.artifacts["payment_probe"] = fetcher.get((root.hasSuffix("/") ? String(root.dropLast()) : root) + path, accept: "application/json")
                }
            }
        }
        return g
    }

    static func reachability(_ seen: [Reachability.Seen]) -> Reachability {
        let browser = seen[0]
        let agents = seen.dropFirst()  // the three agents, and the signed agent when there is one
        let refusedAgents = agents.filter { $0.outcome != "ok" }
        var r = Reachability(status: .reachable, headline: nil, seen: seen)
        if seen.allSatisfy({ $0.outcome == "unreachable" || $0.outcome == "error" }) {
            r.status = .unreachable
            let why = browser.artifact.error ?? (browser.artifact.status > 0 ? "HTTP \(browser.artifact.status) to every client" : "no answer")
            r.headline = "Could not reach \(browser.artifact.url): \(why). Nothing was scored; an agent cannot begin."
        } else if seen.allSatisfy({ $0.outcome != "ok" }) {
            r.status = .blocked
            let how = Set(seen.map(\.outcome)).sorted().joined(separator: ", ")
            r.headline = "Blocked: every client was turned away (\(how), HTTP \(browser.artifact.status)). Agents cannot read this site; nothing behind the block was scored."
        } else if refusedAgents.count == agents.count {
            r.status = .blocked
            r.headline = "Blocked for agents: a browser is served, but \(refusedAgents.map { "\($0.client.rawValue) (\($0.outcome), HTTP \($0.artifact.status))" }.joined(separator: ", ")) are not."
        } else if !refusedAgents.isEmpty {
            r.status = .partlyBlocked
            r.headline = "Partly blocked: \(refusedAgents.map { "\($0.client.rawValue) (\($0.outcome), HTTP \($0.artifact.status))" }.joined(separator: ", ")) turned away."
        }
        return r
    }

    /// RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
    static func metadataURL(issuer: String?, base: String) -> String {
        guard let issuer, let url = URL(string: issuer), let host = url.host, let scheme = url.scheme else {
            return base + "/.well-known/oauth-authorization-server"
        }
        let port = url.port.map { ":\($0)" } ?? ""
        let path = url.path == "/" ? "" : url.path
        return "\(scheme)://\(host)\(port)/.well-known/oauth-authorization-server\(path)"
    }

    static func locs(_ xml: String) -> [String] {
        var found: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<loc>"), let close = rest.range(of: "</loc>", range: open.upperBound..<rest.endIndex) {
            found.append(String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: "&amp;", with: "&"))
            rest = rest[close.upperBound...]
            if found.count >= 50_000 { break }
        }
        return found
    }

    static func looksLikeProduct(_ url: String) -> Bool {
        let path = (URL(string: url)?.path ?? url).lowercased()
        return ["/products/", "/product/", "/p/", "/item/", "/items/", "/shop/"].contains { path.contains($0) } && !path.hasSuffix("/products/")
    }

    /// Up to `n` items spread evenly over `items` (first, middle, last…).
    static func spread(_ items: [String], _ n: Int) -> [String] {
        guard items.count > n else { return items }
        return (0..<n).map { items[$0 * (items.count - 1) / max(1, n - 1)] }
    }

    static func unique(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0).inserted }
    }
}

/// RFC 8288 `Link` header values.
enum LinkHeader {
    struct Link { var href: String, rel: String, type: String? }

    static func parse(_ value: String, base: String) -> [Link] {
        var links: [Link] = []
        for part in value.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            let href = String(target.dropFirst().dropLast())
            let resolved = URL(string: href, relativeTo: URL(string: base))?.absoluteString ?? href
            var rels: [String] = []
            var type: String?
            for p in pieces.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2 else { continue }
                let v = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if kv[0].lowercased() == "rel" { rels = v.lowercased().split(separator: " ").map(String.init) }
                if kv[0].lowercased() == "type" { type = v.lowercased() }
            }
            for rel in rels { links.append(Link(href: resolved, rel: rel, type: type)) }
        }
        return links
    }
}

/// Anchors and form actions of an HTML page, resolved against the page's URL.
enum HTMLLinks {
    static func anchors(_ html: String, base: String) -> [(href: String, text: String)] {
        HTMLScan.tags(html, named: ["a"], innerOf: ["a"], maxInner: 2_000).compactMap { tag in
            guard let href = tag.attributes["href"]?.trimmingCharacters(in: .whitespaces), !href.isEmpty, !href.hasPrefix("#"),
                let url = URL(string: href, relativeTo: URL(string: base))?.absoluteString
            else { return nil }
            let text = HTMLScan.visibleText(tag.inner ?? "").split { $0.isWhitespace }.joined(separator: " ")
            return (url, String(text.prefix(200)))
        }
    }

    static func formActions(_ html: String, base: String) -> [String] {
        HTMLScan.tags(html, named: ["form"]).compactMap { tag in
            tag.attributes["action"].flatMap { URL(string: $0, relativeTo: URL(string: base))?.absoluteString }
        }
    }

    /// Regular-expression matches in at most 512 KB of text (patterns used here are linear: no
    /// nested quantifiers), at most 2,000 of them.
    static func matches(_ pattern: String, in text: String) -> [[String]] {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return [] }
        let capped = text.utf8.count > HTMLScan.limit ? String(decoding: Array(text.utf8.prefix(HTMLScan.limit)), as: UTF8.self) : text
        let ns = capped as NSString
        return regex.matches(in: capped, range: NSRange(location: 0, length: ns.length)).prefix(2_000).map { m in
            (1..<m.numberOfRanges).map { m.range(at: $0).location == NSNotFound ? "" : ns.substring(with: m.range(at: $0)) }
        }
    }
}

/// What a UCP profile (`/.well-known/ucp`) declares: its services' transports and endpoints, and
/// its capabilities' names.
enum UCPProfile {
    struct Service { var name: String, transport: String, endpoint: String }

    static func services(_ profile: JSON?) -> [Service] {
        guard let services = profile?["ucp"]?["services"]?.objectValue else { return [] }
        return services.flatMap { name, bindings in
            (bindings.arrayValue ?? [bindings]).compactMap { b in
                guard let transport = b["transport"]?.stringValue, let endpoint = b["endpoint"]?.stringValue else { return nil }
                return Service(name: name, transport: transport.lowercased(), endpoint: endpoint)
            }
        }.sorted { ($0.name, $0.transport) < ($1.name, $1.transport) }
    }

    static func capabilities(_ profile: JSON?) -> [String] {
        let caps = profile?["ucp"]?["capabilities"]
        if let object = caps?.objectValue { return object.keys.sorted() }
        return (caps?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.sorted()
    }
}
