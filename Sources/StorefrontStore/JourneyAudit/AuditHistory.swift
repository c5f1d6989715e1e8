import Foundation
import JSON
import Store

/// Journey audit reports kept in the store, so the dashboard can show how a store's score moves.
public enum AuditHistory {
    @discardableResult
    public static func save(_ report: JSON, in database: Database) throws -> Int64 {
        try database.write { db in
            try db.queryOne(
                "INSERT INTO audit_reports (target, audited_at, score, level, report) VALUES (?, ?, ?, ?, ?) RETURNING id",
                [.text(report["target"]?.stringValue ?? ""), .text(report["audited_at"]?.stringValue ?? ""),
                 .real(report["score"]?.doubleValue ?? 0), .text(report["level"]?.stringValue ?? ""), .text(report.compactString)])?[0].int ?? 0
        }
    }

    public static func list(in database: Database, limit: Int = 100) throws -> [JSON] {
        try database.read { db in
            try db.query(
                "SELECT id, target, audited_at, score, level, report FROM audit_reports ORDER BY id DESC LIMIT ?", [SQLValue(limit)]
            ).map { row in
                let report = (try? JSON.parse(row[5].string ?? "{}")) ?? [:]
                return [
                    "id": .int(row[0].int ?? 0), "target": .string(row[1].string ?? ""), "audited_at": .string(row[2].string ?? ""),
                    "score": .double(row[3].double ?? 0), "level": .string(row[4].string ?? ""),
                    "headline": report["headline"] ?? .null, "reachability": report["reachability"]?["status"] ?? .null,
                    "stages": .array((report["categories"]?.arrayValue ?? []).map { ["stage": $0["stage"] ?? .null, "score": $0["score"] ?? .null] }),
                    "failing": .array(failing(report).map {
                        ["id": $0.finding["id"] ?? .null, "title": $0.finding["title"] ?? .null,
                         "fix": $0.finding["fix"] ?? .null, "points_lost": .double($0.pointsLost)]
                    }),
                ]
            }
        }
    }

    /// The findings that fell short, each with the points of the overall score it cost, the
    /// costliest first (ties keep the report's order), so the first fix listed gains the most.
    /// The overall score is the mean of the scored stages, each the weighted mean of its findings:
    /// a finding costs weight × (1 − score) / (its stage's scored weight) × 100 / (scored stages).
    static func failing(_ report: JSON) -> [(finding: JSON, pointsLost: Double)] {
        let findings = (report["findings"]?.arrayValue ?? []).filter { $0["score"]?.doubleValue != nil }
        var stageWeight: [String: Double] = [:]
        for f in findings { stageWeight[f["stage"]?.stringValue ?? "", default: 0] += f["weight"]?.doubleValue ?? 0 }
        let stages = Double(max(stageWeight.count, 1))
        let costed: [(offset: Int, finding: JSON, pointsLost: Double)] = findings.enumerated().compactMap { offset, f in
            guard let score = f["score"]?.doubleValue, score < 0.9 else { return nil }
            let total = stageWeight[f["stage"]?.stringValue ?? ""] ?? 0
            let lost = total > 0 ? (f["weight"]?.doubleValue ?? 0) * (1 - score) / total * 100 / stages : 0
            return (offset, f, (lost * 10).rounded() / 10)
        }
        return costed.sorted { $0.pointsLost != $1.pointsLost ? $0.pointsLost > $1.pointsLost : $0.offset < $1.offset }
            .map { ($0.finding, $0.pointsLost) }
    }

    /// The latest report of `target` (a URL, compared without a trailing slash).
    static func latest(of target: String, in database: Database) throws -> (id: Int64, report: JSON)? {
        let bare = target.hasSuffix("/") ? String(target.dropLast()) : target
        return try database.read { db in
            guard let row = try db.queryOne(
                "SELECT id, report FROM audit_reports WHERE target = ? OR target = ? ORDER BY id DESC LIMIT 1", [.text(bare), .text(bare + "/")]),
                let text = row[1].string, let report = try? JSON.parse(text)
            else { return nil }
            return (row[0].int ?? 0, report)
        }
    }

    public static func report(_ id: Int64, in database: Database) throws -> JSON? {
        try database.read { db in
            try db.queryOne("SELECT report FROM audit_reports WHERE id = ?", [.integer(id)])?[0].string.flatMap { try? JSON.parse($0) }
        }
    }
}
