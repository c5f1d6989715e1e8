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

    public static func table(_ report: JSON, color: Bool) -> String {
        func paint(_ text: String, _ score: Double?) -> String {
            guard color, let score else { return text }
            let code = score >= 0.9 ? "32" : score >= 0.5 ? "33" : "31"
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
        var lines = [
            "Agent buying journey — \(report["target"]?.stringValue ?? "")",
            "Score \(percent(report["score"]))/100 (\(report["level"]?.stringValue ?? ""))",
            "",
        ]
        let findings = report["findings"]?.arrayValue ?? []
        for category in report["categories"]?.arrayValue ?? [] {
            let score = category["score"]?.doubleValue
            lines.append(paint("\(category["title"]?.stringValue ?? "")  \(percent(category["score"]))", score.map { $0 / 100 }))
            for finding in findings where finding["stage"] == category["stage"] {
                let s = finding["score"]?.doubleValue
                lines.append("  " + paint(mark(finding), s) + " \(finding["title"]?.stringValue ?? "") — \(finding["detail"]?.stringValue ?? "")")
                if let s, s < 0.9 { lines.append("      fix: \(finding["fix"]?.stringValue ?? "")") }
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    public static func markdown(_ report: JSON) -> String {
        var lines = [
            "# Agent buying journey: \(report["target"]?.stringValue ?? "")", "",
            "**Score \(percent(report["score"]))/100 — \(report["level"]?.stringValue ?? "")** (audited \(report["audited_at"]?.stringValue ?? ""))", "",
            "| Stage | Score | Failing |", "|---|---:|---|",
        ]
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
                if let s = f["score"]?.doubleValue, s < 0.9 { lines.append("  - Fix: \(f["fix"]?.stringValue ?? "")") }
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
                let fix = (f["score"]?.doubleValue ?? 1) < 0.9 ? "<p class=\"fix\">Fix: \(htmlEscape(f["fix"]?.stringValue ?? ""))</p>" : ""
                items += "<li><span class=\"mark\">\(mark(f))</span> <strong>\(htmlEscape(f["title"]?.stringValue ?? ""))</strong> — \(htmlEscape(f["detail"]?.stringValue ?? ""))\(fix)</li>\n"
            }
            sections += "<section><h2>\(htmlEscape(c["title"]?.stringValue ?? "")) <span class=\"score\">\(percent(c["score"]))</span></h2><ul>\(items)</ul></section>\n"
        }
        let body = """
            <h1>Agent buying journey</h1>
            <p class="muted">\(htmlEscape(report["target"]?.stringValue ?? "")) · audited \(htmlEscape(report["audited_at"]?.stringValue ?? ""))</p>
            <p class="price">\(percent(report["score"]))/100 — \(htmlEscape(report["level"]?.stringValue ?? ""))</p>
            \(sections)
            <script type="application/json" id="report">\(scriptSafeJSON(report.serialized()))</script>
            """
        return htmlPage(
            title: "Agent buying journey — \(report["target"]?.stringValue ?? "")", description: "Journey audit report",
            head: "<style>.fix{color:#8a4b00;margin:.2rem 0 .6rem 1.6rem}.score{float:right}.mark{display:inline-block;width:1.2em}</style>",
            body: body, storeLinks: false)
    }
}
