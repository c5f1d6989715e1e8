import Foundation
import JSON
@testable import JourneyAudit
@testable import StorefrontDomain
import Testing

@Suite("The journey auditor")
struct JourneyAuditTests {
    // RFC 9309 §5.1's example file, with the verdicts §2.2.2 gives for it.
    static let rfc9309Example = """
        User-Agent: *
        Disallow: *.gif$
        Disallow: /example/
        Allow: /publications/

        User-Agent: foobot
        Disallow:/
        Allow:/example/page.html
        Allow:/example/allowed.gif

        User-Agent: barbot
        User-Agent: bazbot
        Disallow: /example/page.html

        User-Agent: quxbot
        """

    @Test("robots.txt: RFC 9309's example file decides as the RFC says")
    func robotsRFCExample() {
        let robots = RobotsTxt(Self.rfc9309Example)
        // foobot: its own group; the longest match wins.
        #expect(!robots.verdict(for: "foobot", path: "/").allowed)
        #expect(robots.verdict(for: "foobot", path: "/example/page.html").allowed)
        #expect(robots.verdict(for: "foobot", path: "/example/allowed.gif").allowed)
        #expect(!robots.verdict(for: "FooBot", path: "/example/other.html").allowed)  // tokens are case-insensitive
        // barbot and bazbot share a group.
        #expect(!robots.verdict(for: "barbot", path: "/example/page.html").allowed)
        #expect(!robots.verdict(for: "bazbot", path: "/example/page.html").allowed)
        #expect(robots.verdict(for: "bazbot", path: "/publications/").allowed)
        // quxbot has a group with no rules: everything allowed (not the * group).
        #expect(robots.verdict(for: "quxbot", path: "/example/").allowed)
        // Everyone else: the * group, with `*` and `$`.
        #expect(!robots.verdict(for: "otherbot", path: "/images/a.gif").allowed)
        #expect(robots.verdict(for: "otherbot", path: "/images/a.gif?x=1").allowed)
        #expect(!robots.verdict(for: "otherbot", path: "/example/x").allowed)
        #expect(robots.verdict(for: "otherbot", path: "/publications/2024").allowed)
    }

    @Test("robots.txt: Allow wins a tie of equal length; the deciding rule keeps its line")
    func robotsTieAndLine() {
        let robots = RobotsTxt("User-agent: *\nDisallow: /page\nAllow: /page\nDisallow: /*\n")
        let verdict = robots.verdict(for: "ChatGPT-User", path: "/page")
        #expect(verdict.allowed)
        #expect(verdict.rule?.line == 3)
        let blocked = robots.verdict(for: "ChatGPT-User", path: "/products/tent")
        #expect(!blocked.allowed && blocked.rule?.text == "Disallow: /*")
    }

    @Test("robots.txt: Sitemap and Content-Signal lines are read beside the groups")
    func robotsSitemapsAndSignals() {
        let robots = RobotsTxt(
            "# comment\nUser-agent: *\nContent-Signal: search=yes, ai-input=yes, ai-train=no\nAllow: /\n\nSitemap: https://shop.example/sitemap_index.xml\n")
        #expect(robots.sitemaps == ["https://shop.example/sitemap_index.xml"])
        #expect(robots.contentSignals(for: "Claude-User").first?.value == "search=yes, ai-input=yes, ai-train=no")
        #expect(robots.contentSignals(for: "Claude-User").first?.line == 3)
    }

    @Test("robots.txt patterns: * and $ as RFC 9309 reads them, in linear steps")
    func robotsPatterns() {
        #expect(RobotsPattern.matches("/fish", "/fish.html"))
        #expect(RobotsPattern.matches("/fish*", "/fishheads/yummy.html"))
        #expect(!RobotsPattern.matches("/fish", "/Fish.asp"))
        #expect(RobotsPattern.matches("/*.php", "/folder/filename.php?parameters"))
        #expect(RobotsPattern.matches("/*.php$", "/filename.php"))
        #expect(!RobotsPattern.matches("/*.php$", "/filename.php?parameters"))
        #expect(RobotsPattern.matches("/fish*.php", "/fishheads/catfish.php?parameters"))
        #expect(!RobotsPattern.matches("/fish*.php", "/Fish.PHP"))
        // A hostile pattern: many stars over a long path ends at once (the recursive matcher took
        // exponential time here).
        let stars = String(repeating: "*a", count: 40) + "b"
        #expect(!RobotsPattern.matches(stars, "/" + String(repeating: "a", count: 4000)))
    }

