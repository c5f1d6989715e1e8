import Foundation
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontMCP
import StorefrontStore

/// Every public document but those written from the catalog (``CatalogDocuments``), built once at
/// start from the manifests and the endpoint declarations.
struct DiscoveryDocuments: Sendable {
    let agents: Document
    let agentsHTML: Document
    let agentCard: Document
    let ucpProfile: Document
    let acpDiscovery: Document
    let apiCatalog: Document
    let jwks: Document
    let llmsTxt: Document
    let robotsTxt: Document
    let openAPI: Document
    let policies: Document

    let toolIndex: Document
    let mcpServerCard: Document
    let mcpCatalog: Document

    init(facts: StoreFacts, actions: ActionRegistry, signingKey: StoreSigningKey) throws {
        let agentsJSON = facts.agentsDocument(signingKeyID: signingKey.keyID, actions: actions)
        agents = .json(agentsJSON)
        agentsHTML = Document(
            bytes: Array(facts.agentsHTML(agentsJSON).utf8), contentType: "text/html; charset=utf-8")
        agentCard = .json(facts.agentCard(actions: actions))
        // ES256 (UCP's baseline, what webhooks to platforms are signed with) and the Ed25519 key.
        ucpProfile = .json(facts.ucpProfile(jwks: [signingKey.publicJWK, signingKey.es256.publicJWK]))
        acpDiscovery = .json(facts.acpDiscovery(), cacheControl: "public, max-age=3600")
        apiCatalog = .json(facts.apiCatalog(), contentType: "application/linkset+json", cacheControl: "public, max-age=3600")
        // The Ed25519 key (manifest, trail) and its derived ES256 key (what UCP platforms verify).
        jwks = .json(["keys": [signingKey.publicJWK, signingKey.es256.publicJWK]], contentType: "application/jwk-set+json")
        llmsTxt = .text(facts.llmsTxt(actions: actions), contentType: "text/markdown; charset=utf-8")
        robotsTxt = .text(facts.robotsTxt(), contentType: "text/plain; charset=utf-8")
        openAPI = .json(try OpenAPIDocument(facts: facts, actions: actions).document())
        mcpServerCard = .json(facts.mcpServerCard(), contentType: "application/mcp-server-card+json", cacheControl: "public, max-age=3600")
        mcpCatalog = .json(facts.mcpCatalog(), cacheControl: "public, max-age=3600")
        toolIndex = .json(["tools": .array(actions.entries.map { facts.actionJSON($0) })])
        policies = .json(facts.policiesDocument())
    }
}

/// The facts every document is written from, so that no two documents disagree.
struct StoreFacts {
    let manifests: StoreManifests
    /// The catalog as served (documents listing products follow it).
    var catalog: any CatalogReader { manifests.liveCatalog }
    /// Live stock of the products asked about.
    var stock: @Sendable ([String]) -> StockLevels = { _ in StockLevels() }
    let baseURL: String
    let version: String
    let maxBodyBytes: Int
    var openRegistration = true
    /// Payment handlers beside the wallet, as UCP's profile lists them.
    var paymentHandlerDescriptors: [(name: String, entry: JSON)] = []
    /// The rate-limit policy as published (null when nothing is limited).
    var rateLimits: JSON = .null
    /// The merchant's access policy for agents' operators, where it is published, and the
    /// robots.txt groups written from it.
    var accessPolicy = AccessPolicy()
    var policyURL: String?
    var robotsGroups: [String] = []

    var store: JSON { manifests.store }
    var name: String { manifests.storeName }
    var description: String { store["description"]?.stringValue ?? "" }

    func url(_ path: String) -> String { baseURL + path }

