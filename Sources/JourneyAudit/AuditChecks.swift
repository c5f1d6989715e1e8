import Foundation
import JSON
import StorefrontDomain

/// The audits: each turns what was gathered into a score (nil: does not apply), a sentence, and
/// the evidence that decided — the line, phrase or JSON pointer, with the URL it came from.
struct AuditChecks {
    typealias Result = (score: Double?, detail: String, evidence: JSON)
    let target: String
    let g: Gathered

    func a(_ name: String) -> Artifact? { g.artifacts[name] }
    func read(_ name: String) -> Artifact? { a(name).flatMap { $0.ok ? $0 : nil } }
    func ev(_ names: String...) -> JSON { .array(names.compactMap { a($0)?.evidence }) }

    // MARK: What the site offers agents, read once

    /// Every tool the MCP endpoints listed (a UCP endpoint and a general one may list different tools).
    var tools: [JSON] {
        var seen: Set<String> = []
        return g.mcp.flatMap(\.tools).filter { seen.insert($0["name"]?.stringValue ?? "").inserted }
    }
    var mcpEvidence: [JSON] { g.mcp.flatMap(\.evidence) }
    var openAPI: JSON? { read("openapi")?.json.flatMap { $0["openapi"] != nil || $0["swagger"] != nil ? $0 : nil } }
    /// (method, path, operation) of every OpenAPI operation.
    var operations: [(method: String, path: String, op: JSON)] {
        guard let paths = openAPI?["paths"]?.objectValue else { return [] }
        return paths.keys.sorted().flatMap { path in
            ["get", "post", "put", "patch", "delete"].compactMap { m in paths[path]?[m].map { (m, path, $0) } }
        }
    }
    var ucp: JSON? { read("ucp")?.json?["ucp"] != nil ? read("ucp")?.json : nil }
    var ucpCapabilities: [String] { UCPProfile.capabilities(ucp) }
    var acp: JSON? { read("acp")?.json.flatMap { $0["protocol"] != nil || $0["api_base_url"] != nil ? $0 : nil } }
    var agentCard: JSON? { read("agent_card")?.json.flatMap { $0["name"] != nil && $0["skills"] != nil ? $0 : nil } }
    var jsonLD: [(page: Artifact, objects: [JSON])] {
        ([a("home"), read("pricing")].compactMap { $0 } + g.productPages.filter(\.ok)).map { ($0, JSONLD.objects(in: $0.body)) }
    }
    var readProductPages: [Artifact] { g.productPages.filter { $0.ok && $0.isHTML } }

    /// Tools whose name or description says `words`; the tool names.
    func tools(saying words: [String]) -> [String] {
        tools.filter { t in
            let text = ((t["name"]?.stringValue ?? "") + " " + (t["title"]?.stringValue ?? "")).lowercased().replacingOccurrences(of: "-", with: "_")
            return words.contains { text.contains($0) }
        }.compactMap { $0["name"]?.stringValue }
    }

    /// OpenAPI operations whose path or operationId says `words` (by meaning, not by exact name).
    func operations(_ methods: Set<String>, saying words: [String]) -> [String] {
        operations.filter { o in
            guard methods.contains(o.method) else { return false }
            let text = (o.path + " " + (o.op["operationId"]?.stringValue ?? "") + " " + (o.op["summary"]?.stringValue ?? "")).lowercased()
            return words.contains { text.contains($0) }
        }.map { "\($0.method.uppercased()) \($0.path)" }
    }

    func hasUCP(_ capability: String) -> Bool { ucpCapabilities.contains { $0.hasPrefix(capability) } }

    func run(_ id: String) -> Result {
        switch id {
        case "robots-agents": return robotsAgents()
        case "sitemap": return sitemap()
        case "llms-txt": return llmsTxt()
        case "markdown-and-links": return markdownAndLinks()
        case "machine-entry-points": return entryPoints()
        case "mcp-endpoint": return mcpEndpoint()
        case "product-structured-data": return productData()
        case "content-signals": return contentSignals()
        case "machine-readable-prices": return machinePrices()
        case "public-prices": return publicPrices()
        case "tools-described": return toolsDescribed()
        case "catalog-searchable": return catalogSearch()
        case "readable-without-javascript": return withoutJavaScript()
        case "https": return https()
        case "policies": return policies()
        case "identity-declared": return identity()
        case "oauth-discovery": return oauthDiscovery()
        case "bot-auth-directory": return botAuth()
        case "organization-contact": return organization()
        case "agent-checkout": return agentCheckout()
        case "no-captcha": return noCaptcha()
        case "idempotency": return idempotency()
        case "payment-protocol": return paymentProtocol()
        case "order-status": return orderStatus()
        case "post-purchase-actions": return postPurchase()
        case "events": return events()
        case "agent-docs": return agentDocs()
        case "ratings": return ratings()
        case "citable-pages": return citable()
        case "share-metadata": return shareMetadata()
        case "agent-summaries": return summaries()
        default: return (nil, "Unknown audit.", .array([]))
        }
    }

    // MARK: Finding

    static let agentTokens = ["ChatGPT-User", "Claude-User", "Perplexity-User", "OAI-SearchBot", "Claude-SearchBot", "PerplexityBot"]

