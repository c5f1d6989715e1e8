import Crypto
import Foundation
import JSON
import Store
import StorefrontDomain

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Delivers order events to the merchant's webhook endpoints from the outbox in the store:
/// signed with HMAC-SHA256, in order per order and endpoint, retried with exponential backoff
/// and jitter, dead-lettered after `maxAttempts`, at least once (a crash before the receiver's
/// answer is recorded means a second delivery with the same event id).
public final class WebhookDispatcher: @unchecked Sendable {
    public struct Settings: Sendable {
        public var maxAttempts = 8
        /// The first retry waits about this long; each further one twice as long, up to `maxDelay`.
        public var baseDelay: Double = 2
        public var maxDelay: Double = 3600
        public var timeout: Double = 10
        public init() {}
    }

    let database: Database
    let secret: String
    let settings: Settings
    /// Signs deliveries to UCP platforms (RFC 9421 with the store's key; the key is in the
    /// profile at `profileURL`).
    public var ucpSigner: (key: StoreSigningKey, profileURL: String)?
    /// The shared secret of each ACP platform's order webhook, by URL (`Merchant-Signature`).
    public var acpSecrets: [String: String] = [:]
    private let wake = DispatchSemaphore(value: 0)
    private var thread: Thread?
    private let lock = NSLock()
    private var running = false
    private let stopped = DispatchSemaphore(value: 0)
    /// Deliveries follow no redirect: a receiver's 3xx would re-send the signed body wherever it points.
    static let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)

    /// A claimed delivery is invisible to other dispatchers for this long.
    static let lease: Int64 = 60

    public init(database: Database, secret: String, settings: Settings = Settings()) {
        self.database = database
        self.secret = secret
        self.settings = settings
    }

    /// `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` — what the receiver recomputes.
    public static func signature(secret: String, timestamp: Int64, body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=\(hexString(Data(mac)))"
    }

    /// The signing secret: from a file, else the one kept in the store, else a new one
    /// (returned so it can be shown once).
    public static func secret(in database: Database, fromFile: String?) throws -> (secret: String, isNew: Bool) {
        if let fromFile {
            let text = try String(contentsOfFile: fromFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            return (text, false)
        }
        let fresh = "whsec_" + APIKey.random(40)
        return try database.write { db in
            if let existing = try db.queryOne("SELECT value FROM settings WHERE key = 'webhook_secret'")?[0].string {
                return (existing, false)
            }
            try db.run("INSERT INTO settings (key, value) VALUES ('webhook_secret', ?)", [.text(fresh)])
            return (fresh, true)
        }
    }

    public func start() {
        lock.withLock { running = true }
        let thread = Thread { self.loop() }
        thread.name = "webhooks"
        self.thread = thread
        thread.start()
    }

    public func stop() {
        let wasRunning = lock.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        wake.signal()
        stopped.wait()
    }

    private var isRunning: Bool { lock.withLock { running } }

    private func loop() {
        while isRunning {
            let delivered = (try? deliverDue()) ?? 0
            if delivered == 0 { _ = wake.wait(timeout: .now() + 0.5) }
        }
        stopped.signal()
    }

    /// Claims the due deliveries (the oldest undelivered one of each order and endpoint) and
    /// sends them; returns how many were attempted. A claim moves the delivery's next attempt a
    /// lease ahead, so no other dispatcher takes it while it is being sent (nor after a crash,
    /// until the lease ends). On PostgreSQL the claim takes row locks, skipping rows another
    /// node is claiming, and not the writer lock: deliveries go on while checkouts write.
    func deliverDue() throws -> Int {
        let now = unixNow()
        let skipLocked = database.backend == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let claimed = try database.writeLockingRows { db -> [Row] in
            try db.query(
                """
                UPDATE webhook_outbox SET next_attempt_at = ?2 WHERE id IN (
                    SELECT id FROM webhook_outbox o WHERE status = 'pending' AND next_attempt_at <= ?1
                    AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.url = o.url AND p.order_id = o.order_id
                                    AND p.id < o.id AND p.status = 'pending')
                    ORDER BY id LIMIT 20\(skipLocked))
                RETURNING *
                """, [.integer(now), .integer(now + Self.lease)])
        }.sorted { ($0["id"].int ?? 0) < ($1["id"].int ?? 0) }
        for row in claimed where isRunning { try attempt(row) }
        return claimed.count
    }

    private func attempt(_ row: Row) throws {
        let id = row["id"].int ?? 0
        let body = row["body"].string ?? "{}"
        let timestamp = unixNow()
        // A URL that does not parse (a platform file edited by hand) is dead at once, not retried.
        guard let target = URL(string: row["url"].string ?? ""), target.scheme == "https" || target.scheme == "http", target.host != nil
        else {
            _ = try database.writeLockingRows { db in
                try db.run(
                    "UPDATE webhook_outbox SET status = 'dead', last_error = 'the URL is not an http(s) URL' WHERE id = ?", [.integer(id)])
            }
            return
        }
        var request = URLRequest(url: target, timeoutInterval: settings.timeout)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        // A delivery this node cannot sign (its platform is no longer configured) fails like one
        // nobody answered, and is dead-lettered in the end.
        var unsendable: String?
        if row["scheme"].string == "acp" {
            if let secret = acpSecrets[row["url"].string ?? ""] {
            // ACP's Merchant-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with the platform's secret.
            request.setValue(Self.signature(secret: secret, timestamp: timestamp, body: body), forHTTPHeaderField: "Merchant-Signature")
            request.setValue(row["event_id"].string, forHTTPHeaderField: "Request-Id")
            request.setValue(isoTime(timestamp), forHTTPHeaderField: "Timestamp")
            } else {
                unsendable = "no secret is configured for this ACP platform (--acp-platforms)"
            }
        } else if row["scheme"].string == "ucp" {
            if let signer = ucpSigner, let url = request.url {
                let headers = try Self.ucpHeaders(
                    url: url, body: Array(body.utf8), eventID: row["event_id"].string ?? "", timestamp: timestamp, signer: signer)
                for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            } else {
                unsendable = "no key signs UCP deliveries on this node"
            }
        } else {
            request.setValue(row["event_id"].string, forHTTPHeaderField: "Storefront-Event-Id")
            request.setValue(row["type"].string, forHTTPHeaderField: "Storefront-Event-Type")
            request.setValue(Self.signature(secret: secret, timestamp: timestamp, body: body), forHTTPHeaderField: "Storefront-Signature")
        }
        request.setValue("Storefront-Webhooks/\(StorefrontVersion.current)", forHTTPHeaderField: "User-Agent")
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var status = 0
        nonisolated(unsafe) var failure: String? = unsendable
        if unsendable == nil {
            Self.session.dataTask(with: request) { _, response, error in
                status = (response as? HTTPURLResponse)?.statusCode ?? 0
                failure = error.map { "\($0.localizedDescription)" }
                done.signal()
            }.resume()
            done.wait()
        }
        let attempts = (row["attempts"].int ?? 0) + 1
        // The outcome changes this delivery's row alone (the claim holds it for its lease).
        try database.writeLockingRows { db in
            if (200..<300).contains(status) {
                try db.run(
                    "UPDATE webhook_outbox SET status = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ?",
                    [.integer(attempts), .integer(unixNow()), .integer(id)])
            } else {
                let error = failure ?? "HTTP \(status)"
                let dead = attempts >= Int64(self.settings.maxAttempts)
                let delay = min(self.settings.baseDelay * pow(2, Double(attempts - 1)), self.settings.maxDelay) * Double.random(in: 0.5...1.0)
                // Due in whole seconds, rounded up from the exact time: a retry is never sooner
                // than its delay (from the whole second now, a failure at x.99 s retried at once).
                let due = Int64((Date().timeIntervalSince1970 + delay).rounded(.up))
                try db.run(
                    "UPDATE webhook_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                    [.text(dead ? "dead" : "pending"), .integer(attempts), .integer(due), .text(error), .integer(id)])
            }
        }
    }

    /// The headers of an order sent to a UCP platform (UCP's signatures.md): the Standard
    /// Webhooks id and timestamp, `UCP-Agent` naming this store's profile, the RFC 9530
    /// `Content-Digest` of the body, and an RFC 9421 signature (`sig1`, ES256 — r ‖ s — by the
    /// profile's P-256 key, `keyid` = its `kid`) over the method, authority, path and those headers.
    public static func ucpHeaders(
        url: URL, body: [UInt8], eventID: String, timestamp: Int64, signer: (key: StoreSigningKey, profileURL: String)
    ) throws -> [(String, String)] {
        let digest = "sha-256=:" + Data(SHA256.hash(data: Data(body))).base64EncodedString() + ":"
        let agent = "profile=\"\(signer.profileURL)\""
        // RFC 9421: the authority as sent (an IPv6 literal in brackets), the path as sent (still
        // percent-encoded, with its trailing slash).
        let host = (url.host ?? "").lowercased()
        var authority = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        if let port = url.port, !(url.scheme == "https" && port == 443), !(url.scheme == "http" && port == 80) { authority += ":\(port)" }
        let encodedPath = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? url.path
        let path = encodedPath.isEmpty ? "/" : encodedPath
        let covered: [(String, String)] = [
            ("@method", "POST"), ("@authority", authority), ("@path", path), ("content-digest", digest),
            ("content-type", "application/json"), ("ucp-agent", agent), ("webhook-id", eventID), ("webhook-timestamp", String(timestamp)),
        ]
        let parameters = "(" + covered.map { "\"\($0.0)\"" }.joined(separator: " ") + ");created=\(timestamp);keyid=\"\(signer.key.es256.keyID)\""
        let base = (covered.map { "\"\($0.0)\": \($0.1)" } + ["\"@signature-params\": " + parameters]).joined(separator: "\n")
        let signature = try signer.key.es256.sign(Array(base.utf8)).base64EncodedString()
        return [
            ("Webhook-Id", eventID), ("Webhook-Timestamp", String(timestamp)), ("UCP-Agent", agent), ("Content-Digest", digest),
            ("Signature-Input", "sig1=" + parameters), ("Signature", "sig1=:" + signature + ":"),
        ]
    }

    // MARK: Administration

    public static func list(in database: Database, status: String?) throws -> [JSON] {
        try database.read { db in
            try db.query(
                "SELECT * FROM webhook_outbox WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT 500", [SQLValue(status)]
            ).map { row in
                [
                    "id": .int(row["id"].int ?? 0), "event_id": .string(row["event_id"].string ?? ""),
                    "url": .string(row["url"].string ?? ""), "type": .string(row["type"].string ?? ""),
                    "order_id": JSON(row["order_id"].string), "status": .string(row["status"].string ?? ""),
                    "attempts": .int(row["attempts"].int ?? 0), "last_error": JSON(row["last_error"].string),
                    "next_attempt_at": .string(isoTime(row["next_attempt_at"].int ?? 0)),
                    "delivered_at": row["delivered_at"].int.map { .string(isoTime($0)) } ?? .null,
                ]
            }
        }
    }

    /// Puts a dead (or delivered) delivery back in the queue, to be sent at once.
    public static func replay(_ id: Int64, in database: Database) throws -> Bool {
        try database.write { db in
            try db.run(
                "UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL WHERE id = ?",
                [.integer(unixNow()), .integer(id)]) == 1
        }
    }
}

/// Refuses every redirect (the 3xx is the delivery's answer: not delivered).
final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