    var documentLinks: JSON {
        [
            "agents": .string(url("/agents")),
            "mcp_server_card": .string(url("/mcp/server-card")),
            "mcp_catalog": .string(url("/.well-known/mcp/catalog.json")),
            "agent_card": .string(url("/.well-known/agent-card.json")),
            "ucp_profile": .string(url("/.well-known/ucp")),
            "acp_discovery": .string(url("/.well-known/acp.json")),
            "capabilities": .string(url("/.well-known/capabilities.json")),
            "capabilities_signature": .string(url("/.well-known/capabilities.json.jws")),
            "jwks": .string(url("/.well-known/jwks.json")),
            "llms_txt": .string(url("/llms.txt")),
            "robots_txt": .string(url("/robots.txt")),
            "sitemap": .string(url("/sitemap.xml")),
            "openapi": .string(url("/openapi.json")),
            "pricing": .string(url("/pricing")),
            "policies": .string(url("/policies")),
            "status": .string(url("/status")),
            "catalog": .string(url("/catalog")),
        ]
    }

    /// An endpoint for documents: a `url`, or for parametrised paths a `url_template` (RFC 6570).
    func endpointJSON(_ e: Endpoint) -> JSON {
        var entry: [String: JSON] = [
            "method": .string(e.method), "path": .string(e.path),
            "summary": .string(e.summary), "stage": .string(e.stage.rawValue),
            "content_types": .array(e.contentTypes.map(JSON.string)),
            "operation_id": .string(e.id),
        ]
        entry[e.path.contains("{") ? "url_template" : "url"] = .string(url(e.path))
        if e.requiresIdentity { entry["requires_identity"] = true }
        if let query = e.exampleQuery, !e.path.contains("{") { entry["example_url"] = .string(url(e.path) + "?" + query) }
        return .object(entry)
    }

    var storeSummary: JSON {
        [
            "id": .string(manifests.storeID), "name": .string(name), "description": .string(description),
            "url": store["url"] ?? .null, "logo": store["logo"] ?? .null, "contact": store["contact"] ?? .null,
            "currencies": store["currencies"] ?? .null, "default_currency": .string(manifests.currency),
            "locales": store["locales"] ?? .null,
        ]
    }

    var authentication: JSON {
        [
            "anonymous_stages": ["finding", "evaluating", "trust_checking"],
            "identified_stages": ["transacting", "using", "recommending"],
            "methods": [
                [
                    "type": "oauth2", "spec": "OAuth 2.1 as the MCP authorization specification profiles it",
                    "authorization_server_metadata": .string(url("/.well-known/oauth-authorization-server")),
                    "protected_resource_metadata": .string(url("/.well-known/oauth-protected-resource")),
                    "grant": "authorization code with PKCE (S256); register (RFC 7591) or use a client ID metadata document",
                    "principal": "the human you act for signs in on /principal/, grants scopes and sets your wallet's limits",
                    "token": "Authorization: Bearer <access token>, bound to the resource you named (RFC 8707)",
                ],
                [
                    "type": "api_key", "header": "Authorization", "scheme": "Bearer",
                    "format": "sk_agent_<prefix>_<secret>, shown once at registration",
                ],
                [
                    "type": "http_message_signatures", "spec": "RFC 9421", "profile": "web-bot-auth", "alg": "ed25519",
                    "keyid": "the RFC 7638 thumbprint of the Ed25519 JWK registered as public_key",
                    "required_parameters": ["created", "expires", "keyid", "nonce", "tag=\"web-bot-auth\""],
                    "required_components": ["@authority", "signature-agent (when sent)"],
                ],
                [
                    "type": "acp_request_signature", "headers": ["Signature", "Timestamp"],
                    "applies_to": "ACP platforms the merchant onboarded with request signing (their API key names them)",
                    "signed_content": "Timestamp + \"\\n\" + METHOD + \"\\n\" + path + \"\\n\" + Idempotency-Key (empty for GET) + \"\\n\" + the RFC 8785 canonical JSON of the body (nothing for no body)",
                    "algorithms": ["hmac-sha256", "ed25519", "es256"],
                    "encoding": "base64url", "timestamp": "RFC 3339, within 300 seconds", "replay": "a POST's signature is accepted once",
                ],
                [
                    "type": "web_bot_auth_key_directory", "header": "Signature-Agent",
                    "directory": "/.well-known/http-message-signatures-directory at the origin Signature-Agent names (https)",
                    "tags": ["web-bot-auth", "agent-browser-auth", "agent-payer-auth"],
                    "grants": "a verified operator that is not registered here browses and is known by name; buying needs OAuth or registration",
                ],
            ],
            "registration": [
                "url": .string(url("/agents/register")), "method": "POST",
                "mode": .string(openRegistration ? "open" : "invite"),
                "body": "{\"principal\": who the agent acts for, \"display_name\", \"operator\"?, \"public_key\"?: Ed25519 JWK, \"scopes\"?}",
                "returns": "the agent id, an API key shown once, and its wallet (funded by the principal or merchant)",
            ],
            "note": .string(
                openRegistration
                    ? "Finding and evaluating need no credentials. To buy, authorize with OAuth (your principal grants you on /principal/ and sets your limits) or register at /agents/register; then send your token or API key, or sign your requests."
                    : "Finding and evaluating need no credentials. Agents are registered by the merchant; ask for an invitation, then send your API key or sign your requests."),
        ]
    }

