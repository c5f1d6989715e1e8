import StorefrontDomain
import Foundation
import JSON

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One thing fetched from the site under audit.
public struct Artifact: Sendable {
    public var url: String
    public var status: Int
    public var contentType: String
    public var headers: [String: String]
    public var body: String
    public var error: String?

    public var ok: Bool { (200..<300).contains(status) }
    public var json: JSON? { ok ? try? JSON.parse(body, maxDepth: 128) : nil }

    public var evidence: JSON {
        [
            "url": .string(url), "status": .int(Int64(status)), "content_type": .string(contentType),
            "bytes": .int(Int64(body.utf8.count)), "error": JSON(error),
        ]
    }
}

/// Fetches what an agent would look at first (Lighthouse's gatherers): documents at their
/// well-known paths, the home page, an MCP handshake and tool list, a product page.
public struct Gatherer: Sendable {
    public let base: String
    public var timeout: Double = 10
    static let maxBytes = 4 << 20
    /// At most this many requests, and no new one after this many seconds: the audit is polite
    /// and ends even against a target that hangs.
    public var maxRequests = 40
    public var maxSeconds: Double = 90
    private let budget = Budget()

    final class Budget: @unchecked Sendable {
        private let lock = NSLock()
        private var used = 0
        private let started = Date()

        /// Takes one request from the budget; false when none is left.
        func take(maxRequests: Int, maxSeconds: Double) -> Bool {
            lock.withLock {
                guard used < maxRequests, Date().timeIntervalSince(started) < maxSeconds else { return false }
                used += 1
                return true
            }
        }
    }

    public init(base: String) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    public func url(_ path: String) -> String { path.hasPrefix("http") ? path : base + path }

