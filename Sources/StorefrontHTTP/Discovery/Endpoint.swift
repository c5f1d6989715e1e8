import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// One public HTTP route, declared once: the router, `openapi.json`, `/agents`, `llms.txt` and
/// the capability manifest are all generated from these declarations.
public struct Endpoint: Sendable {
    public struct Parameter: Sendable {
        public var name: String
        public var location: String  // "query" or "path"
        public var description: String
        public var schema: JSON
        public var required: Bool = false
        /// A value that works (OpenAPI's `example`; the route tests call each endpoint with them).
        public var example: JSON?
    }

    public var method: String
    public var path: String
    public var id: String
    public var summary: String
    public var stage: JourneyStage
    public var contentTypes: [String]
    public var parameters: [Parameter] = []
    /// JSON Schema of the 200 response body (for JSON endpoints).
    public var responseSchema: JSON?
    /// A public document: cacheable, CORS `*`.
    public var isPublicDocument: Bool = true
    /// Show in llms.txt and /agents as a document an agent reads (not a parametrised lookup).
    public var isDocument: Bool = true
    /// Needs an agent's credentials (401 without).
    public var requiresIdentity: Bool = false
    /// Its parameters can name something that does not exist (404).
    public var mayBeMissing: Bool = false
    /// The query of its parameters' examples (`seq=1`), for a route that needs one; nil otherwise.
    public var exampleQuery: String? {
        let pairs = parameters.compactMap { p in p.example.map { "\(p.name)=\($0.stringValue ?? $0.compactString)" } }
        return pairs.isEmpty ? nil : pairs.joined(separator: "&")
    }
}

/// A REST route that runs an action, declared once: the router registers it and `openapi.json`
/// documents it (beside `POST /tools/{name}`, which every action has).
public struct ActionRoute: Sendable {
    public var method: String
    public var path: String
    public var action: String
    /// The argument a `{id}` in the path fills (it wins over the body's).
    public var pathArgument: String?
    /// The status of a success (201 for a created resource).
    public var successStatus: Int = 200
}

extension Endpoint.Parameter {
    static func query(_ name: String, _ description: String, _ schema: JSON, example: JSON? = nil) -> Endpoint.Parameter {
        Endpoint.Parameter(name: name, location: "query", description: description, schema: schema, example: example)
    }

    static func path(_ name: String, _ description: String) -> Endpoint.Parameter {
        Endpoint.Parameter(
            name: name, location: "path", description: description,
            schema: ["type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,63}$"], required: true)
    }
}

/// The gateway's public routes, in the order agents should meet them.
public enum Endpoints {
    static let object: JSON = ["type": "object"]

