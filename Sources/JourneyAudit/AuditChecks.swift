import StorefrontDomain
import Foundation
import JSON

/// The audits themselves: each turns artifacts into a score, a sentence and the evidence.
struct AuditChecks {
    typealias Result = (score: Double?, detail: String, evidence: JSON)
    let target: String
    let artifacts: [String: Artifact]

    func a(_ name: String) -> Artifact? { artifacts[name] }
    func evidence(_ names: String...) -> JSON { .array(names.compactMap { a($0)?.evidence }) }

    var tools: [JSON] { a("mcp_tools")?.json?["tools"]?.arrayValue ?? [] }
    /// Evidence for audits that read the tool list: the handshake, and the list when there is one.
    var toolEvidence: JSON { evidence("mcp_initialize", "mcp_tools", "openapi") }
    var toolNames: Set<String> { Set(tools.compactMap { $0["name"]?.stringValue }) }
    var openAPIPaths: [String] { Array(a("openapi")?.json?["paths"]?.objectValue?.keys ?? [:].keys) }
    var agentsText: String { a("agents")?.ok == true ? a("agents")!.body.lowercased() : "" }
    var openAPIText: String { a("openapi")?.ok == true ? a("openapi")!.body : "" }

    /// The pages of the purchase and sign-up path that were fetched.
    var purchasePages: [Artifact] { artifacts.filter { $0.key.hasPrefix("purchase_path_") }.map(\.value).sorted { $0.url < $1.url } }

    func has(tools names: [String], paths: [String] = []) -> Bool {
        !toolNames.isDisjoint(with: names) || openAPIPaths.contains { p in paths.contains { p.contains($0) } }
            || names.contains { agentsText.contains("\"\($0)\"") }
    }