    @Test("Link headers: RFC 8288's examples, relative targets resolved, several relations")
    func linkHeaders() {
        let links = LinkHeader.parse(
            #"<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter", </openapi.json>; rel="service-desc"; type="application/vnd.oai.openapi+json", </>; rel="http://example.net/foo", <api-catalog>; rel="api-catalog alternate""#,
            base: "https://shop.example/docs/")
        #expect(links.map(\.rel) == ["previous", "service-desc", "http://example.net/foo", "api-catalog", "alternate"])
        #expect(links[1].href == "https://shop.example/openapi.json")
        #expect(links[1].type == "application/vnd.oai.openapi+json")
        #expect(links[3].href == "https://shop.example/docs/api-catalog")
    }

    @Test("MCP answers are read as JSON or as SSE, with LF or CRLF lines (the Python SDK's default)")
    func mcpMessages() {
        var sse = Artifact(url: "http://x/mcp", status: 200, contentType: "text/event-stream")
        sse.body = "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\r\ndata: \"result\":{\"protocolVersion\":\"2025-11-25\"}}\r\n\r\n"
        #expect(MCPProbe.result(sse, id: 1)?["protocolVersion"] == "2025-11-25")
        var json = Artifact(url: "http://x/mcp", status: 200, contentType: "application/json")
        json.body = #"{"jsonrpc":"2.0","id":10,"result":{"tools":[{"name":"search"}]}}"#
        #expect(MCPProbe.result(json, id: 10)?["tools"]?[0]?["name"] == "search")
        // An HTML page at the endpoint is not an MCP answer, whatever its status.
        var html = Artifact(url: "http://x/mcp", status: 200, contentType: "text/html")
        html.body = "<html><body>{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}</body></html>"
        #expect(MCPProbe.result(html, id: 1) == nil)
    }

    @Test("reachability: a challenge wall, a refusal, a readable page with a CAPTCHA form, an error")
    func reachabilityOutcomes() {
        var wall = Artifact(url: "https://x/", status: 403, contentType: "text/html", headers: ["cf-mitigated": "challenge"])
        wall.body = "<html><title>Just a moment...</title></html>"
        #expect(Reachability.outcome(wall) == "challenged")
        var interstitial = Artifact(url: "https://x/", status: 200, contentType: "text/html")
        interstitial.body = "<html><body>Verify you are human by completing the action below.</body></html>"
        #expect(Reachability.outcome(interstitial) == "challenged")
        #expect(Reachability.outcome(Artifact(url: "https://x/", status: 403, contentType: "text/html", body: "Forbidden")) == "refused")
        var page = Artifact(url: "https://x/", status: 200, contentType: "text/html")
        page.body = "<html><body>" + String(repeating: "<p>Widgets for every line.</p>", count: 30) + "<form><div class=\"g-recaptcha\"></div></form></body></html>"
        #expect(Reachability.outcome(page) == "ok")
        #expect(Reachability.outcome(Artifact(url: "https://x/", status: 503)) == "error")
        #expect(Reachability.outcome(Artifact(url: "https://x/", error: "refused")) == "unreachable")
    }

    @Test("JSON-LD: Product and ProductGroup offers, AggregateOffer, variants, PriceSpecification")
    func jsonLD() {
        let html = """
            <script type="application/ld+json">{"@type":"ProductGroup","name":"Tee","hasVariant":[{"@type":"Product","offers":{"@type":"Offer","priceSpecification":{"price":20,"priceCurrency":"EUR"}}}]}</script>
            <p>x</p><script type="application/ld+json">[{"@type":"Organization"},{"@type":"Product","offers":{"@type":"AggregateOffer","offers":[{"price":"5.00","priceCurrency":"USD"}]}}]</script>
            <script type="application/ld+json">{broken</script>
            """
        let objects = JSONLD.objects(in: html)
        #expect(objects.count == 3)
        #expect(JSONLD.offers(of: objects[0]).contains(where: JSONLD.isPriced))
        #expect(JSONLD.offers(of: objects[2]).contains(where: JSONLD.isPriced))
        #expect(!JSONLD.isPriced(["price": "5"]))
    }

