import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// ACP's seller REST API at the discovery document's `api_base_url` (the gateway's root):
/// `POST /checkout_sessions` (201), `GET|POST /checkout_sessions/{id}`, `…/complete`,
/// `…/cancel`, and `POST /agentic_commerce/delegate_payment` (201) against the agent's wallet.
/// Every request names `API-Version: 2026-04-17`; every POST carries an `Idempotency-Key`
/// (1–255 characters; a retry replays, another body under the same key is 422, one still running
/// is 409 with `Retry-After`); a `Timestamp`, when sent, is RFC 3339.
/// Errors are ACP's flat `{type, code, message, param?}`.
extension Gateway {
    func addACPRoutes(to router: inout Router) {
        router.post("/checkout_sessions") { [unowned self] request in
            self.acpCall(request, action: "create_checkout", successStatus: 201) { acp, body in acp.createArguments(body, self.productOfVariant) }
        }
        router.get("/checkout_sessions/{id}") { [unowned self] request in
            self.acpCall(request, action: "get_checkout") { _, _ in .success([:]) }
        }
        router.post("/checkout_sessions/{id}") { [unowned self] request in
            self.acpCall(request, action: "update_checkout") { acp, body in acp.updateArguments(body, self.productOfVariant) }
        }
        router.post("/checkout_sessions/{id}/complete") { [unowned self] request in
            self.acpCall(request, action: "complete_checkout") { acp, body in acp.completeArguments(body) }
        }
        router.post("/checkout_sessions/{id}/cancel") { [unowned self] request in
            self.acpCall(request, action: "cancel_checkout") { _, _ in .success([:]) }
        }
        router.post("/agentic_commerce/delegate_payment") { [unowned self] request in
            self.acpCall(request, action: "delegate_payment", successStatus: 201) { _, body in
                guard case .object = body else { return .failure(.invalid("invalid_card", "Send a JSON object.")) }
                return .success(body)
            }
        }
    }

    var acp: ACP {
        ACP(
            baseURL: configuration.publicURL, storeID: manifests.storeID, currency: manifests.currency,
            shippingOptions: manifests.policies["shipping"]?["options"]?.arrayValue ?? [])
    }

    /// The headers every ACP request must carry right; nil when they do.
    static func acpHeaderProblem(_ request: Request) -> ACPError? {
        guard let version = request.headers["API-Version"] else {
            return .invalid("missing_api_version", "Send API-Version: \(ACP.version).")
        }
        guard version == ACP.version else {
            return .invalid("unsupported_api_version", "This store speaks ACP \(ACP.version), not \(version).")
        }
        if request.method == "POST" {
            guard let key = request.headers["Idempotency-Key"] else {
                return .invalid("idempotency_key_required", "Every POST needs an Idempotency-Key (1 to 255 characters).")
            }
            guard !key.isEmpty, key.count <= 255 else {
                return .invalid("invalid_idempotency_key", "Idempotency-Key is 1 to 255 characters.")
            }
        }
        // A Timestamp binds a request signature to its time; it is checked against the signature
        // for platforms onboarded with request signing (ACPSignature), else only to be a time.
        if let timestamp = request.headers["Timestamp"], !timestamp.isEmpty, UCP.seconds(timestamp) == nil {
            return .invalid("invalid_timestamp", "Timestamp must be an RFC 3339 time.")
        }
        return nil
    }