    /// A synchronous request (the audit is a command-line run, one fetch after another).
    public func fetch(_ path: String, method: String = "GET", accept: String = "*/*", headers: [String: String] = [:], body: String? = nil)
        -> Artifact
    {
        let target = url(path)
        guard let url = URL(string: target) else {
            return Artifact(url: target, status: 0, contentType: "", headers: [:], body: "", error: "not a URL")
        }
        guard budget.take(maxRequests: maxRequests, maxSeconds: maxSeconds) else {
            return Artifact(
                url: target, status: 0, contentType: "", headers: [:], body: "",
                error: "not fetched: the audit's budget (\(maxRequests) requests, \(Int(maxSeconds)) s) ran out")
        }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue(accept, forHTTPHeaderField: "Accept")
        request.setValue("StorefrontJourneyAudit/\(StorefrontVersion.current) (+agent buying journey audit)", forHTTPHeaderField: "User-Agent")
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if let body { request.httpBody = Data(body.utf8) }
        let done = DispatchSemaphore(value: 0)
        let lock = NSLock()
        nonisolated(unsafe) var artifact = Artifact(url: target, status: 0, contentType: "", headers: [:], body: "", error: nil)
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            lock.lock()
            defer { lock.unlock() }
            if let http = response as? HTTPURLResponse {
                artifact.status = http.statusCode
                var found: [String: String] = [:]
                for (k, v) in http.allHeaderFields { found[String(describing: k).lowercased()] = String(describing: v) }
                artifact.headers = found
                artifact.contentType = found["content-type"] ?? ""
            }
            if let data { artifact.body = String(decoding: data.prefix(Self.maxBytes), as: UTF8.self) }
            artifact.error = error.map { $0.localizedDescription }
            done.signal()
        }
        task.resume()
        // The session's timeout is between bytes; this one bounds the whole request, so a target
        // that trickles or hangs cannot hold the audit.
        if done.wait(timeout: .now() + timeout) == .timedOut {
            task.cancel()
            lock.lock()
            defer { lock.unlock() }
            var timedOut = artifact
            timedOut.status = 0
            timedOut.error = "no complete answer within \(timeout) s"
            return timedOut
        }
        return lock.withLock { artifact }
    }

    /// Everything the audits read, keyed by name.
    public func gather() -> [String: Artifact] {
        var a: [String: Artifact] = [:]
        a["home"] = fetch("/", accept: "text/html")
        a["robots"] = fetch("/robots.txt", accept: "text/plain")
        a["sitemap"] = fetch("/sitemap.xml", accept: "application/xml")
        a["llms"] = fetch("/llms.txt", accept: "text/markdown, text/plain")
        a["agents"] = fetch("/agents", accept: "application/json")
        a["agent_card"] = fetch("/.well-known/agent-card.json", accept: "application/json")
        a["ucp"] = fetch("/.well-known/ucp", accept: "application/json")
        a["mcp_card"] = fetch("/mcp/server-card", accept: "application/json")
        if a["mcp_card"]?.ok != true { a["mcp_card"] = fetch("/.well-known/mcp/server-card.json", accept: "application/json") }
        a["jwks"] = fetch("/.well-known/jwks.json", accept: "application/json")
        a["capabilities"] = fetch("/.well-known/capabilities.json", accept: "application/json")
        a["oauth"] = fetch("/.well-known/oauth-protected-resource", accept: "application/json")
        for path in ["/openapi.json", "/.well-known/openapi.json", "/api/openapi.json"] {
            let found = fetch(path, accept: "application/json")
            a["openapi"] = found
            if found.json?["openapi"] != nil { break }
        }
        a["pricing"] = fetch("/pricing", accept: "application/json")
        a["policies"] = fetch("/policies", accept: "application/json")
        a["status"] = fetch("/status", accept: "application/json")
        // The MCP endpoint: as advertised, else at the common path.
        let mcpURL = a["agents"]?.json?["protocols"]?["mcp"]?["endpoint"]?.stringValue
            ?? a["mcp_card"]?.json?["remotes"]?[0]?["url"]?.stringValue ?? url("/mcp")
        let accept = "application/json, text/event-stream"
        let initialize = fetch(
            mcpURL, method: "POST", accept: accept, headers: ["Content-Type": "application/json"],
            body: #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"storefront-audit","version":"1"}}}"#)
        a["mcp_initialize"] = initialize
        if initialize.ok, let session = initialize.headers["mcp-session-id"] {
            var tools: [JSON] = []
            var cursor: String?
            var lastPage = initialize
            for _ in 0..<20 {
                let params = cursor.map { #"{"cursor":"\#($0)"}"# } ?? "{}"
                lastPage = fetch(
                    mcpURL, method: "POST", accept: accept,
                    headers: ["Content-Type": "application/json", "MCP-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"],
                    body: #"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":\#(params)}"#)
                guard let result = Self.rpcResult(lastPage) else { break }
                tools += result["tools"]?.arrayValue ?? []
                cursor = result["nextCursor"]?.stringValue
                if cursor == nil { break }
            }
            lastPage.body = JSON.object(["tools": .array(tools)]).compactString
            a["mcp_tools"] = lastPage
            _ = fetch(mcpURL, method: "DELETE", headers: ["MCP-Session-Id": session])
        }
        // The purchase and sign-up path: up to three such pages linked from the home page.
        if let home = a["home"], home.ok {
            let words = ["checkout", "cart", "basket", "buy", "signup", "sign-up", "register", "login", "account", "order"]
            var seen: Set<String> = []
            let pattern = #"href\s*=\s*["']([^"'#]+)["']"#
            if let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) {
                let text = home.body as NSString
                for match in regex.matches(in: home.body, range: NSRange(location: 0, length: text.length)) {
                    let href = text.substring(with: match.range(at: 1))
                    guard words.contains(where: { href.lowercased().contains($0) }) else { continue }
                    let path = href.hasPrefix("http") ? href : (href.hasPrefix("/") ? href : "/" + href)
                    guard !path.hasPrefix("http") || path.hasPrefix(base), seen.insert(path).inserted else { continue }
                    a["purchase_path_\(seen.count)"] = fetch(path, accept: "text/html")
                    if seen.count == 3 { break }
                }
            }
        }
        // A product page: the first /products/ URL of the sitemap.
        if let sitemap = a["sitemap"]?.body, let range = sitemap.range(of: #"<loc>[^<]*/products/[^<]*</loc>"#, options: .regularExpression) {
            let loc = sitemap[range].dropFirst(5).dropLast(6)
            a["product_page"] = fetch(String(loc), accept: "text/html")
        }
        return a
    }

    /// The result of a JSON-RPC answer given as JSON or as an SSE stream.
    static func rpcResult(_ artifact: Artifact) -> JSON? {
        if let json = artifact.json, let result = json["result"] { return result }
        for line in artifact.body.split(separator: "\n") where line.hasPrefix("data: ") {
            if let json = try? JSON.parse(String(line.dropFirst(6))), let result = json["result"] { return result }
        }
        return nil
    }
}