    func run(_ id: String) -> Result {
        switch id {
        case "agent-entry-point":
            guard let json = a("agents")?.json, json.objectValue != nil else {
                return (0, "GET /agents does not answer JSON.", evidence("agents"))
            }
            let parts = ["store", "endpoints", "authentication", "limits"].filter { json[$0] != nil }
            return (Double(parts.count) / 4, "/agents answers JSON with \(parts.joined(separator: ", ")).", evidence("agents"))
        case "llms-txt":
            guard let llms = a("llms"), llms.ok else { return (0, "No /llms.txt.", evidence("llms")) }
            let lines = llms.body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map(String.init)
            let h1 = lines.first { !$0.isEmpty }?.hasPrefix("# ") == true
            let sections = lines.filter { $0.hasPrefix("## ") }.count
            let links = lines.filter { $0.hasPrefix("- [") && $0.contains("](") }.count
            let score = (h1 ? 0.4 : 0) + (sections > 0 ? 0.3 : 0) + (links > 0 ? 0.3 : 0)
            return (score, "llms.txt: \(h1 ? "an H1" : "no H1"), \(sections) sections, \(links) links.", evidence("llms"))
        case "robots-welcomes-agents":
            guard let robots = a("robots"), robots.ok, !robots.contentType.contains("html") else {
                return (1, "No robots.txt: nothing blocks agents (one naming /agents would help them).", evidence("robots"))
            }
            let agents = ["ChatGPT-User", "Claude-User", "Perplexity-User", "OAI-SearchBot", "PerplexityBot", "Claude-SearchBot"]
            let blocked = agents.filter { RobotsTxt(robots.body).blocksRoot(for: $0) }
            let detail = blocked.isEmpty ? "robots.txt lets every agent acting for users and AI search in."
                : "robots.txt blocks \(blocked.joined(separator: ", "))."
            return (Double(agents.count - blocked.count) / Double(agents.count), detail, evidence("robots"))
        case "sitemap":
            guard let sitemap = a("sitemap"), sitemap.ok, sitemap.body.contains("<urlset") || sitemap.body.contains("<sitemapindex") else {
                return (0, "No sitemap at /sitemap.xml.", evidence("sitemap"))
            }
            let count = sitemap.body.components(separatedBy: "<loc>").count - 1
            return (count > 0 ? 1 : 0.5, "The sitemap lists \(count) URLs.", evidence("sitemap"))
        case "a2a-agent-card":
            guard let card = a("agent_card")?.json else { return (0, "No A2A Agent Card.", evidence("agent_card")) }
            let required = ["name", "description", "url", "version", "capabilities", "defaultInputModes", "defaultOutputModes", "skills"]
            let missing = required.filter { card[$0] == nil }
            let skillsOK = (card["skills"]?.arrayValue ?? []).allSatisfy {
                $0["id"] != nil && $0["name"] != nil && $0["description"] != nil && $0["tags"] != nil
            }
            let score = Double(required.count - missing.count) / Double(required.count) * (skillsOK ? 1 : 0.5)
            return (score, missing.isEmpty ? "The Agent Card has every required field." : "The Agent Card lacks \(missing.joined(separator: ", ")).",
                    evidence("agent_card"))
        case "mcp-endpoint":
            guard a("mcp_initialize")?.ok == true else {
                return (0, "No MCP endpoint answered initialize.", evidence("mcp_initialize"))
            }
            return (tools.isEmpty ? 0.5 : 1, "MCP answered initialize and listed \(tools.count) tools.", evidence("mcp_initialize", "mcp_tools"))
        case "openapi":
            guard let spec = a("openapi")?.json, spec["openapi"]?.stringValue?.hasPrefix("3") == true else {
                return (0, "No OpenAPI 3 description found.", evidence("openapi"))
            }
            return (openAPIPaths.isEmpty ? 0.5 : 1, "OpenAPI \(spec["openapi"]?.stringValue ?? "") with \(openAPIPaths.count) paths.", evidence("openapi"))
        case "product-json-ld":
            guard let page = a("product_page") else { return (nil, "No product page found in the sitemap to check.", .array([])) }
            let products = JSONLD.objects(in: page.body).filter { JSONLD.isType($0, "Product") }
            guard let product = products.first else { return (0, "The product page has no schema.org Product JSON-LD.", evidence("product_page")) }
            let offers = product["offers"]?.arrayValue ?? (product["offers"].map { [$0] } ?? [])
            let priced = offers.contains { $0["price"] != nil && $0["priceCurrency"] != nil }
            return (priced ? 1 : 0.5, priced ? "Product JSON-LD with priced offers." : "Product JSON-LD without a priced Offer.", evidence("product_page"))
        case "machine-readable-pricing":
            if let pricing = a("pricing")?.json, !Money.amounts(in: pricing).isEmpty {
                return (1, "/pricing answers JSON with \(Money.amounts(in: pricing).count) prices.", evidence("pricing"))
            }
            if a("product_page").map({ JSONLD.objects(in: $0.body).contains { $0["offers"] != nil } }) == true {
                return (0.5, "Prices only as JSON-LD on product pages; no pricing document.", evidence("pricing", "product_page"))
            }
            return (0, "No machine-readable prices.", evidence("pricing"))
        case "no-contact-sales":
            let phrases = ["contact sales", "request a quote", "contact us for pricing", "call for pricing", "talk to sales", "book a demo"]
            let pages = ["home", "pricing"].compactMap { a($0) }.filter(\.ok)
            let found = phrases.filter { phrase in pages.contains { $0.body.lowercased().contains(phrase) } }
            return (found.isEmpty ? 1 : 0, found.isEmpty ? "No price hides behind a sales contact." : "Prices hide behind: \(found.joined(separator: ", ")).",
                    evidence("home", "pricing"))
        case "prices-have-currency":
            guard let pricing = a("pricing")?.json else { return (nil, "No pricing document to check.", .array([])) }
            let amounts = Money.amounts(in: pricing)
            guard !amounts.isEmpty else { return (0, "The pricing document has no amount with a currency.", evidence("pricing")) }
            return (1, "Every one of \(amounts.count) prices names its currency.", evidence("pricing"))
        case "tools-have-schemas":
            guard !tools.isEmpty else { return (nil, "No tools to check.", .array([])) }
            let good = tools.filter { ($0["description"]?.stringValue?.count ?? 0) >= 10 && $0["inputSchema"]?.objectValue != nil }
            return (Double(good.count) / Double(tools.count), "\(good.count) of \(tools.count) tools have a description and an input schema.", toolEvidence)
        case "catalog-searchable":
            let ok = has(tools: ["search_catalog", "search_products", "search"], paths: ["search", "/catalog"])
            return (ok ? 1 : 0, ok ? "The catalog can be searched by a tool or an API." : "No catalog search tool or API.", toolEvidence)
        case "machine-readable-policies":
            guard let policies = a("policies")?.json else { return (0, "No /policies document.", evidence("policies")) }
            let topics = ["refunds", "returns", "privacy", "terms"].filter { policies[$0] != nil }
            return (Double(topics.count) / 4, "Policies as data: \(topics.joined(separator: ", ")).", evidence("policies"))
        case "identity-declared":
            let methods = a("agents")?.json?["authentication"]?["methods"]?.arrayValue ?? []
            if !methods.isEmpty { return (1, "/agents declares \(methods.count) ways for agents to identify.", evidence("agents")) }
            if a("oauth")?.json != nil { return (1, "OAuth protected-resource metadata is published.", evidence("oauth")) }
            return (0, "No declared way for agents to identify themselves.", evidence("agents", "oauth"))
        case "signed-manifest":
            guard let manifest = a("capabilities"), manifest.ok else { return (0, "No signed capability manifest.", evidence("capabilities")) }
            let jws = manifest.headers["x-capabilities-signature"] ?? ""
            let keys = a("jwks")?.json?["keys"]?.arrayValue ?? []
            let verified = keys.contains { StoreSigningKey.verifyDetachedJWS(jws, payload: Array(manifest.body.utf8), publicJWK: $0) }
            return (verified ? 1 : 0.3, verified ? "The manifest's signature verifies with the published key." : "The manifest is not signed, or its signature does not verify.",
                    evidence("capabilities", "jwks"))
        case "status-endpoint":
            return a("status")?.ok == true ? (1, "/status answers.", evidence("status")) : (0, "No /status.", evidence("status"))
        case "https":
            let url = URL(string: a("home")?.url ?? target)
            let local = ["localhost", "127.0.0.1", "::1"].contains(url?.host ?? "")
            if url?.scheme == "https" { return (1, "Served over HTTPS.", .array([])) }
            return (local ? 1 : 0, local ? "Plain HTTP on localhost (fine for a local store)." : "Plain HTTP on a public host.", .array([]))
        case "checkout-tools":
            let ok = has(tools: ["complete_checkout", "create_checkout"], paths: ["/checkout-sessions", "/checkout_sessions", "/checkout"])
            if ok { return (1, "Checkout is a tool call or an API.", toolEvidence) }
            let forms = purchasePages.filter { $0.ok && $0.body.lowercased().contains("<form") }
            let detail = forms.isEmpty ? "No checkout an agent can call."
                : "Checkout is only an HTML form (\(forms.map(\.url).joined(separator: ", "))); no tool or API."
            return (0, detail, .array((toolEvidence.arrayValue ?? []) + forms.map(\.evidence)))
        case "idempotency":
            // Declared, not probed: the audit never buys anything on a target without a test mode.
            let declared = openAPIText.contains("Idempotency-Key") || agentsText.contains("idempotency")
            if declared { return (1, "Idempotency keys are declared (not probed: the audit never buys).", evidence("openapi", "agents")) }
            let checkout = has(tools: ["complete_checkout", "create_checkout"], paths: ["/checkout-sessions", "/checkout_sessions", "/checkout"])
            if !checkout { return (nil, "Not verified: there is no checkout to make idempotent.", evidence("openapi", "agents")) }
            return (0, "A checkout exists but no idempotency key is declared: a retried purchase may charge twice.", evidence("openapi", "agents"))
        case "spend-controls":
            let ok = has(tools: ["get_wallet"]) || agentsText.contains("wallet")
            return (ok ? 1 : 0, ok ? "Agents pay from wallets with limits." : "No wallet or spend controls for agents.", toolEvidence)
        case "payment-terms":
            let ok = openAPIText.contains("\"402\"")
            return (ok ? 1 : 0, ok ? "402 answers are documented." : "No 402 answer is documented.", evidence("openapi"))
        case "no-captcha":
            let markers = ["g-recaptcha", "recaptcha/api", "hcaptcha", "cf-turnstile", "challenges.cloudflare.com"]
            let pages = ["home", "product_page"].compactMap { a($0) } + purchasePages
            let found = markers.filter { m in pages.contains { $0.body.lowercased().contains(m) } }
            // A login wall: the purchase path asks a person for a password (or refuses outright).
            let walled = purchasePages.filter { $0.status == 401 || $0.status == 403 || $0.body.lowercased().contains("type=\"password\"") }
            var problems: [String] = []
            if !found.isEmpty { problems.append("CAPTCHA found: \(found.joined(separator: ", "))") }
            if !walled.isEmpty { problems.append("a login wall on \(walled.map(\.url).joined(separator: ", "))") }
            return (problems.isEmpty ? 1 : 0,
                    problems.isEmpty ? "No CAPTCHA or login wall on the \(pages.count) pages checked." : problems.joined(separator: "; ") + ".",
                    .array(pages.map(\.evidence)))
        case "order-status":
            let ok = has(tools: ["get_order", "list_orders"], paths: ["/orders"])
            return (ok ? 1 : 0, ok ? "Order status is a tool call." : "No order-status tool.", toolEvidence)
        case "executable-support":
            let names = ["cancel_order", "request_refund", "report_issue"].filter { has(tools: [$0]) }
            return (Double(names.count) / 3, names.isEmpty ? "No support actions." : "Support actions: \(names.joined(separator: ", ")).", toolEvidence)
        case "inbox":
            let ok = has(tools: ["get_inbox"], paths: ["/inbox"])
            return (ok ? 1 : 0, ok ? "Agents have an inbox of events." : "No inbox or event stream for agents.", toolEvidence)
        case "docs-without-javascript":
            guard let home = a("home"), home.ok else { return (nil, "The home page did not answer.", evidence("home")) }
            let text = home.body.replacingOccurrences(of: "<script[\\s\\S]*?</script>", with: "", options: .regularExpression)
                .replacingOccurrences(of: "<[^>]+>", with: " ", options: .regularExpression)
            let words = text.split { $0.isWhitespace }.count
            return (words >= 50 ? 1 : 0, "The home page has \(words) words without running JavaScript.", evidence("home"))
        case "feedback":
            let ok = has(tools: ["leave_feedback", "submit_review"])
            return (ok ? 1 : 0, ok ? "Agents can leave feedback." : "No feedback tool.", toolEvidence)
        case "referrals":
            let ok = has(tools: ["recommend", "create_referral"])
            return (ok ? 1 : 0, ok ? "Agents can recommend with referral codes." : "No referral tool.", toolEvidence)
        case "aggregate-ratings":
            let ld = a("product_page").map { JSONLD.objects(in: $0.body).contains { $0["aggregateRating"] != nil } } ?? false
            let collects = has(tools: ["leave_feedback"])
            if ld { return (1, "Product pages publish AggregateRating.", evidence("product_page")) }
            // Ratings are collected but none exists yet: nothing to publish, so not applicable.
            if collects { return (nil, "Ratings are collected; no product has one yet to publish.", evidence("product_page")) }
            return (0, "No ratings are collected or published.", evidence("product_page"))
        default:
            return (nil, "Unknown audit.", .array([]))
        }
    }
}

