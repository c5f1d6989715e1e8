import Foundation
import HTTPServer
import StorefrontStore

/// People an AI assistant sent: a browser arriving with an assistant's page as its `Referer`
/// (chatgpt.com, claude.ai, perplexity.ai, gemini.google.com, copilot.microsoft.com …) or a link
/// tagged the way assistants tag them (`utm_source=chatgpt.com`). They are a family of their own in
/// analytics, per assistant, and a first-party cookie keeps the visit in that family while the
/// person browses and buys here, so orders they place count as revenue from AI-referred humans.
enum AIReferral {
    struct Assistant: Sendable {
        let key: String
        let name: String
        let operatorName: String
        let hosts: [String]
        let sources: [String]
    }

    static let assistants: [Assistant] = [
        Assistant(key: "chatgpt", name: "ChatGPT", operatorName: "OpenAI", hosts: ["chatgpt.com", "chat.openai.com"], sources: ["chatgpt", "openai"]),
        Assistant(key: "claude", name: "Claude", operatorName: "Anthropic", hosts: ["claude.ai"], sources: ["claude", "anthropic"]),
        Assistant(key: "perplexity", name: "Perplexity", operatorName: "Perplexity", hosts: ["perplexity.ai", "www.perplexity.ai"], sources: ["perplexity"]),
        Assistant(key: "gemini", name: "Gemini", operatorName: "Google", hosts: ["gemini.google.com", "bard.google.com"], sources: ["gemini", "bard"]),
        Assistant(key: "copilot", name: "Copilot", operatorName: "Microsoft", hosts: ["copilot.microsoft.com", "copilot.cloud.microsoft"], sources: ["copilot"]),
        Assistant(key: "deepseek", name: "DeepSeek", operatorName: "DeepSeek", hosts: ["chat.deepseek.com"], sources: ["deepseek"]),
        Assistant(key: "mistral", name: "Le Chat", operatorName: "Mistral AI", hosts: ["chat.mistral.ai"], sources: ["mistral"]),
    ]

    static let cookieName = "sf_ai_ref"
    /// How long a referred visit lasts: long enough to come back and buy.
    static let cookieMaxAge = 30 * 24 * 3600
    static let category = "ai_referred_human"

    /// The analytics family of people sent by an assistant.
    static func family(_ assistant: Assistant) -> AgentClassifier.Family {
        AgentClassifier.Family(name: "AI-referred human (\(assistant.name))", operatorName: assistant.operatorName, category: category)
    }

    static let familyIDs: [String: Int32] = Dictionary(
        uniqueKeysWithValues: assistants.map { ($0.key, AnalyticsLabels.shared.id(family($0))) })

    /// The assistant that sent this browser request, and whether it says so itself (a referrer
    /// or a tag; then the visit's cookie is set) or only by the visit's cookie.
    static func of(_ request: Request) -> (assistant: Assistant, fresh: Bool)? {
        if let referer = request.headers["Referer"], let host = URL(string: referer)?.host?.lowercased(),
            let assistant = assistants.first(where: { $0.hosts.contains(host) })
        {
            return (assistant, true)
        }
        if let source = request.query("utm_source")?.lowercased(),
            let assistant = assistants.first(where: { a in a.sources.contains { source.contains($0) } })
        {
            return (assistant, true)
        }
        for header in request.headers.values("Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[0] == cookieName else { continue }
                if let assistant = assistants.first(where: { $0.key == parts[1] }) { return (assistant, false) }
            }
        }
        return nil
    }

    /// The visit's cookie: first-party, not readable by scripts, sent on same-site navigation.
    static func cookie(_ assistant: Assistant, secure: Bool) -> String {
        "\(cookieName)=\(assistant.key); Path=/; Max-Age=\(cookieMaxAge); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }
}
