import Foundation
import JSON
import Store
import StorefrontDomain

/// The dashboard's questions, answered from the per-minute rollups (counts, latency
/// histograms, revenue) and, for distinct agents and the funnel, from the events.
package struct AnalyticsQueries: Sendable {
    let database: Database

    /// The store's currency (orders are in it).
    var currency = "USD"

    package init(database: Database, currency: String = "USD") {
        self.database = database
        self.currency = currency
    }

    package struct Range {
        let fromMs: Int64
        let toMs: Int64
        /// Only requests whose caller was `verified`, or only those `claimed` (nil: both).
        var verification: String?
        /// The filter as SQL on a table with a `verification` column (the value is one of two
        /// literals, checked when the range was read).
        var onRows: String { verification.map { " AND verification = '\($0)'" } ?? "" }
        /// The filter on `analytics_visitors` (which has no such column): visitors seen so in the range.
        var onVisitors: String {
            verification.map {
                " AND visitor IN (SELECT visitor FROM analytics_events WHERE verification = '\($0)' AND at_ms >= \(fromMs) AND at_ms <= \(toMs))"
            } ?? ""
        }
        var fromMinute: Int64 { fromMs / 60_000 }
        var toMinute: Int64 { toMs / 60_000 }
        var json: JSON {
            var range: [String: JSON] = [
                "from": .string(Timestamp.iso8601(Date(timeIntervalSince1970: Double(fromMs) / 1000))),
                "to": .string(Timestamp.iso8601(Date(timeIntervalSince1970: Double(toMs) / 1000))),
            ]
            if let verification { range["verification"] = .string(verification) }
            return .object(range)
        }
    }

    /// `from`/`to` as Unix seconds or RFC 3339; the default is the last 24 hours.
    package static func range(from: String?, to: String?, verification: String? = nil) throws -> Range {
        guard verification == nil || verification == "verified" || verification == "claimed" else {
            throw APIError.invalidParameter("verification", "verification is verified or claimed (or left out for both).")
        }
        func parse(_ text: String?, _ name: String) throws -> Int64? {
            guard let text else { return nil }
            if let seconds = Int64(text) { return seconds * 1000 }
            let f = ISO8601DateFormatter()
            guard let date = f.date(from: text) else {
                throw APIError.invalidParameter(name, "\(name) must be Unix seconds or an RFC 3339 time, not \"\(text)\".")
            }
            return Int64(date.timeIntervalSince1970 * 1000)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let to = try parse(to, "to") ?? now + 60_000
        let from = try parse(from, "from") ?? to - 24 * 3_600_000
        guard from < to else { throw APIError.invalidParameter("from", "from must be before to.") }
        return Range(fromMs: from, toMs: to, verification: verification)
    }

    static let buckets = (0..<AnalyticsRecorder.bucketBounds.count).map { "sum(h\($0))" }.joined(separator: ", ")

    /// Percentiles from summed histogram buckets (each reported as its bucket's upper bound).
    static func percentiles(_ counts: [Int64]) -> JSON {
        let total = counts.reduce(0, +)
        func p(_ q: Double) -> JSON {
            guard total > 0 else { return .null }
            let target = Int64((Double(total) * q).rounded(.up))
            var seen: Int64 = 0
            for (i, c) in counts.enumerated() {
                seen += c
                if seen >= target {
                    let bound = AnalyticsRecorder.bucketBounds[i]
                    return bound == Int64.max ? .int(AnalyticsRecorder.bucketBounds[i - 1]) : .int(bound)
                }
            }
            return .null
        }
        return ["p50_us": p(0.5), "p95_us": p(0.95), "p99_us": p(0.99)]
    }

    static func histogram(_ row: Row, from offset: Int) -> [Int64] {
        (0..<AnalyticsRecorder.bucketBounds.count).map { row[offset + $0].int ?? 0 }
    }

    func money(_ amount: Int64) -> JSON { ["amount": .int(amount), "currency": .string(currency)] }

    package func summary(_ r: Range, recorder: AnalyticsRecorder) throws -> JSON {
        try database.read { db in
            let row = try db.queryOne(
                "SELECT coalesce(sum(requests), 0), coalesce(sum(CASE WHEN status >= 500 THEN requests ELSE 0 END), 0), coalesce(sum(CASE WHEN status >= 400 AND status < 500 THEN requests ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 429 THEN requests ELSE 0 END), 0), \(Self.buckets) FROM analytics_minutes WHERE minute >= ? AND minute <= ? AND stage != 'merchant'\(r.onRows)",
                [.integer(r.fromMinute), .integer(r.toMinute)])
            let requests = row?[0].int ?? 0
            // Visitors: every distinct client (a registered agent by its id, anyone else by its
            // family at its address). Agents: the registered agents among them.
            let seen = try db.queryOne(
                "SELECT count(DISTINCT visitor), count(DISTINCT agent_id) FROM analytics_visitors WHERE minute >= ? AND minute <= ? AND stage != 'merchant'\(r.onVisitors)",
                [.integer(r.fromMinute), .integer(r.toMinute)])
            // Orders are placed with a credential: a claimed caller has none.
            let sales = r.verification == "claimed" ? SalesFigures() : try SalesFigures.read(db, fromSeconds: r.fromMs / 1000, toSeconds: r.toMs / 1000)
            return [
                "range": r.json, "requests": .int(requests),
                "unique_visitors": .int(seen?[0].int ?? 0), "unique_agents": .int(seen?[1].int ?? 0),
                "orders": .int(sales.orders), "revenue": money(sales.revenue), "refunded": money(sales.refunded),
                "net_revenue": money(sales.netRevenue),
                "error_rate": .double(requests > 0 ? Double(row?[1].int ?? 0) / Double(requests) : 0),
                "client_error_rate": .double(requests > 0 ? Double(row?[2].int ?? 0) / Double(requests) : 0),
                // Refused by the rate limits (429).
                "rate_limited": .int(row?[3].int ?? 0),
                "latency": row.map { Self.percentiles(Self.histogram($0, from: 4)) } ?? .null,
                "queue_depth": .int(Int64(recorder.depth)), "dropped_events": .int(recorder.droppedCount),
            ]
        }
    }

    /// Requests per bucket of `bucketMinutes`, split by family, stage, category or verification
    /// (`verified`: a credential, a key directory or the operator's published addresses proved who
    /// it is; `claimed`: only its User-Agent says so).
    package func timeseries(_ r: Range, by dimension: String, bucketMinutes: Int64) throws -> JSON {
        let column = ["family": "family", "stage": "stage", "category": "category", "verification": "verification"][dimension] ?? "family"
        return try database.read { db in
            let rows = try db.query(
                "SELECT (minute / ?) * ? AS bucket, \(column), sum(requests) FROM analytics_minutes WHERE minute >= ? AND minute <= ? AND stage != 'merchant'\(r.onRows) GROUP BY bucket, \(column) ORDER BY bucket",
                [.integer(bucketMinutes), .integer(bucketMinutes), .integer(r.fromMinute), .integer(r.toMinute)])
            return [
                "range": r.json, "by": .string(column), "bucket_minutes": .int(bucketMinutes),
                "points": .array(rows.map { row in
                    [
                        "t": .string(Timestamp.iso8601(seconds: (row[0].int ?? 0) * 60)), "key": .string(row[1].string ?? ""),
                        "requests": .int(row[2].int ?? 0),
                    ]
                }),
            ]
        }
    }

    /// Distinct agents reaching each stage, conversion between consecutive stages, and the
    /// largest drop: the stage before which the largest share of agents stops (the lowest
    /// conversion; on a tie, the one that lost more agents, then the earlier). The dashboard's
    /// banner and its table show this same figure.
    package func funnel(_ r: Range) throws -> JSON {
        try database.read { db in
            var stages: [JSON] = []
            var previous: Int64?
            var worst: (stage: String, lost: Int64, share: Double)?
            // An agent reached a stage if it was seen there or at any later stage (a registered
            // agent may start at Transacting), so the funnel never widens.
            let all = JourneyStage.allCases
            for (i, stage) in all.enumerated() {
                let later = all[i...].map { "'\($0.rawValue)'" }.joined(separator: ", ")
                let count = try db.queryOne(
                    "SELECT count(DISTINCT visitor) FROM analytics_visitors WHERE stage IN (\(later)) AND minute >= ? AND minute <= ?\(r.onVisitors)",
                    [.integer(r.fromMinute), .integer(r.toMinute)])?[0].int ?? 0
                var entry: [String: JSON] = ["stage": .string(stage.rawValue), "title": .string(stage.title), "agents": .int(count)]
                if let previous {
                    entry["conversion"] = previous > 0 ? .double(Double(count) / Double(previous)) : .null
                    let lost = max(0, previous - count)
                    if previous > 0, lost > 0 {
                        let share = Double(lost) / Double(previous)
                        if worst == nil || share > worst!.share || (share == worst!.share && lost > worst!.lost) {
                            worst = (stage.rawValue, lost, share)
                        }
                    }
                }
                previous = count
                stages.append(.object(entry))
            }
            return [
                "range": r.json, "stages": .array(stages), "largest_drop_before": JSON(worst?.stage),
                "largest_drop": worst.map { ["before": .string($0.stage), "agents_lost": .int($0.lost), "share_lost": .double($0.share)] } ?? .null,
            ]
        }
    }

    /// What each gap costs: per journey stage, the agents whose journey ended there (seen at that
    /// stage and at none after it), their operators, and what the latest audit of `target` (the
    /// store's own public URL) found short at that stage: "3 agents left at Trust-checking; the
    /// latest audit finds this short: …".
    package func gaps(_ r: Range, target: String) throws -> JSON {
        let all = JourneyStage.allCases
        let rank = "CASE stage " + all.enumerated().map { "WHEN '\($0.element.rawValue)' THEN \($0.offset)" }.joined(separator: " ") + " END"
        let rows = try database.read { db in
            try db.query(
                """
                SELECT f.furthest, coalesce(o.operator, ''), count(*) FROM
                  (SELECT visitor, max(\(rank)) AS furthest FROM analytics_visitors
                   WHERE minute >= ? AND minute <= ? AND stage != 'merchant'\(r.onVisitors) GROUP BY visitor) f
                LEFT JOIN (SELECT visitor, max(operator) AS operator FROM analytics_events
                           WHERE at_ms >= ? AND at_ms <= ? AND stage != 'merchant' GROUP BY visitor) o ON o.visitor = f.visitor
                WHERE f.furthest IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2
                """,
                [.integer(r.fromMinute), .integer(r.toMinute), .integer(r.fromMs), .integer(r.toMs)])
        }
        var left: [Int: (total: Int64, operators: [(String, Int64)])] = [:]
        for row in rows {
            let stage = Int(row[0].int ?? 0), count = row[2].int ?? 0
            left[stage, default: (0, [])].total += count
            left[stage, default: (0, [])].operators.append((row[1].string ?? "", count))
        }
        // The latest audit of this store (else none: another site's findings are not this store's gaps).
        let audit = try AuditHistory.latest(of: target, in: database)
        let failing = audit.map { AuditHistory.failing($0.report) } ?? []
        var stages: [JSON] = []
        for (index, stage) in all.enumerated() {
            let agents = left[index]?.total ?? 0
            let findings = failing.filter { $0.finding["stage"]?.stringValue == stage.rawValue }
            // Reaching the last stage is the journey's end, not a gap.
            let isEnd = index == all.count - 1
            var summary: String?
            if !isEnd, agents > 0 {
                summary = "\(agents) agent\(agents == 1 ? "" : "s") left at \(stage.title)"
                if let worst = findings.first {
                    summary! += "; the latest audit finds this short: \(worst.finding["title"]?.stringValue ?? "") (\(worst.finding["fix"]?.stringValue ?? ""))"
                } else if audit == nil {
                    summary! += "; no audit of this store yet (run one to see why)"
                }
                summary! += "."
            }
            stages.append([
                "stage": .string(stage.rawValue), "title": .string(stage.title),
                "agents_left": .int(isEnd ? 0 : agents), "agents_finished": .int(isEnd ? agents : 0),
                "operators": .array((left[index]?.operators ?? []).map { ["operator": $0.0.isEmpty ? .null : .string($0.0), "agents": .int($0.1)] }),
                "findings": .array(findings.map {
                    ["id": $0.finding["id"] ?? .null, "title": $0.finding["title"] ?? .null, "fix": $0.finding["fix"] ?? .null,
                     "points_lost": .double($0.pointsLost)]
                }),
                "summary": JSON(summary),
            ])
        }
        return [
            "range": r.json,
            "audit": audit.map { ["id": .int($0.id), "target": .string(target), "audited_at": $0.report["audited_at"] ?? .null,
                                  "score": $0.report["score"] ?? .null] } ?? .null,
            "stages": .array(stages),
        ]
    }

    package func topAgents(_ r: Range, limit: Int) throws -> JSON {
        try database.read { db in
            let rows = try db.query(
                """
                SELECT v.visitor, v.family, v.agent_id, v.principal, v.requests,
                       (SELECT coalesce(sum(total), 0) FROM orders o WHERE o.agent_id = v.agent_id AND o.created_at >= ?4 AND o.created_at <= ?5) AS spend,
                       v.verified
                FROM (SELECT e.visitor, max(e.family) AS family, max(e.agent_id) AS agent_id, max(e.principal) AS principal,
                             sum(e.requests) AS requests, sum(CASE WHEN e.verification = 'verified' THEN e.requests ELSE 0 END) AS verified
                      FROM analytics_events e WHERE e.at_ms >= ?1 AND e.at_ms <= ?2 AND e.stage != 'merchant'\(r.onRows)
                      GROUP BY e.visitor) v
                ORDER BY spend DESC, requests DESC LIMIT ?3
                """, [.integer(r.fromMs), .integer(r.toMs), SQLValue(limit), .integer(r.fromMs / 1000), .integer(r.toMs / 1000)])
            return [
                "range": r.json,
                "agents": .array(rows.map { row in
                    [
                        "visitor": .string(row[0].string ?? ""), "family": .string(row[1].string ?? ""),
                        "agent_id": JSON(row[2].string), "principal": JSON(row[3].string), "requests": .int(row[4].int ?? 0),
                        "spend": ["amount": .int(row[5].int ?? 0), "currency": .string(currency)],
                        // Proven (a credential, a key directory, the operator's addresses) or only claimed.
                        "verification": .string(
                            row[6].int == row[4].int ? "verified" : (row[6].int ?? 0) == 0 ? "claimed" : "mixed"),
                        "verified_requests": .int(row[6].int ?? 0),
                    ]
                }),
            ]
        }
    }

    package func actions(_ r: Range) throws -> JSON {
        try database.read { db in
            let rows = try db.query(
                "SELECT route, stage, sum(requests), sum(CASE WHEN status >= 400 THEN requests ELSE 0 END), \(Self.buckets) FROM analytics_minutes WHERE minute >= ? AND minute <= ? AND stage != 'merchant'\(r.onRows) GROUP BY route, stage ORDER BY sum(requests) DESC",
                [.integer(r.fromMinute), .integer(r.toMinute)])
            return [
                "range": r.json,
                "actions": .array(rows.map { row in
                    let calls = row[2].int ?? 0
                    var entry: [String: JSON] = [
                        "route": .string(row[0].string ?? ""), "stage": .string(row[1].string ?? ""), "calls": .int(calls),
                        "error_rate": .double(calls > 0 ? Double(row[3].int ?? 0) / Double(calls) : 0),
                    ]
                    for (k, v) in Self.percentiles(Self.histogram(row, from: 4)).objectValue ?? [:] { entry[k] = v }
                    return .object(entry)
                }),
            ]
        }
    }

    package func revenue(_ r: Range, by dimension: String) throws -> JSON {
        if dimension == "family" { return try revenueByFamily(r) }
        let column = dimension == "referral" ? "coalesce(o.referral_code, '(none)')" : "o.agent_id"
        return try database.read { db in
            let rows = try db.query(
                // Orders are placed with a credential: a claimed caller has none.
                "SELECT \(column), count(*), sum(o.total), sum(o.refunded) FROM orders o WHERE o.created_at >= ? AND o.created_at <= ?"
                    + (r.verification == "claimed" ? " AND 1 = 0" : "") + " GROUP BY 1 ORDER BY 3 DESC",
                [.integer(r.fromMs / 1000), .integer(r.toMs / 1000)])
            return [
                "range": r.json, "by": .string(dimension == "referral" ? "referral" : "agent"),
                "rows": .array(rows.map { row in
                    [
                        "key": .string(row[0].string ?? ""), "orders": .int(row[1].int ?? 0),
                        "revenue": ["amount": .int(row[2].int ?? 0), "currency": .string(currency)],
                        "refunded": ["amount": .int(row[3].int ?? 0), "currency": .string(currency)],
                        "net_revenue": ["amount": .int((row[2].int ?? 0) - (row[3].int ?? 0)), "currency": .string(currency)],
                    ]
                }),
            ]
        }
    }

    /// Orders and their money by who placed them: agents (registered, by their credentials) beside
    /// people an AI assistant sent here (`AI-referred human (ChatGPT)` …), from the recorded requests.
    func revenueByFamily(_ r: Range) throws -> JSON {
        try database.read { db in
            let rows = try db.query(
                """
                SELECT family, category, count(*), sum(amount) FROM analytics_events
                WHERE amount IS NOT NULL AND at_ms >= ? AND at_ms <= ?\(r.onRows) GROUP BY family, category ORDER BY 4 DESC, 1
                """,
                [.integer(r.fromMs), .integer(r.toMs)])
            return [
                "range": r.json, "by": "family",
                "rows": .array(rows.map { row in
                    let revenue: JSON = ["amount": .int(row[3].int ?? 0), "currency": .string(currency)]
                    return [
                        "key": .string(row[0].string ?? ""), "category": .string(row[1].string ?? ""), "orders": .int(row[2].int ?? 0),
                        "revenue": revenue, "refunded": ["amount": 0, "currency": .string(currency)], "net_revenue": revenue,
                    ]
                }),
            ]
        }
    }

    package func statusCodes(_ r: Range) throws -> JSON {
        try database.read { db in
            let rows = try db.query(
                "SELECT status, sum(requests) FROM analytics_minutes WHERE minute >= ? AND minute <= ? AND stage != 'merchant'\(r.onRows) GROUP BY status ORDER BY status",
                [.integer(r.fromMinute), .integer(r.toMinute)])
            return ["range": r.json, "statuses": .array(rows.map { ["status": .int($0[0].int ?? 0), "requests": .int($0[1].int ?? 0)] })]
        }
    }

    /// A table (an array of flat-ish objects) as CSV; nested values are written as JSON.
    package static func csv(_ rows: [JSON]) -> String {
        let keys = Array(Set(rows.flatMap { $0.objectValue?.keys.map { $0 } ?? [] })).sorted()
        func cell(_ value: JSON?) -> String {
            let text: String
            switch value {
            case .string(let s)?: text = s
            case .int(let i)?: text = String(i)
            case .double(let d)?: text = JSON.ecmaScriptString(d)
            case .bool(let b)?: text = b ? "true" : "false"
            case .null?, nil: text = ""
            case let other?: text = other.compactString
            }
            return text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = [keys.joined(separator: ",")]
        for row in rows { lines.append(keys.map { cell(row[$0]) }.joined(separator: ",")) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// The dashboard's live feed: agent requests as they are recorded (merchant traffic left out).
package enum LiveFeedRows {
    /// The newest event's id (0 when there is none).
    package static func latestID(in database: Database) throws -> Int64 {
        try database.read { try $0.queryOne("SELECT coalesce(max(id), 0) FROM analytics_events")?[0].int ?? 0 }
    }

    /// The id just before the oldest of the newest `count` agent events (0 when there are fewer).
    package static func idBeforeLatest(_ count: Int, in database: Database) throws -> Int64 {
        try database.read {
            try $0.queryOne(
                """
                SELECT coalesce(min(id), 1) - 1 FROM (SELECT id FROM analytics_events WHERE stage != 'merchant'
                ORDER BY id DESC LIMIT ?) recent
                """,
                [SQLValue(count)])?[0].int ?? 0
        }
    }

    /// Up to 200 agent events after `cursor`, in order: each one's id and wire form.
    package static func events(after cursor: Int64, in database: Database) throws -> [(id: Int64, json: JSON)] {
        try database.read { db in
            try db.query(
                """
                SELECT id, at_ms, family, agent_id, stage, route, status, latency_us, amount, currency, requests FROM analytics_events
                WHERE id > ? AND stage != 'merchant' ORDER BY id LIMIT 200
                """,
                [.integer(cursor)]
            ).map { row in
                let event: JSON = [
                    "at": .string(Timestamp.iso8601(Date(timeIntervalSince1970: Double(row[1].int ?? 0) / 1000), milliseconds: true)),
                    "family": .string(row[2].string ?? ""), "agent_id": JSON(row[3].string), "stage": .string(row[4].string ?? ""),
                    "route": .string(row[5].string ?? ""), "status": .int(row[6].int ?? 0), "latency_us": .int(row[7].int ?? 0),
                    "amount": row[8].int.map(JSON.int) ?? .null, "currency": JSON(row[9].string),
                    "requests": .int(row[10].int ?? 1),
                ]
                return (row[0].int ?? 0, event)
            }
        }
    }
}

/// Whether the store answers at all (the health check of `/status`).
package enum StoreHealth {
    package static func answers(_ database: Database) -> Bool {
        (try? database.read { try $0.queryOne("SELECT 1") }) != nil
    }
}
