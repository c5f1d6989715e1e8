import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontApp
import StorefrontDomain
import StorefrontMCP
import StorefrontStore

/// Settings of the gateway that are not the HTTP server's.
public struct GatewayConfiguration: Sendable {
    /// The URL agents reach this gateway at; absolute links in documents start with it.
    public var publicURL: String
    /// The folder served at `/dashboard/` (the merchant dashboard).
    public var publicDirectory: String?
    public var maxBodyBytes: Int = 1 << 20
    public var version: String = StorefrontVersion.current
    /// Browser origins allowed to call `/mcp` (`http://host:*` allows any port).
    public var allowedOrigins: [String] = []
    /// Tools per page of MCP `tools/list`: by default every tool fits on the first page, which
    /// is what clients that never follow `nextCursor` expect.
    public var toolsPageSize: Int = 100
    /// Agents may register themselves (`POST /agents/register`); otherwise the merchant does.
    public var openRegistration = true
    /// Seconds a purchase waits for the principal's approval before its hold is released.
    public var approvalTTL: Int64 = 24 * 3600
    /// Seconds between sweeps that expire overdue approvals.
    public var sweepInterval: Double = 30
    /// Trail entries between signed checkpoints.
    public var checkpointEvery: Int64 = 100
    /// The signing key's file (default: beside the store, `STORE.key`).
    public var signingKeyPath: String?
    /// The merchant's endpoints for order events.
    public var webhookURLs: [String] = []
    /// UCP platforms the merchant approved: each platform profile's URL and the profile
    /// (`--ucp-platforms FILE`); a `UCP-Agent` naming another is refused (424).
    public var ucpPlatforms: [String: JSON] = [:]
    /// Fetch the profile of a platform the merchant did not list (https, bounded); false: only
    /// the listed platforms are negotiated with (`--ucp-listed-platforms-only`).
    public var ucpDiscoverPlatforms = true
    /// ACP platforms the merchant onboarded, by the agent id the merchant issued each platform
    /// (its API key is the platform's credential): `{"webhook_url", "secret"}`
    /// (`--acp-platforms FILE`); orders made with that identity are sent there.
    public var acpPlatforms: [String: JSON] = [:]
    /// Whether any platform (UCP or ACP) hears of orders.
    public var sendsOrdersToPlatforms: Bool { ucpDiscoverPlatforms || !ucpPlatforms.isEmpty || !acpPlatforms.isEmpty }
    /// Record every request for agent analytics.
    public var recordsAnalytics = true
    /// Events held in memory before the writer takes them.
    public var analyticsQueueCapacity = 50_000
    /// Bytes of read-only action results kept for repeated calls (0: no result cache).
    public var resultCacheBytes = 32 << 20
    /// Where Chart.js is (Debian's libjs-chart.js), served at /vendor/chart.js/.
    public var chartJSDirectory: String? = "/usr/share/javascript/chart.js"
    /// When set, `/metrics` needs `Authorization: Bearer` with this token (or the admin token).
    public var metricsToken: String?
    /// Token-bucket limits per agent, per anonymous client address and per class
    /// (``RateLimitPolicy/unlimited`` turns them off).
    public var rateLimits: RateLimitPolicy = .defaults
    /// The most rate-limit buckets kept in memory.
    public var rateLimitBuckets = 65_536
    /// Refusals (429) a client address gets at once in a second; beyond them each further
    /// refusal is answered after `refusalDelay` seconds, so a client that ignores Retry-After
    /// costs the gateway a few requests a second per connection instead of a core. Zero: never.
    public var refusalsPerSecond = 1000
    public var refusalDelay: Double = 1
    /// How long the store keeps sessions, abandoned checkouts, idempotency records and raw
    /// analytics (swept every `sweepInterval`).
    public var retention = RetentionPolicy()
    /// Live MCP sessions per creator (an agent, or an anonymous client address).
    public var mcpSessionsPerCreator = 1000
    /// Payment handlers taken beside the agent's wallet (a payment processor's), each named by
    /// its id in UCP's instruments and `complete_checkout`'s `payment_handler`.
    public var paymentHandlers: [any PaymentHandler] = []
    /// Seconds an OAuth access token lives (refresh tokens: 30 days, rotated on use).
    public var oauthAccessTokenTTL: Int64 = 900
    /// Documents the gateway fetches for callers (client ID metadata documents, Web Bot Auth key
    /// directories) may be http and on private or loopback addresses: for tests on one machine.
    public var allowPrivateFetches = false

