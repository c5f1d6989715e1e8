import Foundation
import JSON
import Store
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// The store's services without HTTP: the signing key, the audit trail, the agent directory and
/// commerce over one store file. `serve` builds the gateway on them; every admin command
/// (`agents`, `wallets`, `approvals`) uses them alone, so funding a wallet indexes no catalog,
/// starts no thread and opens no socket.
public final class StoreServices: @unchecked Sendable {
    public let manifests: StoreManifests
    public let database: Database
    public let signingKey: StoreSigningKey
    public let trail: AuditTrail
    package let agents: SQLiteAgentDirectory
    /// OAuth's clients, grants, codes and tokens, and the principal's page sessions.
    package let oauth: OAuthStore
    public let commerce: Commerce
    /// The catalog as the store holds it (what every action and document reads).
    package let catalog: StoredCatalog

    /// What the services need to know beyond the manifests and the store.
    public struct Settings: Sendable {
        /// The signing key file (default: beside the store, created on first start).
        public var signingKeyPath: String?
        public var checkpointEvery: Int64 = 100
        /// Seconds a purchase above the approval threshold waits for the principal.
        public var approvalTTL: Int64 = 24 * 3600
        /// Where order events are queued for delivery (the running gateway delivers them).
        public var webhookURLs: [String] = []
        /// The gateway's public URL, for the orders UCP platforms are sent.
        public var publicURL: String?
        /// Payment handlers taken beside the wallet (a processor's), by their ids.
        public var paymentHandlers: [any PaymentHandler] = []
        /// Import manifests/catalog.json into the store when it changed (`serve` does; admin
        /// commands that sell nothing do not).
        public var importsCatalog = false

        public init() {}
    }

    public init(manifests declared: StoreManifests, database: Database, settings: Settings) throws {
        if settings.importsCatalog { try CatalogSync.importManifestIfChanged(declared, database: database) }
        // Everything reads the catalog the store holds, followed live.
        var manifests = declared
        let catalog = StoredCatalog(database: database)
        manifests.liveCatalog = catalog
        self.catalog = catalog
        self.manifests = manifests
        self.database = database
        signingKey = try SigningKeyFile.loadOrCreate(
            path: settings.signingKeyPath ?? StoreOpener.signingKeyPath(store: database.path), database: database)
        try TrailTree.ensureComplete(database: database)
        trail = AuditTrail(signingKey: signingKey, checkpointEvery: settings.checkpointEvery)
        agents = SQLiteAgentDirectory(database: database, trail: trail)
        oauth = OAuthStore(database: database, trail: trail)
        var commerce = Commerce(manifests: manifests, database: database, trail: trail)
        commerce.approvalTTL = settings.approvalTTL
        commerce.events = AgentEvents(webhookURLs: settings.webhookURLs, publicURL: settings.publicURL)
        for handler in settings.paymentHandlers { commerce.paymentHandlers.register(handler) }
        self.commerce = commerce
    }

    /// The public URL the gateway last served this store at.
    public var publicURL: String? { try? ServedConfiguration.publicURL(in: database) }

    /// Every product in catalog order with what is left of it now, a page at a time.
    public func forEachLiveProduct(_ body: (Product) throws -> Void) throws {
        let stock = StockReader(database: database, rememberedProducts: 0)
        try catalog.forEachPage { page in
            let levels = stock.levels(page.map(\.id))
            for product in page { try body(levels.applied(to: product)) }
        }
    }

    /// Products with stock left now.
    package func inStockCount() throws -> Int64 {
        try database.read { try CatalogRows.inStockCount(db: $0) }
    }

    /// Registers an agent from a registration body (`principal`, `display_name`, `operator`,
    /// `public_key`, `api_key`, `scopes`): its record, its API key (shown once) and its wallet.
    /// Every refusal is an ``ActionError`` that names the field.
    public func registerAgent(_ body: JSON) throws(ActionError) -> JSON {
        if let refusal = FieldLimits.checkRegistration(body) { throw refusal }
        guard let principal = body["principal"]?.stringValue, !principal.isEmpty, principal.count <= 200 else {
            throw ActionError.invalid(
                "missing_principal", "principal (the person or company the agent acts for) is required, up to 200 characters.",
                param: "principal")
        }
        guard let name = body["display_name"]?.stringValue, !name.isEmpty, name.count <= 200 else {
            throw ActionError.invalid("missing_display_name", "display_name is required.", param: "display_name")
        }
        let publicKey = body["public_key"].flatMap { $0 == .null ? nil : FieldLimits.canonicalJWK($0) }
        let wantsKey = body["api_key"]?.boolValue ?? true
        var scopes = Agent.defaultScopes
        if let requested = body["scopes"]?.arrayValue?.compactMap(\.stringValue) {
            let unknown = Set(requested).subtracting(Agent.defaultScopes)
            guard unknown.isEmpty else {
                throw ActionError.invalid(
                    "unknown_scope", "Unknown scopes \(unknown.sorted()); known: \(Agent.defaultScopes.sorted()).", param: "scopes")
            }
            scopes = Set(requested)
        }
        do {
            let (agent, key) = try agents.register(
                principal: principal, displayName: name, operatorName: body["operator"]?.stringValue ?? "", scopes: scopes,
                publicJWK: publicKey, issueAPIKey: wantsKey || publicKey == nil, currency: manifests.currency)
            var result = agent.json.objectValue ?? [:]
            if let key {
                result["api_key"] = .string(key)
                result["api_key_note"] = "Shown once; store it now. Send it as Authorization: Bearer <api_key>."
            }
            if let publicKey, let thumbprint = jwkThumbprint(publicKey) { result["key_id"] = .string(thumbprint) }
            result["wallet"] = (try? commerce.wallet(agent.id)) ?? .null
            return .object(result)
        } catch let error as AuthenticationError {
            throw ActionError.invalid(error.code, error.message, param: "public_key")
        } catch {
            throw ActionError(
                status: 503, kind: .unavailable, code: "store_unavailable", message: "Registration failed; retry.")
        }
    }

    public func agentList() throws -> [Agent] { try agents.list() }
    public func revokeAgent(_ id: String) throws -> Bool { try agents.revoke(id) }
    public func rotateAgentKey(_ id: String) throws -> String? { try agents.rotateKey(id) }
}
