import Foundation
import JSON
import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// The access policy's decisions (issue 19) apart from the wiring: which rule wins, what a
/// robots.txt pattern matches, what price a crawler's header offers.
@Suite struct AccessPolicyTests {
    let classifier = AgentClassifier.bundled()

    func policy(_ rules: [(String, String, String)], price: JSON = .null) throws -> AccessPolicy {
        try AccessPolicy(
            json: ["rules": .array(rules.map { ["agent": .string($0.0), "stage": .string($0.1), "access": .string($0.2)] }), "price": price],
            classifier: classifier)
    }

    @Test func theMostSpecificRuleWins() throws {
        let p = try policy(
            [("*", "*", "block"), ("ai_crawler", "evaluating", "charge"), ("OpenAI", "*", "require_verification"),
             ("GPTBot", "finding", "allow"), ("crawler.example", "*", "allow")],
            price: ["amount": 1, "currency": "USD"])
        func access(_ family: String, _ op: String?, _ category: String, _ stage: String, host: String? = nil) -> String {
            p.access(family: family, operatorName: op, category: category, originHost: host, stage: stage).rawValue
        }
        #expect(access("GPTBot", "OpenAI", "ai_crawler", "finding") == "allow")  // token and stage
        #expect(access("GPTBot", "OpenAI", "ai_crawler", "evaluating") == "require_verification")  // operator beats category
        #expect(access("CCBot", "Common Crawl Foundation", "ai_crawler", "evaluating") == "charge")  // category and stage
        #expect(access("CCBot", "Common Crawl Foundation", "ai_crawler", "using") == "block")  // *
        #expect(access("x (verified)", "crawler.example", "agent", "using", host: "crawler.example") == "allow")  // origin host
        #expect(access("gptbot", "openai", "ai_crawler", "finding") == "allow")  // names are case-insensitive
        #expect(try policy([]).access(family: "GPTBot", operatorName: "OpenAI", category: "ai_crawler", stage: "finding") == .allow)
    }

    @Test func aPolicyIsCheckedWhole() {
        #expect(throws: ActionError.self) { try policy([("NoSuchBot", "*", "block")]) }
        #expect(throws: ActionError.self) { try policy([("GPTBot", "*", "charge")]) }  // no price
        #expect(throws: ActionError.self) { try policy([("GPTBot", "*", "block"), ("GPTBOT", "*", "allow")]) }
        #expect(throws: ActionError.self) { try policy([], price: ["amount": 0, "currency": "USD"]) }
        #expect(throws: ActionError.self) { try policy([("ai_crawler", "shopping", "block")]) }
    }

    @Test func robotsPatternsMatchAsRFC9309Says() {
        #expect(RobotsPattern.matches("/catalog", "/catalog?q=tent"))
        #expect(RobotsPattern.matches("/catalog", "/catalog/x"))
        #expect(!RobotsPattern.matches("/catalog$", "/catalog?q=tent"))
        #expect(RobotsPattern.matches("/catalog?", "/catalog?q=tent"))
        #expect(RobotsPattern.matches("/products/*", "/products/ridgeline-2p-tent"))
        #expect(RobotsPattern.matches("/checkout-sessions/*/continue$", "/checkout-sessions/chk_1/continue"))
        #expect(!RobotsPattern.matches("/checkout-sessions/*/continue$", "/checkout-sessions/chk_1/continue/x"))
        #expect(Gateway.robotsPath("/checkout-sessions/{id}/confirm") == "/checkout-sessions/*/confirm")
        #expect(Gateway.robotsPath("/dashboard/{path...}") == "/dashboard/*")
    }
}
