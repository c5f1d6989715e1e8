import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// UCP (dev.ucp.shopping), the business side: the version this gateway speaks, the capabilities
/// it implements, the wallet as its payment handler, and the mapping between UCP's checkout
/// and Storefront's own (one implementation serves both: `/checkout-sessions` in UCP's shapes,
/// `create_checkout` and friends in Storefront's).
struct UCP: Sendable {
    static let version = "2026-08-25"
    static let checkoutCapability = "dev.ucp.shopping.checkout"
    static let orderCapability = "dev.ucp.shopping.order"
    static let walletHandlerName = "dev.storefront.wallet"
    static let walletHandlerID = "wallet"

    let baseURL: String
    /// Purchasable item ids: a variant's id names its product too.
    let productOfVariant: @Sendable (String) -> String?
    /// Platform profiles: the merchant's approved ones, and others fetched at the URL their
    /// `UCP-Agent` names (before the request is routed). Nil: only this store's own profile.
    let platforms: PlatformProfiles?
    /// Seconds an untouched checkout is kept (its `expires_at`).
    let checkoutTTL: Int64
    /// The payment handlers the store takes (the wallet, and any registered beside it).
    var handlerIDs: [String] = [UCP.walletHandlerID]
    /// How the handlers beside the wallet describe themselves (UCP's `payment_handlers` entries).
    var handlerDescriptors: [(name: String, entry: JSON)] = []

    func url(_ path: String) -> String { baseURL + path }

    /// The capabilities this store implements, as the profile lists them.
    var capabilities: JSON {
        .object([
            Self.checkoutCapability: [
                [
                    "version": .string(Self.version),
                    "spec": .string("https://ucp.dev/\(Self.version)/specification/shopping/checkout"),
                    "schema": .string("https://ucp.dev/\(Self.version)/schemas/shopping/checkout.json"),
                ]
            ],
            Self.orderCapability: [
                [
                    "version": .string(Self.version),
                    "spec": .string("https://ucp.dev/\(Self.version)/specification/shopping/order"),
                    "schema": .string("https://ucp.dev/\(Self.version)/schemas/shopping/order.json"),
                ]
            ],
            "dev.ucp.shopping.cart": [
                [
                    "version": .string(Self.version),
                    "spec": .string("https://ucp.dev/\(Self.version)/specification/shopping/cart"),
                    "schema": .string("https://ucp.dev/\(Self.version)/schemas/shopping/cart.json"),
                ]
            ],
            "dev.ucp.shopping.catalog.search": [
                [
                    "version": .string(Self.version),
                    "spec": .string("https://ucp.dev/\(Self.version)/specification/shopping/catalog"),
                    "schema": .string("https://ucp.dev/\(Self.version)/schemas/shopping/catalog_search.json"),
                ]
            ],
            "dev.ucp.shopping.catalog.lookup": [
                [
                    "version": .string(Self.version),
                    "spec": .string("https://ucp.dev/\(Self.version)/specification/shopping/catalog"),
                    "schema": .string("https://ucp.dev/\(Self.version)/schemas/shopping/catalog_lookup.json"),
                ]
            ],
            // Identity linking: this gateway is the OAuth authorization server
            // (/.well-known/oauth-authorization-server); a listed scope needs the buyer's grant.
            Self.identityLinkingCapability: [
                [
                    "version": .string(Self.version),
                    "spec": .string("https://ucp.dev/\(Self.version)/specification/common/identity-linking/"),
                    "schema": .string("https://ucp.dev/\(Self.version)/schemas/common/identity_linking.json"),
                    "config": ["scopes": .object(Self.identityScopes.mapValues { ["description": ["plain": .string($0)]] })],
                ]
            ],
        ])
    }

    static let identityLinkingCapability = "dev.ucp.common.identity_linking"
    /// The identity-linking scopes this store grants (the OAuth server maps each to the actions' scopes).
    static let identityScopes: [String: String] = [
        "dev.ucp.shopping.cart:manage": "Make and change carts for you.",
        "dev.ucp.shopping.checkout:manage": "Check out and pay from your agent's wallet, within the limits you set.",
        "dev.ucp.shopping.order:read": "See your orders.",
        "dev.ucp.shopping.order:manage": "See your orders, cancel them, ask for refunds and returns.",
    ]

    var paymentHandlers: JSON {
        var handlers = walletHandlers
        for (name, entry) in handlerDescriptors {
            handlers[name] = .array((handlers[name]?.arrayValue ?? []) + [entry])
        }
        return .object(handlers)
    }

