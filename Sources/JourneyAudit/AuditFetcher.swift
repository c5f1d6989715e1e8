import Foundation
import JSON
import StorefrontDomain

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Who a request claims to be. The audit fetches documents as itself, and the home page also as a
/// browser and as the agents that buy for people, to see what each of them is shown.
public enum AuditClient: String, Sendable, CaseIterable {
    case auditor, browser, chatgptUser = "ChatGPT-User", claudeUser = "Claude-User", perplexityBot = "PerplexityBot"
    /// The audit's own agent, its requests signed (Web Bot Auth) with the operator's key.
    case signedAgent = "signed agent"

    /// The agents whose view of the site decides reachability.
    public static let agents: [AuditClient] = [.chatgptUser, .claudeUser, .perplexityBot]

    var userAgent: String {
        switch self {
        case .auditor: "StorefrontJourneyAudit/\(StorefrontVersion.current) (+agent buying journey audit)"
        case .browser: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
        // The strings these operators publish for their agents (OpenAI, Anthropic, Perplexity).
        case .chatgptUser: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"
        case .claudeUser: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Claude-User/1.0; +Claude-User@anthropic.com)"
        case .perplexityBot: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)"
        case .signedAgent: "StorefrontJourneyAudit/\(StorefrontVersion.current) (signed agent; Web Bot Auth)"
        }
    }
}

/// One thing fetched from the site under audit (after its redirects).
public struct Artifact: Sendable {
    public var url: String
    public var status: Int
    public var contentType: String
    public var headers: [String: String]
    public var body: String
    public var error: String?
    public var method = "GET"
    public var client = AuditClient.auditor
    /// Every URL the request went through before `url`, first to last (redirects followed).
    public var redirects: [String] = []

    public init(url: String, status: Int = 0, contentType: String = "", headers: [String: String] = [:], body: String = "", error: String? = nil) {
        self.url = url
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
        self.error = error
    }

    public var ok: Bool { (200..<300).contains(status) }
    public var json: JSON? { ok ? try? JSON.parse(body, maxDepth: 128) : nil }
    public var isHTML: Bool { contentType.lowercased().contains("html") || body.prefix(512).lowercased().contains("<html") }

    /// Where the audit looked, with what decided (`match`: the line or phrase; `pointer`: a JSON
    /// pointer into the document).
    public func evidence(match: String? = nil, pointer: String? = nil) -> JSON {
        var e: [String: JSON] = [
            "url": .string(url), "status": .int(Int64(status)), "content_type": .string(contentType),
            "bytes": .int(Int64(body.utf8.count)), "error": JSON(error),
        ]
        if method != "GET" { e["method"] = .string(method) }
        if client != .auditor { e["as"] = .string(client.rawValue) }
        if !redirects.isEmpty { e["redirected_from"] = .array(redirects.map(JSON.string)) }
        if let match { e["match"] = .string(String(match.prefix(300))) }
        if let pointer { e["pointer"] = .string(pointer) }
        return .object(e)
    }

    public var evidence: JSON { evidence() }
}

/// Every request of an audit goes through here, and here only: GET (and the MCP handshake's POST
/// and DELETE) to the audited site, or to hosts its published documents name; redirects followed
/// by hand (resolved against the request's URL, loops detected, every hop taken from the budget);
/// never to a host inside a private network unless the audited site is that very host, or the run
/// allows it (`allowPrivate`, for tests); a request budget and a time limit for the whole audit,
/// both reported.
public final class AuditFetcher: @unchecked Sendable {
    public struct Limits: Sendable {
        public var timeout: Double = 10
        public var maxRequests = 60
        public var maxSeconds: Double = 90
        public var maxRedirects = 8
        public var maxBytes = 2 << 20
        public var allowPrivate = false
        /// Headers sent with every request to the audited site's own host (never to another host).
        public var siteHeaders: [String: String] = [:]
        public init() {}
    }

    public struct Logged: Sendable {
        public var method: String, url: String, status: Int, client: AuditClient
    }

    public let site: URL
    public let limits: Limits
    private let siteHost: String
    private let lock = NSLock()
    private var used = 0
    private var exhausted = false
    private let started = Date()
    private var log: [Logged] = []
    private var refused: [(url: String, reason: String)] = []
    private var hostVerdicts: [String: String?] = [:]
    private var cache: [String: Artifact] = [:]

