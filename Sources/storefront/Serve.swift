import ArgumentParser
import Foundation
import HTTPServer
import JSON
import Store
import StorefrontActions
import StorefrontApp
import StorefrontDomain
import StorefrontHTTP
import StorefrontTelemetry
import StorefrontStore

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the store in a manifests folder to agents over HTTP.")

    @Option(help: "The folder with store.json, catalog.json, pricing.json and policies.json.")
    var manifests: String = "manifests"

    @Option(help: "The SQLite store file; created on first start.")
    var store: String = "storefront.db"

    @Option(help: "The address to listen on (IPv4 or IPv6; 0.0.0.0 for every interface).")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port: UInt16 = 8080

    @Option(help: "Threads in the HTTP server's epoll pool (default: the number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "The URL agents use to reach this gateway (default: http://HOST:PORT).")
    var publicURL: String?

    @Option(help: "The JSON Schemas folder (default: ./schemas or the one shipped beside the binary).")
    var schemas: String?

    @Option(help: "The dashboard folder served at /dashboard/ (default: ./public).")
    var publicDirectory: String?

    @Option(
        name: .customLong("allowed-origin"),
        help: "A browser origin allowed to call /mcp (repeatable; http://host:* allows any port). The public URL's origin and localhost are always allowed.")
    var allowedOrigins: [String] = []

    @Option(
        help: "A JSON file of the UCP platforms this store negotiates with: {\"<platform profile URL>\": <its profile>}. A UCP-Agent naming another platform is refused (424).")
    var ucpPlatforms: String?

    @Option(
        help: "A JSON file of the ACP platforms onboarded: {\"<the agent id issued to the platform>\": {\"webhook_url\", \"secret\"}}. Orders made with that identity are sent there (Merchant-Signature).")
    var acpPlatforms: String?

    /// Who may register agents.
    enum Registration: String, ExpressibleByArgument, CaseIterable {
        case open, invite
    }

    @Option(help: "Who registers agents: open (agents call POST /agents/register) or invite (only the merchant, by CLI or admin API).")
    var registration: Registration = .open

    @Option(help: "Read the admin token from this file instead of generating one on first start.")
    var adminTokenFile: String?

    @Option(help: "Require this token (read from the file) as Authorization: Bearer on /metrics; the admin token works too. Without it /metrics is open.")
    var metricsTokenFile: String?

    @Option(help: "Seconds a purchase above the approval threshold waits for the principal.")
    var approvalTTL: Int64 = 24 * 3600

    @Option(name: .customLong("oauth-access-token-ttl"), help: "Seconds an OAuth access token lives (refresh tokens rotate and last 30 days).")
    var oauthAccessTokenTTL: Int64 = 900

    @Flag(
        name: .customLong("ucp-listed-platforms-only"),
        help: "Negotiate UCP only with the platforms in --ucp-platforms; by default another platform's profile is fetched at the URL its UCP-Agent names (https, no redirects, bounded).")
    var ucpListedPlatformsOnly = false

    @Flag(
        name: .customLong("allow-private-fetches"),
        help: "Let documents the gateway fetches for callers (OAuth client metadata documents, Web Bot Auth key directories) be http and on private or loopback addresses. For tests on one machine only.")
    var allowPrivateFetches = false

    @Option(help: "Seconds between sweeps that expire overdue approvals and delete what outlived its retention.")
    var sweepInterval: Double = 30

    @Option(name: .customLong("mcp-session-ttl"), help: "Seconds an unused MCP session lives; then it is gone with its events.")
    var mcpSessionTTL: Int64 = 3600

    @Option(name: .customLong("mcp-sessions-per-creator"), help: "Live MCP sessions per agent or anonymous client address; a new one ends the least recently used.")
    var mcpSessionsPerCreator: Int = 1000

    @Option(name: .customLong("checkout-ttl"), help: "Seconds an abandoned checkout or cart (never completed) is kept after its last change.")
    var checkoutTTL: Int64 = 24 * 3600

    @Option(name: .customLong("idempotency-ttl"), help: "Seconds an idempotency record is kept (a retry after that is a new request).")
    var idempotencyTTL: Int64 = 24 * 3600

    @Option(help: "Days raw analytics events and refused-attempt counts are kept (per-minute rollups stay).")
    var analyticsRetentionDays: Int64 = 30

    @Option(help: "Trail entries between signed checkpoints.")
    var checkpointEvery: Int64 = 100

    @Option(help: "The store's Ed25519 signing key file (a private JWK, mode 0600; default: STORE.key, created on first start).")
    var signingKey: String?

    @Option(name: .customLong("webhook"), help: "A URL that receives every order event as a signed POST (repeatable).")
    var webhooks: [String] = []

    @Option(help: "Read the webhook signing secret from this file (default: generated on first start and kept).")
    var webhookSecretFile: String?

    @Option(help: "Seconds before the first webhook retry; each later one waits twice as long (with jitter).")
    var webhookRetryBase: Double = 2

    @Option(help: "Attempts before a webhook delivery is dead-lettered.")
    var webhookMaxAttempts: Int = 8

    @Option(help: "Where Chart.js is (Debian's libjs-chart.js), served to the dashboard at /vendor/chart.js/.")
    var chartJS: String = "/usr/share/javascript/chart.js"

    @Flag(
        inversion: .prefixedNo,
        help: "Answer repeated read-only catalog calls (search, lookup, product, pricing, policies, compare, quote) from a cache that follows the data they read.")
    var resultCache = true

    @Option(help: "Megabytes of results the result cache keeps.")
    var resultCacheMegabytes = 32

    @Flag(inversion: .prefixedNo, help: "Record every request for agent analytics (the dashboard's data).")
    var analytics = true

    @Option(help: "Analytics events held in memory before they are written; beyond it events are dropped and counted.")
    var analyticsQueue: Int = 50_000

    @Option(
        name: .customLong("otel-metrics-endpoint"),
        help: "Export the gateway's metrics over OpenTelemetry (OTLP/HTTP, protobuf) to this URL (a collector's http://host:4318/v1/metrics), beside /metrics.")
    var otelMetricsEndpoint: String?

    @Option(name: .customLong("otel-metrics-interval"), help: "Seconds between OpenTelemetry metric exports.")
    var otelMetricsInterval: Double = 10

    @Option(help: "The largest request body accepted, in bytes.")
    var maxBodyBytes: Int = 1 << 20

    @Option(help: "Tools per page of MCP tools/list (default: every tool on one page; clients follow nextCursor beyond it).")
    var toolsPageSize: Int = 100

    @Option(help: "The most simultaneous connections.")
    var connectionLimit: Int = 4096

    @Option(help: "Seconds an idle connection is kept open.")
    var connectionTimeout: Int = 30

    @Option(help: "Refusals (429) a client address gets at once in a second; beyond them each is sent after --refusal-delay (0: never delayed).")
    var refusalsPerSecond: Int = 1000

    @Option(help: "Seconds a paced refusal waits before it is sent (the connection is suspended meanwhile).")
    var refusalDelay: Double = 1

    @Option(
        name: .customLong("rate-limit"),
        help: ArgumentHelp(
            "A rate limit, CLASS=RATE/PERIOD[,burst=N] or CLASS=off (repeatable; applied after --rate-limits): CLASS is reads, writes, registration or checkout for agents, anonymous.CLASS for client addresses; e.g. checkout=60/1m,burst=10.",
            valueName: "class=rate"))
    var rateLimitSettings: [String] = []

    @Option(
        name: .customLong("rate-limits"),
        help: "A JSON file of rate limits: {\"reads\": \"6000/60s,burst=3000\", \"anonymous.checkout\": \"off\", ...} over the defaults; {\"enabled\": false} lifts them all.")
    var rateLimitsFile: String?

    @Flag(help: "Limit nothing (for benchmarks and trusted networks): no buckets, no RateLimit headers.")
    var noRateLimits = false

    /// The defaults, then the file, then each --rate-limit.
    func rateLimitPolicy() throws -> RateLimitPolicy {
        if noRateLimits { return .unlimited }
        var policy = RateLimitPolicy.defaults
        do {
            if let rateLimitsFile {
                let data = try Data(contentsOf: URL(fileURLWithPath: rateLimitsFile))
                try policy.apply(file: try JSON.parse(bytes: Array(data)))
            }
            for setting in rateLimitSettings { try policy.apply(setting) }
        } catch let error as RateLimitPolicy.SettingError {
            throw ValidationError("--rate-limit: \(error.description)")
        } catch {
            throw ValidationError("--rate-limits \(rateLimitsFile ?? ""): \(error)")
        }
        return policy
    }
    @Option(help: "Connections kept for authenticated agents and the merchant: anonymous requests get 503 once open connections exceed the connection limit minus this.")
    var reservedConnections: Int = 256

    @Option(help: "Open connections one client address may hold and still be served anonymously (0: no limit).")
    var maxConnectionsPerAddress: Int = 256

    @Option(help: "Anonymous streams (GET /mcp, ...) open at once, from all addresses (0: no limit).")
    var maxAnonymousStreams: Int = 1024

    @Option(help: "Anonymous streams one client address may hold (0: no limit).")
    var maxStreamsPerAddress: Int = 32

    @Option(help: "Streams one agent (or the merchant) may hold (0: no limit).")
    var maxStreamsPerAgent: Int = 32

    @Option(help: "Seconds an anonymous stream may go without an event before it is closed; keep-alives do not count (0: never).")
    var streamIdleTimeout: Double = 300

    @Option(help: "Seconds between keep-alive comments on idle streams.")
    var streamKeepalive: Double = 15

    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be from 1 to 256.") }
        guard refusalsPerSecond >= 0, refusalDelay >= 0, refusalDelay <= 60 else {
            throw ValidationError("--refusals-per-second must be at least 0 and --refusal-delay between 0 and 60 seconds.")
        }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024.") }
        guard connectionLimit >= 1 else { throw ValidationError("--connection-limit must be at least 1.") }
        guard (1...1000).contains(toolsPageSize) else { throw ValidationError("--tools-page-size must be from 1 to 1000.") }
        guard reservedConnections >= 0, reservedConnections < connectionLimit else {
            throw ValidationError("--reserved-connections must be from 0 to below --connection-limit.")
        }
        guard maxConnectionsPerAddress >= 0, maxAnonymousStreams >= 0, maxStreamsPerAddress >= 0, maxStreamsPerAgent >= 0,
            streamIdleTimeout >= 0
        else { throw ValidationError("Connection and stream limits and --stream-idle-timeout must not be negative.") }
        guard streamKeepalive >= 0.1 else { throw ValidationError("--stream-keepalive must be at least 0.1 seconds.") }
        guard analyticsQueue >= 1 else { throw ValidationError("--analytics-queue must be at least 1.") }
        for url in webhooks {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw ValidationError("--webhook takes an http or https URL, not \(url).")
            }
        }
        guard webhookRetryBase > 0, webhookMaxAttempts >= 1 else {
            throw ValidationError("--webhook-retry-base must be positive and --webhook-max-attempts at least 1.")
        }
        guard mcpSessionTTL >= 1, mcpSessionsPerCreator >= 1, checkoutTTL >= 1, idempotencyTTL >= 1, analyticsRetentionDays >= 1 else {
            throw ValidationError(
                "--mcp-session-ttl, --mcp-sessions-per-creator, --checkout-ttl, --idempotency-ttl and --analytics-retention-days must be positive.")
        }
        guard oauthAccessTokenTTL >= 1, oauthAccessTokenTTL <= 24 * 3600 else {
            throw ValidationError("--oauth-access-token-ttl is 1 to 86400 seconds: access tokens are short-lived.")
        }
        guard approvalTTL >= 1, sweepInterval > 0, checkpointEvery >= 1 else {
            throw ValidationError("--approval-ttl, --sweep-interval and --checkpoint-every must be positive.")
        }
        _ = try rateLimitPolicy()
    }

    func run() throws {
        // Signals are caught from the first moment, so a SIGTERM during start-up still ends
        // in a clean stop rather than the default kill.
        let termination = TerminationSignal()
        raiseOpenFileLimit()
        let schemaLibrary = try ProjectFolder.schemas(schemas)
        let storeManifests: StoreManifests
        do {
            storeManifests = try StoreManifests.load(from: URL(fileURLWithPath: manifests), schemas: schemaLibrary)
        } catch let error as ManifestValidationError {
            print("storefront: cannot start: \(error)", to: &standardError)
            throw ExitCode(65)
        } catch let error as ManifestError {
            print("storefront: cannot start: \(error)", to: &standardError)
            throw ExitCode(65)
        }
        let database: Database
        do {
            database = try StoreOpener.open(store)
        } catch {
            print("storefront: cannot open the store \(StoreOpener.describe(store)): \(error)", to: &standardError)
            throw ExitCode(74)
        }

        var serverConfiguration = ServerConfiguration()
        serverConfiguration.host = host
        serverConfiguration.port = port
        serverConfiguration.threads = threads
        serverConfiguration.maxBodyBytes = maxBodyBytes
        serverConfiguration.connectionLimit = connectionLimit
        serverConfiguration.connectionTimeout = connectionTimeout
        serverConfiguration.admission.reservedConnections = reservedConnections
        serverConfiguration.admission.connectionsPerAddress = maxConnectionsPerAddress
        serverConfiguration.admission.anonymousStreams = maxAnonymousStreams
        serverConfiguration.admission.streamsPerAddress = maxStreamsPerAddress
        serverConfiguration.admission.streamsPerPrincipal = maxStreamsPerAgent
        serverConfiguration.admission.streamIdleTimeout = streamIdleTimeout
        Gateway.streamKeepAliveInterval = streamKeepalive

        // The router is built after the port is known, so documents carry the right URLs.
        let router = RouterBox()
        let server = HTTPServer(configuration: serverConfiguration) { router.route($0) }
        do {
            try server.start()
        } catch {
            print("storefront: \(error)", to: &standardError)
            throw ExitCode(69)
        }
        let hostForURL = host.contains(":") ? "[\(host)]" : (host == "0.0.0.0" ? "127.0.0.1" : host)
        let baseURL = publicURL ?? "http://\(hostForURL):\(server.port)"
        var gatewayConfiguration = GatewayConfiguration(
            publicURL: baseURL,
            publicDirectory: publicDirectory ?? ProjectFolder.locate("public")?.path)
        gatewayConfiguration.maxBodyBytes = maxBodyBytes
        gatewayConfiguration.allowedOrigins = allowedOrigins
        gatewayConfiguration.toolsPageSize = toolsPageSize
        gatewayConfiguration.openRegistration = registration == .open
        gatewayConfiguration.approvalTTL = approvalTTL
        gatewayConfiguration.oauthAccessTokenTTL = oauthAccessTokenTTL
        gatewayConfiguration.allowPrivateFetches = allowPrivateFetches
        gatewayConfiguration.ucpDiscoverPlatforms = !ucpListedPlatformsOnly
        gatewayConfiguration.sweepInterval = sweepInterval
        gatewayConfiguration.retention.mcpSessionTTL = mcpSessionTTL
        gatewayConfiguration.retention.checkoutTTL = checkoutTTL
        gatewayConfiguration.retention.idempotencyTTL = idempotencyTTL
        gatewayConfiguration.retention.analyticsRetentionDays = analyticsRetentionDays
        gatewayConfiguration.mcpSessionsPerCreator = mcpSessionsPerCreator
        gatewayConfiguration.checkpointEvery = checkpointEvery
        gatewayConfiguration.signingKeyPath = signingKey
        gatewayConfiguration.webhookURLs = webhooks
        if let ucpPlatforms {
            do {
                let document = try JSON.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: ucpPlatforms))))
                guard let platforms = document.objectValue else { throw ValidationError("not a JSON object") }
                for (url, profile) in platforms {
                    for capability in profile["ucp"]?["capabilities"]?["dev.ucp.shopping.order"]?.arrayValue ?? [] {
                        if let webhook = capability["config"]?["webhook_url"]?.stringValue, !Self.isWebhookURL(webhook) {
                            throw ValidationError("\(url): the order webhook_url \(webhook) is not an http(s) URL")
                        }
                    }
                }
                gatewayConfiguration.ucpPlatforms = platforms
            } catch {
                throw ValidationError("--ucp-platforms \(ucpPlatforms): \(error)")
            }
        }
        if let acpPlatforms {
            do {
                let document = try JSON.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: acpPlatforms))))
                guard let platforms = document.objectValue,
                    platforms.values.allSatisfy({
                        Self.isWebhookURL($0["webhook_url"]?.stringValue) && ($0["secret"]?.stringValue?.count ?? 0) >= 16
                    })
                else {
                    throw ValidationError("each platform needs an http(s) webhook_url and a secret of 16 characters or more")
                }
                for (id, platform) in platforms {
                    guard let signing = platform["request_signing"] else { continue }
                    let alg = signing["alg"]?.stringValue?.lowercased() ?? ""
                    let key = signing["public_key"]
                    let usable = alg == "hmac-sha256"
                        || (alg == "ed25519" && key?["kty"]?.stringValue == "OKP" && key?["x"]?.stringValue != nil)
                        || (alg == "es256" && key?["kty"]?.stringValue == "EC" && key?["x"]?.stringValue != nil && key?["y"]?.stringValue != nil)
                    guard usable else {
                        throw ValidationError(
                            "\(id): request_signing is {\"alg\": \"hmac-sha256\"} (the shared secret), or ed25519 / es256 with its public_key JWK")
                    }
                }
                gatewayConfiguration.acpPlatforms = platforms
            } catch {
                throw ValidationError("--acp-platforms \(acpPlatforms): \(error)")
            }
        }
        // Admin commands given only this store file find the manifests and the webhooks here.
        try? ServedConfiguration.record(
            manifests: URL(fileURLWithPath: manifests), webhookURLs: webhooks,
            ucpPublicURL: gatewayConfiguration.sendsOrdersToPlatforms ? baseURL : nil, publicURL: baseURL, in: database)
        gatewayConfiguration.recordsAnalytics = analytics
        gatewayConfiguration.analyticsQueueCapacity = analyticsQueue
        gatewayConfiguration.resultCacheBytes = resultCache ? resultCacheMegabytes << 20 : 0
        gatewayConfiguration.chartJSDirectory = chartJS
        if let metricsTokenFile {
            guard let text = try? String(contentsOfFile: metricsTokenFile, encoding: .utf8),
                case let token = text.trimmingCharacters(in: .whitespacesAndNewlines), token.count >= 16
            else {
                server.stop()
                print("storefront: cannot read a metrics token of at least 16 characters from \(metricsTokenFile).", to: &standardError)
                throw ExitCode(78)
            }
            gatewayConfiguration.metricsToken = token
        }
        gatewayConfiguration.rateLimits = try rateLimitPolicy()
        gatewayConfiguration.refusalsPerSecond = refusalsPerSecond
        gatewayConfiguration.refusalDelay = refusalDelay
        let gateway: Gateway
        do {
            gateway = try Gateway(
                configuration: gatewayConfiguration, manifests: storeManifests, database: database,
                schemas: schemaLibrary)
        } catch {
            server.stop()
            database.close()
            print("storefront: cannot start: \(error)", to: &standardError)
            throw ExitCode(70)
        }
        // The admin token is in the store before the first request is routed, so an admin call
        // made as soon as /status answers is never refused for want of it.
        server.setClassifier { gateway.principal(of: $0) }
        do {
            if let token = try AdminToken.ensure(in: database, fromFile: adminTokenFile) {
                print("admin token (shown once; keep it): \(token)")
                fflush(nil)
            }
        } catch {
            print("storefront: \(error)", to: &standardError)
            throw ExitCode(78)
        }
        router.set { gateway.handle($0) }

        var telemetry: OTelMetricsExport?
        if let otelMetricsEndpoint {
            guard let url = URL(string: otelMetricsEndpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
                otelMetricsInterval >= 0.1
            else {
                print("storefront: --otel-metrics-endpoint must be an http(s) URL and --otel-metrics-interval at least 0.1 s.", to: &standardError)
                throw ExitCode(64)
            }
            var settings = OTelMetricsExport.Settings(endpoint: otelMetricsEndpoint)
            settings.interval = otelMetricsInterval
            do {
                telemetry = try OTelMetricsExport(gateway: gateway, settings: settings)
            } catch {
                print("storefront: cannot export OpenTelemetry metrics: \(error)", to: &standardError)
                throw ExitCode(78)
            }
        }

        var dispatcher: WebhookDispatcher?
        if !webhooks.isEmpty || gatewayConfiguration.sendsOrdersToPlatforms {
            do {
                // The merchant's endpoints are signed with the HMAC secret; UCP platforms with the store's key.
                var secret = ""
                if !webhooks.isEmpty {
                    let (kept, isNew) = try WebhookDispatcher.secret(in: database, fromFile: webhookSecretFile)
                    if isNew { print("webhook signing secret (shown once; give it to your receiver): \(kept)") }
                    secret = kept
                }
                var settings = WebhookDispatcher.Settings()
                settings.baseDelay = webhookRetryBase
                settings.maxAttempts = webhookMaxAttempts
                dispatcher = WebhookDispatcher(database: database, secret: secret, settings: settings)
                dispatcher?.ucpSigner = (gateway.signingKey, baseURL + "/.well-known/ucp")
                dispatcher?.acpSecrets = Dictionary(
                    gatewayConfiguration.acpPlatforms.values.compactMap { platform in
                        platform["webhook_url"]?.stringValue.flatMap { url in platform["secret"]?.stringValue.map { (url, $0) } }
                    }, uniquingKeysWith: { first, _ in first })
                dispatcher?.start()
            } catch {
                print("storefront: cannot read the webhook secret: \(error)", to: &standardError)
                throw ExitCode(78)
            }
        }

        print(
            "storefront \(StorefrontVersion.current): serving \(storeManifests.storeName) "
                + "(\(storeManifests.declaredProductCount) products) at \(baseURL) — store \(StoreOpener.describe(store)), "
                + "\(threads) thread\(threads == 1 ? "" : "s")")
        print("agent entry point: \(baseURL)/agents")
        print("merchant dashboard: \(baseURL)/dashboard/")
        fflush(nil)

        termination.wait()
        print("storefront: stopping (finishing requests in flight)")
        fflush(nil)
        server.stop()
        gateway.stop()
        telemetry?.stop()
        dispatcher?.stop()
        database.close()
        print("storefront: stopped cleanly")
        fflush(nil)
    }

    /// An http(s) URL with a host (what the webhook dispatcher can send to).
    static func isWebhookURL(_ text: String?) -> Bool {
        guard let text, let url = URL(string: text), let scheme = url.scheme, scheme == "https" || scheme == "http" else { return false }
        return url.host?.isEmpty == false
    }
}

/// Holds the gateway's handler once it exists; requests before that get 503.
final class RouterBox: @unchecked Sendable {
    /// One reference to take under the lock per request.
    final class Holder: @unchecked Sendable {
        let handler: Handler
        init(_ handler: @escaping Handler) { self.handler = handler }
    }
    private let lock = NSLock()
    private var holder: Holder?

    func set(_ handler: @escaping Handler) { lock.withLock { self.holder = Holder(handler) } }

    func route(_ request: Request) -> Response {
        guard let holder = lock.withLock({ self.holder }) else {
            return Response.error(
                status: 503, type: "service_unavailable", code: "starting", message: "The gateway is starting; retry.",
                headers: [("Retry-After", "1")])
        }
        return holder.handler(request)
    }
}

/// SIGINT and SIGTERM, caught from creation on; `wait` returns once either arrived.
final class TerminationSignal {
    private let received = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [received] in received.signal() }
            source.resume()
            sources.append(source)
        }
    }

    func wait() {
        received.wait()
        sources.forEach { $0.cancel() }
    }
}

/// Every connection (and every idle SSE subscriber) is a file descriptor: use all the process
/// may have, up to the connection limit's needs.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