    private var walletHandlers: [String: JSON] {
        [
            Self.walletHandlerName: [
                [
                    "id": .string(Self.walletHandlerID), "version": .string(Self.version),
                    "available_instruments": [["type": "wallet"]],
                    "config": [
                        "description": "The agent's Storefront wallet, funded by its principal, with the spend limits they set. Pay with an instrument {id, handler_id: \"wallet\", type: \"wallet\"}; no credential is needed beyond the agent's own.",
                        "wallet_url": .string(url("/tools/get_wallet")),
                    ],
                ]
            ]
        ]
    }

    /// `/.well-known/ucp`.
    func profile(jwks: [JSON]) -> JSON {
        [
            "ucp": [
                "version": .string(Self.version),
                "services": [
                    "dev.ucp.shopping": [
                        [
                            "version": .string(Self.version), "transport": "rest", "endpoint": .string(baseURL),
                            "spec": .string("https://ucp.dev/\(Self.version)/specification/overview"),
                            "schema": .string("https://ucp.dev/\(Self.version)/services/shopping/rest.openapi.json"),
                        ],
                        [
                            "version": .string(Self.version), "transport": "mcp", "endpoint": .string(baseURL + "/ucp/mcp"),
                            "spec": .string("https://ucp.dev/\(Self.version)/specification/overview"),
                            "schema": .string("https://ucp.dev/\(Self.version)/services/shopping/mcp.openrpc.json"),
                        ],
                        [
                            "version": .string(Self.version), "transport": "a2a", "endpoint": .string(baseURL + "/.well-known/agent-card.json"),
                            "spec": .string("https://ucp.dev/\(Self.version)/specification/overview"),
                        ],
                    ]
                ],
                "capabilities": capabilities,
                "payment_handlers": paymentHandlers,
            ],
            "keys": .array(jwks),
        ]
    }

    /// The `ucp` member of a response.
    func envelope(status: String = "success") -> JSON {
        if status != "success" { return ["version": .string(Self.version), "status": .string(status)] }
        return [
            "version": .string(Self.version), "status": "success",
            "capabilities": .object([Self.checkoutCapability: [["version": .string(Self.version)]]]),
            "payment_handlers": paymentHandlers,
        ]
    }

    // MARK: Negotiation

    enum Negotiation {
        /// Served; with the platform's profile URL and its order webhook when it named one, and
        /// its profile (whose keys sign its requests).
        case agreed(platform: String?, orderWebhook: String?, profile: JSON?)
        /// A transport error (`{code, content}`) with its status.
        case refused(status: Int, code: String, content: String)
        /// A business error: the capabilities do not meet.
        case incompatible(String)
    }

    /// The `UCP-Agent` header: `profile="https://…"` (an RFC 8941 dictionary). Without one the
    /// caller gets this store's capabilities as they are; with one, the platform's profile (one the
    /// merchant approved, or fetched) must speak this version and share the checkout capability.
    func negotiate(_ header: String?) -> Negotiation {
        guard let header else { return .agreed(platform: nil, orderWebhook: nil, profile: nil) }
        guard let profileURL = Self.profileParameter(header) else {
            return .refused(
                status: 400, code: "invalid_profile_url", content: "UCP-Agent must be a dictionary with profile=\"https://…\".")
        }
        // https only (http on loopback when the gateway is configured for tests on one machine)
        guard let parsed = URL(string: profileURL), parsed.scheme == "https" || (parsed.scheme == "http" && platforms?.allowPrivate == true),
            parsed.host != nil
        else {
            return .refused(status: 400, code: "invalid_profile_url", content: "The platform profile \(profileURL) is not an https URL.")
        }
        guard let entry = platforms?.known(profileURL) else {
            return .refused(
                status: 424, code: "profile_unreachable",
                content: platforms?.discover == true
                    ? "The platform profile at \(profileURL) could not be fetched yet; retry."
                    : "This store negotiates with the platforms its merchant approved; \(profileURL) is not one of them.")
        }
        if let failure = entry.failure { return .refused(status: failure.status, code: failure.code, content: failure.content) }
        guard let profile = entry.profile else {
            return .refused(status: 424, code: "profile_unreachable", content: "The platform profile at \(profileURL) could not be read.")
        }
        guard let ucp = profile["ucp"], let version = ucp["version"]?.stringValue else {
            return .refused(status: 422, code: "profile_malformed", content: "The platform profile has no ucp.version.")
        }
        let supported = Set([version] + (ucp["supported_versions"]?.objectValue.map { Array($0.keys) } ?? []))
        guard supported.contains(Self.version) else {
            return .refused(
                status: 422, code: "version_unsupported",
                content: "This store speaks UCP \(Self.version); the platform speaks \(supported.sorted().joined(separator: ", ")).")
        }
        let offered = ucp["capabilities"]?[Self.checkoutCapability]?.arrayValue ?? []
        guard offered.contains(where: { $0["version"]?.stringValue == Self.version }) else {
            return .incompatible("The platform does not support \(Self.checkoutCapability) \(Self.version), the only capability this store offers.")
        }
        let webhook = entry.webhookAllowed
            ? ucp["capabilities"]?["dev.ucp.shopping.order"]?.arrayValue?.lazy.compactMap { $0["config"]?["webhook_url"]?.stringValue }.first
            : nil
        return .agreed(platform: profileURL, orderWebhook: webhook, profile: profile)
    }