    func robotsAgents() -> Result {
        guard let robots = a("robots") else { return (nil, "robots.txt was not read.", .array([])) }
        if robots.status >= 500 || (robots.status == 0 && robots.error != nil) {
            return (0, "robots.txt answered \(robots.status == 0 ? "nothing" : "HTTP \(robots.status)"): RFC 9309 §2.3.1.4 makes that a full disallow for every crawler.",
                    .array([robots.evidence]))
        }
        guard robots.ok, !robots.isHTML else {
            return (1, "No robots.txt (HTTP \(robots.status)): under RFC 9309 §2.3.1.3 every agent may fetch everything.", .array([robots.evidence]))
        }
        let rules = RobotsTxt(robots.body)
        // The paths an agent buying must reach: home, and the product, pricing and purchase pages seen.
        var paths = ["/"]
        for page in g.productPages.prefix(2) { paths.append(URL(string: page.url)?.path ?? "/") }
        if let pricing = a("pricing"), pricing.ok { paths.append(URL(string: pricing.url)?.path ?? "/pricing") }
        paths += ["/products/", "/cart", "/checkout"]
        paths = Gatherer.unique(paths)
        var blocked: [(agent: String, path: String, rule: RobotsTxt.Rule)] = []
        for agent in Self.agentTokens {
            for path in paths {
                let v = rules.verdict(for: agent, path: path)
                if !v.allowed, let rule = v.rule { blocked.append((agent, path, rule)) }
            }
        }
        let agentsBlocked = Set(blocked.map(\.agent))
        // Each agent counts by the share of the commerce paths it may reach; agents acting for a
        // person (the -User agents) count double: a block there refuses a buyer, not a crawler.
        // Cart and checkout count half: crawlers are commonly kept out of them (Shopify's default
        // robots.txt does), while the pages that show what is sold must stay open.
        func pathWeight(_ path: String) -> Double { path == "/cart" || path == "/checkout" ? 0.5 : 1 }
        let pathTotal = paths.reduce(0) { $0 + pathWeight($1) }
        var total = 0.0, allowed = 0.0
        for agent in Self.agentTokens {
            let w = agent.hasSuffix("-User") ? 2.0 : 1.0
            let denied = blocked.filter { $0.agent == agent }.reduce(0) { $0 + pathWeight($1.path) }
            total += w
            allowed += w * (pathTotal - denied) / pathTotal
        }
        let score = blocked.isEmpty ? 1 : allowed / total
        let detail = blocked.isEmpty
            ? "robots.txt lets \(Self.agentTokens.joined(separator: ", ")) reach \(paths.joined(separator: ", "))."
            : "robots.txt keeps \(agentsBlocked.sorted().joined(separator: ", ")) out of \(Set(blocked.map(\.path)).sorted().joined(separator: ", "))."
        let evidence = blocked.isEmpty ? [robots.evidence]
            : Array(Dictionary(grouping: blocked, by: { $0.rule.line }).values.compactMap(\.first).sorted { $0.rule.line < $1.rule.line }.prefix(5))
                .map { robots.evidence(match: "line \($0.rule.line): \($0.rule.text) (for \($0.agent) on \($0.path))") }
        return (score, detail, .array(evidence))
    }

    func sitemap() -> Result {
        guard let sitemap = a("sitemap"), sitemap.ok, sitemap.body.contains("<urlset") || sitemap.body.contains("<sitemapindex") else {
            return (0, "No sitemap at \(a("sitemap")?.url ?? "/sitemap.xml") (nor named in robots.txt).", ev("sitemap"))
        }
        let count = Gatherer.locs(sitemap.body).count
        let index = a("sitemap_index").map { " (through the index \($0.url))" } ?? ""
        return (count > 0 ? 1 : 0.5, "The sitemap lists \(count) URLs\(index).", .array([sitemap.evidence(match: "\(count) <loc> entries")]))
    }

    func llmsTxt() -> Result {
        guard let llms = read("llms"), !llms.isHTML else { return (0, "No /llms.txt.", ev("llms")) }
        let lines = llms.body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map(String.init)
        let h1 = lines.first { !$0.isEmpty }
        let sections = lines.filter { $0.hasPrefix("## ") }.count
        let links = lines.filter { $0.hasPrefix("- [") && $0.contains("](") }.count
        let score = (h1?.hasPrefix("# ") == true ? 0.4 : 0) + (sections > 0 ? 0.3 : 0) + (links > 0 ? 0.3 : 0)
        return (score, "llms.txt: \(h1?.hasPrefix("# ") == true ? "an H1" : "no H1"), \(sections) sections, \(links) links.",
                .array([llms.evidence(match: h1)]))
    }

    func markdownAndLinks() -> Result {
        let md = a("home_markdown")
        let servesMarkdown = md?.ok == true && (md?.contentType.lowercased().contains("markdown") ?? false)
        let home = a("home")
        let links = LinkHeader.parse(home?.headers["link"] ?? "", base: home?.url ?? target)
        let useful = links.filter { ["alternate", "service-desc", "api-catalog", "describedby", "llms-txt", "service-doc"].contains($0.rel) }
        let htmlAlternate = home.map { HTMLScan.tags($0.body, named: ["link"]).contains { $0.attributes["type"]?.lowercased().contains("text/markdown") == true } } ?? false
        let score = (servesMarkdown ? 0.6 : 0) + (!useful.isEmpty ? 0.4 : (htmlAlternate ? 0.2 : 0))
        var parts: [String] = []
        parts.append(servesMarkdown ? "the home page answers Accept: text/markdown" : "the home page does not answer Accept: text/markdown")
        parts.append(useful.isEmpty ? (htmlAlternate ? "a <link> to Markdown in the HTML, no Link header" : "no Link header to machine-readable versions")
                     : "Link headers: \(useful.map { "rel=\($0.rel)" }.joined(separator: ", "))")
        var evidence: [JSON] = []
        if let md { evidence.append(md.evidence(match: md.contentType)) }
        if let home { evidence.append(home.evidence(match: home.headers["link"].map { "Link: \($0)" })) }
        return (min(1, score), parts.joined(separator: "; ") + ".", .array(evidence))
    }