    public static let all: [Endpoint] = [
        Endpoint(
            method: "GET", path: "/agents", id: "getAgents",
            summary: "The agent entry point: what this store is, every endpoint and document, how to authenticate, limits.",
            stage: .finding, contentTypes: ["application/json", "text/html"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/.well-known/agent-card.json", id: "getAgentCard",
            summary: "A2A Agent Card (protocol 0.3) describing the store's skills.", stage: .finding,
            contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/.well-known/ucp", id: "getUCPProfile",
            summary: "Universal Commerce Protocol business profile.", stage: .finding,
            contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/.well-known/api-catalog", id: "getAPICatalog",
            summary: "RFC 9727 API catalog (a linkset): the OpenAPI description, the documentation for agents and the status endpoint.",
            stage: .finding, contentTypes: ["application/linkset+json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/.well-known/http-message-signatures-directory", id: "getKeyDirectory",
            summary: "The store's own HTTP message signing keys (a Web Bot Auth key directory): the ES256 key its webhooks are signed with (RFC 9421) and its Ed25519 key, the response itself signed with the Ed25519 key.",
            stage: .trustChecking, contentTypes: ["application/http-message-signatures-directory+json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/.well-known/acp.json", id: "getACPDiscovery",
            summary: "Agentic Commerce Protocol discovery document.", stage: .finding,
            contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/mcp/server-card", id: "getMCPServerCard",
            summary: "MCP server card: the MCP endpoint (/mcp, Streamable HTTP) and the protocol versions it speaks.",
            stage: .finding, contentTypes: ["application/mcp-server-card+json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/.well-known/mcp/catalog.json", id: "getMCPCatalog",
            summary: "MCP catalog: the MCP servers of this host and where their server cards are.", stage: .finding,
            contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/.well-known/capabilities.json", id: "getCapabilityManifest",
            summary: "The store's capability manifest, signed: the detached JWS is in the X-Capabilities-Signature header and at /.well-known/capabilities.json.jws.",
            stage: .trustChecking, contentTypes: ["application/json"],
            responseSchema: ["$ref": "https://storefront.dev/schemas/capabilities.schema.json"]),
        Endpoint(
            method: "GET", path: "/.well-known/capabilities.json.jws", id: "getCapabilityManifestSignature",
            summary: "Detached compact JWS (EdDSA) over the exact bytes of the capability manifest.",
            stage: .trustChecking, contentTypes: ["application/jose"]),
        Endpoint(
            method: "GET", path: "/.well-known/jwks.json", id: "getJWKS",
            summary: "The store's public signing keys (JWK Set).", stage: .trustChecking,
            contentTypes: ["application/jwk-set+json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/.well-known/trail-head", id: "getTrailHead",
            summary: "The audit trail's signed head: tree size, RFC 6962 Merkle root, time, Ed25519 signature (kid in the JWKS). Keep one: GET /trail/proof/consistency?first=SIZE proves later heads extend it; GET /trail/proof/inclusion?seq=N proves an entry (a purchase receipt's) is in it.",
            stage: .trustChecking, contentTypes: ["application/json"], responseSchema: object, isPublicDocument: false),
        Endpoint(
            method: "GET", path: "/llms.txt", id: "getLLMsTxt", summary: "A Markdown guide to this store for language models (llmstxt.org).",
            stage: .finding, contentTypes: ["text/markdown"]),
        Endpoint(
            method: "GET", path: "/robots.txt", id: "getRobotsTxt",
            summary: "Crawler rules, written from the access policy: the paths each restricted agent may not fetch.",
            stage: .finding, contentTypes: ["text/plain"]),
        Endpoint(
            method: "GET", path: "/agents/policy", id: "getAccessPolicy",
            summary: "The access policy: per agent, operator or category and per journey stage, allow, block, require verification or charge (pay per crawl); what robots.txt, /agents and llms.txt say and what is enforced.",
            stage: .trustChecking, contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/sitemap.xml", id: "getSitemap", summary: "Every page and document of the store.",
            stage: .finding, contentTypes: ["application/xml"]),
        Endpoint(
            method: "GET", path: "/openapi.json", id: "getOpenAPI", summary: "This API described in OpenAPI 3.1.",
            stage: .finding, contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/pricing", id: "getPricing",
            summary: "Every price: one-time product prices, subscription plans, usage tiers, volume discounts, free trials. Integer minor units.",
            stage: .evaluating, contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/policies", id: "getPolicies",
            summary: "Returns, refunds, shipping, privacy, terms, SLA and support channels, machine-readable.",
            stage: .trustChecking, contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/status", id: "getStatus", summary: "Health, version, uptime and counts.",
            stage: .trustChecking, contentTypes: ["application/json"], responseSchema: object, isPublicDocument: false),
        Endpoint(
            method: "GET", path: "/catalog", id: "searchCatalog",
            summary: "Search the catalog: full-text words, category, price range in minor units, stock; paged with an opaque cursor.",
            stage: .evaluating, contentTypes: ["application/json"],
            parameters: [
                .query("q", "Words to search for in names, descriptions, tags, brands and attributes.",
                       ["type": "string", "maxLength": 200]),
                .query("category", "A category id (see /catalog categories).", ["type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,63}$"]),
                .query("min_price", "Lowest price, in minor units.", ["type": "integer", "minimum": 0]),
                .query("max_price", "Highest price, in minor units.", ["type": "integer", "minimum": 0]),
                .query("in_stock", "true for products in stock, false for sold-out ones.", ["type": "boolean"]),
                .query("limit", "Products per page (1-100, default 20).", ["type": "integer", "minimum": 1, "maximum": 100]),
                .query("cursor", "The next_cursor of the previous page.", ["type": "string"]),
            ],
            responseSchema: object, isPublicDocument: false, isDocument: false),
        Endpoint(
            method: "GET", path: "/tools", id: "listTools",
            summary: "Every action agents can call, with its input and output JSON Schemas, stage and annotations. Call one with POST /tools/{name}.",
            stage: .evaluating, contentTypes: ["application/json"], responseSchema: object),
        Endpoint(
            method: "GET", path: "/inbox", id: "getInbox",
            summary: "The agent's inbox: events about its orders, approvals and wallet. Server-Sent Events with Accept: text/event-stream (resume with Last-Event-ID), otherwise a JSON page after ?after=ID.",
            stage: .using, contentTypes: ["application/json", "text/event-stream"],
            parameters: [
                .query("after", "Only events after this id.", ["type": "integer", "minimum": 0]),
                .query("limit", "Events per page (1-200, default 50).", ["type": "integer", "minimum": 1, "maximum": 200]),
                .query("unread_only", "Only unread events.", ["type": "boolean"]),
            ],
            responseSchema: object, isPublicDocument: false, isDocument: false, requiresIdentity: true),
        Endpoint(
            method: "GET", path: "/catalog/{id}", id: "getCatalogProduct",
            summary: "One product with variants, inventory and attributes.", stage: .evaluating,
            contentTypes: ["application/json"], parameters: [.path("id", "The product id.")],
            responseSchema: object, isDocument: false),
        Endpoint(
            method: "GET", path: "/products/{id}", id: "getProductPage",
            summary: "A product page: HTML with schema.org Product/Offer JSON-LD for browsers and crawlers, JSON for agents.",
            stage: .finding, contentTypes: ["text/html", "application/json"],
            parameters: [.path("id", "The product id.")], isDocument: false),
        Endpoint(
            method: "GET", path: "/trail/proof/inclusion", id: "getTrailInclusionProof",
            summary: "An RFC 6962 inclusion proof: the trail entry ?seq=N (1-based; or the leaf ?index=I, 0-based) is in the tree of ?tree_size=M (default: the current signed head, returned with the proof).",
            stage: .trustChecking, contentTypes: ["application/json"],
            parameters: [
                .query("seq", "The entry's number in the trail (1-based).", ["type": "integer", "minimum": 1], example: 1),
                .query("index", "The entry's leaf index (0-based); instead of seq.", ["type": "integer", "minimum": 0]),
                .query("tree_size", "The tree to prove it in (default: the current one).", ["type": "integer", "minimum": 1]),
            ],
            responseSchema: object, isPublicDocument: false, isDocument: false, mayBeMissing: true),
        Endpoint(
            method: "GET", path: "/trail/proof/consistency", id: "getTrailConsistencyProof",
            summary: "An RFC 6962 consistency proof: the tree of ?first=SIZE (a head you kept) is a prefix of the tree of ?second=SIZE (default: the current signed head, returned with the proof).",
            stage: .trustChecking, contentTypes: ["application/json"],
            parameters: [
                .query("first", "The size of the tree you kept.", ["type": "integer", "minimum": 1], example: 1),
                .query("second", "The later tree's size (default: the current one).", ["type": "integer", "minimum": 1]),
            ],
            responseSchema: object, isPublicDocument: false, isDocument: false, mayBeMissing: true),
    ]

    /// Other paths of documents declared above (the same handler answers both).
    public static let aliases: [(path: String, of: String)] = [
        ("/", "/agents"),
        ("/.well-known/mcp/server-card.json", "/mcp/server-card"),
        ("/trail/head", "/.well-known/trail-head"),
    ]

    /// The REST routes that run an action under a path of its own.
    public static let actionRoutes: [ActionRoute] = [
        ActionRoute(method: "POST", path: "/inbox/ack", action: "ack_inbox"),
    ]

    /// UCP's checkout REST binding (described by UCP's own OpenAPI, which the profile at
    /// /.well-known/ucp links, not by this gateway's).
    public static let ucpCheckoutPath = "/checkout-sessions"
    /// UCP's order binding (`GET /orders/{id}`), described by UCP's OpenAPI too.
    public static let ucpOrderPath = "/orders"
    /// UCP's catalog and cart bindings (described by UCP's OpenAPI).
    public static let ucpShoppingPaths = ["/catalog/search", "/catalog/lookup", "/carts"]
    /// ACP's checkout and delegated-payment routes (described by ACP's own OpenAPI).
    public static let acpPaths = ["/checkout_sessions", "/agentic_commerce/", "/feeds/acp/"]

    /// The MCP transport (JSON-RPC, described by the MCP server card, not by OpenAPI).
    public static let mcpPath = "/mcp"
    /// UCP's MCP binding (UCP's tools; described by UCP's OpenRPC, linked from /.well-known/ucp).
    public static let ucpMCPPath = "/ucp/mcp"
    /// ACP's MCP binding (ACP's OpenRPC).
    public static let acpMCPPath = "/acp/mcp"
}