    static func profileParameter(_ header: String) -> String? {
        for member in header.split(separator: ",") {
            let pair = member.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0] == "profile", pair[1].count >= 2, pair[1].hasPrefix("\""), pair[1].hasSuffix("\"") else { continue }
            return String(pair[1].dropFirst().dropLast())
        }
        return nil
    }

    // MARK: Requests

    /// UCP line items (`[{item: {id}, quantity}]`) as Storefront items, or what is wrong with them.
    func items(_ lineItems: JSON?) -> Result<JSON, UCPProblem> {
        guard let lines = lineItems?.arrayValue, !lines.isEmpty else { return .failure(UCPProblem("line_items must be a non-empty array.")) }
        var items: [JSON] = []
        for (i, line) in lines.enumerated() {
            guard let id = line["item"]?["id"]?.stringValue, !id.isEmpty else { return .failure(UCPProblem("line_items[\(i)].item.id is missing.")) }
            guard let quantity = line["quantity"]?.intValue, quantity >= 1 else {
                return .failure(UCPProblem("line_items[\(i)].quantity must be an integer of at least 1."))
            }
            if let product = productOfVariant(id) {
                items.append(["product_id": .string(product), "variant_id": .string(id), "quantity": .int(quantity)])
            } else {
                items.append(["product_id": .string(id), "quantity": .int(quantity)])
            }
        }
        return .success(.array(items))
    }

    /// `create_checkout`'s arguments from UCP's create request (or its cart extension's `cart_id`).
    func createArguments(_ body: JSON) -> Result<JSON, UCPProblem> {
        guard case .object = body else { return .failure(UCPProblem("Send a JSON object with line_items.")) }
        if let cart = body["cart_id"]?.stringValue { return .success(["cart_id": .string(cart)]) }
        return items(body["line_items"]).map { ["items": $0] }
    }

    /// `complete_checkout`'s arguments: the one instrument names a handler the store takes (the
    /// wallet, or another registered payment handler, which is given the instrument).
    func completeArguments(_ body: JSON) -> Result<JSON, UCPProblem> {
        let handlers = handlerIDs
        let instruments = body["payment"]?["instruments"]?.arrayValue ?? []
        guard instruments.count == 1, let instrument = instruments.first else {
            return .failure(
                UCPProblem("payment.instruments must hold exactly one instrument: {id, handler_id: \"\(Self.walletHandlerID)\", type: \"wallet\"}."))
        }
        let handler = instrument["handler_id"]?.stringValue ?? ""
        guard handlers.contains(handler) else {
            return .failure(
                UCPProblem(
                    handlers == [Self.walletHandlerID]
                        ? "This store takes payment from the agent's wallet only: handler_id \"\(Self.walletHandlerID)\" (see payment_handlers in /.well-known/ucp)."
                        : "This store takes handler_id \(handlers.map { "\"\($0)\"" }.joined(separator: ", ")) (see payment_handlers in /.well-known/ucp)."))
        }
        if handler == Self.walletHandlerID { return .success([:]) }
        return .success(["payment_handler": .string(handler), "payment_instrument": instrument])
    }

    // MARK: Answers

    /// An action's outcome in UCP's terms: its payload (`render` shapes a success), a business
    /// error (stock, a limit, the balance, a state that cannot change: 200 with `messages`), or
    /// a transport error (credentials, a missing resource, idempotency, 429).
    func answer(_ outcome: ActionOutcome, render: (JSON) -> JSON) -> UCPAnswer {
        switch outcome.result {
        case .success(let result): return .body(render(result))
        case .failure(let error):
            switch error.status {
            case 401:
                return .transport(status: 401, code: error.code, content: error.message, retryAfter: nil)
            case 404 where error.param?.hasPrefix("/items") == true:
                // An item this store does not sell: the business's answer, not a missing route.
                return .body(errorBody(code: "item_unavailable", content: error.message, severity: "requires_buyer_input"))
            case 404 where error.param == "/cart_id":
                return .body(errorBody(code: "not_found", content: error.message, severity: "unrecoverable"))
            case 404, 429, 503:
                return .transport(status: error.status, code: error.code, content: error.message, retryAfter: outcome.retryAfter)
            default:
                if error.code.hasPrefix("idempotency") || error.code == "missing_scope" || error.status == 400 {
                    return .transport(
                        status: error.status == 422 ? 409 : error.status, code: error.code, content: error.message, retryAfter: outcome.retryAfter)
                }
                let severity = error.status == 402 || error.status == 403 ? "requires_buyer_input" : "recoverable"
                return .body(errorBody(code: error.code, content: error.message, severity: severity))
            }
        }
    }

    // MARK: Responses

    /// A Storefront checkout (with its order when it has one) in UCP's shape.
    func checkout(_ checkout: JSON) -> JSON {
        let id = checkout["id"]?.stringValue ?? ""
        let lines: [JSON] = (checkout["line_items"]?.arrayValue ?? []).enumerated().map { index, line in
            let subtotal = line["subtotal"]?["amount"]?.intValue ?? 0
            let discount = line["discount"]?["amount"]?.intValue ?? 0
            var totals: [JSON] = [["type": "subtotal", "amount": .int(subtotal)]]
            if discount > 0 { totals.append(["type": "items_discount", "amount": .int(-discount)]) }
            totals.append(["type": "total", "amount": .int(line["total"]?["amount"]?.intValue ?? subtotal - discount)])
            let itemID = line["variant_id"]?.stringValue ?? line["product_id"]?.stringValue ?? ""
            return [
                "id": .string("li_\(index + 1)"),
                "item": [
                    "id": .string(itemID), "title": line["name"] ?? .string(itemID),
                    "price": .int(line["unit_price"]?["amount"]?.intValue ?? 0),
                ],
                "quantity": .int(line["quantity"]?.intValue ?? 1),
                "totals": .array(totals),
            ]
        }
        let totals = checkout["totals"] ?? [:]
        let discount = totals["discount"]?["amount"]?.intValue ?? 0
        let shipping = totals["shipping"]?["amount"]?.intValue ?? 0
        var sums: [JSON] = [["type": "subtotal", "amount": .int(totals["subtotal"]?["amount"]?.intValue ?? 0)]]
        if discount > 0 { sums.append(["type": "items_discount", "amount": .int(-discount)]) }
        if shipping > 0 || checkout["shipping_option"]?.stringValue != nil {
            sums.append(["type": "fulfillment", "amount": .int(shipping), "display_text": "Shipping"])
        }
        sums.append(["type": "total", "amount": .int(totals["total"]?["amount"]?.intValue ?? 0)])
        var messages: [JSON] = (checkout["messages"]?.arrayValue ?? []).map { message in
            var out: [String: JSON] = [
                "type": "error", "code": message["code"] ?? "invalid", "content": message["content"] ?? "",
                "severity": "recoverable",
            ]
            if let path = message["path"]?.stringValue { out["path"] = .string(Self.jsonPath(path)) }
            return .object(out)
        }
        var out: [String: JSON] = [
            "ucp": envelope(), "id": .string(id), "currency": checkout["currency"] ?? "USD",
            "line_items": .array(lines), "totals": .array(sums), "links": links,
        ]
        switch checkout["status"]?.stringValue {
        case "incomplete":
            out["status"] = "incomplete"
        case "ready_for_complete":
            out["status"] = "ready_for_complete"
        case "pending_approval":
            out["status"] = "requires_escalation"
            let amount = Money(json: checkout["approval"]?["amount"])?.displayString ?? ""
            messages.append([
                "type": "error", "code": "approval_required", "severity": "requires_buyer_review",
                "content": .string("This purchase (\(amount)) is above the approval threshold the buyer's principal set: they approve or decline it at continue_url. The money is held meanwhile."),
            ])
            out["continue_url"] = .string(url("/checkout-sessions/\(id)/continue"))
        case "completed":
            out["status"] = "completed"
            if let orderID = checkout["order_id"]?.stringValue {
                out["order"] = ["id": .string(orderID), "permalink_url": .string(url("/orders/\(orderID)"))]
            }
        default:
            out["status"] = "canceled"
        }
        if checkout["status"]?.stringValue == "incomplete" || checkout["status"]?.stringValue == "ready_for_complete",
            let updated = checkout["updated_at"]?.stringValue, let seconds = Self.seconds(updated)
        {
            out["expires_at"] = .string(isoTime(seconds + checkoutTTL))
        }
        if !messages.isEmpty { out["messages"] = .array(messages) }
        return .object(out)
    }

    /// An RFC 3339 time as Unix seconds.
    static func seconds(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }

    var links: JSON {
        [
            ["type": "refund_policy", "url": .string(url("/policies#refunds")), "title": "Refunds"],
            ["type": "shipping_policy", "url": .string(url("/policies#shipping")), "title": "Shipping"],
            ["type": "privacy_policy", "url": .string(url("/policies#privacy")), "title": "Privacy"],
            ["type": "terms_of_service", "url": .string(url("/policies#terms")), "title": "Terms"],
        ]
    }

    /// `/line_items/0/quantity` → `$.line_items[0].quantity` (RFC 9535).
    static func jsonPath(_ pointer: String) -> String {
        var path = "$"
        for part in pointer.split(separator: "/") {
            if let index = Int(part) { path += "[\(index)]" } else { path += "." + part }
        }
        return path
    }

    /// A business outcome that is not a checkout: `{ucp: {version, status: "error"}, messages}`.
    func errorBody(code: String, content: String, severity: String = "recoverable") -> JSON {
        [
            "ucp": envelope(status: "error"),
            "messages": [["type": "error", "code": .string(code), "content": .string(content), "severity": .string(severity)]],
        ]
    }
}