    /// The addresses the site's host resolves to: another name for the same machine (localhost
    /// for 127.0.0.1) is the site's own host.
    private var resolvedSite: Set<String>?

    /// The site's addresses, looked up once (bounded like every lookup).
    private var siteAddresses: Set<String> {
        if let known = lock.withLock({ resolvedSite }) { return known }
        let found = resolve(siteHost)
        lock.withLock { resolvedSite = found }
        return found
    }

    public init(site: URL, limits: Limits) {
        self.site = site
        self.limits = limits
        siteHost = (site.host ?? "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    }

    /// Whether `host` is the audited site's host: the same name, or another name whose every
    /// address is one of the site's own (localhost for 127.0.0.1). A name that also resolves
    /// elsewhere is not the site.
    func isSiteHost(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
        if host == siteHost { return true }
        let theirs = resolve(host)
        return !theirs.isEmpty && theirs.isSubset(of: siteAddresses)
    }

    /// A lookup bounded by the request timeout and the audit's deadline: a resolver that stalls
    /// cannot hold the audit.
    private func resolve(_ host: String) -> Set<String> {
        let left = limits.maxSeconds - Date().timeIntervalSince(started)
        guard left > 0 else { return [] }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var found: Set<String> = []
        let box = NSLock()
        DispatchQueue.global().async {
            let answer = NetworkAddress.addresses(host: host, port: 80)
            box.withLock { found = answer }
            done.signal()
        }
        guard done.wait(timeout: .now() + min(limits.timeout, left)) == .success else { return [] }
        return box.withLock { found }
    }

    /// Why `url` may not be fetched, or nil.
    func refusal(_ url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return "only http and https URLs are fetched"
        }
        guard let host = url.host?.lowercased(), !host.isEmpty else { return "no host" }
        if url.user != nil || url.password != nil { return "URLs with credentials are not fetched" }
        if limits.allowPrivate || host == siteHost { return nil }
        if let known = lock.withLock({ hostVerdicts[host] }) { return known }
        if Date().timeIntervalSince(started) >= limits.maxSeconds { return "the audit's time limit (\(Int(limits.maxSeconds)) s) ran out" }
        let verdict: String? =
            if isSiteHost(host) {
                nil
            } else {
                switch resolvedInternal(host) {
                case nil: "\(host) does not resolve (in time)"
                case true?: "\(host) is inside a private network (private, loopback or link-local) and is not the audited site"
                case false?: nil
                }
            }
        lock.withLock { hostVerdicts[host] = verdict }
        return verdict
    }

    /// Whether any address of `host` is inside a network; nil when it does not resolve in time.
    private func resolvedInternal(_ host: String) -> Bool? {
        let addresses = resolve(host)
        guard !addresses.isEmpty else { return nil }
        return addresses.contains(where: NetworkAddress.isInternal(numeric:))
    }

    /// What was already decided about `url`'s host (nil: allowed, or never looked at). Judging a
    /// document's links uses this: it never resolves a new name.
    func knownRefusal(_ url: URL) -> String? {
        guard let host = url.host?.lowercased(), !limits.allowPrivate, host != siteHost else { return nil }
        if let known = lock.withLock({ hostVerdicts[host] }) { return known }
        // An address literal needs no lookup.
        var v4 = in_addr()
        var v6 = in6_addr()
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1 { return refusal(url) }
        return nil
    }

    private func take() -> Bool {
        lock.withLock {
            guard used < limits.maxRequests, Date().timeIntervalSince(started) < limits.maxSeconds else {
                exhausted = true
                return false
            }
            used += 1
            return true
        }
    }

    /// A GET, its redirects followed (each hop counted). Repeated GETs of one URL as one client are
    /// answered from what the first one got.
    public func get(
        _ target: String, accept: String = "*/*", as client: AuditClient = .auditor, headers: [String: String] = [:], signer: WebBotAuthSigner? = nil
    ) -> Artifact {
        let key = "\(client.rawValue) \(accept) \(target)"
        if headers.isEmpty, signer == nil, let known = lock.withLock({ cache[key] }) { return known }
        var url = URL(string: target, relativeTo: site)?.absoluteURL
        var chain: [String] = []
        var result = Artifact(url: target, error: "not a URL")
        while let current = url {
            // A signed request is signed again for each hop: its @authority and nonce are the hop's.
            let hopHeaders = signer.map { headers.merging($0.headers(for: current)) { $1 } } ?? headers
            let answer = send(current, method: "GET", accept: accept, client: client, headers: hopHeaders, body: nil)
            result = answer
            result.redirects = chain
            guard (300..<400).contains(answer.status), answer.status != 304, let location = answer.headers["location"] else { break }
            chain.append(current.absoluteString)
            guard let next = URL(string: location.trimmingCharacters(in: .whitespaces), relativeTo: current)?.absoluteURL else {
                result.error = "redirect to an unusable Location: \(location.prefix(200))"
                break
            }
            if chain.contains(next.absoluteString) || next.absoluteString == current.absoluteString {
                result.error = "redirect loop: \((chain + [next.absoluteString]).joined(separator: " → "))"
                break
            }
            if chain.count > limits.maxRedirects {
                result.error = "more than \(limits.maxRedirects) redirects"
                break
            }
            url = next
        }
        if headers.isEmpty, signer == nil { lock.withLock { cache[key] = result } }
        return result
    }

    /// Whether `host` belongs to the audited site: its host, the host without a leading `www.`, or
    /// a name below that (an MCP server at mcp.shop.example for www.shop.example) — never a sibling
    /// under a shared suffix (another x.myshopify.com). Another name for the site's address counts
    /// only when that address is inside a network (localhost for 127.0.0.1): public addresses are
    /// shared by many sites.
    func sameSite(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
        if host == siteHost { return true }
        let isIP = siteHost.contains(":") || siteHost.split(separator: ".").allSatisfy { Int($0) != nil }
        if !isIP {
            let base = siteHost.hasPrefix("www.") ? String(siteHost.dropFirst(4)) : siteHost
            if host == base || host.hasSuffix("." + base) { return true }
        }
        let internalSite = siteAddresses.contains(where: NetworkAddress.isInternal(numeric:))
        return internalSite && isSiteHost(host)
    }

    /// A POST or DELETE of the MCP handshake (never redirected: a handshake that moves is a failure),
    /// and only to the audited site's own domain: a document cannot aim the audit's POSTs elsewhere.
    public func mcp(_ target: String, method: String = "POST", headers: [String: String], body: String?) -> Artifact {
        guard let url = URL(string: target, relativeTo: site)?.absoluteURL else { return Artifact(url: target, error: "not a URL") }
        guard sameSite(url.host ?? "") else {
            let reason = "the MCP handshake is only sent to the audited site's own domain"
            lock.withLock { refused.append((url.absoluteString, reason)) }
            var refusedArtifact = Artifact(url: url.absoluteString, error: "not fetched: \(reason)")
            refusedArtifact.method = method
            return refusedArtifact
        }
        return send(url, method: method, accept: "application/json, text/event-stream", client: .auditor, headers: headers, body: body)
    }

    private func send(_ url: URL, method: String, accept: String, client: AuditClient, headers: [String: String], body: String?) -> Artifact {
        var artifact = Artifact(url: url.absoluteString)
        artifact.method = method
        artifact.client = client
        if let reason = refusal(url) {
            lock.withLock { refused.append((url.absoluteString, reason)) }
            artifact.error = "not fetched: \(reason)"
            return artifact
        }
        guard take() else {
            artifact.error = "not fetched: the audit's budget (\(limits.maxRequests) requests, \(Int(limits.maxSeconds)) s) ran out"
            return artifact
        }
        var request = URLRequest(url: url, timeoutInterval: limits.timeout)
        request.httpMethod = method
        request.setValue(accept, forHTTPHeaderField: "Accept")
        request.setValue(client.userAgent, forHTTPHeaderField: "User-Agent")
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if !limits.siteHeaders.isEmpty, isSiteHost(url.host ?? "") {
            for (k, v) in limits.siteHeaders { request.setValue(v, forHTTPHeaderField: k) }
        }
        if let body { request.httpBody = Data(body.utf8) }
        let exchange = Exchange(maxBytes: limits.maxBytes)
        let session = URLSession(configuration: .ephemeral, delegate: exchange, delegateQueue: nil)
        let task = session.dataTask(with: request)
        task.resume()
        // The session's timeout is between bytes; this one bounds the whole request, so a target
        // that trickles or hangs cannot hold the audit.
        let finished = exchange.done.wait(timeout: .now() + limits.timeout) == .success
        task.cancel()
        session.finishTasksAndInvalidate()
        let (response, data, failure) = exchange.result()
        if let response {
            artifact.status = response.statusCode
            var found: [String: String] = [:]
            for (k, v) in response.allHeaderFields { found[String(describing: k).lowercased()] = String(describing: v) }
            artifact.headers = found
            artifact.contentType = found["content-type"] ?? ""
        }
        artifact.body = String(decoding: data, as: UTF8.self)
        if !finished {
            artifact.status = 0
            artifact.error = "no complete answer within \(limits.timeout) s"
        } else if let failure, response == nil || failure.hasPrefix("larger") {
            artifact.error = failure
        }
        lock.withLock { log.append(Logged(method: method, url: url.absoluteString, status: artifact.status, client: client)) }
        return artifact
    }

    /// What the audit spent: requests (every hop), time, what was refused and why.
    public var budget: JSON {
        lock.withLock {
            [
                "max_requests": .int(Int64(limits.maxRequests)), "requests": .int(Int64(used)),
                "max_seconds": .double(limits.maxSeconds), "seconds": .double((Date().timeIntervalSince(started) * 10).rounded() / 10),
                "timeout_per_request": .double(limits.timeout), "exhausted": .bool(exhausted),
                "refused": .array(refused.prefix(50).map { ["url": .string($0.url), "reason": .string($0.reason)] }),
            ]
        }
    }

    public var requests: [Logged] { lock.withLock { log } }
}

/// One request's delegate: keeps the response and at most `maxBytes` of its body, and stops at a
/// redirect (the fetcher follows it itself).
private final class Exchange: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private let maxBytes: Int
    private var response: HTTPURLResponse?
    private var data: [UInt8] = []
    private var failure: String?

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func result() -> (HTTPURLResponse?, [UInt8], String?) { lock.withLock { (response, data, failure) } }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        lock.withLock { self.response = response as? HTTPURLResponse }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let over: Bool = lock.withLock {
            self.data.append(contentsOf: data.prefix(max(0, maxBytes - self.data.count)))
            if self.data.count >= maxBytes {
                failure = "larger than \(maxBytes) bytes; the first \(maxBytes) were read"
                return true
            }
            return false
        }
        if over {
            dataTask.cancel()
            done.signal()
        }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        lock.withLock { self.response = response }
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.withLock {
            if let error, failure == nil { failure = error.localizedDescription }
        }
        done.signal()
    }
}

