import Foundation
import StorefrontDomain
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A GET to a URL a caller named (an OAuth client's metadata document, an agent's key
/// directory), bounded in every way an attacker could stretch it: HTTPS only, no redirects,
/// at most `maxBytes` read (the transfer is cancelled past them), `timeout` seconds in all, a
/// host that resolves to no private, loopback, link-local or multicast address (unless the
/// gateway is configured for tests on loopback), and at most `maxInFlight` fetches at once
/// across the process: a request beyond them fails at once instead of waiting.
///
/// The address check resolves the host before the fetch and the fetch resolves it again, so a
/// DNS answer that changes between the two (rebinding) is not caught; the redirect ban, the
/// size and time bounds and the fact that only JSON documents of a fixed shape are read keep
/// what such a fetch can reach to reading a small JSON document.
final class BoundedFetch: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The gateway was busy (too many fetches at once): nothing was learnt about the URL, so
        /// the failure must not be remembered as the URL's.
        var transient = false
    }

    struct Fetched: Sendable {
        var status: Int
        var contentType: String
        var body: [UInt8]
        /// Seconds the answer may be kept (Cache-Control max-age), nil when not said.
        var maxAge: Int64?
    }

    static let maxInFlight = 16
    /// Fetches one client address may have the gateway make at once.
    static let maxInFlightPerCaller = 4
    nonisolated(unsafe) private static var inFlight = 0
    nonisolated(unsafe) private static var inFlightByCaller: [String: Int] = [:]
    private static let counter = NSLock()

    let maxBytes: Int
    let timeout: Double
    let allowPrivate: Bool
    private let lock = NSLock()
    private var received: [UInt8] = []
    private var response: HTTPURLResponse?
    private var failure: String?
    private var completion: (@Sendable (Result<Fetched, Failure>) -> Void)?
    private var session: URLSession?
    private var task: URLSessionDataTask?
    private var caller = ""

    init(maxBytes: Int = 64 * 1024, timeout: Double = 5, allowPrivate: Bool) {
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.allowPrivate = allowPrivate
    }

    /// Fetches `url` for `caller` (the client address that named it); `completion` is called
    /// exactly once, on a background queue, within `timeout` seconds whatever the other side does
    /// (a server that trickles bytes, a resolver that hangs: the deadline ends the fetch).
    func get(_ url: String, accept: String, caller: String, completion: @escaping @Sendable (Result<Fetched, Failure>) -> Void) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host, !host.isEmpty,
            parsed.user == nil, parsed.password == nil
        else { return completion(.failure(Failure(description: "\(url) is not an absolute URL"))) }
        guard scheme == "https" || (allowPrivate && scheme == "http") else {
            return completion(.failure(Failure(description: "\(url) must use https")))
        }
        let taken: Bool = Self.counter.withLock {
            guard Self.inFlight < Self.maxInFlight, Self.inFlightByCaller[caller, default: 0] < Self.maxInFlightPerCaller else { return false }
            Self.inFlight += 1
            Self.inFlightByCaller[caller, default: 0] += 1
            return true
        }
        guard taken else { return completion(.failure(Failure(description: "Too many fetches at once; retry shortly", transient: true))) }
        lock.withLock {
            self.completion = completion
            self.caller = caller
        }
        // The deadline: whatever is still running then is cancelled and answered as a timeout.
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
            finish(.failure(Failure(description: "No complete answer within \(Int(timeout)) seconds")))
        }
        DispatchQueue.global().async { [self] in
            if !allowPrivate, let refused = Self.refusedAddress(host: host, port: parsed.port ?? 443) {
                return finish(.failure(Failure(description: refused)))
            }
            var request = URLRequest(url: parsed, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
            request.setValue(accept, forHTTPHeaderField: "Accept")
            request.setValue("Storefront/\(StorefrontVersion.current)", forHTTPHeaderField: "User-Agent")
            let configuration = URLSessionConfiguration.ephemeral
            configuration.timeoutIntervalForRequest = timeout
            configuration.timeoutIntervalForResource = timeout
            configuration.httpMaximumConnectionsPerHost = 1
            let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
            let task = session.dataTask(with: request)
            let started: Bool = lock.withLock {
                guard self.completion != nil else { return false }  // the deadline came first
                self.session = session
                self.task = task
                return true
            }
            guard started else { return session.invalidateAndCancel() }
            task.resume()
        }
    }

    /// Answers once: the first of the transfer's end, a refusal and the deadline wins; the
    /// others find nothing left to do. The slot is given back exactly once.
    private func finish(_ result: Result<Fetched, Failure>) {
        let (completion, session, task, caller) = lock.withLock {
            () -> ((@Sendable (Result<Fetched, Failure>) -> Void)?, URLSession?, URLSessionDataTask?, String) in
            let taken = self.completion
            self.completion = nil
            return (taken, self.session, self.task, self.caller)
        }
        guard let completion else { return }
        Self.counter.withLock {
            Self.inFlight -= 1
            let left = Self.inFlightByCaller[caller, default: 1] - 1
            Self.inFlightByCaller[caller] = left > 0 ? left : nil
        }
        task?.cancel()
        session?.finishTasksAndInvalidate()
        completion(result)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        lock.withLock { self.response = response as? HTTPURLResponse }
        if response.expectedContentLength > Int64(maxBytes) {
            lock.withLock { failure = "The document is larger than \(maxBytes) bytes." }
            return completionHandler(.cancel)
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let over: Bool = lock.withLock {
            received.append(contentsOf: data)
            if received.count > maxBytes {
                failure = "The document is larger than \(maxBytes) bytes."
                return true
            }
            return false
        }
        if over { dataTask.cancel() }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        lock.withLock { failure = "The document's URL redirects (HTTP \(response.statusCode)); it must be served where it is named." }
        completionHandler(nil)
        task.cancel()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let (response, body, failure) = lock.withLock { (self.response, received, self.failure) }
        if let failure { return finish(.failure(Failure(description: failure))) }
        if let error { return finish(.failure(Failure(description: "The fetch failed: \(error.localizedDescription)"))) }
        guard let response else { return finish(.failure(Failure(description: "No answer"))) }
        var maxAge: Int64?
        if let cacheControl = response.value(forHTTPHeaderField: "Cache-Control")?.lowercased() {
            for directive in cacheControl.split(separator: ",") {
                let parts = directive.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == "max-age", let seconds = Int64(parts[1]) { maxAge = seconds }
                if parts.count == 1, parts[0] == "no-store" || parts[0] == "no-cache" { maxAge = 0 }
            }
        }
        finish(
            .success(
                Fetched(
                    status: response.statusCode, contentType: response.value(forHTTPHeaderField: "Content-Type") ?? "", body: body,
                    maxAge: maxAge)))
    }

    /// Why `host` may not be fetched (it resolves to an address inside a network), or nil.
    static func refusedAddress(host: String, port: Int) -> String? { NetworkAddress.refused(host: host, port: port) }
    static func isInternal(ipv4 b: [UInt8]) -> Bool { NetworkAddress.isInternal(ipv4: b) }
}