    var limits: JSON {
        [
            "max_request_body_bytes": .int(Int64(maxBodyBytes)),
            "catalog_page_size_max": .int(Int64(CatalogQuery.maxLimit)),
            "catalog_page_size_default": 20,
            "rate_limits": rateLimits,
        ]
    }

    /// An action as discovery documents describe it.
    func actionJSON(_ entry: ActionRegistry.Entry, schemas: Bool = true) -> JSON {
        let action = entry.action
        var json: [String: JSON] = [
            "name": .string(action.name), "title": .string(action.title), "description": .string(action.description),
            "stage": .string(action.stage.rawValue), "scope": JSON(action.scope),
            "annotations": action.annotations.json,
            "rest": ["method": "POST", "url": .string(url("/tools/\(action.name)"))],
        ]
        if schemas {
            json["input_schema"] = entry.inputSchema
            json["output_schema"] = entry.outputSchema
        }
        return .object(json)
    }

    func agentsDocument(signingKeyID: String, actions: ActionRegistry) -> JSON {
        var journey: [JSON] = []
        for stage in JourneyStage.allCases {
            let endpoints = Endpoints.all.filter { $0.stage == stage }
            let stageActions = actions.entries.filter { $0.action.stage == stage }
            journey.append([
                "stage": .string(stage.rawValue), "title": .string(stage.title),
                "endpoints": .array(endpoints.map { .string("\($0.method) \($0.path)") }),
                "actions": .array(stageActions.map { .string($0.action.name) }),
                "available": .bool(!endpoints.isEmpty || !stageActions.isEmpty),
            ])
        }
        return [
            "storefront_version": .string(version),
            "store": storeSummary,
            "welcome": .string("Agents are welcome here. Read /pricing and /policies, search /catalog, call the actions below over REST (POST /tools/{name}) or MCP (/mcp), verify /.well-known/capabilities.json against /.well-known/jwks.json, and register at /agents/register to buy."),
            "documents": documentLinks,
            "endpoints": .array(Endpoints.all.map(endpointJSON)),
            "actions": .array(actions.entries.map { actionJSON($0, schemas: false) }),
            "journey": .array(journey),
            "protocols": [
                "rest": [
                    "openapi": .string(url("/openapi.json")), "tools": .string(url("/tools")),
                    "call": .string(url("/tools/{name}")), "checkout_sessions": .string(url("/checkout-sessions")),
                    "idempotency": "send Idempotency-Key on every mutating call; a retry returns the first answer with Idempotent-Replayed: true",
                ],
                "a2a": ["agent_card": .string(url("/.well-known/agent-card.json")), "protocol_version": "0.3.0"],
                "ucp": ["profile": .string(url("/.well-known/ucp"))],
                "acp": ["discovery": .string(url("/.well-known/acp.json"))],
                "mcp": [
                    "endpoint": .string(url("/mcp")), "transport": "streamable-http",
                    "protocol_versions": .array((MCPEndpoint.Stateless.versions + MCPEndpoint.sessionVersions).map(JSON.string)),
                    "server_card": .string(url("/mcp/server-card")),
                    "sessions": "durable: kept in the store; resume a dropped SSE stream with GET /mcp and Last-Event-ID",
                ],
            ],
            "authentication": authentication,
            "access_policy": accessPolicySummary,
            "signing": ["jwks": .string(url("/.well-known/jwks.json")), "kid": .string(signingKeyID), "alg": "EdDSA"],
            "trail": [
                "head": .string(url("/.well-known/trail-head")),
                "inclusion_proof": .string(url("/trail/proof/inclusion?seq={seq}&tree_size={tree_size}")),
                "consistency_proof": .string(url("/trail/proof/consistency?first={tree_size}&second={tree_size}")),
                "receipts": "complete_checkout returns a receipt: the purchase's trail entry, a signed head that includes it and the inclusion proof (RFC 9162).",
            ],
            "limits": limits,
            "money": "Amounts are integers in minor units with an ISO 4217 currency: {\"amount\": 1999, \"currency\": \"USD\"} is 19.99 USD.",
            "errors": "Errors are {\"error\": {\"type\", \"code\", \"message\", \"param\"}} with a fitting HTTP status.",
        ]
    }