/// robots.txt rules, as far as deciding whether a user agent may fetch `/`.
struct RobotsTxt {
    var groups: [(agents: [String], disallow: [String], allow: [String])] = []

    init(_ text: String) {
        var current: (agents: [String], disallow: [String], allow: [String])?
        var lastWasAgent = false
        for raw in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n") {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0].lowercased() {
            case "user-agent":
                if !lastWasAgent, let c = current { groups.append(c); current = nil }
                if current == nil { current = ([], [], []) }
                current!.agents.append(parts[1].lowercased())
                lastWasAgent = true
            case "disallow":
                current?.disallow.append(parts[1]); lastWasAgent = false
            case "allow":
                current?.allow.append(parts[1]); lastWasAgent = false
            default: lastWasAgent = false
            }
        }
        if let c = current { groups.append(c) }
    }

    /// Whether the group that applies to `agent` (its own, else `*`) disallows the whole site.
    func blocksRoot(for agent: String) -> Bool {
        let name = agent.lowercased()
        let group = groups.first { $0.agents.contains(name) } ?? groups.first { $0.agents.contains("*") }
        guard let group else { return false }
        return group.disallow.contains("/") && !group.allow.contains("/")
    }
}

enum JSONLD {
    /// Every JSON-LD object in a page's `<script type="application/ld+json">` blocks.
    static func objects(in html: String) -> [JSON] {
        var found: [JSON] = []
        let pattern = #"<script[^>]*type\s*=\s*["']application/ld\+json["'][^>]*>([\s\S]*?)</script>"#
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return [] }
        let text = html as NSString
        for match in regex.matches(in: html, range: NSRange(location: 0, length: text.length)) {
            guard let json = try? JSON.parse(text.substring(with: match.range(at: 1))) else { continue }
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
}

extension Money {
    /// Every `{"amount": int, "currency": "XXX"}` inside a document.
    static func amounts(in json: JSON) -> [Money] {
        switch json {
        case .object(let o):
            if let m = Money(json: json), o.count == 2 { return [m] }
            return o.values.flatMap(amounts(in:))
        case .array(let a): return a.flatMap(amounts(in:))
        default: return []
        }
    }
}