    public init(publicURL: String, publicDirectory: String? = nil) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.publicDirectory = publicDirectory
    }
}

/// The store served to agents: manifests, the store's state, and every route.
public final class Gateway: @unchecked Sendable {
    public let configuration: GatewayConfiguration
    /// The manifests, with the catalog the store holds (`liveCatalog`).
    public let manifests: StoreManifests
    public let database: StoreDatabase
    public let catalogIndex: CatalogIndex
    /// The catalog as the store holds it, followed live.
    var catalog: any CatalogReader { manifests.liveCatalog }
    /// The documents written from the catalog, rebuilt when it changes.
    private(set) var catalogDocuments: CatalogDocuments!
    /// The merchant's changes to the catalog (admin API).
    let catalogChanges: CatalogChanges
    /// Products with stock left, counted at most every few seconds (a count walks the table).
    let inStockCount: StoreSnapshot<Int64>
    public let schemas: SchemaLibrary
    let startedAt = Date()
    let documents: DiscoveryDocuments
    /// The facts every document is written from (the policy's documents are rewritten from them).
    let storeFacts: StoreFacts
    /// The merchant's access policy and the documents written from it.
    private(set) var policyState: PolicyState!
    /// Reloads of the policy, one at a time.
    let policyReloads = NSLock()
    /// Requests the policy charged for, by request id, until their answer is known (2xx: charged).
    let chargedRequests = BoundedMemo<String, Money>(capacity: 65_536)
    let views: CatalogViews
    public let actions: ActionRegistry
    public let mcp: MCPEndpoint
    /// UCP's MCP binding (`/ucp/mcp`): UCP's tools over the same actions.
    public private(set) var ucpMCP: MCPEndpoint!
    /// ACP's MCP binding (`/acp/mcp`): ACP's checkout-session tools over the same actions.
    public private(set) var acpMCP: MCPEndpoint!
    /// The store's services the gateway serves (the admin commands use them without it).
    public let services: StoreServices
    public var signingKey: StoreSigningKey { services.signingKey }
    public var trail: AuditTrail { services.trail }
    public var commerce: Commerce { services.commerce }
    var agents: AgentDirectory { services.agents }
    let inbox: Inbox
    /// Each variant's product (UCP and ACP name the purchasable item, a variant, by its id alone).
    var productOfVariant: @Sendable (String) -> String? { { [catalog] in catalog.productID(ofVariant: $0) } }
    let inboxStream: InboxStream
    public let analytics: AnalyticsRecorder
    let liveChanges: ChangeFeed
    /// The rate limits' buckets; nil when nothing is limited.
    let rateLimiter: RateLimiter?
    /// Refusals by client address, a bucket each: when one is spent, refusals are paced.
    let refusalPacer: RateLimiter?
    /// Each action's rate-limit class, from its metadata.
    let actionClasses: [String: RateClass]
    let classifier = AgentClassifier.bundled()
    /// Families by user agent: clients send the same few strings over and over, and classifying
    /// one scans every known token.
    let families = BoundedMemo<String, (id: Int32, family: AgentClassifier.Family)>(capacity: 4096)
    /// The address ranges operators publish, from the store (re-read by the sweep).
    let operatorRanges = RangesBox()
    /// When a confirmation link was last sent for a checkout (the escalation page's pacing).
    let confirmationLinksSent = BoundedMemo<String, Int64>(capacity: 4096)
    /// When a principal's sign-in link was last sent, by email address (the sign-in form's pacing).
    let signInLinksSent = BoundedMemo<String, Int64>(capacity: 4096)
    /// Web Bot Auth key directories of agents' operators, as fetched.
    let keyDirectories: KeyDirectories
    /// ACP request signatures accepted in the last few minutes (each is accepted once).
    let acpSignaturesSeen = BoundedMemo<String, Int64>(capacity: 65_536)
    /// UCP platform profiles: the merchant's approved ones and those fetched.
    let platformProfiles: PlatformProfiles
    /// Requests verified by a key directory (not a registered key), by request id: their operator's origin, for analytics.
    let verifiedOperators = BoundedMemo<String, String>(capacity: 4096)
    /// Their analytics families, bounded.
    let verifiedFamilies = VerifiedFamilies()
    /// Client ID metadata documents as fetched (or why not), until when they are kept.
    let clientDocuments = BoundedMemo<String, (result: Result<OAuthClient, OAuthError>, until: Int64)>(capacity: 1024)
    /// The analytics family of requests made by registered agents.
    let registeredAgentFamily = AnalyticsLabels.shared.id(Gateway.registeredAgent)
    /// The routes, built once at the end of `init`.
    public private(set) var routes = Router()
    /// Analytics' route and stage for each action and route pattern, numbered once.
    private(set) var actionLabels: [String: Int32] = [:]
    private(set) var patternLabels: [String: Int32] = [:]
    /// The access policy's scope of each route pattern (the journey stage it serves, or exempt).
    private(set) var patternScopes: [String: PolicyScope] = [:]
    private var sweeper: DispatchSourceTimer?
    private let staticFiles: StaticFiles?
    /// The last trail head signed for `GET /.well-known/trail-head`.
    let trailHeads = TrailHeadCache()