    func entryPoints() -> Result {
        var found: [(String, JSON)] = []
        if let catalog = read("api_catalog"), catalog.json?["linkset"] != nil { found.append(("RFC 9727 API catalog", catalog.evidence(pointer: "/linkset"))) }
        if ucp != nil { found.append(("UCP profile", a("ucp")!.evidence(pointer: "/ucp"))) }
        if acp != nil { found.append(("ACP discovery", a("acp")!.evidence(pointer: "/protocol"))) }
        var notes: [String] = []
        if agentCard != nil {
            // A card counts when its endpoint answers (any HTTP answer but 404: a JSON-RPC endpoint
            // may refuse a GET with 405).
            if let endpoint = a("a2a_endpoint"), endpoint.status != 0, endpoint.status != 404 {
                found.append(("A2A agent card (\(agentCard?["supportedInterfaces"] != nil ? "1.0" : "0.3"))", a("agent_card")!.evidence(pointer: "/skills")))
            } else {
                notes.append("the A2A card's endpoint does not answer")
            }
        }
        if read("mcp_card")?.json?["name"] != nil { found.append(("MCP server card", a("mcp_card")!.evidence(pointer: "/name"))) }
        if openAPI != nil { found.append(("OpenAPI description", a("openapi")!.evidence(pointer: "/openapi"))) }
        guard !found.isEmpty else {
            return (0, "No machine entry point at any standard place (API catalog, UCP, ACP, A2A card, MCP server card, OpenAPI).",
                    ev("api_catalog", "ucp", "acp", "agent_card", "mcp_card", "openapi"))
        }
        let score = min(1, Double(found.count) / 3)
        return (score, "Entry points: \(found.map(\.0).joined(separator: ", "))\(notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")).",
                .array(found.map(\.1) + (notes.isEmpty ? [] : [a("a2a_endpoint")?.evidence ?? a("agent_card")!.evidence])))
    }

    func mcpEndpoint() -> Result {
        guard let best = g.mcp.first(where: \.answered) else {
            let problems = g.mcp.compactMap(\.problem)
            return (0, "No MCP endpoint answered a handshake\(problems.isEmpty ? "" : ": " + problems.joined(separator: "; ")).", .array(mcpEvidence))
        }
        let mode = "\(best.stateful ? "with a session" : "stateless"), answers as \(best.streamed ? "SSE" : "JSON")"
        let score = best.tools.isEmpty ? 0.5 : (best.revisions.count > 1 ? 1 : 0.9)
        return (score, "\(best.endpoint) answered \(best.revisions.joined(separator: " and ")) (\(mode)) and listed \(best.tools.count) tools.",
                .array(best.evidence))
    }

    func productData() -> Result {
        let pages = readProductPages
        guard !pages.isEmpty else {
            // A shop with nothing an agent may read about its products fails; a business that sells
            // no catalog (an API, a service) is not judged here.
            let sellsProducts = !g.productPages.isEmpty || !tools(saying: ["product", "catalog"]).isEmpty || hasUCP("dev.ucp.shopping.catalog")
                || !operations(["get"], saying: ["product", "catalog"]).isEmpty || !g.purchasePages.isEmpty
            if !sellsProducts { return (nil, "No product pages: nothing to judge.", .array([])) }
            return (0, g.productPages.isEmpty ? "No product page an agent may read (none in the sitemap or linked from the home page)." : "No product page could be read by an agent.",
                    .array(g.productPages.map(\.evidence)))
        }
        var good = 0.0
        var evidence: [JSON] = []
        for page in pages {
            let objects = JSONLD.objects(in: page.body)
            guard let product = objects.first(where: { JSONLD.isType($0, "Product") || JSONLD.isType($0, "ProductGroup") }) else {
                evidence.append(page.evidence(match: "no schema.org Product or ProductGroup JSON-LD"))
                continue
            }
            let offers = JSONLD.offers(of: product)
            let priced = offers.contains(where: JSONLD.isPriced)
            let available = offers.contains { $0["availability"] != nil }
            let terms = offers.contains { $0["shippingDetails"] != nil || $0["hasMerchantReturnPolicy"] != nil } || product["hasMerchantReturnPolicy"] != nil
            // What an agent compares on: price, availability, and the delivery and return terms; a
            // product without a price names what exists but not what it costs.
            good += priced ? (terms && available ? 1 : available ? 0.7 : 0.6) : 0.3
            evidence.append(page.evidence(match: "\(JSONLD.typeName(product)) \(product["name"]?.stringValue ?? ""): \(offers.count) offers\(priced ? " with price and currency" : ", none priced")"))
        }
        return (good / Double(pages.count), "\(Int(good.rounded())) of \(pages.count) product pages carry priced schema.org Product data.", .array(evidence))
    }

    func contentSignals() -> Result {
        guard let robots = read("robots"), !robots.isHTML else { return (0, "No robots.txt with Content-Signal lines.", ev("robots")) }
        let signals = RobotsTxt(robots.body).contentSignals(for: "ChatGPT-User")
        guard let first = signals.first else { return (0, "robots.txt states no Content-Signal.", .array([robots.evidence])) }
        return (1, "Content signals: \(first.value).", .array([robots.evidence(match: "line \(first.line): \(first.text)")]))
    }

    // MARK: Evaluating

    func machinePrices() -> Result {
        for (page, objects) in jsonLD {
            var offers: [JSON] = []
            for object in objects {
                offers += JSONLD.offers(of: object)
                if JSONLD.isType(object, "Offer") { offers.append(object) }
            }
            if let offer = offers.first(where: JSONLD.isPriced) {
                return (1, "Prices as schema.org Offers (\(page.url)).", .array([page.evidence(match: offer.compactString)]))
            }
        }
        if let probe = a("payment_probe"), probe.status == 402, probe.headers["payment-required"] != nil || probe.body.contains("maxAmountRequired") || probe.body.contains("\"amount\"") {
            return (1, "Prices as machine-readable 402 payment requirements.", .array([probe.evidence(match: String((probe.headers["payment-required"] ?? probe.body).prefix(160)))]))
        }
        let priceOps = operations(["get"], saying: ["price", "pricing", "plan", "quote", "rate"])
        if !priceOps.isEmpty { return (0.8, "Prices through the API: \(priceOps.prefix(3).joined(separator: ", ")).", ev("openapi")) }
        if hasUCP("dev.ucp.shopping.catalog") {
            return (0.5, "Prices only through UCP catalog calls: nothing published says what things cost.", .array([a("ucp")!.evidence(pointer: "/ucp/capabilities")]))
        }
        let priceTools = tools(saying: ["price", "pricing", "quote", "product", "catalog", "search"])
        if !priceTools.isEmpty { return (0.5, "Prices only through tools (\(priceTools.prefix(4).joined(separator: ", "))): nothing says they are priced until called.", .array(mcpEvidence)) }
        let pages = [read("pricing"), read("home")].compactMap { $0 } + g.productPages.filter(\.ok)
        if let page = pages.first(where: { !Prices.amounts(in: $0.body).isEmpty }) {
            return (0.3, "Prices only as text in HTML; no structured data.", .array([page.evidence(match: Prices.amounts(in: page.body).prefix(3).joined(separator: ", "))]))
        }
        return (0, "No price found, as data or as text.", ev("pricing", "home"))
    }

    static let salesPhrases = ["contact sales", "request a quote", "contact us for pricing", "call for pricing", "talk to sales", "book a demo", "get a quote", "request pricing"]

    func publicPrices() -> Result {
        let pages = [read("pricing"), a("home")].compactMap { $0 }.filter { $0.isHTML }
        var phrases: [(String, Artifact)] = []
        var amounts = 0
        for page in pages {
            let text = HTMLText.visible(page.body).lowercased()
            for p in Self.salesPhrases where text.contains(p) { phrases.append((p, page)) }
            amounts = max(amounts, Prices.amounts(in: page.body).count)
        }
        let structured = jsonLD.contains { !$0.objects.flatMap(JSONLD.offers(of:)).isEmpty }
        if phrases.isEmpty {
            if amounts > 0 || structured { return (1, "Prices are public; no 'contact sales' in their place.", .array(pages.map(\.evidence))) }
            if hasUCP("dev.ucp.shopping.catalog") || !tools(saying: ["price", "search", "product"]).isEmpty {
                return (1, "Prices are given to agents by the catalog tools.", .array(mcpEvidence))
            }
            return (nil, "No pricing to judge.", .array(pages.map(\.evidence)))
        }
        let distinct = Set(phrases.map(\.0)).count
        let score = Double(amounts) / Double(amounts + distinct)
        return (score, "\(amounts) public prices beside \(phrases.map { "'\($0.0)'" }.joined(separator: ", ")).",
                .array(phrases.prefix(3).map { $0.1.evidence(match: $0.0) }))
    }

    func toolsDescribed() -> Result {
        let ops = operations
        guard !tools.isEmpty || !ops.isEmpty else { return (nil, "No tools or API operations to judge.", .array([])) }
        var good = 0, total = 0
        var bad: [String] = []
        for t in tools {
            total += 1
            let schemaOK = t["inputSchema"]?.objectValue != nil && (t["inputSchema"]?["type"]?.stringValue ?? "object") == "object"
            if (t["description"]?.stringValue?.count ?? 0) >= 10 && schemaOK { good += 1 } else { bad.append(t["name"]?.stringValue ?? "?") }
        }
        for o in ops {
            total += 1
            if (o.op["summary"]?.stringValue?.count ?? 0) + (o.op["description"]?.stringValue?.count ?? 0) >= 10 { good += 1 }
            else { bad.append("\(o.method.uppercased()) \(o.path)") }
        }
        let evidence = (tools.isEmpty ? [] : mcpEvidence) + (ops.isEmpty ? [] : [a("openapi")!.evidence(pointer: "/paths")])
        return (Double(good) / Double(total), "\(good) of \(total) tools and operations are described\(bad.isEmpty ? "" : "; not: " + bad.prefix(5).joined(separator: ", ")).",
                .array(evidence))
    }

    func catalogSearch() -> Result {
        let o = operations(["get"], saying: ["search", "products", "catalog", "items"])
        if !o.isEmpty { return (1, "Search in the API: \(o.prefix(3).joined(separator: ", ")).", .array([a("openapi")!.evidence(pointer: "/paths")])) }
        // A tool needs a session and a call before anything is seen: most of the way.
        let t = tools(saying: ["search", "find", "catalog", "products", "list_product"])
        if !t.isEmpty { return (0.7, "Search only through tools: \(t.prefix(3).joined(separator: ", ")).", .array(mcpEvidence)) }
        if hasUCP("dev.ucp.shopping.catalog") {
            return (0.7, "Search through the UCP catalog capability (calls, not a published endpoint).", .array([a("ucp")!.evidence(pointer: "/ucp/capabilities")]))
        }
        return (0, "No catalog search as a tool or an API.", .array(mcpEvidence + (a("openapi").map { [$0.evidence] } ?? [])))
    }

    func withoutJavaScript() -> Result {
        let pages = [a("home"), read("pricing")].compactMap { $0 }.filter { $0.ok && $0.isHTML } + readProductPages
        guard !pages.isEmpty else { return (nil, "No HTML page to judge.", .array([])) }
        var readable: [Artifact] = [], empty: [(Artifact, Int)] = []
        for page in pages {
            let words = HTMLText.visible(page.body).split { $0.isWhitespace }.count
            if words >= 40 { readable.append(page) } else { empty.append((page, words)) }
        }
        let detail = empty.isEmpty ? "All \(pages.count) pages checked read without JavaScript."
            : "Empty without JavaScript: \(empty.map { "\($0.0.url) (\($0.1) words)" }.joined(separator: ", "))."
        return (Double(readable.count) / Double(pages.count), detail,
                .array(empty.map { $0.0.evidence(match: "\($0.1) words of text outside scripts") } + readable.prefix(2).map(\.evidence)))
    }

    // MARK: Trust-checking

    func https() -> Result {
        let url = URL(string: a("home")?.url ?? target)
        if url?.scheme == "https" { return (1, "Served over HTTPS.", .array([])) }
        let host = url?.host ?? ""
        let local = ["localhost", "127.0.0.1", "::1"].contains(host) || host.hasPrefix("127.")
        return (local ? nil : 0, local ? "Plain HTTP on a loopback host: not judged (a local store)." : "Plain HTTP on a public host.",
                .array(a("home").map { [$0.evidence] } ?? []))
    }

    func policies() -> Result {
        let topics: [(String, [String])] = [("returns or refunds", ["refund", "return"]), ("privacy", ["privacy"]), ("terms", ["terms", "conditions", "legal"])]
        // A policy linked as a page is half way; as data (schema.org) an agent can apply it.
        var found: [String: JSON] = [:]
        var credit: [String: Double] = [:]
        for (topic, words) in topics {
            if let link = g.policyLinks.first(where: { l in words.contains { l.href.lowercased().contains($0) || l.text.lowercased().contains($0) } }) {
                found[topic] = a("home")!.evidence(match: "<a href=\"\(link.href)\">\(link.text)</a>")
                // Privacy and terms have no machine-readable standard: the page is most of it.
                credit[topic] = topic == "returns or refunds" ? 0.4 : 0.82
            }
        }
        if let (page, _) = jsonLD.first(where: { $0.objects.contains { JSONLD.deepContains($0, type: "MerchantReturnPolicy") || $0["hasMerchantReturnPolicy"] != nil } }) {
            found["returns or refunds"] = page.evidence(match: "schema.org MerchantReturnPolicy")
            credit["returns or refunds"] = 1
        }
        if let llms = read("llms") {
            for (topic, words) in topics where found[topic] == nil {
                if let line = llms.body.split(separator: "\n").first(where: { l in l.contains("](") && words.contains { l.lowercased().contains($0) } }) {
                    found[topic] = llms.evidence(match: String(line))
                    credit[topic] = topic == "returns or refunds" ? 0.4 : 0.82
                }
            }
        }
        let missing = topics.map(\.0).filter { found[$0] == nil }
        var evidence = found.keys.sorted().map { found[$0]! }
        if !missing.isEmpty, let home = a("home") { evidence.append(home.evidence(match: "no link to: \(missing.joined(separator: ", "))")) }
        let asData = credit.filter { $0.value == 1 }.keys.sorted()
        // Returns weigh most (an agent applies them to a purchase; schema.org makes them data);
        // privacy and terms have no machine-readable standard, so a linked page is most of them.
        // Returns as data with the other two linked passes; all three only linked does not.
        let weights = ["returns or refunds": 1.8, "privacy": 0.6, "terms": 0.6]
        return (credit.reduce(0) { $0 + $1.value * (weights[$1.key] ?? 0) } / 3,
                (missing.isEmpty ? "Returns or refunds, privacy and terms are all published" : "Not found: \(missing.joined(separator: ", "))")
                    + (asData.isEmpty ? "; none as data." : "; as data: \(asData.joined(separator: ", ")).") ,
                .array(evidence))
    }

    func identity() -> Result {
        var ways: [(String, JSON)] = []
        if read("oauth_resource")?.json?["resource"] != nil { ways.append(("OAuth protected-resource metadata", a("oauth_resource")!.evidence(pointer: "/authorization_servers"))) }
        if let schemes = openAPI?["components"]?["securitySchemes"]?.objectValue, !schemes.isEmpty {
            ways.append(("OpenAPI securitySchemes (\(schemes.keys.sorted().joined(separator: ", ")))", a("openapi")!.evidence(pointer: "/components/securitySchemes")))
        }
        if let schemes = agentCard?["securitySchemes"]?.objectValue, !schemes.isEmpty {
            ways.append(("A2A card securitySchemes", a("agent_card")!.evidence(pointer: "/securitySchemes")))
        }
        if hasUCP("dev.ucp.common.identity_linking") { ways.append(("UCP identity linking", a("ucp")!.evidence(pointer: "/ucp/capabilities"))) }
        if read("bot_auth")?.json?["keys"] != nil { ways.append(("Web Bot Auth directory", a("bot_auth")!.evidence(pointer: "/keys"))) }
        guard !ways.isEmpty else {
            return (0, "No declared way for agents to identify themselves (OAuth metadata, securitySchemes, identity linking).",
                    ev("oauth_resource", "openapi", "agent_card"))
        }
        // Declared schemes alone say what to send, not where an agent gets it: most of the way.
        let discoverable = ways.contains { !$0.0.hasPrefix("OpenAPI securitySchemes") && !$0.0.hasPrefix("A2A card") }
            || (read("oauth_server")?.json?["issuer"] != nil)
        return (discoverable ? 1 : 0.7, "Agents identify by: \(ways.map(\.0).joined(separator: "; "))\(discoverable ? "" : " (no discovery of where to get credentials)").",
                .array(ways.map(\.1)))
    }

    var hasAgentSurface: Bool { !tools.isEmpty || openAPI != nil || ucp != nil || acp != nil || agentCard != nil }

    func oauthDiscovery() -> Result {
        let resource = read("oauth_resource")?.json?["authorization_servers"] != nil
        let server = read("oauth_server")?.json?["issuer"] != nil || read("openid")?.json?["issuer"] != nil
        if !resource && !server && !hasAgentSurface { return (nil, "No API or protocol to sign in to.", .array([])) }
        let score = (resource ? 0.5 : 0) + (server ? 0.5 : 0)
        return (score, "RFC 9728 resource metadata: \(resource ? "yes" : "no"); RFC 8414 server metadata: \(server ? "yes" : "no").",
                ev("oauth_resource", "oauth_server"))
    }

    func botAuth() -> Result {
        guard let dir = read("bot_auth"), let keys = dir.json?["keys"]?.arrayValue, !keys.isEmpty else {
            return (0, "No Web Bot Auth key directory.", ev("bot_auth"))
        }
        return (1, "The key directory lists \(keys.count) keys.", .array([dir.evidence(pointer: "/keys")]))
    }

    func organization() -> Result {
        if let (page, org) = jsonLD.lazy.compactMap({ p in p.objects.first { JSONLD.isType($0, "Organization") || JSONLD.isType($0, "OnlineStore") || JSONLD.isType($0, "Corporation") }.map { (p.page, $0) } }).first {
            return (1, "schema.org \(JSONLD.typeName(org)): \(org["name"]?.stringValue ?? "").", .array([page.evidence(match: org.compactString)]))
        }
        if let contact = HTMLLinks.anchors(a("home")?.body ?? "", base: target).first(where: { $0.href.lowercased().contains("contact") || $0.text.lowercased().contains("contact") }) {
            return (0.6, "A contact page is linked; no schema.org Organization.", .array([a("home")!.evidence(match: contact.href)]))
        }
        if agentCard?["provider"] != nil || acp != nil || ucp != nil { return (0.6, "The protocol documents name the provider.", ev("agent_card", "ucp")) }
        return (0, "Nothing says who runs the store or how to reach them.", ev("home"))
    }

    // MARK: Transacting

    var checkoutWays: [(String, JSON)] {
        var ways: [(String, JSON)] = []
        if hasUCP("dev.ucp.shopping.checkout") { ways.append(("UCP checkout", a("ucp")!.evidence(pointer: "/ucp/capabilities"))) }
        if let acp, (acp["capabilities"]?["services"]?.arrayValue ?? []).contains(where: { $0.stringValue == "checkout" }) || acp["api_base_url"] != nil {
            ways.append(("ACP checkout sessions", a("acp")!.evidence(pointer: "/capabilities")))
        }
        let t = tools(saying: ["checkout", "cart", "purchase", "buy", "create_order", "place_order", "subscribe"])
        if !t.isEmpty { ways.append(("tools \(t.prefix(3).joined(separator: ", "))", .array(mcpEvidence))) }
        let o = operations(["post", "put"], saying: ["checkout", "order", "cart", "purchase", "subscription", "payment"])
        if !o.isEmpty { ways.append(("API \(o.prefix(3).joined(separator: ", "))", a("openapi")!.evidence(pointer: "/paths"))) }
        if let probe = a("payment_probe"), probe.status == 402 { ways.append(("pay per request (HTTP 402)", probe.evidence)) }
        return ways
    }

    /// A2A skills that take orders by message: buying is possible, but not a structured checkout.
    var orderSkills: [String] {
        guard a("a2a_endpoint").map({ $0.status != 0 && $0.status != 404 }) == true else { return [] }
        return (agentCard?["skills"]?.arrayValue ?? []).filter { skill in
            let text = ((skill["id"]?.stringValue ?? "") + " " + (skill["name"]?.stringValue ?? "") + " " + (skill["description"]?.stringValue ?? "")).lowercased()
            return ["order", "buy", "purchase", "book", "reserve"].contains { text.contains($0) }
        }.compactMap { $0["id"]?.stringValue ?? $0["name"]?.stringValue }
    }

    func agentCheckout() -> Result {
        let ways = checkoutWays
        if !ways.isEmpty { return (1, "Checkout by \(ways.map(\.0).joined(separator: "; ")).", .array(ways.map(\.1).flatMap { $0.arrayValue ?? [$0] })) }
        if !orderSkills.isEmpty {
            return (0.5, "Orders are taken by A2A message (skills \(orderSkills.prefix(3).joined(separator: ", "))): possible, but not a structured checkout.",
                    .array([a("agent_card")!.evidence(pointer: "/skills")]))
        }
        let pages = g.purchasePages.filter(\.ok)
        let forms = pages.filter { $0.body.range(of: "<form", options: .caseInsensitive) != nil && $0.body.range(of: "<input", options: .caseInsensitive) != nil }
        if !forms.isEmpty {
            return (0.1, "Checkout is only an HTML form (\(forms.map(\.url).joined(separator: ", "))): an agent must drive a browser.", .array(forms.map { $0.evidence(match: "<form") }))
        }
        if let page = pages.first(where: { HTMLText.visible($0.body).split(whereSeparator: \.isWhitespace).count >= 40 }) {
            return (0, "The purchase pages offer no form or API to buy with (\(page.url)).", .array(pages.map { $0.evidence(match: "no <form> with inputs") }))
        }
        if !pages.isEmpty {
            return (0, "The purchase pages render nothing without JavaScript (\(pages.map(\.url).joined(separator: ", "))).", .array(pages.map { $0.evidence(match: "no form or text outside scripts") }))
        }
        return (0, "No checkout an agent can call, and no purchase page found.", .array([]))
    }

    func noCaptcha() -> Result {
        let markers = ["g-recaptcha", "recaptcha/api", "hcaptcha", "h-captcha", "cf-turnstile", "challenges.cloudflare.com", "arkoselabs", "funcaptcha", "px-captcha"]
        if agentCheckout().score == 0 { return (nil, "No way to buy an agent could use: nothing for a CAPTCHA to block.", .array([])) }
        let pages = [a("home")].compactMap { $0 }.filter(\.ok) + g.productPages.filter(\.ok) + g.purchasePages.filter { $0.status != 0 }
        guard !pages.isEmpty else { return (nil, "No page read to check.", .array([])) }
        var problems: [JSON] = []
        for page in pages {
            let body = page.body.lowercased()
            if let m = markers.first(where: { body.contains($0) }) { problems.append(page.evidence(match: "CAPTCHA: \(m)")) }
            else if page.status == 401 || page.status == 403 || body.contains("type=\"password\"") { problems.append(page.evidence(match: "login wall (HTTP \(page.status))")) }
        }
        let named = problems.compactMap { $0["match"]?.stringValue }
        return (problems.isEmpty ? 1 : 0,
                problems.isEmpty ? "No CAPTCHA or login wall on the \(pages.count) pages checked." : "In the way: \(Set(named).sorted().joined(separator: "; ")).",
                .array(problems.isEmpty ? pages.prefix(3).map(\.evidence) : problems))
    }

    func idempotency() -> Result {
        let ways = checkoutWays
        guard !ways.isEmpty else { return (nil, "No agent checkout to make idempotent.", .array([])) }
        if let spec = read("openapi"), spec.body.lowercased().contains("idempotency-key") {
            return (1, "The API declares an Idempotency-Key (not probed: the audit never buys).", .array([spec.evidence(match: "Idempotency-Key")]))
        }
        if ways.contains(where: { $0.0.hasPrefix("UCP") || $0.0.hasPrefix("ACP") }) {
            return (1, "Checkout follows UCP or ACP, whose specifications require an Idempotency-Key on every purchase.", .array(ways.map(\.1)))
        }
        if tools.contains(where: { ($0["inputSchema"]?.compactString ?? "").lowercased().contains("idempotency") }) {
            return (1, "The checkout tools take an idempotency key.", .array(mcpEvidence))
        }
        return (0, "A checkout exists but no idempotency key is declared: a retried purchase may charge twice.", .array(ways.map(\.1)))
    }

    func paymentProtocol() -> Result {
        if let probe = a("payment_probe"), probe.status == 402 {
            let terms = probe.headers["payment-required"] ?? probe.headers["www-authenticate"] ?? (probe.json != nil ? probe.body : nil)
                ?? (try? JSON.parse(probe.body)).map { $0.compactString }
            if let terms { return (1, "A paid operation answers 402 with machine-readable terms.", .array([probe.evidence(match: String(terms.prefix(200)))])) }
            return (0.6, "A paid operation answers 402 without terms an agent can read.", .array([probe.evidence]))
        }
        if let handlers = ucp?["ucp"]?["payment_handlers"], handlers.objectValue?.isEmpty == false || handlers.arrayValue?.isEmpty == false {
            return (1, "UCP payment handlers are declared.", .array([a("ucp")!.evidence(pointer: "/ucp/payment_handlers")]))
        }
        if let acp, (acp["capabilities"]?["services"]?.arrayValue ?? []).contains(where: { $0.stringValue == "delegate_payment" }) {
            // A delegated payment token comes from the agent platform's payment provider: the agent
            // needs that relationship first.
            return (0.7, "ACP delegated payment is offered (through the agent platform's payment provider).", .array([a("acp")!.evidence(pointer: "/capabilities/services")]))
        }
        if let spec = read("openapi"), spec.body.contains("\"402\"") { return (0.3, "A 402 answer is documented in the API, with no terms seen.", .array([spec.evidence(match: "\"402\"")])) }
        let texts = [read("llms"), read("agent_card"), read("ucp")].compactMap { $0 }
        if let doc = texts.first(where: { $0.body.lowercased().contains("ap2") || $0.body.lowercased().contains("x402") }) {
            return (0.5, "A payment protocol is mentioned (AP2 or x402) but not offered at a known place.", .array([doc.evidence(match: "AP2/x402")]))
        }
        return (0, "No payment path an agent can complete by protocol (402 terms, delegated payment, payment handlers).", .array([]))
    }

    // MARK: Using

    /// Pay per request (HTTP 402) and nothing else: each request is paid and served at once.
    var onlyPaysPerRequest: Bool { !checkoutWays.isEmpty && checkoutWays.allSatisfy { $0.0.hasPrefix("pay per request") } }

    func orderStatus() -> Result {
        if onlyPaysPerRequest { return (nil, "Each request is paid and answered at once: no orders to follow.", .array([])) }
        if hasUCP("dev.ucp.shopping.order") { return (1, "UCP order capability.", .array([a("ucp")!.evidence(pointer: "/ucp/capabilities")])) }
        let t = tools(saying: ["order", "status", "track", "shipment"])
        if !t.isEmpty { return (1, "Order tools: \(t.prefix(3).joined(separator: ", ")).", .array(mcpEvidence)) }
        let o = operations(["get"], saying: ["order", "subscription", "invoice", "checkout_session", "checkout-session", "shipment"])
        if !o.isEmpty { return (1, "Order status in the API: \(o.prefix(3).joined(separator: ", ")).", .array([a("openapi")!.evidence(pointer: "/paths")])) }
        if acp != nil { return (0.8, "ACP checkout sessions can be read back.", ev("acp")) }
        let skills = (agentCard?["skills"]?.arrayValue ?? []).filter { s in
            let text = ((s["id"]?.stringValue ?? "") + " " + (s["name"]?.stringValue ?? "")).lowercased()
            return ["status", "track", "order"].contains { text.contains($0) }
        }
        if !skills.isEmpty, !orderSkills.isEmpty {
            return (0.7, "Order status by A2A message (\(skills.compactMap { $0["id"]?.stringValue }.prefix(2).joined(separator: ", "))).", .array([a("agent_card")!.evidence(pointer: "/skills")]))
        }
        return (0, "No order status as a tool or an API.", .array([]))
    }

    func postPurchase() -> Result {
        if onlyPaysPerRequest { return (nil, "Each request is paid and answered at once: nothing to cancel or return.", .array([])) }
        let cancel = tools(saying: ["cancel"]) + operations(["post", "delete", "put", "patch"], saying: ["cancel"])
        let refund = tools(saying: ["refund", "return"]) + operations(["post", "put"], saying: ["refund", "return"])
        if cancel.isEmpty && refund.isEmpty && !hasAgentSurface { return (0, "No post-purchase actions: support is by email or forms.", .array([])) }
        let score = (cancel.isEmpty ? 0 : 0.5) + (refund.isEmpty ? 0 : 0.5)
        return (score, "Cancel: \(cancel.first ?? "none"); refund or return: \(refund.first ?? "none").",
                .array(mcpEvidence + (openAPI == nil ? [] : [a("openapi")!.evidence(pointer: "/paths")])))
    }

    func events() -> Result {
        if let hooks = openAPI?["webhooks"]?.objectValue, !hooks.isEmpty {
            return (1, "OpenAPI webhooks: \(hooks.keys.sorted().prefix(4).joined(separator: ", ")).", .array([a("openapi")!.evidence(pointer: "/webhooks")]))
        }
        let o = operations(["post", "get", "put"], saying: ["webhook", "subscription", "events", "callback"])
        if !o.isEmpty { return (1, "Event subscriptions in the API: \(o.prefix(3).joined(separator: ", ")).", .array([a("openapi")!.evidence(pointer: "/paths")])) }
        if agentCard?["capabilities"]?["pushNotifications"]?.boolValue == true {
            return (1, "A2A push notifications.", .array([a("agent_card")!.evidence(pointer: "/capabilities/pushNotifications")]))
        }
        if hasUCP("dev.ucp.shopping.order") { return (0.8, "UCP order capability (order events by webhook).", .array([a("ucp")!.evidence(pointer: "/ucp/capabilities")])) }
        let t = tools(saying: ["inbox", "notification", "subscribe", "watch", "events"])
        if !t.isEmpty { return (0.8, "Event tools: \(t.prefix(3).joined(separator: ", ")).", .array(mcpEvidence)) }
        return (0, "No webhooks, push notifications or event tools.", .array([]))
    }

    func agentDocs() -> Result {
        var score = 0.0
        var parts: [String] = []
        if let llms = read("llms"), !llms.isHTML, llms.body.contains("](") { score += 0.4; parts.append("llms.txt with links") }
        if a("home_markdown")?.contentType.lowercased().contains("markdown") == true { score += 0.3; parts.append("Markdown on request") }
        if openAPI != nil || !tools.isEmpty { score += 0.3; parts.append("tool or API descriptions") }
        if score == 0, let home = read("home"), home.isHTML, HTMLText.visible(home.body).split(whereSeparator: \.isWhitespace).count >= 40 {
            score = 0.5
            parts.append("server-rendered pages (no documentation written for agents)")
        } else if score == 0, !g.policyLinks.isEmpty {
            score = 0.3
            parts.append("policies in prose (no documentation written for agents)")
        }
        return (min(1, score), parts.isEmpty ? "No documentation written for agents." : "Docs for agents: \(parts.joined(separator: ", ")).", ev("llms", "home_markdown"))
    }

    // MARK: Recommending

    func ratings() -> Result {
        let pages = readProductPages
        guard !pages.isEmpty else {
            if !tools(saying: ["review", "rating"]).isEmpty { return (0.5, "Reviews only through tools; nothing published to cite.", .array(mcpEvidence)) }
            return (0, "No ratings or reviews an agent may read.", .array(g.productPages.map(\.evidence)))
        }
        let rated = pages.filter { p in JSONLD.objects(in: p.body).contains { JSONLD.deepContains($0, type: "AggregateRating") || $0["aggregateRating"] != nil || $0["review"] != nil } }
        if rated.isEmpty, let collecting = tools(saying: ["review", "rating", "feedback"]).first {
            // Reviews are collected but no product has one yet: nothing to publish, so not judged.
            return (nil, "Ratings are collected (\(collecting)); no product page has one yet to publish.", .array(pages.map(\.evidence)))
        }
        return (Double(rated.count) / Double(pages.count), "\(rated.count) of \(pages.count) product pages publish ratings or reviews.",
                .array(pages.map { p in p.evidence(match: rated.contains { $0.url == p.url } ? "aggregateRating" : "no AggregateRating") }))
    }

    func citable() -> Result {
        let pages = readProductPages
        // A URL an agent cites must stay put: one it reached through redirects is not stable.
        let moved = pages.filter { !$0.redirects.isEmpty }
        if !pages.isEmpty && moved.count == pages.count {
            return (0.5, "Product URLs move: each was reached through redirects (\(moved[0].redirects[0]) → \(moved[0].url)).",
                    .array(moved.prefix(2).map { $0.evidence(match: "redirected from \($0.redirects[0])") }))
        }
        guard !pages.isEmpty else {
            if let sitemap = read("sitemap"), !Gatherer.locs(sitemap.body).isEmpty {
                return (0.5, "No product pages; the sitemap gives the pages stable URLs.", .array([sitemap.evidence]))
            }
            return (0, "No product pages or sitemap with URLs to cite.", .array([]))
        }
        let good = pages.filter {
            HTMLScan.tags($0.body, named: ["link"]).contains { $0.attributes["rel"]?.lowercased().split(separator: " ").contains("canonical") == true }
                || JSONLD.objects(in: $0.body).contains { JSONLD.isType($0, "Product") && $0["url"] != nil }
        }
        return (Double(good.count) / Double(pages.count), "\(good.count) of \(pages.count) product pages name their canonical URL.", .array(pages.map(\.evidence)))
    }

    func shareMetadata() -> Result {
        let pages = ([a("home")].compactMap { $0 } + readProductPages).filter { $0.ok && $0.isHTML }
        guard !pages.isEmpty else { return (nil, "No HTML pages to judge.", .array([])) }
        let good = pages.filter { $0.body.contains("og:title") && $0.body.contains("og:description") }
        return (Double(good.count) / Double(pages.count), "\(good.count) of \(pages.count) pages carry Open Graph title and description.",
                .array(pages.map { page in page.evidence(match: good.contains { $0.url == page.url } ? "og:title" : "no og:title") }))
    }

    func summaries() -> Result {
        // A summary (llms.txt's own words) and the pages themselves as Markdown: each is most of
        // what an agent quotes from, both are all of it.
        var score = 0.0
        var evidence: [JSON] = []
        var parts: [String] = []
        if let llms = read("llms"), !llms.isHTML, let quote = llms.body.split(separator: "\n").first(where: { $0.hasPrefix(">") || ($0.count > 40 && !$0.hasPrefix("#") && !$0.hasPrefix("-")) }) {
            score += 0.6
            parts.append("llms.txt says what the business is in its own words")
            evidence.append(llms.evidence(match: String(quote)))
        }
        if let md = read("home_markdown"), md.contentType.lowercased().contains("markdown") {
            score += 0.6
            parts.append("pages come as Markdown to quote")
            evidence.append(md.evidence(match: md.contentType))
        }
        if score > 0 { return (min(1, score), parts.joined(separator: "; ") + ".", .array(evidence)) }
        if let description = agentCard?["description"]?.stringValue, description.count > 20 {
            return (0.5, "The agent card describes the business.", .array([a("agent_card")!.evidence(pointer: "/description")]))
        }
        if let home = read("home"),
            let description = HTMLScan.tags(home.body, named: ["meta"]).first(where: { $0.attributes["name"]?.lowercased() == "description" })?.attributes["content"],
            description.count >= 20
        {
            return (0.3, "Only the home page's meta description.", .array([home.evidence(match: description)]))
        }
        return (0, "Nothing written for an agent to quote.", .array([]))
    }

}

