import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// UCP's checkout REST binding at the profile's REST endpoint (the gateway's root):
/// `POST /checkout-sessions` (201), `GET|PUT /checkout-sessions/{id}`,
/// `POST /checkout-sessions/{id}/complete`, `POST /checkout-sessions/{id}/cancel`, in UCP's
/// request and response shapes and status machine, run by the same actions as
/// `create_checkout`, `get_checkout`, `update_checkout`, `complete_checkout` and
/// `cancel_checkout` (same scopes, rate limits, idempotency keys and atomic payment).
///
/// Errors: a transport error (credentials, 404, 429, a profile that cannot be negotiated) is
/// `{code, content}` with its status; a business outcome (stock, limits, the balance, a state
/// that cannot change) is 200 with `{ucp: {status: "error"}, messages}`.
extension Gateway {
    func addUCPRoutes(to router: inout Router) {
        router.post("/checkout-sessions") { [unowned self] request in
            self.ucpCheckoutCall(request, action: "create_checkout", successStatus: 201) { ucp, body in
                guard case .object = body else { return .failure(UCPProblem("Send a JSON object with line_items.")) }
                // The cart extension: a checkout of a cart's items.
                if let cart = body["cart_id"]?.stringValue { return .success(["cart_id": .string(cart)]) }
                return ucp.items(body["line_items"]).map { ["items": $0] }
            }
        }
        router.get("/checkout-sessions/{id}") { [unowned self] request in
            self.ucpCheckoutCall(request, action: "get_checkout") { _, _ in .success([:]) }
        }
        router.add("PUT", "/checkout-sessions/{id}") { [unowned self] request in
            self.ucpCheckoutCall(request, action: "update_checkout") { ucp, body in
                ucp.items(body["line_items"]).map { ["items": $0] }
            }
        }
        router.post("/checkout-sessions/{id}/complete") { [unowned self] request in
            self.ucpCheckoutCall(request, action: "complete_checkout") { _, body in
                let instruments = body["payment"]?["instruments"]?.arrayValue ?? []
                guard instruments.count == 1, let instrument = instruments.first else {
                    return .failure(UCPProblem("payment.instruments must hold exactly one instrument: {id, handler_id: \"\(UCP.walletHandlerID)\", type: \"wallet\"}."))
                }
                guard instrument["handler_id"]?.stringValue == UCP.walletHandlerID else {
                    return .failure(
                        UCPProblem(
                            "This store takes payment from the agent's wallet only: handler_id \"\(UCP.walletHandlerID)\" (see payment_handlers in /.well-known/ucp)."))
                }
                return .success([:])
            }
        }
        router.post("/checkout-sessions/{id}/cancel") { [unowned self] request in
            self.ucpCheckoutCall(request, action: "cancel_checkout") { _, _ in .success([:]) }
        }
        router.get("/orders/{id}") { [unowned self] request in self.ucpOrder(request) }
    }

    /// `GET /orders/{id}`: UCP's order entity, for the agent that placed it.
    func ucpOrder(_ request: Request) -> Response {
        let ucp = self.ucp
        if case .refused(let status, let code, let content) = ucp.negotiate(request.headers["UCP-Agent"]) {
            chargeReads(request)
            return Self.ucpTransportError(status: status, code: code, content: content)
        }
        let identity: Identity
        switch a2aCaller(request) {
        case .refused(let response): return response
        case .agent(let found): identity = found
        }
        let id = request.pathParameters["id"] ?? ""
        do {
            let order = try database.reading { db -> JSON? in
                guard let order = try OrderStore.find(id, agentID: identity.agent.id, db: db) else { return nil }
                return try UCPOrders.json(order, baseURL: configuration.publicURL, db: db)
            }
            guard let order else {
                return jsonResponse(ucp.errorBody(code: "not_found", content: "No order \(id) for this agent.", severity: "unrecoverable"))
            }
            var response = jsonResponse(order)
            response.noteCaller(identity, action: "get_order")
            return response
        } catch {
            return Self.ucpTransportError(status: 503, code: "store_unavailable", content: "The order could not be read; retry.")
        }
    }

    var ucp: UCP {
        UCP(
            baseURL: configuration.publicURL, productOfVariant: productOfVariant, platforms: configuration.ucpPlatforms,
            checkoutTTL: configuration.retention.checkoutTTL)
    }

