import Foundation
import JSON
@testable import JourneyAudit
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

@Suite("The journey auditor")
struct JourneyAuditTests {
    @Test("robots.txt: an agent's own group wins over *, and Disallow: / blocks it")
    func robots() {
        let robots = RobotsTxt(
            """
            User-agent: ChatGPT-User
            User-agent: Claude-User
            Disallow: /

            User-agent: *
            Allow: /
            Disallow: /admin/
            """)
        #expect(robots.blocksRoot(for: "ChatGPT-User"))
        #expect(robots.blocksRoot(for: "claude-user"))
        #expect(!robots.blocksRoot(for: "PerplexityBot"))
        #expect(RobotsTxt("User-agent: *\nDisallow: /").blocksRoot(for: "OAI-SearchBot"))
        #expect(!RobotsTxt("").blocksRoot(for: "OAI-SearchBot"))
    }

    @Test("JSON-LD blocks are found and parsed, arrays flattened")
    func jsonLD() {
        let html = """
            <script type="application/ld+json">{"@type":"Product","offers":{"price":"1.00","priceCurrency":"USD"}}</script>
            <p>x</p><script type="application/ld+json">[{"@type":"Organization"},{"@type":"BreadcrumbList"}]</script>
            <script type="application/ld+json">{broken</script>
            """
        let objects = JSONLD.objects(in: html)
        #expect(objects.count == 3)
        #expect(objects[0]["@type"] == "Product")
    }

    @Test("prices are found anywhere in a document")
    func amounts() throws {
        let doc = try JSON.parse(#"{"a":{"price":{"amount":100,"currency":"USD"}},"b":[{"amount":5,"currency":"EUR"},{"amount":1}]}"#)
        #expect(Money.amounts(in: doc).count == 2)
    }

    @Test("a site that answers nothing scores agent-hostile, with a fix for every failing audit")
    func emptySite() throws {
        let artifacts: [String: Artifact] = [
            "home": Artifact(
                url: "http://shop.example/", status: 200, contentType: "text/html", headers: [:],
                body: "<html><body><h1>Contact sales</h1><div class=\"g-recaptcha\"></div></body></html>", error: nil)
        ]
        let report = JourneyAudit(target: "http://shop.example", artifacts: artifacts, rubric: try .bundled()).run()
        #expect(report["level"] == "agent-hostile")
        let findings = report["findings"]?.arrayValue ?? []
        #expect(findings.count == 30)
        for id in ["agent-entry-point", "no-contact-sales", "no-captcha", "https", "checkout-tools"] {
            let finding = try #require(findings.first { $0["id"]?.stringValue == id })
            #expect(finding["score"] == .double(0), "\(id)")
            #expect((finding["fix"]?.stringValue ?? "").count > 10)
        }
    }
}