    public init(
        configuration: GatewayConfiguration, manifests: StoreManifests, database: StoreDatabase, schemas: SchemaLibrary
    ) throws {
        self.configuration = configuration
        keyDirectories = KeyDirectories(allowPrivate: configuration.allowPrivateFetches)
        platformProfiles = PlatformProfiles(
            registry: configuration.ucpPlatforms, discover: configuration.ucpDiscoverPlatforms, allowPrivate: configuration.allowPrivateFetches)
        self.database = database
        self.schemas = schemas
        var settings = StoreServices.Settings()
        settings.importsCatalog = true
        settings.signingKeyPath = configuration.signingKeyPath
        settings.checkpointEvery = configuration.checkpointEvery
        settings.approvalTTL = configuration.approvalTTL
        settings.webhookURLs = configuration.webhookURLs
        settings.paymentHandlers = configuration.paymentHandlers
        // Only orders bought through an approved platform are sent to one.
        settings.publicURL = configuration.sendsOrdersToPlatforms ? configuration.publicURL : nil
        let services = try StoreServices(manifests: manifests, database: database, settings: settings)
        self.services = services
        let manifests = services.manifests
        self.manifests = manifests
        let catalog = services.catalog
        catalogIndex = database.catalogIndex(catalogVersion: { catalog.version })
        inStockCount = StoreSnapshot(maxAge: 5, empty: 0) { try services.inStockCount() }
        catalogChanges = try CatalogChanges(manifests: manifests, database: database, schemas: schemas)
        let publishedDocuments = SetOnce<CatalogDocuments>()
        var catalogViews = CatalogViews(manifests: manifests, catalog: catalog, baseURL: configuration.publicURL)
        // Ratings and stock are read from the store for the products asked about and kept until
        // a commit changes their table (or, for other processes' writes, for at most a second).
        let ratings = RatingsCache(database: database)
        let stock = StockReader(database: database)
        database.onCommit(changing: .ratings) { ratings.invalidate() }
        database.onCommit(changing: .stock) { stock.invalidate() }
        catalogViews.ratings = { ids in ratings.ratings(ids) }
        catalogViews.stock = { ids in stock.levels(ids) }
        let views = catalogViews
        self.views = views
        var facts = StoreFacts(
            manifests: manifests, baseURL: configuration.publicURL, version: configuration.version,
            maxBodyBytes: configuration.maxBodyBytes)
        facts.openRegistration = configuration.openRegistration
        facts.stock = { ids in stock.levels(ids) }
        facts.paymentHandlerDescriptors = services.commerce.paymentHandlers.ucpDescriptors
        let trail = services.trail, commerce = services.commerce
        let inbox = Inbox(database: database)
        self.inbox = inbox
        inboxStream = InboxStream(inbox: inbox)
        analytics = AnalyticsRecorder(database: database, capacity: configuration.analyticsQueueCapacity)
        // Every live-feed stream shows every event: one topic.
        liveChanges = ChangeFeed(
            pollInterval: 0.5,
            latest: { try LiveFeedRows.latestID(in: database) },
            topics: { _, _ in [""] })
        analytics.enabled = configuration.recordsAnalytics
        actions = try ActionRegistry(
            actions: CatalogActions(
                manifests: manifests, index: catalogIndex, views: views, pricing: { [publishedDocuments] in publishedDocuments.value?.current.pricingJSON ?? [:] },
                baseURL: configuration.publicURL
            ).all + CommerceActions(commerce: commerce).all
                + AfterSaleActions(commerce: commerce, inbox: inbox, baseURL: configuration.publicURL).all,
            schemas: schemas)
        actions.writer = (database, trail)
        // Catalog actions read the manifests, the catalog, ratings and stock; the sum of their
        // versions changes whenever any of them does.
        actions.dataVersion = { ratings.version &+ stock.version &+ catalog.version &* 7919 }
        if configuration.resultCacheBytes > 0 { actions.resultCache = ResultCache(maxBytes: configuration.resultCacheBytes) }
        actionClasses = Dictionary(uniqueKeysWithValues: actions.entries.map { ($0.action.name, RateClass.of($0.action)) })
        rateLimiter = configuration.rateLimits.isEnabled
            ? RateLimiter(policy: configuration.rateLimits, capacity: configuration.rateLimitBuckets) : nil
        refusalPacer = configuration.rateLimits.isEnabled && configuration.refusalsPerSecond > 0
            ? RateLimiter(
                policy: RateLimitPolicy(rules: [
                    .anonymous: [.reads: RateRule(limit: configuration.refusalsPerSecond, period: 1, burst: configuration.refusalsPerSecond)]
                ]),
                capacity: configuration.rateLimitBuckets) : nil
        facts.rateLimits = configuration.rateLimits.json(
            actionsByClass: Self.actionsByClass(actions), refusalsPerSecond: refusalPacer == nil ? 0 : configuration.refusalsPerSecond,
            refusalDelay: configuration.refusalDelay)
        let documents = try DiscoveryDocuments(facts: facts, actions: actions, signingKey: services.signingKey)
        self.documents = documents
        storeFacts = facts
        let registry = actions, signingKey = services.signingKey, writtenFrom = facts
        let catalogDocuments = try CatalogDocuments(version: { catalog.version }) { version in
            try CatalogDocuments.build(version: version, facts: writtenFrom, actions: registry, signingKey: signingKey)
        }
        self.catalogDocuments = catalogDocuments
        publishedDocuments.value = catalogDocuments
        let resources: [MCPResource] = [
            MCPResource(
                uri: "storefront://store", name: "store", title: "The store", description: "Who the store is: name, contact, currencies, locales.",
                mimeType: "application/json", read: { manifests.store.prettyString }),
            MCPResource(
                uri: "storefront://catalog", name: "catalog", title: "The catalog",
                description: "The categories and the first 100 products as summaries (search_catalog finds the rest).", mimeType: "application/json",
                read: {
                    let (first, more) = catalog.page(after: nil, limit: 100)
                    return JSON.object([
                        "categories": views.categories, "products": .array(views.summaries(first)),
                        "product_count": .int(Int64(catalog.productCount)), "complete": .bool(more == nil),
                    ]).prettyString
                }),
            MCPResource(
                uri: "storefront://pricing", name: "pricing", title: "Prices and plans",
                description: "One-time prices, plans, usage tiers, volume discounts, trials (minor units).",
                mimeType: "application/json", read: { String(decoding: catalogDocuments.current.pricing.bytes, as: UTF8.self) }),
            MCPResource(
                uri: "storefront://policies", name: "policies", title: "Policies",
                description: "Returns, refunds, shipping, privacy, terms, SLA and support.", mimeType: "application/json",
                read: { String(decoding: documents.policies.bytes, as: UTF8.self) }),
            MCPResource(
                uri: "storefront://capabilities", name: "capabilities", title: "Signed capability manifest",
                description: "The store's capability manifest; its detached JWS is at /.well-known/capabilities.json.jws.",
                mimeType: "application/json", read: { String(decoding: catalogDocuments.current.capabilities.bytes, as: UTF8.self) }),
        ]
        var service = MCPService(
            tools: MCPTools(registry: actions), resources: resources,
            productResource: { id in catalog.product(id).map { views.detail($0).prettyString } },
            storeName: manifests.storeName, version: configuration.version, toolsPageSize: max(1, configuration.toolsPageSize))
        service.inboxResource = { identity in
            (try? inbox.page(agentID: identity.agent.id, after: 0, limit: Inbox.maxPage, unreadOnly: true))?.prettyString
        }
        var origins = configuration.allowedOrigins
        if let url = URL(string: configuration.publicURL), let scheme = url.scheme, let host = url.host {
            origins.append("\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? ""))
        }
        origins += ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
        mcp = MCPEndpoint(service: service, store: SQLiteMCPSessionStore(database: database), allowedOrigins: origins)
        staticFiles = configuration.publicDirectory.map(StaticFiles.init(root:))
        mcp.authenticate = { [unowned self] request in self.authenticate(request) }
        mcp.challenge = { [unowned self] request, error, scope in self.bearerChallenge(path: request.path, error: error, scope: scope) }
        mcp.insufficientScope = { [unowned self] request, scope in self.insufficientScopeChallenge(path: request.path, scope: scope) }
        mcp.requiredScope = { tool in registry.entry(tool)?.action.scope }
        mcp.noteCaller = { response, identity, tool in response.noteCaller(identity, action: tool) }
        if rateLimiter != nil {
            mcp.rateLimit = { [unowned self] request, action, identity in self.chargeAction(action, identity: identity, request: request) }
        }
        mcp.sessionTTL = configuration.retention.mcpSessionTTL
        mcp.sessionsPerCreator = max(1, configuration.mcpSessionsPerCreator)
        let mcpOrigins = origins
        if database.isShared {
            // Other nodes' events wake this node's streams at once (their NOTIFY), not at the
            // next poll. (SQLite has no one to hear from: other processes are polled.)
            let mcpFeed = mcp.feed, inboxFeed = inboxStream.feed
            database.onCommit(changing: .mcpEvents) { mcpFeed.othersChanged() }
            database.onCommit(changing: .inboxEvents) { inboxFeed.othersChanged() }
        }
        // The protocols' MCP bindings: their own tools over the same actions, each its own endpoint.
        let bindings: [(MCPToolProvider, [String: String])] = [
            (UCPMCPTools(gateway: self), Dictionary(uniqueKeysWithValues: UCPMCPTools.operations.map { ($0.name, $0.action) })),
            (ACPMCPTools(gateway: self), Dictionary(uniqueKeysWithValues: ACPMCPTools.operations.map { ($0.name, $0.action) })),
        ]
        let endpoints = bindings.map { tools, actionOfTool in
            let endpoint = MCPEndpoint(
                service: MCPService(
                    tools: tools, resources: [], productResource: { _ in nil }, storeName: manifests.storeName,
                    version: configuration.version, toolsPageSize: max(1, configuration.toolsPageSize)),
                store: SQLiteMCPSessionStore(database: database), allowedOrigins: mcpOrigins)
            endpoint.authenticate = { [unowned self] request in self.authenticate(request) }
            endpoint.challenge = { [unowned self] request, error, scope in self.bearerChallenge(path: request.path, error: error, scope: scope) }
            endpoint.insufficientScope = { [unowned self] request, scope in self.insufficientScopeChallenge(path: request.path, scope: scope) }
            endpoint.requiredScope = { tool in actionOfTool[tool].flatMap { registry.entry($0)?.action.scope } }
            endpoint.noteCaller = { response, identity, tool in response.noteCaller(identity, action: tool.map { actionOfTool[$0] ?? $0 }) }
            if rateLimiter != nil {
                endpoint.rateLimit = { [unowned self] request, tool, identity in
                    self.chargeAction(tool.map { actionOfTool[$0] ?? $0 }, identity: identity, request: request)
                }
            }
            endpoint.sessionTTL = configuration.retention.mcpSessionTTL
            endpoint.sessionsPerCreator = max(1, configuration.mcpSessionsPerCreator)
            return endpoint
        }
        ucpMCP = endpoints[0]
        acpMCP = endpoints[1]
        operatorRanges.value = (try? OperatorRanges.load(from: database)) ?? OperatorRanges()
        routes = router()
        // The policy's documents name routes: written once the routes are known.
        policyState = PolicyState(policyDocuments((try? AccessPolicy.load(from: database, classifier: classifier)) ?? AccessPolicy()))
        mcp.admit = { [unowned self] request, action, identity, id in
            self.policyRefusal(mcp: request, action: action, identity: identity, id: id)
        }
        for (endpoint, operations) in [(ucpMCP!, UCPMCPTools.operations.map { ($0.name, $0.action) }), (acpMCP!, ACPMCPTools.operations.map { ($0.name, $0.action) })] {
            let actionOfTool = Dictionary(operations, uniquingKeysWith: { a, _ in a })
            endpoint.admit = { [unowned self] request, tool, identity, id in
                self.policyRefusal(mcp: request, action: tool.map { actionOfTool[$0] ?? $0 }, identity: identity, id: id)
            }
        }
        database.onCommit(changing: .accessPolicy) { [weak self] in self?.reloadPolicy() }
        startSweeper()
        for name in actions.names {
            actionLabels[name] = AnalyticsLabels.shared.id(.init(route: "action:\(name)", stage: stage(route: "", action: name)))
        }
        for pattern in routes.patterns {
            patternLabels[pattern] = AnalyticsLabels.shared.id(.init(route: pattern, stage: stage(route: pattern, action: nil)))
            patternScopes[pattern] = policyScope(pattern: pattern, request: nil)
        }
    }

    /// Every route of the gateway.
    public func router() -> Router {
        var router = Router()
        router.after = withEntityTag
        router.before = { [unowned self] request, pattern in self.policyRefusal(request, pattern: pattern) }
        let docs = documents
        let entryLinks = storeFacts.entryLinks
        router.get("/agents") { [unowned self] request in
            let current = policyDocumentsNow
            var response =
                request.prefersMarkdown ? current.llmsTxt.response(for: request)
                : request.prefersHTML ? current.agentsHTML.response(for: request) : current.agents.response(for: request)
            response.headers.add("Link", entryLinks)
            return response
        }
        router.get("/robots.txt") { [unowned self] request in policyState.current.robotsTxt.response(for: request) }
        router.get("/llms.txt") { [unowned self] request in policyDocumentsNow.llmsTxt.response(for: request) }
        addPolicyRoutes(to: &router)
        addCatalogAdminRoutes(to: &router)
        let fixed: [(String, Document)] = [
            ("/.well-known/agent-card.json", docs.agentCard),
            ("/.well-known/ucp", docs.ucpProfile),
            ("/.well-known/acp.json", docs.acpDiscovery),
            ("/.well-known/api-catalog", docs.apiCatalog),
            ("/.well-known/jwks.json", docs.jwks),
            ("/openapi.json", docs.openAPI),
            ("/policies", docs.policies),
        ]
        for (path, document) in fixed {
            router.get(path) { document.response(for: $0) }
        }
        // Written from the catalog: rebuilt when it changes.
        let fromCatalog: [(String, @Sendable (CatalogDocuments.Current) -> Document)] = [
            ("/.well-known/capabilities.json", \.capabilities), ("/.well-known/capabilities.json.jws", \.capabilitiesSignature),
            ("/sitemap.xml", \.sitemap), ("/pricing", \.pricing),
        ]
        for (path, document) in fromCatalog {
            router.get(path) { [unowned self] request in document(catalogDocuments.current).response(for: request) }
        }
        router.get(KeyDirectories.path) { [unowned self] request in self.ownKeyDirectory(request) }
        router.get("/status") { [unowned self] _ in jsonResponse(self.status()) }
        router.get("/catalog") { [unowned self] request in self.searchCatalog(request) }
        router.get("/tools") { request in docs.toolIndex.response(for: request) }
        router.post(Endpoints.mcpPath) { [unowned self] request in self.mcp.post(request) }
        router.get(Endpoints.mcpPath) { [unowned self] request in
            request.method == "HEAD" ? Response(status: 200, headers: HTTPHeaders([("Content-Type", "text/event-stream")])) : self.mcp.get(request)
        }
        router.delete(Endpoints.mcpPath) { [unowned self] request in self.mcp.delete(request) }
        router.post(Endpoints.ucpMCPPath) { [unowned self] request in self.ucpMCP.post(request) }
        router.get(Endpoints.ucpMCPPath) { [unowned self] request in self.ucpMCP.get(request) }
        router.delete(Endpoints.ucpMCPPath) { [unowned self] request in self.ucpMCP.delete(request) }
        router.post(Endpoints.acpMCPPath) { [unowned self] request in self.acpMCP.post(request) }
        router.get(Endpoints.acpMCPPath) { [unowned self] request in self.acpMCP.get(request) }
        router.delete(Endpoints.acpMCPPath) { [unowned self] request in self.acpMCP.delete(request) }
        router.get("/mcp/server-card") { docs.mcpServerCard.response(for: $0) }
        router.get("/.well-known/mcp/catalog.json") { docs.mcpCatalog.response(for: $0) }
        router.post("/tools/{name}") { [unowned self] request in
            self.callAction(request.pathParameters["name"] ?? "", request: request)
        }
        router.post("/agents/register") { [unowned self] request in self.register(request) }
        router.get("/inbox") { [unowned self] request in self.inboxRoute(request) }
        addAdminRoutes(to: &router)
        addAnalyticsRoutes(to: &router)
        addTrailRoutes(to: &router)
        addA2ARoutes(to: &router)
        addUCPRoutes(to: &router)
        addUCPShoppingRoutes(to: &router)
        addEscalationRoutes(to: &router)
        addOAuthRoutes(to: &router)
        addPrincipalRoutes(to: &router)
        addPasskeyRoutes(to: &router)
        addACPRoutes(to: &router)
        addACPFeedRoutes(to: &router)
        for route in Endpoints.actionRoutes {
            router.add(route.method, route.path) { [unowned self] request in
                let fromPath: [String: JSON] = route.pathArgument.map { [$0: .string(request.pathParameters["id"] ?? "")] } ?? [:]
                if route.method == "GET" {
                    return actionResponse(route.action, arguments: .object(fromPath), request: request, successStatus: route.successStatus)
                }
                return callAction(route.action, request: request, merging: fromPath, successStatus: route.successStatus)
            }
        }
        router.get("/catalog/{id}") { [unowned self] request in self.catalogProduct(request) }
        router.get("/products/{id}") { [unowned self] request in self.productPage(request) }
        if let staticFiles {
            router.get("/dashboard/{path...}") { request in
                if request.path == "/dashboard/" || request.path == "/dashboard/index.html" {
                    var response = staticFiles.serve("index.html", request: request)
                    response.headers.add("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
                    return response
                }
                // Relative links in the dashboard need the trailing slash.
                if request.path == "/dashboard" {
                    return Response(status: 301, headers: HTTPHeaders([("Location", "/dashboard/")]))
                }
                return staticFiles.serve(request.pathParameters["path"] ?? "", request: request)
            }
        }
        for alias in Endpoints.aliases {
            guard let handler = router.handler("GET", alias.of) else { preconditionFailure("\(alias.path) aliases \(alias.of), which is not routed") }
            router.get(alias.path, handler)
        }
        return router
    }

    /// Expires overdue approvals and deletes what outlived its retention, in the background.
    private func startSweeper() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "approval-sweeper"))
        timer.schedule(deadline: .now() + configuration.sweepInterval, repeating: configuration.sweepInterval)
        let commerce = self.commerce, trail = self.trail, database = self.database
        let retention = StoreRetention(database: database, policy: configuration.retention)
        let ranges = operatorRanges
        timer.setEventHandler { [weak self] in
            // Another node's change of the access policy (this node's own is in force at once).
            self?.reloadPolicy()
            // Re-read each sweep; replaced (and the answers kept for it dropped) only when they changed.
            if let fresh = try? OperatorRanges.load(from: database), fresh.blocks != ranges.value.blocks { ranges.value = fresh }
            _ = try? commerce.expireApprovals()
            _ = try? retention.sweep()
            try? trail.checkpointNow(database: database)
        }
        timer.resume()
        sweeper = timer
    }

    /// Stops background work and signs a checkpoint at the end of the trail.
    public func stop() {
        sweeper?.cancel()
        inboxStream.feed.stop()
        analytics.stop()
        liveChanges.stop()
        mcp.stop()
        ucpMCP.stop()
        acpMCP.stop()
        try? trail.checkpointNow(database: database)
    }

    func status() -> JSON {
        let storeHealthy = StoreHealth.answers(database)
        return [
            "status": .string(storeHealthy ? "ok" : "degraded"),
            "version": .string(configuration.version),
            "started_at": .string(Timestamp.iso8601(startedAt)),
            "uptime_seconds": .int(Int64(Date().timeIntervalSince(startedAt))),
            "store": ["backend": .string(database.backendName), "healthy": .bool(storeHealthy)],
            "counts": [
                "products": .int(Int64(catalog.productCount)),
                "products_in_stock": .int(inStockCount.value),
                "categories": .int(Int64(catalog.categories.count)),
                "plans": .int(Int64(manifests.pricing["plans"]?.arrayValue?.count ?? 0)),
                "usage_prices": .int(Int64(manifests.pricing["usage"]?.arrayValue?.count ?? 0)),
            ],
        ]
    }
}
