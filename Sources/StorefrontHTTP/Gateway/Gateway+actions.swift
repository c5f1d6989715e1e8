import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

extension Gateway {
    /// The REST mirror: `POST /tools/{name}` with the arguments as the JSON body.
    func callAction(_ name: String, request: Request, merging extra: [String: JSON] = [:], successStatus: Int = 200) -> Response {
        guard actions.entry(name) != nil else {
            // A name that is no action runs nothing, but still costs a read.
            if let limiter = rateLimiter, let decision = chargeRoute(request, .reads, limiter: limiter), !decision.allowed {
                return refusal(decision, identity: nil, action: nil)
            }
            return ActionError(
                status: 404, kind: .invalidRequest, code: "unknown_action",
                message: "No action \(name). GET /tools lists them: \(actions.names.joined(separator: ", ")).",
                param: "name"
            ).restResponse
        }
        let arguments: JSON
        if request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            arguments = [:]
        } else {
            do {
                arguments = try JSON.parse(bytes: request.body)
            } catch let error as JSONParseError {
                // A JSON body is accepted whatever its label (curl -d says form-urlencoded);
                // a body that is neither JSON nor labelled JSON gets 415.
                if let type = request.headers["Content-Type"], !type.lowercased().contains("json") {
                    return ActionError(
                        status: 415, kind: .invalidRequest, code: "unsupported_media_type",
                        message: "Send the arguments as a JSON object with Content-Type: application/json, not \(type)."
                    ).restResponse
                }
                return ActionError.invalid(
                    error.code.rawValue, "The body is not valid JSON: \(error.description).", param: "body"
                ).restResponse
            } catch {
                return ActionError.invalid("invalid_json", "The body is not valid JSON.").restResponse
            }
        }
        var merged = arguments
        if !extra.isEmpty, case .object(var members) = arguments {
            for (k, v) in extra { members[k] = v }
            merged = .object(members)
        }
        return actionResponse(name, arguments: merged, request: request, successStatus: successStatus)
    }

    func actionResponse(_ name: String, arguments: JSON, request: Request, cacheControl: String = "no-store", successStatus: Int = 200)
        -> Response
    {
        let mutating = actions.entry(name)?.action.isMutating ?? false
        return runAction(name, arguments: arguments, request: request, idempotencyKey: Self.idempotencyKey(request, arguments: arguments)) {
            outcome in
            var response: Response
            if let encoded = outcome.encodedSuccess {
                // Read-only results arrive serialized, and a write with an idempotency key was
                // serialized once for its record: the same bytes are sent.
                response = jsonResponse(encoded: encoded, status: successStatus, cacheControl: mutating ? "no-store" : cacheControl)
            } else {
                switch outcome.result {
                case .success(let result):
                    response = jsonResponse(result, status: successStatus, cacheControl: mutating ? "no-store" : cacheControl)
                case .failure(let error): response = error.restResponse
                }
            }
            if outcome.replayed { response.headers.add("Idempotent-Replayed", "true") }
            if let retry = outcome.retryAfter { response.headers.add("Retry-After", String(retry)) }
            return response
        }
    }

    /// Runs an action as the request's caller: credentials, rate limits and the idempotency key
    /// as on REST; the gateway's own 401 and 429 are answered here, everything else by `answer`.
    func runAction(
        _ name: String, arguments: JSON, request: Request, idempotencyKey: String? = nil,
        beforeAnswer: (@Sendable (ActionOutcome, @escaping @Sendable (Response?) -> Void) -> Void)? = nil,
        answer: @escaping @Sendable (ActionOutcome) -> Response
    ) -> Response {
        let identity: Identity?
        switch authenticate(request) {
        case .success(let found): identity = found
        case .failure(let error):
            // Failed credentials spend the address's bucket: guessing keys is not free.
            if let decision = chargeAction(name, identity: nil, request: request), !decision.allowed {
                return refusal(decision, identity: nil, action: name)
            }
            // The store could not be read: nothing is wrong with the credentials (503, not 401).
            if error.code == "authentication_unavailable" { return unauthorized(error) }
            return answer(
                ActionOutcome(result: .failure(ActionError(status: 401, kind: .authentication, code: error.code, message: error.message))))
        }
        let decision = chargeAction(name, identity: identity, request: request)
        if let decision, !decision.allowed { return refusal(decision, identity: identity, action: name) }
        let context = ActionContext(
            requestID: request.id, identity: identity, idempotencyKey: idempotencyKey ?? request.headers["Idempotency-Key"])
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

extension ActionError {
    var restResponse: Response {
        var response = jsonResponse(json, status: status)
        if status == 405 { response.headers.add("Allow", "POST") }
        if status == 401 { response.headers.add("WWW-Authenticate", "Bearer realm=\"storefront\", Signature realm=\"storefront\"") }
        return response
    }
}