    /// Negotiates, reads the body, maps it to the action's arguments, runs the action, and
    /// answers in UCP's shape.
    func ucpCheckoutCall(
        _ request: Request, action: String, successStatus: Int = 200,
        arguments: (UCP, JSON) -> Result<JSON, UCPProblem>
    ) -> Response {
        let ucp = self.ucp
        var agreedPlatform: (profile: String, webhook: String)?
        switch ucp.negotiate(request.headers["UCP-Agent"]) {
        case .refused(let status, let code, let content):
            chargeReads(request)
            return Self.ucpTransportError(status: status, code: code, content: content)
        case .incompatible(let content):
            chargeReads(request)
            return jsonResponse(ucp.errorBody(code: "capabilities_incompatible", content: content, severity: "unrecoverable"))
        case .agreed(let platform, let orderWebhook):
            if action == "create_checkout", let platform, let orderWebhook {
                agreedPlatform = (platform, orderWebhook)
            }
        }
        var body: JSON = [:]
        if !request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard let parsed = try? JSON.parse(bytes: request.body) else {
                chargeReads(request)
                return Self.ucpTransportError(status: 400, code: "invalid_json", content: "The body is not valid JSON.")
            }
            body = parsed
        }
        var mapped: JSON
        switch arguments(ucp, body) {
        case .failure(let problem):
            chargeReads(request)
            return Self.ucpTransportError(status: 400, code: "invalid_request", content: problem.message)
        case .success(let value): mapped = value
        }
        if let id = request.pathParameters["id"], case .object(var fields) = mapped {
            fields["checkout_id"] = .string(id)
            mapped = .object(fields)
        }
        // The platform the checkout came through hears of its order (its profile's order
        // webhook): kept with the checkout before the answer goes out (a write that reports
        // after its commit: this runs where the writer reports).
        var remember: (@Sendable (ActionOutcome, @escaping @Sendable (Response?) -> Void) -> Void)?
        if let platform = agreedPlatform {
            let database = database
            remember = { outcome, done in
                guard case .success(let result) = outcome.result, let checkoutID = result["checkout"]?["id"]?.stringValue else {
                    return done(nil)
                }
                database.writing({ db in
                    try UCPOrders.rememberPlatform(checkoutID: checkoutID, platform: platform.profile, url: platform.webhook, db: db)
                }) { stored in
                    if case .failure = stored {
                        return done(Self.ucpTransportError(status: 503, code: "store_unavailable", content: "Retry with the same Idempotency-Key."))
                    }
                    done(nil)
                }
            }
        }
        return runAction(action, arguments: mapped, request: request, beforeAnswer: remember) { outcome in
            switch outcome.result {
            case .success(let result):
                var response = jsonResponse(ucp.checkout(result["checkout"] ?? [:]), status: successStatus)
                if outcome.replayed { response.headers.add("Idempotent-Replayed", "true") }
                return response
            case .failure(let error):
                switch error.status {
                case 401:
                    var response = Self.ucpTransportError(status: 401, code: error.code, content: error.message)
                    response.headers.add("WWW-Authenticate", "Bearer realm=\"ucp\"")
                    return response
                case 404 where error.param?.hasPrefix("/items") == true:
                    // An item this store does not sell: the business's answer, not a missing route.
                    return jsonResponse(ucp.errorBody(code: "item_unavailable", content: error.message, severity: "requires_buyer_input"))
                case 404, 429, 503:
                    var response = Self.ucpTransportError(status: error.status, code: error.code, content: error.message)
                    if let retry = outcome.retryAfter { response.headers.add("Retry-After", String(retry)) }
                    return response
                default:
                    if error.code.hasPrefix("idempotency") || error.code == "missing_scope" || error.status == 400 {
                        var response = Self.ucpTransportError(status: error.status == 422 ? 409 : error.status, code: error.code, content: error.message)
                        if let retry = outcome.retryAfter { response.headers.add("Retry-After", String(retry)) }
                        return response
                    }
                    // What the store decided (stock, a limit, the balance, the state) is the
                    // business's answer.
                    let severity = error.status == 402 || error.status == 403 ? "requires_buyer_input" : "recoverable"
                    return jsonResponse(ucp.errorBody(code: error.code, content: error.message, severity: severity))
                }
            }
        }
    }

    static func ucpTransportError(status: Int, code: String, content: String) -> Response {
        jsonResponse(["code": .string(code), "content": .string(content)], status: status)
    }

    /// Runs an action as the request's caller: credentials, rate limits and the idempotency key
    /// as on REST; the gateway's own 401 and 429 are answered here, everything else by `answer`.
    func runAction(
        _ name: String, arguments: JSON, request: Request,
        beforeAnswer: (@Sendable (ActionOutcome, @escaping @Sendable (Response?) -> Void) -> Void)? = nil,
        answer: @escaping @Sendable (ActionOutcome) -> Response
    ) -> Response {
        let identity: Identity?
        switch authenticate(request) {
        case .success(let found): identity = found
        case .failure(let error):
            if let decision = chargeAction(name, identity: nil, request: request), !decision.allowed {
                return refusal(decision, identity: nil, action: name)
            }
            return answer(
                ActionOutcome(result: .failure(ActionError(status: 401, kind: .authentication, code: error.code, message: error.message))))
        }
        let decision = chargeAction(name, identity: identity, request: request)
        if let decision, !decision.allowed { return refusal(decision, identity: identity, action: name) }
        let context = ActionContext(requestID: request.id, identity: identity, idempotencyKey: request.headers["Idempotency-Key"])
        let respond: @Sendable (ActionOutcome) -> Response = { outcome in
            var response = answer(outcome)
            if name == "complete_checkout", !outcome.replayed, case .success(let result) = outcome.result,
                let order = result["order"], let total = order["totals"]?["total"]
            {
                response.notePurchase(
                    amount: Int64(total["amount"]?.intValue ?? 0), currency: total["currency"]?.stringValue ?? "",
                    referral: order["referral_code"]?.stringValue)
            }
            response.noteCaller(identity, action: name)
            decision?.addHeaders(to: &response)
            return response
        }
        guard actions.entry(name)?.action.isMutating == true else {
            return respond(actions.callWaiting(name, arguments: arguments, context: context))
        }
        let registry = actions
        return .later { complete in
            registry.call(name, arguments: arguments, context: context) { outcome in
                guard let beforeAnswer else { return complete(respond(outcome)) }
                beforeAnswer(outcome) { override in complete(override ?? respond(outcome)) }
            }
        }
    }
}
