import Foundation
import JSON
import Store
import StorefrontDomain

/// What the merchant lets each operator's agents do, per stage of the buying journey: allow,
/// block (403), require verification (a credential, the operator's Web Bot Auth signature or
/// its published addresses) or charge (402 with the price, pay-per-crawl style). One document,
/// kept in the store; robots.txt, `/agents` and llms.txt are written from it, and the gateway
/// enforces it, so what the store says and what it does never differ.
///
/// Rules name an agent (a family's token from the known-agents data, an operator, a category
/// such as `ai_crawler`, a Web Bot Auth origin's host, or `*` for every known agent) and a
/// stage (or `*`). The most specific rule wins: family, then origin host, operator, category,
/// `*`; within each, a rule for the stage before one for every stage. Anything no rule names is
/// allowed. Browsers, unrecognised clients and agents that authenticate with their own
/// credentials (the merchant's registered customers) are not governed by it.
package struct AccessPolicy: Sendable, Equatable {
    package enum Access: String, Sendable, CaseIterable {
        case allow
        case block
        case requireVerification = "require_verification"
        case charge
    }

    package struct Rule: Sendable, Equatable {
        package var agent: String
        package var stage: String
        package var access: Access

        var json: JSON { ["agent": .string(agent), "stage": .string(stage), "access": .string(access.rawValue)] }
    }

    package static let maxRules = 512
    package static let categories = ["ai_crawler", "ai_assistant", "ai_search", "search_engine"]
    package static let stages: [String] = JourneyStage.allCases.map(\.rawValue)
    /// Each stage's place in ``stages``.
    package static let stageIndex: [String: Int] = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($0.element, $0.offset) })

    package var rules: [Rule] = []
    /// The price of one charged request (every charged rule has this one price, as pay per crawl does).
    package var price: Money?
    package var updatedAt: Int64?

    package init(rules: [Rule] = [], price: Money? = nil) {
        self.rules = rules
        self.price = price
    }

    package var isEmpty: Bool { rules.allSatisfy { $0.access == .allow } }

    /// Reads and checks a policy document: `{"rules": [{"agent", "stage", "access"}], "price": {"amount", "currency"}}`.
    /// Every problem is named with where it is; nothing is half-read.
    package init(json: JSON, classifier: AgentClassifier) throws {
        guard case .object(let object) = json else { throw ActionError.invalid("invalid_policy", "The policy must be a JSON object.") }
        for key in object.keys where !["rules", "price", "updated_at", "policy_url"].contains(key) {
            throw ActionError.invalid("invalid_policy", "Unknown field \(key): a policy has rules and price.", param: key)
        }
        guard let list = object["rules"]?.arrayValue ?? (object["rules"] == nil ? [] : nil) else {
            throw ActionError.invalid("invalid_policy", "rules must be an array.", param: "rules")
        }
        guard list.count <= Self.maxRules else {
            throw ActionError.invalid("invalid_policy", "At most \(Self.maxRules) rules.", param: "rules")
        }
        var seen: Set<String> = []
        for (index, entry) in list.enumerated() {
            let at = "rules[\(index)]"
            guard let agent = entry["agent"]?.stringValue, !agent.isEmpty, agent.utf8.count <= 100 else {
                throw ActionError.invalid("invalid_policy", "\(at).agent must name a known agent, an operator, a category or *.", param: at + ".agent")
            }
            guard classifier.names(agent) else {
                throw ActionError.invalid(
                    "unknown_agent",
                    "\(at).agent \(agent) is not a known agent token, operator, category (\(Self.categories.joined(separator: ", "))), Web Bot Auth origin host or *.",
                    param: at + ".agent")
            }
            let stage = entry["stage"]?.stringValue ?? "*"
            guard stage == "*" || Self.stages.contains(stage) else {
                throw ActionError.invalid(
                    "invalid_policy", "\(at).stage must be * or one of \(Self.stages.joined(separator: ", ")).", param: at + ".stage")
            }
            guard let accessText = entry["access"]?.stringValue, let access = Access(rawValue: accessText) else {
                throw ActionError.invalid(
                    "invalid_policy", "\(at).access must be one of \(Access.allCases.map(\.rawValue).joined(separator: ", ")).",
                    param: at + ".access")
            }
            for key in (entry.objectValue ?? [:]).keys where !["agent", "stage", "access"].contains(key) {
                throw ActionError.invalid("invalid_policy", "Unknown field \(at).\(key).", param: "\(at).\(key)")
            }
            guard seen.insert(agent.lowercased() + " " + stage).inserted else {
                throw ActionError.invalid("duplicate_rule", "\(at) repeats the rule for \(agent) at \(stage).", param: at)
            }
            rules.append(Rule(agent: agent, stage: stage, access: access))
        }
        if let price = object["price"], price != .null {
            guard let money = Money(json: price), money.amount > 0, money.amount <= 1_000_000,
                money.currency.count == 3, money.currency.allSatisfy({ $0.isUppercase && $0.isASCII })
            else {
                throw ActionError.invalid(
                    "invalid_price", "price is {\"amount\": minor units from 1 to 1000000, \"currency\": ISO 4217 code}.", param: "price")
            }
            self.price = money
        }
        if rules.contains(where: { $0.access == .charge }) && self.price == nil {
            throw ActionError.invalid("price_required", "A charge rule needs the policy's price.", param: "price")
        }
    }

    package func json(policyURL: String? = nil) -> JSON {
        var object: [String: JSON] = ["rules": .array(rules.map(\.json)), "price": price?.json ?? .null]
        if let updatedAt { object["updated_at"] = .string(isoTime(updatedAt)) }
        if let policyURL { object["policy_url"] = .string(policyURL) }
        return .object(object)
    }

    /// What the policy does to an agent of `family` (its token), `operatorName` and `category`,
    /// verified by a Web Bot Auth directory at `originHost` (if any), at `stage`.
    package func access(family: String, operatorName: String?, category: String, originHost: String? = nil, stage: String) -> Access {
        var best: (rank: Int, access: Access)?
        for rule in rules {
            let level: Int
            if rule.agent.caseInsensitiveCompare(family) == .orderedSame {
                level = 0
            } else if let originHost, rule.agent.caseInsensitiveCompare(originHost) == .orderedSame {
                level = 1
            } else if let operatorName, rule.agent.caseInsensitiveCompare(operatorName) == .orderedSame {
                level = 2
            } else if rule.agent == category {
                level = 3
            } else if rule.agent == "*" {
                level = 4
            } else {
                continue
            }
            let rank: Int
            if rule.stage == stage { rank = level * 2 } else if rule.stage == "*" { rank = level * 2 + 1 } else { continue }
            if best == nil || rank < best!.rank { best = (rank, rule.access) }
        }
        return best?.access ?? .allow
    }

    /// Every stage's access for one family.
    package func accesses(family: AgentClassifier.Family) -> [String: Access] {
        Dictionary(uniqueKeysWithValues: Self.stages.map {
            ($0, access(family: family.name, operatorName: family.operatorName, category: family.category, stage: $0))
        })
    }

    // MARK: - The store

    /// The policy the store holds (empty when the merchant set none).
    package static func load(from database: Database, classifier: AgentClassifier) throws -> AccessPolicy {
        try database.read { db in
            guard let row = try db.query("SELECT document, updated_at FROM access_policy WHERE id = 1").first,
                let text = row[0].string
            else { return AccessPolicy() }
            var policy = (try? AccessPolicy(json: JSON.parse(text), classifier: classifier)) ?? AccessPolicy()
            policy.updatedAt = row[1].int
            return policy
        }
    }

    /// Replaces the policy (one row, one commit).
    package static func save(_ policy: AccessPolicy, to database: Database) throws -> AccessPolicy {
        var saved = policy
        saved.updatedAt = unixNow()
        let text = policy.json().compactString
        try database.write { db in
            try db.run(
                "INSERT INTO access_policy (id, document, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
                [.text(text), .integer(saved.updatedAt!)])
        }
        return saved
    }
}

extension AgentClassifier {
    /// Every known family (one per token).
    package var families: [Family] {
        known.map { Family(name: $0.token, operatorName: $0.operatorName, category: $0.category) }.sorted { $0.name < $1.name }
    }

    /// Whether a policy may name `agent`: a token, an operator, a category, `*`, or a host (a
    /// Web Bot Auth origin: letters, digits, dots and hyphens with a dot, or an address).
    func names(_ agent: String) -> Bool {
        if agent == "*" || AccessPolicy.categories.contains(agent) { return true }
        let lowered = agent.lowercased()
        if known.contains(where: { $0.token.lowercased() == lowered || $0.operatorName.lowercased() == lowered }) { return true }
        let hostCharacters = agent.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "." || $0 == "-" || $0 == ":" }
        return hostCharacters && agent.contains(".") && agent.unicodeScalars.allSatisfy(\.isASCII)
    }
}
