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
            self.ucpCheckoutCall(request, action: "create_checkout", successStatus: 201) { ucp, body in ucp.createArguments(body) }
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
            self.ucpCheckoutCall(request, action: "complete_checkout") { ucp, body in ucp.completeArguments(body) }
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
        case .refused(let response): return response.reshapedError(Self.ucpErrorShape)
        case .agent(let found): identity = found
        }
        var response = ucpOrderAnswer(request.pathParameters["id"] ?? "", agentID: identity.agent.id).response()
        response.noteCaller(identity, action: "get_order")
        return response
    }

    /// UCP's order entity for the agent that placed it.
    func ucpOrderAnswer(_ id: String, agentID: String) -> UCPAnswer {
        do {
            let order = try database.reading { db -> JSON? in
                guard let order = try OrderStore.find(id, agentID: agentID, db: db) else { return nil }
                return try UCPOrders.json(order, baseURL: configuration.publicURL, db: db)
            }
            guard let order else {
                return .body(ucp.errorBody(code: "not_found", content: "No order \(id) for this agent.", severity: "unrecoverable"))
            }
            return .body(order)
        } catch {
            return .transport(status: 503, code: "store_unavailable", content: "The order could not be read; retry.", retryAfter: 1)
        }
    }

    var ucp: UCP {
        UCP(
            baseURL: configuration.publicURL, productOfVariant: productOfVariant, platforms: platformProfiles,
            checkoutTTL: configuration.retention.checkoutTTL, handlerIDs: commerce.paymentHandlers.ids,
            handlerDescriptors: commerce.paymentHandlers.ucpDescriptors)
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
        case .agreed(let platform, let orderWebhook, let profile):
            // Orders go to a platform only when it signed the request that made the checkout
            // with a key of its profile: a header alone is anyone's to write.
            if action == "create_checkout", let platform, let orderWebhook, let profile,
                MessageSignature.signedByPlatform(request, profile: profile, scheme: URL(string: configuration.publicURL)?.scheme ?? "http")
            {
                agreedPlatform = (platform, orderWebhook)
            }
        }
        let mapped: JSON
        switch ucpArguments(request, ucp, idArgument: "checkout_id", arguments) {
        case .refused(let refusal): return refusal
        case .ready(let found): mapped = found
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
            var response = ucp.answer(outcome, render: { ucp.checkout($0["checkout"] ?? [:]) }).response(successStatus: successStatus)
            if outcome.replayed { response.headers.add("Idempotent-Replayed", "true") }
            return response
        }.reshapedError(Self.ucpErrorShape)
    }

    /// An action's arguments from a UCP request: its body (empty is `{}`) mapped by `arguments`,
    /// with the path's `{id}` as `idArgument`; or the 400 that says what is wrong (charged as a read).
    func ucpArguments(
        _ request: Request, _ ucp: UCP, idArgument: String, _ arguments: (UCP, JSON) -> Result<JSON, UCPProblem>
    ) -> UCPPrepared {
        var body: JSON = [:]
        if !request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard let parsed = try? JSON.parse(bytes: request.body) else {
                chargeReads(request)
                return .refused(Self.ucpTransportError(status: 400, code: "invalid_json", content: "The body is not valid JSON."))
            }
            body = parsed
        }
        switch arguments(ucp, body) {
        case .failure(let problem):
            chargeReads(request)
            return .refused(Self.ucpTransportError(status: 400, code: "invalid_request", content: problem.message))
        case .success(var mapped):
            if let id = request.pathParameters["id"], case .object(var fields) = mapped {
                fields[idArgument] = .string(id)
                mapped = .object(fields)
            }
            return .ready(mapped)
        }
    }

    enum UCPPrepared {
        case ready(JSON)
        case refused(Response)
    }

    /// UCP's transport error body.
    static let ucpErrorShape: @Sendable (String, String) -> JSON = { code, content in ["code": .string(code), "content": .string(content)] }

    static func ucpTransportError(status: Int, code: String, content: String) -> Response {
        jsonResponse(["code": .string(code), "content": .string(content)], status: status)
    }

}