    /// The access policy as `/agents` states it: every rule, the price, where the whole is.
    var accessPolicySummary: JSON {
        [
            "policy": JSON(policyURL), "rules": .array(accessPolicy.rules.map { rule in
                ["agent": .string(rule.agent), "stage": .string(rule.stage), "access": .string(rule.access.rawValue)]
            }),
            "price": accessPolicy.price?.json ?? .null,
            "default": "allow",
            "summary": .string(accessPolicyLines.isEmpty ? "Every agent may reach every stage." : accessPolicyLines.joined(separator: " ")),
        ]
    }

    /// One sentence per rule, for people and language models.
    var accessPolicyLines: [String] { accessPolicyRules.map { "\($0.who) \($0.what)" } }

    /// Each rule as who (the agent and the stage) and what happens to it.
    var accessPolicyRules: [(who: String, stage: String, what: String)] {
        accessPolicy.rules.map { rule in
            let who = rule.agent == "*" ? "every known agent" : rule.agent
            let stage = rule.stage == "*" ? "every stage" : (JourneyStage(rawValue: rule.stage)?.title ?? rule.stage)
            switch rule.access {
            case .allow: return (who, stage, "may reach \(stage).")
            case .block: return (who, stage, "is blocked from \(stage) (403; robots.txt disallows it).")
            case .requireVerification:
                return (who, stage, "must be verified (Web Bot Auth or its operator's published addresses) to reach \(stage).")
            case .charge:
                let price = accessPolicy.price.map { "\($0.currency) \($0.decimalString)" } ?? ""
                return (who, stage, "pays \(price) a request at \(stage) (402 with crawler-price; pay per crawl).")
            }
        }
    }