/// What is wrong with a UCP request (answered 400 `{code: "invalid_request", content}`).
struct UCPProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// What a UCP operation answers, whichever transport carries it.
enum UCPAnswer: Sendable {
    /// A UCP payload, or a business error (`{ucp: {status: "error"}, messages}`).
    case body(JSON)
    /// `{code, content}` with its HTTP status (MCP: a tool error).
    case transport(status: Int, code: String, content: String, retryAfter: Int?)

    func response(successStatus: Int = 200) -> Response {
        switch self {
        case .body(let body):
            return jsonResponse(body, status: body["ucp"]?["status"]?.stringValue == "error" ? 200 : successStatus)
        case .transport(let status, let code, let content, let retryAfter):
            var response = jsonResponse(["code": .string(code), "content": .string(content)], status: status)
            if let retryAfter { response.headers.add("Retry-After", String(retryAfter)) }
            if status == 401 { response.headers.add("WWW-Authenticate", "Bearer realm=\"ucp\"") }
            return response
        }
    }

    /// The answer as an MCP tool's outcome: payloads and business errors are results (UCP's
    /// structuredContent), transport errors are tool errors.
    var outcome: ActionOutcome {
        switch self {
        case .body(let body): return ActionOutcome(result: .success(body))
        case .transport(let status, let code, let content, let retryAfter):
            // UCP's MCP binding: a JSON-RPC error whose data is UCP's {code, content, retry_after?}.
            let kind: APIError.Kind = status == 401 ? .authentication : status == 429 ? .rateLimited : .invalidRequest
            var data: [String: JSON] = ["code": .string(code), "content": .string(content)]
            if let retryAfter { data["retry_after"] = .int(Int64(retryAfter)) }
            var error = ActionError(status: status, kind: kind, code: code, message: content)
            error.details = ["jsonrpc_error": ["code": -32000, "data": .object(data)]]
            return ActionOutcome(result: .failure(error), retryAfter: retryAfter)
        }
    }
}

extension Response {
    /// The gateway's own refusals (401, 429, 503 in `{"error": {code, message}}`) in a protocol's
    /// error shape, headers kept: UCP's `{code, content}`, ACP's `{type, code, message}`.
    func reshapedError(_ shape: @escaping @Sendable (_ code: String, _ message: String) -> JSON) -> Response {
        amended { response in
            guard response.status >= 400, case .bytes(let bytes) = response.body, let body = try? JSON.parse(bytes: bytes),
                let error = body["error"], let code = error["code"]?.stringValue, let message = error["message"]?.stringValue
            else { return }
            response.body = .bytes(shape(code, message).serialized())
        }
    }
}
