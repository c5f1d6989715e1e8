import StorefrontDomain
import Foundation
import JSON

/// A journey report as a terminal table, Markdown, or a self-contained HTML page.
public enum ReportRenderer {
    static func percent(_ v: JSON?) -> String {
        guard let d = v?.doubleValue else { return "n/a" }
        return String(Int(d.rounded()))
    }

    static func mark(_ finding: JSON) -> String {
        guard let score = finding["score"]?.doubleValue else { return "–" }
        return score >= 0.9 ? "✓" : score >= 0.5 ? "~" : "✗"
    }

    /// What decided a finding, in one line: the first evidence with a quoted line or pointer.
    static func decided(_ finding: JSON) -> String? {
        let items = finding["evidence"]?.arrayValue ?? []
        guard let item = items.first(where: { $0["match"] != nil || $0["pointer"] != nil }) ?? items.first else { return nil }
        let url = item["url"]?.stringValue ?? ""
        if let match = item["match"]?.stringValue { return "\(url): \(match)" }
        if let pointer = item["pointer"]?.stringValue { return "\(url)#\(pointer)" }
        return "\(url) (HTTP \(item["status"]?.intValue ?? 0))"
    }

    /// The audit's budget in one line.
    static func spent(_ report: JSON) -> String {
        let b = report["budget"]
        var line = "\(b?["requests"]?.intValue ?? 0) of \(b?["max_requests"]?.intValue ?? 0) requests, \(b?["seconds"]?.doubleValue ?? 0) s of \(Int(b?["max_seconds"]?.doubleValue ?? 0)) s"
        if b?["exhausted"]?.boolValue == true { line += " — the budget ran out" }
        let refused = b?["refused"]?.arrayValue ?? []
        if !refused.isEmpty { line += "; \(refused.count) URLs refused (\(refused[0]["reason"]?.stringValue ?? ""))" }
        return line
    }

    /// The fixes that win the most points, best first.
    static func topFixes(_ report: JSON, _ n: Int = 5) -> [String] {
        (report["fixes"]?.arrayValue ?? []).prefix(n).map {
            "+\(String(format: "%.1f", $0["points"]?.doubleValue ?? 0)) \($0["id"]?.stringValue ?? "") (\($0["standard"]?.stringValue ?? "")): \($0["fix"]?.stringValue ?? "")"
        }
    }

