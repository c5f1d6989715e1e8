import Foundation
import StorefrontDomain

/// robots.txt as RFC 9309 reads it: groups of `User-agent` lines with their `Allow`/`Disallow`
/// rules, the group for a product token (its own groups merged, else `*`), the longest matching
/// rule deciding (`Allow` on a tie), plus the `Sitemap` lines (sitemaps.org) and `Content-Signal`
/// lines (contentsignals.org) found beside them. Each rule keeps its line, so a finding can quote
/// what decided.
struct RobotsTxt {
    struct Rule {
        var allow: Bool
        var pattern: String
        var line: Int
        var text: String
    }

    struct Group {
        var agents: [String] = []
        var rules: [Rule] = []
        var signals: [(value: String, line: Int, text: String)] = []
    }

    var groups: [Group] = []
    var sitemaps: [String] = []
    /// Content-Signal lines outside any group (they apply to everyone).
    var signals: [(value: String, line: Int, text: String)] = []

    init(_ text: String) {
        var current: Group?
        var lastWasAgent = false
        for (index, raw) in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            let number = index + 1
            let original = raw.trimmingCharacters(in: .whitespaces)
            switch parts[0].lowercased() {
            case "user-agent":
                if !lastWasAgent, let c = current { groups.append(c); current = nil }
                if current == nil { current = Group() }
                current!.agents.append(parts[1].lowercased())
                lastWasAgent = true
                continue
            case "disallow", "allow":
                // An empty Disallow allows everything: no rule.
                if !parts[1].isEmpty {
                    current?.rules.append(Rule(allow: parts[0].lowercased() == "allow", pattern: parts[1], line: number, text: original))
                }
            case "sitemap":
                sitemaps.append(parts[1])
            case "content-signal":
                if current != nil { current!.signals.append((parts[1], number, original)) } else { signals.append((parts[1], number, original)) }
            default: break
            }
            lastWasAgent = false
        }
        if let c = current { groups.append(c) }
    }

    /// The rules that apply to `agent` (RFC 9309 §2.2.1: every group naming its product token,
    /// case-insensitively, merged; else the `*` groups), and whether they are its own.
    func group(for agent: String) -> (group: Group, own: Bool)? {
        let token = agent.lowercased()
        let own = groups.filter { $0.agents.contains(token) }
        let chosen = own.isEmpty ? groups.filter { $0.agents.contains("*") } : own
        guard !chosen.isEmpty else { return nil }
        var merged = Group(agents: [token])
        for g in chosen {
            merged.rules += g.rules
            merged.signals += g.signals
        }
        return (merged, !own.isEmpty)
    }

    /// Whether `agent` may fetch `path`, and the rule that decided (nil: no rule matched).
    func verdict(for agent: String, path: String) -> (allowed: Bool, rule: Rule?) {
        guard let (group, _) = group(for: agent) else { return (true, nil) }
        // Bounded: at most 2,048 bytes of path and rules of at most 512 (a hostile file or sitemap
        // cannot make matching expensive).
        let path = String(decoding: Array(path.utf8.prefix(2_048)), as: UTF8.self)
        var best: Rule?
        for rule in group.rules.prefix(1_000) where rule.pattern.utf8.count <= 512 && RobotsPattern.matches(rule.pattern, path) {
            guard let current = best else { best = rule; continue }
            if rule.pattern.utf8.count > current.pattern.utf8.count || (rule.pattern.utf8.count == current.pattern.utf8.count && rule.allow) {
                best = rule
            }
        }
        return (best?.allow ?? true, best)
    }

    /// The content signals that apply to `agent`: its group's, else the file-wide ones.
    func contentSignals(for agent: String) -> [(value: String, line: Int, text: String)] {
        let own = group(for: agent)?.group.signals ?? []
        return own.isEmpty ? signals : own
    }
}