    @Test("prices in text, with symbols or codes on either side")
    func textPrices() {
        #expect(Prices.amounts(in: "<td>$12/mo</td><td>€9.99</td><td>40 USD</td><script>var p='$1'</script>").count == 3)
    }

    @Test("RFC 8414 §3.1: the well-known segment goes before the issuer's path")
    func oauthMetadataURL() {
        #expect(Gatherer.metadataURL(issuer: "https://auth.example/tenant1", base: "https://shop.example")
            == "https://auth.example/.well-known/oauth-authorization-server/tenant1")
        #expect(Gatherer.metadataURL(issuer: "https://auth.example", base: "https://shop.example")
            == "https://auth.example/.well-known/oauth-authorization-server")
        #expect(Gatherer.metadataURL(issuer: nil, base: "https://shop.example") == "https://shop.example/.well-known/oauth-authorization-server")
    }

    @Test("product pages are taken evenly from the sorted sitemap, so its order does not decide")
    func spread() {
        let urls = (0..<10).map { "https://shop.example/products/p\($0)" }
        #expect(Gatherer.spread(urls, 3) == ["https://shop.example/products/p0", "https://shop.example/products/p4", "https://shop.example/products/p9"])
        #expect(Gatherer.spread(Array(urls.prefix(2)), 3).count == 2)
    }

    @Test("the fetcher refuses other hosts inside private networks, but not the audited site's own")
    func fetcherRefusals() {
        let fetcher = AuditFetcher(site: URL(string: "http://127.0.0.1:8080/")!, limits: .init())
        #expect(fetcher.refusal(URL(string: "http://127.0.0.1:9999/x")!) == nil)
        #expect(fetcher.refusal(URL(string: "http://127.0.0.2:9999/x")!) != nil)
        #expect(fetcher.refusal(URL(string: "http://10.0.0.1/x")!) != nil)
        #expect(fetcher.refusal(URL(string: "http://169.254.169.254/latest/meta-data")!) != nil)
        #expect(fetcher.refusal(URL(string: "http://[::1]/")!) != nil)
        #expect(fetcher.refusal(URL(string: "file:///etc/passwd")!) != nil)
        #expect(fetcher.refusal(URL(string: "http://user:pw@127.0.0.1:8080/")!) != nil)
        // Another name for the same address is the site's own host (localhost for 127.0.0.1).
        let named = AuditFetcher(site: URL(string: "http://localhost:8080/")!, limits: .init())
        #expect(named.refusal(URL(string: "http://127.0.0.1:8080/openapi.json")!) == nil)
        #expect(named.refusal(URL(string: "http://127.0.0.2:8080/openapi.json")!) != nil)
        var open = AuditFetcher.Limits()
        open.allowPrivate = true
        #expect(AuditFetcher(site: URL(string: "http://127.0.0.1:8080/")!, limits: open).refusal(URL(string: "http://127.0.0.2:9999/x")!) == nil)
    }

    @Test("a site that could not be read is not scored: no passes, every stage 0, a headline")
    func unreachable() throws {
        var g = Gathered()
        let dead = Artifact(url: "http://shop.example/", error: "Could not connect to the server.")
        g.reachability = Gatherer.reachability([.browser, .chatgptUser, .claudeUser, .perplexityBot].map { .init(client: $0, outcome: "unreachable", artifact: dead) })
        g.artifacts["home"] = dead
        let report = JourneyAudit(target: "http://shop.example", gathered: g, rubric: try .bundled()).run()
        #expect(report["level"] == "agent-hostile")
        #expect(report["reachability"]?["status"] == "unreachable")
        #expect(report["headline"]?.stringValue?.contains("Could not reach") == true)
        for finding in report["findings"]?.arrayValue ?? [] { #expect(finding["score"] == .null) }
        for category in report["categories"]?.arrayValue ?? [] { #expect(category["score"] == .double(0)) }
    }

    @Test("every audit of the rubric cites a standard and has a fix")
    func rubric() throws {
        let rubric = try JourneyAudit.Rubric.bundled()
        #expect(rubric.entries.count >= 30)
        for entry in rubric.entries {
            #expect(entry.standard.count >= 3, "\(entry.id)")
            #expect(entry.standardURL.hasPrefix("https://"), "\(entry.id)")
            #expect(entry.fix.count > 20, "\(entry.id)")
        }
        for stage in JourneyStage.allCases { #expect(rubric.entries.contains { $0.stage == stage }) }
    }
}

@Suite("The journey auditor's HTML scanner")
struct HTMLScanTests {
    @Test("anchors, forms, links and JSON-LD are read in one pass, attributes in any quoting")
    func tags() {
        let html = """
            <html><head><link rel="Canonical" href="/p/1"><link rel=alternate type='text/markdown' href=/index.md>
            <script type="application/ld+json">{"@type":"Product","name":"a</b>"}</script></head>
            <body><a class=x href="/cart?a=1&amp;b=2">Your <b>cart</b></a><a href="#top">top</a>
            <form method=post action='/checkout'><input name=q></form><!-- <a href="/hidden">x</a> -->
            <script>var s = "<a href='/in-script'>";</script></body></html>
            """
        let anchors = HTMLLinks.anchors(html, base: "https://shop.example/p/")
        #expect(anchors.first?.href == "https://shop.example/cart?a=1&b=2")
        #expect(anchors.first?.text == "Your cart")
        #expect(!anchors.contains { $0.href.hasSuffix("#top") })
        #expect(HTMLLinks.formActions(html, base: "https://shop.example/") == ["https://shop.example/checkout"])
        #expect(JSONLD.objects(in: html).first?["name"] == "a</b>")
        #expect(HTMLScan.tags(html, named: ["link"]).map { $0.attributes["type"] ?? "" } == ["", "text/markdown"])
        let text = HTMLScan.visibleText(html)
        #expect(text.contains("Your") && !text.contains("var s"))
    }

    @Test("a hostile page does not make the scan backtrack: 2 MB of unclosed tags are read once")
    func hostile() {
        let page = String(repeating: "<a href='x' ", count: 180_000) + String(repeating: "<script type=\"application/ld+json\">", count: 20_000)
        #expect(HTMLLinks.anchors(page, base: "https://x/").isEmpty)
        #expect(JSONLD.objects(in: page).isEmpty)
        #expect(HTMLScan.visibleText(page).count <= HTMLScan.limit)
    }
}

@Suite("The journey auditor's fetcher")
struct AuditFetcherTests {
    @Test("the MCP handshake's POSTs go only to the audited site's own domain")
    func sameSite() {
        let fetcher = AuditFetcher(site: URL(string: "https://www.shop.example/")!, limits: .init())
        #expect(fetcher.sameSite("www.shop.example"))
        #expect(fetcher.sameSite("mcp.shop.example"))
        #expect(fetcher.sameSite("shop.example") && fetcher.sameSite("SHOP.example."))
        #expect(!fetcher.sameSite("shop.example.evil.test"))
        #expect(!fetcher.sameSite("victim.example"))
        let answer = fetcher.mcp("https://victim.example/api/delete-everything", headers: [:], body: "{}")
        #expect(answer.status == 0 && answer.error?.contains("own domain") == true)
        #expect(fetcher.requests.isEmpty)
        // A shared suffix is not one site: another tenant of myshopify.com is someone else.
        let tenant = AuditFetcher(site: URL(string: "https://cedar.myshopify.com/")!, limits: .init())
        #expect(tenant.sameSite("mcp.cedar.myshopify.com") && !tenant.sameSite("pine.myshopify.com") && !tenant.sameSite("myshopify.com"))
        let local = AuditFetcher(site: URL(string: "http://127.0.0.1:8080/")!, limits: .init())
        #expect(local.sameSite("127.0.0.1") && !local.sameSite("127.0.0.2"))
    }
}
