import JSON
import StorefrontActions
import StorefrontDomain

/// The scopes the gateway's OAuth server grants: every action's own scope, and UCP identity
/// linking's, each described as the principal's consent page shows it. Discovery documents
/// (the OpenAPI document, the agent card) name the same list.
enum OAuthScopes {
    /// UCP identity linking's scopes and the actions' scopes each one stands for. (Catalog
    /// search and lookup are public here, so their scopes are not listed: UCP reads a listed
    /// scope as "needs the buyer's identity".)
    static let ucp: [String: Set<String>] = [
        "dev.ucp.shopping.cart:manage": ["cart:write"],
        "dev.ucp.shopping.checkout:manage": ["cart:write", "checkout:write", "orders:read"],
        "dev.ucp.shopping.order:read": ["orders:read"],
        "dev.ucp.shopping.order:manage": ["orders:read", "orders:write"],
    ]

    static let descriptions: [String: String] = [
        "catalog:read": "Browse the catalog as you.",
        "cart:write": "Make and change carts.",
        "checkout:write": "Start checkouts and buy from the agent's wallet, within the limits you set.",
        "orders:read": "See the orders it placed.",
        "orders:write": "Cancel orders, ask for refunds and returns.",
        "dev.ucp.shopping.cart:manage": "UCP: make and change carts (includes cart:write).",
        "dev.ucp.shopping.checkout:manage": "UCP: check out and buy, within the limits you set (includes cart:write, checkout:write, orders:read).",
        "dev.ucp.shopping.order:read": "UCP: see your orders (includes orders:read).",
        "dev.ucp.shopping.order:manage": "UCP: see and manage your orders (includes orders:read, orders:write).",
    ]

    static func all(_ actions: ActionRegistry) -> [String] {
        var scopes = Set(actions.entries.compactMap(\.action.scope))
        scopes.formUnion(Agent.defaultScopes)
        scopes.formUnion(ucp.keys)
        return scopes.sorted()
    }

    /// The actions' scopes a granted set stands for (UCP's scopes expanded).
    static func effective(_ granted: Set<String>) -> Set<String> {
        var scopes = granted
        for scope in granted { scopes.formUnion(ucp[scope] ?? []) }
        return scopes
    }

    static func described(_ actions: ActionRegistry) -> JSON {
        .object(Dictionary(uniqueKeysWithValues: all(actions).map { ($0, JSON.string(descriptions[$0] ?? $0)) }))
    }
}