    func agentsHTML(_ doc: JSON) -> String {
        let rows = Endpoints.all.map { e in
            "<tr><td><code>\(e.method) \(htmlEscape(e.path))</code></td><td>\(e.stage.title)</td><td>\(htmlEscape(e.summary))</td></tr>"
        }.joined(separator: "\n")
        let links = (documentLinks.objectValue ?? [:]).sorted { $0.key < $1.key }.map { key, value in
            "<li><a href=\"\(htmlEscape(value.stringValue ?? ""))\">\(htmlEscape(key.replacingOccurrences(of: "_", with: " ")))</a></li>"
        }.joined(separator: "\n")
        let body = """
            <h1>\(htmlEscape(name)) — for AI agents</h1>
            <p>\(htmlEscape(description))</p>
            <p>\(htmlEscape(doc["welcome"]?.stringValue ?? ""))</p>
            <h2>Documents</h2>
            <ul>\(links)</ul>
            <h2>Endpoints</h2>
            <table><thead><tr><th>Route</th><th>Stage</th><th>What it does</th></tr></thead><tbody>
            \(rows)
            </tbody></table>
            <h2>Authentication</h2>
            <p>\(htmlEscape(authentication["note"]?.stringValue ?? ""))</p>
            <h2>Limits</h2>
            <p>Request bodies up to \(maxBodyBytes) bytes; catalog pages up to \(CatalogQuery.maxLimit) products.</p>
            <p>\(htmlEscape(doc["money"]?.stringValue ?? ""))</p>
            <p class="muted">The same facts as JSON: send <code>Accept: application/json</code> to <a href="/agents">/agents</a>. Storefront \(htmlEscape(version)).</p>
            """
        let ld: JSON = [
            "@context": "https://schema.org", "@type": "OnlineStore", "name": .string(name),
            "description": .string(description), "url": .string(baseURL),
        ]
        return htmlPage(
            title: "\(name) — agent entry point", description: description,
            head: "<script type=\"application/ld+json\">\(scriptSafeJSON(ld.serialized()))</script>", body: body)
    }

