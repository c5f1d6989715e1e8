import StorefrontDomain
import Foundation
import JSON

/// What one audit found.
public struct Finding: Sendable {
    public var id: String
    public var stage: JourneyStage
    public var title: String
    /// 0…1, or nil when the audit does not apply.
    public var score: Double?
    public var detail: String
    public var evidence: JSON
    public var fix: String
    public var weight: Double
    public var standard: String
    public var standardURL: String

    public var json: JSON {
        [
            "id": .string(id), "stage": .string(stage.rawValue), "title": .string(title),
            "score": score.map(JSON.double) ?? .null, "passed": score.map { .bool($0 >= 0.9) } ?? .null,
            "detail": .string(detail), "evidence": evidence, "fix": .string(fix), "weight": .double(weight),
            "standard": .string(standard), "standard_url": .string(standardURL),
        ]
    }
}

/// Audits an agent's buying journey through a store: gathers artifacts, scores each audit of
/// the rubric (`audit-rubric.json`), averages them into the six stages, and says what to fix.
public struct JourneyAudit: Sendable {
    public struct Rubric: Sendable {
        struct Entry: Sendable {
            let id: String, stage: JourneyStage, weight: Double, title: String, fix: String, standard: String, standardURL: String
        }
        let entries: [Entry]
        let levels: [(min: Double, level: String)]

        public static func bundled() throws -> Rubric {
            guard let url = Bundle.module.url(forResource: "audit-rubric", withExtension: "json"),
                let data = FileManager.default.contents(atPath: url.path)
            else { throw ManifestError(file: "audit-rubric.json", pointer: "", message: "missing from the build") }
            let json = try JSON.parse(bytes: [UInt8](data))
            return Rubric(
                entries: (json["audits"]?.arrayValue ?? []).compactMap { a in
                    guard let id = a["id"]?.stringValue, let stage = a["stage"]?.stringValue.flatMap(JourneyStage.init(rawValue:))
                    else { return nil }
                    return Entry(
                        id: id, stage: stage, weight: a["weight"]?.doubleValue ?? 1, title: a["title"]?.stringValue ?? id,
                        fix: a["fix"]?.stringValue ?? "", standard: a["standard"]?.stringValue ?? "",
                        standardURL: a["standard_url"]?.stringValue ?? "")
                },
                levels: (json["levels"]?.arrayValue ?? []).compactMap { l in
                    guard let min = l["min"]?.doubleValue, let level = l["level"]?.stringValue else { return nil }
                    return (min, level)
                }.sorted { $0.min > $1.min })
        }
    }

    public let target: String
    public let gathered: Gathered
    let rubric: Rubric

    public init(target: String, gathered: Gathered, rubric: Rubric) {
        self.target = target
        self.gathered = gathered
        self.rubric = rubric
    }

    public func run() -> JSON {
        let checks = AuditChecks(target: target, g: gathered)
        let reach = gathered.reachability
        var findings: [Finding] = []
        for entry in rubric.entries {
            var (score, detail, evidence) = checks.run(entry.id)
            if !reach.readable {
                // Nothing behind the block or the silence was read: nothing passes or fails.
                (score, detail, evidence) = (nil, "Not scored: \(reach.headline ?? "the site could not be read").", .array([]))
            }
            findings.append(
                Finding(
                    id: entry.id, stage: entry.stage, title: entry.title, score: score, detail: detail, evidence: evidence,
                    fix: entry.fix, weight: entry.weight, standard: entry.standard, standardURL: entry.standardURL))
        }
        var categories: [JSON] = []
        var stageScores: [Double] = []
        var fixes: [(points: Double, finding: Finding)] = []
        for stage in JourneyStage.allCases {
            let scored = findings.filter { $0.stage == stage && $0.score != nil }
            let weight = scored.reduce(0) { $0 + $1.weight }
            // What the content earns, times the share of agents let in: a page agents are refused
            // earns them nothing. An unreadable site ends the journey before it starts: 0.
            var score: Double? = weight > 0 ? scored.reduce(0) { $0 + $1.score! * $1.weight } / weight * 100 : nil
            let access = reach.agentAccess * reach.robotsAccess
            if !reach.readable || access == 0 { score = 0 } else if let s = score { score = s * access }
            if let score { stageScores.append(score) }
            for f in scored where f.score! < 0.9 {
                fixes.append((f.weight * (1 - f.score!) / weight * 100 / Double(JourneyStage.allCases.count) * reach.agentAccess * max(reach.robotsAccess, 0.1), f))
            }
            categories.append([
                "stage": .string(stage.rawValue), "title": .string(stage.title),
                "score": score.map { .double(($0 * 10).rounded() / 10) } ?? .null,
                "audits": .array(findings.filter { $0.stage == stage }.map { .string($0.id) }),
                "failing": .array(findings.filter { $0.stage == stage && ($0.score ?? 1) < 0.9 }.map { .string($0.id) }),
            ])
        }
        let overall = stageScores.isEmpty ? 0 : stageScores.reduce(0, +) / Double(stageScores.count)
        let level = rubric.levels.first { overall >= $0.min }?.level ?? "agent-hostile"
        var headline = reach.headline
        if headline == nil, let worst = categories.min(by: { ($0["score"]?.doubleValue ?? 101) < ($1["score"]?.doubleValue ?? 101) }),
            let s = worst["score"]?.doubleValue, s < 50
        {
            headline = "Agents would stop at \(worst["title"]?.stringValue ?? ""): \(Int(s.rounded()))/100."
        }
        return [
            "$schema": "https://storefront.dev/schemas/journey-report.schema.json",
            "target": .string(target), "audited_at": .string(Timestamp.iso8601(Date())),
            "tool": ["name": "storefront audit", "version": .string(StorefrontVersion.current)],
            "score": .double((overall * 10).rounded() / 10), "level": .string(level),
            "headline": JSON(headline),
            "reachability": reach.json, "budget": gathered.budget,
            "left_out": .array(gathered.unusable.keys.sorted().prefix(50).map { ["url": .string($0), "reason": .string(gathered.unusable[$0]!)] }),
            "categories": .array(categories), "findings": .array(findings.map(\.json)),
            "fixes": .array(
                fixes.sorted { $0.points > $1.points }.map {
                    ["id": .string($0.finding.id), "stage": .string($0.finding.stage.rawValue), "points": .double(($0.points * 10).rounded() / 10),
                     "fix": .string($0.finding.fix), "standard": .string($0.finding.standard)]
                }),
        ]
    }
}
