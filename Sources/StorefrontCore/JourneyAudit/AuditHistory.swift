import Foundation
import JSON
import Store

/// Journey audit reports kept in the store, so the dashboard can show how a store's score moves.
public enum AuditHistory {
    @discardableResult
    public static func save(_ report: JSON, in database: Database) throws -> Int64 {
        try database.write { db in
            try db.run(
                "INSERT INTO audit_reports (target, audited_at, score, level, report) VALUES (?, ?, ?, ?, ?)",
                [.text(report["target"]?.stringValue ?? ""), .text(report["audited_at"]?.stringValue ?? ""),
                 .real(report["score"]?.doubleValue ?? 0), .text(report["level"]?.stringValue ?? ""), .text(report.compactString)])
            return db.lastInsertRowID
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
                    "stages": .array((report["categories"]?.arrayValue ?? []).map { ["stage": $0["stage"] ?? .null, "score": $0["score"] ?? .null] }),
                    "failing": .array((report["findings"]?.arrayValue ?? []).filter { ($0["score"]?.doubleValue ?? 1) < 0.9 }.map {
                        ["id": $0["id"] ?? .null, "title": $0["title"] ?? .null, "fix": $0["fix"] ?? .null]
                    }),
                ]
            }
        }
    }

    public static func report(_ id: Int64, in database: Database) throws -> JSON? {
        try database.read { db in
            try db.queryOne("SELECT report FROM audit_reports WHERE id = ?", [.integer(id)])?[0].string.flatMap { try? JSON.parse($0) }
        }
    }
}