/// Signs a request as a Web Bot Auth agent (draft-meunier-web-bot-auth-architecture over RFC 9421):
/// `Signature-Agent` names the operator's origin, whose key directory holds the public key; the
/// signature covers `@authority` and `signature-agent`, lives five minutes, and carries a nonce.
public struct WebBotAuthSigner: Sendable {
    public let key: StoreSigningKey
    /// The operator's origin (https://…), where `/.well-known/http-message-signatures-directory` is.
    public let agent: String

    public init(key: StoreSigningKey, agent: String) {
        self.key = key
        self.agent = agent
    }

    /// The headers that sign a request to `url`.
    public func headers(for url: URL, now: Int64 = Int64(Date().timeIntervalSince1970)) -> [String: String] {
        let bare = (url.host ?? "").lowercased()
        let host = bare.contains(":") ? "[\(bare)]" : bare  // an IPv6 literal keeps its brackets
        let defaultPort = url.scheme == "https" ? 443 : 80
        let authority = url.port.map { $0 == defaultPort ? host : "\(host):\($0)" } ?? host
        let agentField = "\"\(agent)\""
        let nonce = Base64URL.encode(Data((0..<32).map { _ in UInt8.random(in: 0...255) }))
        let parameters = "(\"@authority\" \"signature-agent\");created=\(now);expires=\(now + 300);keyid=\"\(key.keyID)\";alg=\"ed25519\";nonce=\"\(nonce)\";tag=\"web-bot-auth\""
        let base = "\"@authority\": \(authority)\n\"signature-agent\": \(agentField)\n\"@signature-params\": \(parameters)"
        guard let signature = try? key.sign(Array(base.utf8)) else { return [:] }
        return ["Signature-Agent": agentField, "Signature-Input": "sig1=" + parameters, "Signature": "sig1=:\(signature.base64EncodedString()):"]
    }
}