enum JSONLD {
    /// Every JSON-LD object in a page's `<script type="application/ld+json">` blocks.
    static func objects(in html: String) -> [JSON] {
        var found: [JSON] = []
        for tag in HTMLScan.tags(html, named: ["script"], innerOf: ["script"])
        where tag.attributes["type"]?.lowercased().trimmingCharacters(in: .whitespaces) == "application/ld+json" {
            guard let inner = tag.inner, let json = try? JSON.parse(inner, maxDepth: 64) else { continue }
            for object in json.arrayValue ?? [json] {
                found += object["@graph"]?.arrayValue ?? [object]
            }
        }
        return found
    }

    /// Whether a JSON-LD object is of a type (`@type` may be a string or a list).
    static func isType(_ object: JSON, _ type: String) -> Bool {
        object["@type"]?.stringValue == type || (object["@type"]?.arrayValue?.contains { $0.stringValue == type } ?? false)
    }

    static func typeName(_ object: JSON) -> String { object["@type"]?.stringValue ?? object["@type"]?[0]?.stringValue ?? "Thing" }

    /// A Product's offers, or a ProductGroup's variants' offers.
    static func offers(of object: JSON) -> [JSON] {
        var offers = object["offers"]?.arrayValue ?? (object["offers"].map { [$0] } ?? [])
        offers = offers.flatMap { o in isType(o, "AggregateOffer") ? (o["offers"]?.arrayValue ?? [o]) : [o] }
        for variant in object["hasVariant"]?.arrayValue ?? [] { offers += self.offers(of: variant) }
        return offers
    }