    public static func table(_ report: JSON, color: Bool) -> String {
        func paint(_ text: String, _ score: Double?) -> String {
            guard color, let score else { return text }
            let code = score >= 0.9 ? "32" : score >= 0.5 ? "33" : "31"
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
        var lines = [
            "Agent buying journey — \(report["target"]?.stringValue ?? "")",
            "Score \(percent(report["score"]))/100 (\(report["level"]?.stringValue ?? ""))",
        ]
        if let headline = report["headline"]?.stringValue { lines.append(paint(headline, 0.4)) }
        lines.append("Budget: \(spent(report))")
        lines.append("")
        let findings = report["findings"]?.arrayValue ?? []
        for category in report["categories"]?.arrayValue ?? [] {
            let score = category["score"]?.doubleValue
            lines.append(paint("\(category["title"]?.stringValue ?? "")  \(percent(category["score"]))", score.map { $0 / 100 }))
            for finding in findings where finding["stage"] == category["stage"] {
                let s = finding["score"]?.doubleValue
                lines.append("  " + paint(mark(finding), s) + " \(finding["title"]?.stringValue ?? "") — \(finding["detail"]?.stringValue ?? "")")
                if let s, s < 0.9 {
                    if let why = decided(finding) { lines.append("      evidence: \(why)") }
                    lines.append("      fix: \(finding["fix"]?.stringValue ?? "") [\(finding["standard"]?.stringValue ?? "")]")
                }
            }
            lines.append("")
        }
        let fixes = topFixes(report)
        if !fixes.isEmpty { lines += ["Fixes, by the points they would win:"] + fixes.map { "  " + $0 } }
        return lines.joined(separator: "\n")
    }

    public static func markdown(_ report: JSON) -> String {
        var lines = [
            "# Agent buying journey: \(report["target"]?.stringValue ?? "")", "",
            "**Score \(percent(report["score"]))/100 — \(report["level"]?.stringValue ?? "")** (audited \(report["audited_at"]?.stringValue ?? ""))", "",
        ]
        if let headline = report["headline"]?.stringValue { lines += ["> \(headline)", ""] }
        lines += ["Budget: \(spent(report)).", ""]
        let fixes = topFixes(report)
        if !fixes.isEmpty { lines += ["**Fixes, by the points they would win:**", ""] + fixes.enumerated().map { "\($0.offset + 1). \($0.element)" } + [""] }
        lines += ["| Stage | Score | Failing |", "|---|---:|---|"]
        for c in report["categories"]?.arrayValue ?? [] {
            let failing = (c["failing"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")
            lines.append("| \(c["title"]?.stringValue ?? "") | \(percent(c["score"])) | \(failing) |")
        }
        lines.append("")
        let findings = report["findings"]?.arrayValue ?? []
        for c in report["categories"]?.arrayValue ?? [] {
            lines.append("## \(c["title"]?.stringValue ?? "")")
            lines.append("")
            for f in findings where f["stage"] == c["stage"] {
                lines.append("- \(mark(f)) **\(f["title"]?.stringValue ?? "")** — \(f["detail"]?.stringValue ?? "")")
                if let s = f["score"]?.doubleValue, s < 0.9 {
                    if let why = decided(f) { lines.append("  - Evidence: `\(why.replacingOccurrences(of: "`", with: "'"))`") }
                    lines.append("  - Fix: \(f["fix"]?.stringValue ?? "") (\(f["standard"]?.stringValue ?? ""))")
                }
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    public static func html(_ report: JSON) -> String {
        let findings = report["findings"]?.arrayValue ?? []
        var sections = ""
        for c in report["categories"]?.arrayValue ?? [] {
            var items = ""
            for f in findings where f["stage"] == c["stage"] {
                let failing = (f["score"]?.doubleValue ?? 1) < 0.9
                let why = failing ? decided(f).map { "<p class=\"evidence\"><code>\(htmlEscape($0))</code></p>" } ?? "" : ""
                let fix = failing ? "\(why)<p class=\"fix\">Fix: \(htmlEscape(f["fix"]?.stringValue ?? "")) <span class=\"muted\">(\(htmlEscape(f["standard"]?.stringValue ?? "")))</span></p>" : ""
                items += "<li><span class=\"mark\">\(mark(f))</span> <strong>\(htmlEscape(f["title"]?.stringValue ?? ""))</strong> — \(htmlEscape(f["detail"]?.stringValue ?? ""))\(fix)</li>\n"
            }
            sections += "<section><h2>\(htmlEscape(c["title"]?.stringValue ?? "")) <span class=\"score\">\(percent(c["score"]))</span></h2><ul>\(items)</ul></section>\n"
        }
        let body = """
            <h1>Agent buying journey</h1>
            <p class="muted">\(htmlEscape(report["target"]?.stringValue ?? "")) · audited \(htmlEscape(report["audited_at"]?.stringValue ?? ""))</p>
            <p class="price">\(percent(report["score"]))/100 — \(htmlEscape(report["level"]?.stringValue ?? ""))</p>
            \(report["headline"]?.stringValue.map { "<p class=\"headline\"><strong>\(htmlEscape($0))</strong></p>" } ?? "")
            <p class="muted">Budget: \(htmlEscape(spent(report)))</p>
            \(fixesList(report))
            \(sections)
            <script type="application/json" id="report">\(scriptSafeJSON(report.serialized()))</script>
            """
        return htmlPage(
            title: "Agent buying journey — \(report["target"]?.stringValue ?? "")", description: "Journey audit report",
            head: "<style>.evidence{margin:.2rem 0 0 1.6rem;font-size:.9em;overflow-wrap:anywhere}.fix{color:#8a4b00;margin:.2rem 0 .6rem 1.6rem}.score{float:right}.mark{display:inline-block;width:1.2em}</style>",
            body: body, storeLinks: false)
    }

    static func fixesList(_ report: JSON) -> String {
        let fixes = topFixes(report)
        guard !fixes.isEmpty else { return "" }
        return "<h2>Fixes, by the points they would win</h2><ol>" + fixes.map { "<li>\(htmlEscape($0))</li>" }.joined() + "</ol>"
    }
}