    func acpCall(
        _ request: Request, action: String, successStatus: Int = 200, arguments: (ACP, JSON) -> Result<JSON, ACPError>
    ) -> Response {
        let acp = self.acp
        // Every ACP operation acts for an agent: who asks is settled before what is asked.
        var caller: Identity?
        switch authenticate(request) {
        case .failure(let error):
            if let limiter = rateLimiter, let decision = chargeRoute(request, .reads, limiter: limiter), !decision.allowed {
                return refusal(decision, identity: nil, action: action).reshapedError { code, message in
                    ["type": "invalid_request", "code": .string(code), "message": .string(message)]
                }
            }
            var response = Self.acpError(ACPError(status: 401, type: "invalid_request", code: "unauthorized", message: error.message))
            response.headers.add("WWW-Authenticate", "Bearer realm=\"acp\"")
            return response
        case .success(nil):
            chargeReads(request)
            var response = Self.acpError(
                ACPError(
                    status: 401, type: "invalid_request", code: "unauthorized",
                    message: "Send the agent's Authorization: Bearer <api key> (POST /agents/register issues one)."))
            response.headers.add("WWW-Authenticate", "Bearer realm=\"acp\"")
            return response
        case .success(let identity): caller = identity
        }
        if let problem = Self.acpHeaderProblem(request) {
            chargeReads(request)
            return Self.acpError(problem)
        }
        // A platform onboarded with request signing: its requests carry Signature and Timestamp.
        if let agentID = caller?.agent.id, let platform = configuration.acpPlatforms[agentID], let signing = ACPSignature(platform: platform),
            let problem = signing.problem(request, seen: acpSignaturesSeen)
        {
            chargeReads(request)
            var response = Self.acpError(ACPError(status: 401, type: "invalid_request", code: "invalid_signature", message: problem))
            response.headers.add("WWW-Authenticate", "Bearer realm=\"acp\"")
            return response
        }
        var body: JSON = [:]
        if !request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard let parsed = try? JSON.parse(bytes: request.body) else {
                chargeReads(request)
                return Self.acpError(.invalid("invalid_json", "The body is not valid JSON."))
            }
            body = parsed
        }
        var mapped: JSON
        switch arguments(acp, body) {
        case .failure(let error):
            chargeReads(request)
            return Self.acpError(error)
        case .success(let value): mapped = value
        }
        if let id = request.pathParameters["id"], case .object(var fields) = mapped {
            fields["checkout_id"] = .string(id)
            mapped = .object(fields)
        }
        let delegation = action == "delegate_payment"
        // An onboarded platform's agent: its checkout's order is sent to the platform's webhook.
        var remember: (@Sendable (ActionOutcome, @escaping @Sendable (Response?) -> Void) -> Void)?
        if action == "create_checkout", let agentID = caller?.agent.id,
            let url = configuration.acpPlatforms[agentID]?["webhook_url"]?.stringValue
        {
            let database = database
            remember = { outcome, done in
                guard case .success(let result) = outcome.result, let checkoutID = result["checkout"]?["id"]?.stringValue else {
                    return done(nil)
                }
                database.writing({ db in
                    try UCPOrders.rememberPlatform(checkoutID: checkoutID, platform: "acp:" + agentID, url: url, db: db)
                }) { stored in
                    if case .failure = stored {
                        return done(Self.acpError(ACPError(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Retry with the same Idempotency-Key.")))
                    }
                    done(nil)
                }
            }
        }
        return runAction(action, arguments: mapped, request: request, beforeAnswer: remember) { outcome in
            var response: Response
            switch outcome.result {
            case .success(let result):
                response = jsonResponse(delegation ? result : acp.session(result["checkout"] ?? [:], order: result["order"]), status: successStatus)
                if outcome.replayed { response.headers.add("Idempotent-Replayed", "true") }
            case .failure(let error):
                response = Self.acpError(Self.acpError(for: error, action: action))
                if let retry = outcome.retryAfter { response.headers.add("Retry-After", String(retry)) }
                if error.status == 401 { response.headers.add("WWW-Authenticate", "Bearer realm=\"acp\"") }
            }
            if let key = request.headers["Idempotency-Key"] { response.headers.add("Idempotency-Key", key) }
            if let id = request.headers["Request-Id"] { response.headers.add("Request-Id", id) }
            return response
        }.reshapedError { code, message in
            ["type": .string(code == "rate_limited" ? "invalid_request" : "service_unavailable"), "code": .string(code), "message": .string(message)]
        }
    }

    /// An action's refusal in ACP's terms.
    static func acpError(for error: ActionError, action: String) -> ACPError {
        let param = error.param.map(UCP.jsonPath)
        switch (error.status, error.code) {
        case (_, "idempotency_in_flight"): return ACPError(status: 409, type: "invalid_request", code: error.code, message: error.message)
        case (_, "idempotency_conflict"): return ACPError(status: 422, type: "invalid_request", code: error.code, message: error.message)
        case (401, _): return ACPError(status: 401, type: "invalid_request", code: "unauthorized", message: error.message)
        case (404, _): return ACPError(status: 404, type: "invalid_request", code: "not_found", message: error.message, param: param)
        case (429, _): return ACPError(status: 429, type: "invalid_request", code: "rate_limited", message: error.message)
        case (500..., _): return ACPError(status: error.status, type: "service_unavailable", code: error.code, message: error.message)
        case (409, "invalid_state") where action == "cancel_checkout":
            // ACP: canceling a completed or canceled session is 405.
            return ACPError(status: 405, type: "invalid_request", code: "invalid_state", message: error.message)
        default:
            // delegate_payment's error codes are a closed list: a refused delegation is invalid_card.
            let code = action == "delegate_payment" ? "invalid_card" : error.code
            return ACPError(status: error.status, type: "invalid_request", code: code, message: error.message, param: param)
        }
    }

    static func acpError(_ error: ACPError) -> Response {
        var response = jsonResponse(error.json, status: error.status)
        if error.status == 405 { response.headers.add("Allow", "GET, POST") }
        return response
    }
}