/// Whether a request that needs a document fetches it, waits for the fetch under way, or (too
/// many waiting already) goes on without it.
enum FetchTurn { case fetch, wait, full }

/// Documents fetched for callers and kept until they expire (key directories, platform
/// profiles): each URL is fetched once at a time — requests that need it meanwhile wait for that
/// fetch (at most 256 per URL; more go on without it) — and what a fetch taught is kept as an
/// `Entry` until its `until`. A busy gateway's refusal taught nothing and is not kept.
final class FetchedDocuments<Entry: Sendable>: @unchecked Sendable {
    private let cache: BoundedMemo<String, Entry>
    private let until: @Sendable (Entry) -> Int64
    private let lock = NSLock()
    private var waiting: [String: [@Sendable () -> Void]] = [:]

    init(capacity: Int, until: @escaping @Sendable (Entry) -> Int64) {
        cache = BoundedMemo(capacity: capacity)
        self.until = until
    }

    /// What is known of `url`, unless it expired.
    func known(_ url: String, now: Int64 = unixNow()) -> Entry? {
        guard let entry = cache[url], until(entry) > now else { return nil }
        return entry
    }

    /// Fetches `url` with `fetch` unless it is known, turns the answer into an entry with
    /// `entry`, and runs `then` once it is known (on a background queue).
    func load(
        _ url: String, fetch: BoundedFetch, accept: String, caller: String,
        entry: @escaping @Sendable (Result<BoundedFetch.Fetched, BoundedFetch.Failure>) -> Entry,
        then: @escaping @Sendable () -> Void
    ) {
        if known(url) != nil { return then() }
        let turn: FetchTurn = lock.withLock {
            if var list = waiting[url] {
                guard list.count < 256 else { return .full }
                list.append(then)
                waiting[url] = list
                return .wait
            }
            waiting[url] = [then]
            return .fetch
        }
        switch turn {
        case .wait: return
        case .full: return then()
        case .fetch: break
        }
        fetch.get(url, accept: accept, caller: caller) { [self] result in
            if case .failure(let failure) = result, failure.transient {} else { cache.insert(url, entry(result)) }
            let waiters = lock.withLock { waiting.removeValue(forKey: url) ?? [] }
            for waiter in waiters { DispatchQueue.global().async(execute: waiter) }
        }
    }
}