    /// An offer with an amount and its currency (directly or in a PriceSpecification).
    static func isPriced(_ offer: JSON) -> Bool {
        let amount = offer["price"] != nil || offer["lowPrice"] != nil || offer["priceSpecification"]?["price"] != nil
        let currency = offer["priceCurrency"] != nil || offer["priceSpecification"]?["priceCurrency"] != nil
        return amount && currency
    }

    static func deepContains(_ json: JSON, type: String, depth: Int = 0) -> Bool {
        guard depth < 8 else { return false }
        if isType(json, type) { return true }
        if let o = json.objectValue { return o.values.contains { deepContains($0, type: type, depth: depth + 1) } }
        if let a = json.arrayValue { return a.contains { deepContains($0, type: type, depth: depth + 1) } }
        return false
    }
}

enum HTMLText {
    /// The text a reader sees without running scripts (see `HTMLScan.visibleText`).
    static func visible(_ html: String) -> String { HTMLScan.visibleText(html) }
}

enum Prices {
    /// Price-looking amounts in a page's visible text: "$12", "€9.99", "USD 40", "12.00 EUR".
    static func amounts(in html: String) -> [String] {
        let text = HTMLText.visible(html)
        return HTMLLinks.matches(#"((?:[$€£¥]\s?\d[\d,]*(?:\.\d{1,2})?)|(?:\b(?:USD|EUR|GBP)\s?\d[\d,]*(?:\.\d{1,2})?)|(?:\d[\d,]*(?:\.\d{1,2})?\s?(?:USD|EUR|GBP)\b))"#, in: text)
            .map { $0[0] }
    }
}