    /// Skills advertised to A2A clients: one per action of the registry.
    func agentCard(actions: ActionRegistry) -> JSON {
        let skills: [JSON] = actions.entries.map { entry in
            let action = entry.action
            return [
                "id": .string(action.name),
                "name": .string(action.title),
                "description": .string(action.description),
                "tags": .array([.string(action.stage.rawValue), "commerce"]),
                "examples": .array(stageExamples(action.stage).map(JSON.string)),
                "inputModes": ["application/json"],
                "outputModes": ["application/json"],
            ]
        }
        var provider: [String: JSON] = ["organization": .string(name)]
        if let storeURL = store["url"] { provider["url"] = storeURL }
        let endpoint = url("/a2a")
        return [
            "protocolVersion": "0.3.0",
            "name": .string(name),
            "description": .string(
                description
                    + " Send a message with a data part {\"action\": <skill id>, \"arguments\": {…}}: reads answer with a message, purchases and other changes become tasks (a purchase waiting for the principal's approval is input-required)."),
            // A2A 1.0's interfaces first (a 1.0 client picks them), then 0.3's; the 0.3 fields
            // below describe the 0.3 ones for clients that read only those.
            "supportedInterfaces": [
                ["url": .string(endpoint), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"],
                ["url": .string(endpoint), "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"],
                ["url": .string(endpoint), "protocolBinding": "JSONRPC", "protocolVersion": "0.3"],
                ["url": .string(endpoint), "protocolBinding": "HTTP+JSON", "protocolVersion": "0.3"],
            ],
            "url": .string(endpoint),
            "preferredTransport": "JSONRPC",
            "additionalInterfaces": [
                ["url": .string(endpoint), "transport": "JSONRPC"],
                ["url": .string(endpoint), "transport": "HTTP+JSON"],
            ],
            "provider": .object(provider),
            "version": .string(version),
            "documentationUrl": .string(url("/agents")),
            "capabilities": [
                "streaming": true, "pushNotifications": false, "stateTransitionHistory": false,
                // UCP's A2A binding for checkout, activated by a platform with X-A2A-Extensions.
                "extensions": [[
                    "uri": .string("https://ucp.dev/\(UCP.version)/specification/reference"),
                    "description": "UCP checkout over A2A: one checkout per contextId, data parts a2a.ucp.checkout and a2a.ucp.checkout.payment.",
                    "params": ["capabilities": .object([UCP.checkoutCapability: [["version": .string(UCP.version)]]])],
                ]],
            ],
            "securitySchemes": [
                "apiKey": [
                    "type": "http", "scheme": "bearer",
                    "description": "An agent's API key (POST /agents/register) or an OAuth access token. Reads need none; changes and tasks belong to an agent.",
                ],
                "oauth2": [
                    "type": "oauth2",
                    "description": "Authorization code with PKCE (S256) from this store's authorization server; the principal grants scopes and sets the agent's limits.",
                    "oauth2MetadataUrl": .string(url("/.well-known/oauth-authorization-server")),
                    "flows": [
                        "authorizationCode": [
                            "authorizationUrl": .string(url("/oauth/authorize")), "tokenUrl": .string(url("/oauth/token")),
                            "refreshUrl": .string(url("/oauth/token")), "scopes": OAuthScopes.described(actions),
                        ]
                    ],
                ],
            ],
            "security": [["apiKey": []], ["oauth2": []]],
            "defaultInputModes": ["application/json"],
            "defaultOutputModes": ["application/json"],
            "skills": .array(skills),
            "supportsAuthenticatedExtendedCard": false,
        ]
    }

    func stageExamples(_ stage: JourneyStage) -> [String] {
        switch stage {
        case .finding: return ["What does this store sell and how do I talk to it?"]
        case .evaluating: return ["Find a two-person tent under $400 that is in stock", "What does Trail Maps Pro cost per year?"]
        case .trustChecking: return ["What is the refund window?", "Verify the store's signed capability manifest"]
        case .transacting: return ["Buy the Ridgeline 2P tent"]
        case .using: return ["Where is my order?"]
        case .recommending: return ["Rate the tent I bought"]
        }
    }

    func ucpProfile(jwks: [JSON]) -> JSON {
        UCP(baseURL: baseURL, productOfVariant: { _ in nil }, platforms: nil, checkoutTTL: 0, handlerDescriptors: paymentHandlerDescriptors).profile(jwks: jwks)
    }

    /// The MCP server card (SEP-2127 draft): who the server is and where it listens.
    func mcpServerCard() -> JSON {
        let host = URL(string: baseURL)?.host ?? "localhost"
        let reversed = host.split(separator: ".").reversed().joined(separator: ".")
        return [
            "$schema": "https://static.modelcontextprotocol.io/schemas/v2/server-card.schema.json",
            "name": .string("\(reversed)/\(manifests.storeID)"),
            "version": .string(version),
            "title": .string(name),
            "description": .string(String("Search, compare and price \(name)'s catalog; read its policies.".prefix(100))),
            "websiteUrl": store["url"] ?? .string(baseURL),
            "remotes": [[
                "type": "streamable-http", "url": .string(url("/mcp")),
                "supportedProtocolVersions": .array(
                    (MCPEndpoint.Stateless.versions + MCPEndpoint.sessionVersions).map(JSON.string)),
            ]],
        ]
    }

    func mcpCatalog() -> JSON {
        let host = URL(string: baseURL)?.host ?? "localhost"
        return [
            "specVersion": "draft",
            "entries": [[
                "identifier": .string("urn:air:\(host):\(manifests.storeID)"), "displayName": .string(name),
                "type": "application/mcp-server-card+json", "url": .string(url("/mcp/server-card")),
            ]],
        ]
    }

    /// RFC 9727 §4: the API catalog as an RFC 9264 linkset, anchored at the store's origin.
    func apiCatalog() -> JSON {
        [
            "linkset": [
                [
                    "anchor": .string(url("/")),
                    "service-desc": [["href": .string(url("/openapi.json")), "type": "application/vnd.oai.openapi+json"]],
                    "service-doc": [["href": .string(url("/llms.txt")), "type": "text/markdown"], ["href": .string(url("/agents")), "type": "application/json"]],
                    "status": [["href": .string(url("/status")), "type": "application/json"]],
                ]
            ]
        ]
    }

    /// RFC 8288 links from the entry point to its machine-readable versions and descriptions.
    var entryLinks: String {
        "<\(url("/llms.txt"))>; rel=\"alternate\"; type=\"text/markdown\", <\(url("/openapi.json"))>; rel=\"service-desc\"; type=\"application/vnd.oai.openapi+json\", "
            + "<\(url("/.well-known/api-catalog"))>; rel=\"api-catalog\", <\(url("/agents/policy"))>; rel=\"describedby\""
    }

    func acpDiscovery() -> JSON {
        var document = ACP(
            baseURL: baseURL, storeID: manifests.storeID, currency: manifests.currency, shippingOptions: []
        ).discovery.objectValue ?? [:]
        if let locales = store["locales"]?.arrayValue, !locales.isEmpty, var capabilities = document["capabilities"]?.objectValue {
            capabilities["supported_locales"] = .array(locales)
            document["capabilities"] = .object(capabilities)
        }
        return .object(document)
    }

    func capabilityManifest(signingKey: StoreSigningKey, actions: ActionRegistry) -> JSON {
        [
            "$schema": "https://storefront.dev/schemas/capabilities.schema.json",
            "manifest_version": "1.0",
            "store": storeSummary,
            "gateway": ["name": "storefront", "version": .string(version)],
            "endpoints": .array(Endpoints.all.map(endpointJSON)),
            "actions": .array(actions.entries.map { actionJSON($0, schemas: false) }),
            "catalog": [
                "version": .int(Int64(catalog.version)), "products": .int(Int64(catalog.productCount)),
                "categories": .array(catalog.categories.map { .string($0.id) }),
            ],
            "documents": documentLinks,
            "stages": .array(JourneyStage.allCases.map { stage in
                [
                    "stage": .string(stage.rawValue),
                    "operations": .array(Endpoints.all.filter { $0.stage == stage }.map { .string($0.id) }),
                    "actions": .array(actions.entries.filter { $0.action.stage == stage }.map { .string($0.action.name) }),
                ]
            }),
            "authentication": authentication,
            "limits": limits,
            "signature": [
                "alg": "EdDSA", "kid": .string(signingKey.keyID), "jwks": .string(url("/.well-known/jwks.json")),
                "format": "detached JWS (RFC 7515 Appendix F) over the exact bytes of this document",
                "header": "X-Capabilities-Signature",
                "url": .string(url("/.well-known/capabilities.json.jws")),
            ],
        ]
    }

    func llmsTxt(actions: ActionRegistry) -> String {
        var lines = ["# \(name)", "", "> \(description)", ""]
        lines.append(
            "This store is served by Storefront, an agent-native gateway. Everything below is machine-readable; "
                + "money is always integer minor units with an ISO 4217 currency (1999 USD = $19.99). "
                + "Errors are JSON: {\"error\": {\"type\", \"code\", \"message\", \"param\"}}. "
                + "Call any action below with `POST \(url("/tools/{name}"))` and its arguments as a JSON body, or as an MCP tool at "
                + "\(url("/mcp")); every action's JSON Schemas are at \(url("/tools"))."
                + (rateLimits == .null
                    ? ""
                    : " Requests are rate-limited per agent and per client address, by class (reads, writes, registration, checkout): "
                        + "a refusal is 429 with Retry-After and the RateLimit and RateLimit-Policy headers; /agents lists the limits."))
        lines.append("")
        lines.append("## Start here")
        lines.append("")
        lines.append("- [Agent entry point](\(url("/agents"))): every endpoint, document and limit, as JSON")
        lines.append("- [OpenAPI](\(url("/openapi.json"))): the HTTP API in OpenAPI 3.1")
        lines.append("")
        lines.append("## Access for AI agents")
        lines.append("")
        let policyLink = policyURL ?? url("/agents/policy")
        let rules = accessPolicyRules
        lines.append(
            "- [Access policy](\(policyLink)): who may reach which stage, as JSON (robots.txt says the same)"
                + (rules.isEmpty ? "; every agent may reach every stage." : "."))
        for rule in rules {
            lines.append("- [\(rule.who) at \(rule.stage)](\(policyLink)): \(rule.who) \(rule.what)")
        }
        lines.append("")
        lines.append("## Actions")
        lines.append("")
        for entry in actions.entries {
            lines.append("- [\(entry.action.name)](\(url("/tools#\(entry.action.name)"))): \(entry.action.description)")
        }
        for stage in [JourneyStage.evaluating, .trustChecking, .finding] {
            lines.append("")
            lines.append("## \(stage.title)")
            lines.append("")
            for e in Endpoints.all where e.stage == stage && e.path != "/agents" && e.path != "/openapi.json" {
                let link = e.path.contains("{")
                    ? url(e.path.replacingOccurrences(of: "{id}", with: catalog.page(after: nil, limit: 1).products.first?.id ?? "id"))
                    : url(e.path) + (e.exampleQuery.map { "?" + $0 } ?? "")
                lines.append("- [\(e.method) \(e.path)](\(link)): \(e.summary)")
            }
        }
        lines.append("")
        lines.append("## Categories")
        lines.append("")
        for category in catalog.categories {
            lines.append("- [\(category.name)](\(url("/catalog?category=\(category.id)"))): \(category.description)")
        }
        lines.append("")
        lines.append("## Optional")
        lines.append("")
        // The first products in catalog order (a large catalog's are found by search).
        let (listed, more) = catalog.page(after: nil, limit: Self.llmsProducts)
        for product in listed {
            lines.append("- [\(product.name)](\(url("/products/\(product.id)"))): \(product.price.displayString)\(product.inStock ? "" : ", sold out")")
        }
        if more != nil {
            lines.append("- [Every other product](\(url("/catalog"))): \(catalog.productCount - listed.count) more; search them, or read the [ACP feed](\(url("/feeds/acp/products.jsonl")))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func robotsTxt() -> String {
        var text = """
            # \(name) welcomes AI agents, assistants and search crawlers.
            # Agent entry point: \(url("/agents"))
            # Machine-readable guide: \(url("/llms.txt"))

            """
        if let policyURL { text += "# Access policy (what is enforced, per agent and stage): \(policyURL)\n" }
        for line in accessPolicyLines { text += "# " + line + "\n" }
        text += "\n"
        for group in robotsGroups { text += group + "\n\n" }
        text += """
            User-agent: *
            Content-Signal: search=yes, ai-input=yes
            Allow: /
            Disallow: /admin/

            Sitemap: \(url("/sitemap.xml"))

            """
        return text
    }

    /// How many products llms.txt and the sitemap list (a sitemap file holds at most 50,000 URLs).
    static let llmsProducts = 200
    static let sitemapProducts = 45_000

    func sitemap() -> String {
        let paths = ["/agents", "/llms.txt", "/pricing", "/policies", "/catalog", "/openapi.json",
                     "/.well-known/agent-card.json", "/.well-known/capabilities.json"]
            + catalog.firstIDs(Self.sitemapProducts).map { "/products/\($0)" }
        let entries = paths.map { "  <url><loc>\(htmlEscape(url($0)))</loc></url>" }.joined(separator: "\n")
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            \(entries)
            </urlset>

            """
    }

    func pricingDocument() -> JSON {
        PricingEntries.document(manifests: manifests, catalog: catalog, stock: stock, baseURL: baseURL)
    }

    func policiesDocument() -> JSON {
        guard case .object(var doc) = manifests.policies else { return manifests.policies }
        doc["store"] = .string(manifests.storeID)
        doc["pricing"] = .string(url("/pricing"))
        return .object(doc)
    }
}
