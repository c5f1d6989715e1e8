import Foundation
import JSON

/// Who a request came from when it did not authenticate: an agent family recognised from its
/// user agent (whole-word match against the known-agents data file), a browser, or an
/// unknown client.
public struct AgentClassifier: Sendable {
    public struct Family: Sendable, Hashable {
        public var name: String
        public var operatorName: String?
        /// ai_assistant, ai_search, ai_crawler, search_engine, browser, unknown_client or agent.
        public var category: String
        /// `verified` (a credential, a key directory or the operator's published addresses proved
        /// who it is) or `claimed` (only its User-Agent says so).
        public var verification: String

        package init(name: String, operatorName: String?, category: String, verification: String = "claimed") {
            self.name = name
            self.operatorName = operatorName
            self.category = category
            self.verification = verification
        }
    }

    struct Known: Sendable {
        let token: String
        let lowered: [UInt8]
        let operatorName: String
        let category: String
    }

    let known: [Known]

    /// Loads the data file shipped with the module.
    public static func bundled() -> AgentClassifier {
        guard let url = Bundle.module.url(forResource: "known-agents", withExtension: "json"),
            let data = FileManager.default.contents(atPath: url.path), let json = try? JSON.parse(bytes: [UInt8](data))
        else { return AgentClassifier(known: []) }
        return AgentClassifier(json: json)
    }

    init(known: [Known]) { self.known = known }

    public init(json: JSON) {
        // Longer tokens first, so "ChatGPT-User" wins over a shorter token inside it.
        known = (json["agents"]?.arrayValue ?? []).compactMap { agent in
            guard let token = agent["token"]?.stringValue, !token.isEmpty else { return nil }
            return Known(
                token: token, lowered: Array(token.lowercased().utf8), operatorName: agent["operator"]?.stringValue ?? "unknown",
                category: agent["category"]?.stringValue ?? "ai_crawler")
        }.sorted { $0.lowered.count > $1.lowered.count }
    }

    public var count: Int { known.count }

    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
    }

    /// The family of a user agent.
    public func classify(userAgent: String?) -> Family {
        guard let userAgent, !userAgent.isEmpty else { return Family(name: "unknown client", operatorName: nil, category: "unknown_client") }
        let text = Array(userAgent.lowercased().utf8)
        for agent in known where agent.lowered.count <= text.count {
            var start = 0
            while start + agent.lowered.count <= text.count {
                if text[start] == agent.lowered[0], Array(text[start..<start + agent.lowered.count]) == agent.lowered {
                    let before = start == 0 || !Self.isWordByte(text[start - 1])
                    let end = start + agent.lowered.count
                    let after = end == text.count || !Self.isWordByte(text[end])
                    if before && after {
                        return Family(name: agent.token, operatorName: agent.operatorName, category: agent.category)
                    }
                }
                start += 1
            }
        }
        if userAgent.hasPrefix("Mozilla/") { return Family(name: "browser", operatorName: nil, category: "browser") }
        return Family(name: "unknown client", operatorName: nil, category: "unknown_client")
    }
}
