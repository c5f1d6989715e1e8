import Foundation
import JSON
import Store
import StorefrontDomain

/// What the access policy did over the last days: robots.txt violations per agent (fetches of
/// paths robots.txt disallows for it), refusals for want of verification or payment, and what
/// charged requests earned — verified and claimed apart.
package enum PolicyOutcomes {
    package static func report(in database: Database, days: Int, now: Int64 = unixNow()) throws -> JSON {
        let since = isoDay(now / 86_400 - Int64(days - 1))
        let rows = try database.read { db in
            try db.query(
                """
                SELECT family, operator, verification, outcome, currency, SUM(requests), SUM(amount) FROM policy_outcomes
                WHERE day >= ? GROUP BY family, operator, verification, outcome, currency
                ORDER BY SUM(requests) DESC, family, verification, outcome LIMIT 1000
                """, [.text(since)])
        }
        var outcomes: [JSON] = []
        var violations: [JSON] = []
        var summary: [String] = []
        var earned: [String: (requests: Int64, amount: Int64)] = [:]
        for row in rows {
            let family = row[0].string ?? "", operatorName = row[1].string ?? "", verification = row[2].string ?? ""
            let outcome = row[3].string ?? "", currency = row[4].string ?? ""
            let requests = row[5].int ?? 0, amount = row[6].int ?? 0
            let agent: JSON = [
                "agent": .string(family), "operator": operatorName.isEmpty ? .null : .string(operatorName),
                "verification": .string(verification),
            ]
            var entry = agent.objectValue ?? [:]
            entry["outcome"] = .string(outcome)
            entry["requests"] = .int(requests)
            if outcome == PolicyOutcome.charged.rawValue {
                entry["earned"] = Money(amount: amount, currency: currency).json
                earned[currency, default: (0, 0)].requests += requests
                earned[currency, default: (0, 0)].amount += amount
            }
            outcomes.append(.object(entry))
            if outcome == PolicyOutcome.disallowed.rawValue {
                var violation = agent.objectValue ?? [:]
                violation["requests"] = .int(requests)
                violations.append(.object(violation))
                summary.append(
                    "\(family) fetched \(requests) disallowed page\(requests == 1 ? "" : "s") in the last \(days) day\(days == 1 ? "" : "s") (\(verification)).")
            }
        }
        return [
            "days": .int(Int64(days)), "since": .string(since),
            "robots_violations": .array(violations), "outcomes": .array(outcomes),
            "charged": .array(earned.sorted { $0.key < $1.key }.map { currency, total in
                ["requests": .int(total.requests), "earned": Money(amount: total.amount, currency: currency).json]
            }),
            "summary": .array(summary.map(JSON.string)),
        ]
    }
}
