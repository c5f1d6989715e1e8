import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontApp
import StorefrontDomain
import StorefrontStore

/// The principal's page (`/principal/`, `public/principal.html`): the human an agent acts for
/// signs in with a one-time link (no mail leaves in development: the link is printed to the
/// gateway's log, as every one-time link of this store), grants an OAuth client's request and
/// sets the agent's spend limits, sees every agent acting for them with its wallet, orders and
/// pending approvals, approves or declines, and revokes.
///
/// The session is a random id in an HttpOnly, SameSite=Lax cookie (Lax: the OAuth redirect
/// that brings the principal here is a navigation from the client's site); only its SHA-256 is
/// stored. Every change also needs the session's CSRF token (an HMAC of the session id the page
/// reads from `GET /principal/api/session`) in `X-CSRF-Token`.
extension Gateway {
    static let principalCookie = "sf_principal_session"
    static let signInLinkTTL: Int64 = 15 * 60
    /// One sign-in link per email address this often at most (the log is not a mail cannon).
    static let signInLinkInterval: Int64 = 10

    func addPrincipalRoutes(to router: inout Router) {
        router.get("/principal") { _ in Response(status: 301, headers: HTTPHeaders([("Location", "/principal/")])) }
        router.get("/principal/") { [unowned self] request in self.principalPage(request, file: "principal.html") }
        router.get("/principal/principal.js") { [unowned self] request in self.principalPage(request, file: "principal.js") }
        router.post("/principal/api/sign-in") { [unowned self] request in self.sendSignInLink(request) }
        router.post("/principal/api/session") { [unowned self] request in self.signIn(request) }
        router.get("/principal/api/session") { [unowned self] request in self.principalSession(request) }
        router.delete("/principal/api/session") { [unowned self] request in self.signOut(request) }
        router.get("/principal/api/authorization") { [unowned self] request in
            self.asPrincipal(request, change: false) { principal in self.pendingAuthorization(request, principal: principal) }
        }
        router.post("/principal/api/authorization") { [unowned self] request in
            self.asPrincipal(request, change: true) { principal in self.decideAuthorization(request, principal: principal) }
        }
        router.get("/principal/api/agents") { [unowned self] request in
            self.asPrincipal(request, change: false) { principal in self.principalAgents(principal) }
        }
        router.post("/principal/api/agents/{id}/limits") { [unowned self] request in
            self.asPrincipal(request, change: true) { principal in self.setPrincipalLimits(request, principal: principal) }
        }
        router.post("/principal/api/agents/{id}/revoke") { [unowned self] request in
            self.asPrincipal(request, change: true) { principal in self.revokePrincipalAgent(request, principal: principal) }
        }
        router.post("/principal/api/approvals/{id}") { [unowned self] request in
            self.asPrincipal(request, change: true) { principal in self.principalDecision(request, principal: principal) }
        }
    }

    func principalPage(_ request: Request, file: String) -> Response {
        guard let directory = configuration.publicDirectory,
            let bytes = FileManager.default.contents(atPath: directory + "/" + file)
        else {
            return Response.error(status: 404, type: "not_found", code: "no_public_directory", message: "The principal's page is not installed (public/\(file)).")
        }
        var response = Response(
            status: 200, contentType: file.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "text/html; charset=utf-8", body: Array(bytes))
        response.headers.add("Cache-Control", "no-store")
        response.headers.add("X-Frame-Options", "DENY")
        response.headers.add("Referrer-Policy", "no-referrer")
        response.headers.add(
            "Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
        return response
    }

    // MARK: Signing in

    func sendSignInLink(_ request: Request) -> Response {
        if let limiter = rateLimiter, let decision = chargeRoute(request, .registration, limiter: limiter), !decision.allowed {
            return refusal(decision, identity: nil, action: nil)
        }
        guard let body = try? JSON.parse(bytes: request.body), let email = body["email"]?.stringValue?.trimmingCharacters(in: .whitespaces),
            Self.plausibleEmail(email)
        else {
            return Response.error(status: 400, type: "invalid_request", code: "invalid_email", message: "Send {\"email\": \"you@example.com\"}.")
        }
        let authorize = body["authorize"]?.stringValue.flatMap { verifiedAuthorization($0) != nil ? $0 : nil }
        let now = unixNow()
        // Paced per address asked for (no inbox gets a flood); the registration rate limit paces each client.
        if let last = signInLinksSent[email.lowercased()], now - last < Self.signInLinkInterval {
            var response = Response.error(
                status: 429, type: "rate_limited", code: "sign_in_link_recently_sent",
                message: "A sign-in link was sent moments ago; wait \(Self.signInLinkInterval) seconds before asking again.")
            response.headers.add("Retry-After", String(Self.signInLinkInterval))
            return response
        }
        signInLinksSent.insert(email.lowercased(), now)
        let expires = now + Self.signInLinkTTL
        let payload = JSON.array(["principal-link", .string(email.lowercased()), .string(APIKey.random(24)), .int(expires)]).serialized()
        guard let signature = try? signingKey.sign(payload) else {
            return Response.error(status: 503, type: "service_unavailable", code: "signing_failed", message: "The link could not be made; retry.")
        }
        var link = configuration.publicURL + "/principal/?link=" + Base64URL.encode(payload) + "." + Base64URL.encode(signature)
        if let authorize { link += "&authorize=" + authorize }
        // No mail leaves this gateway: the link is written to its log for the principal.
        FileHandle.standardError.write(Data("sign-in link for \(email.lowercased()) (valid until \(isoTime(expires))): \(link)\n".utf8))
        return jsonResponse(["sent": true, "email": .string(Self.masked(email.lowercased())), "expires_at": .string(isoTime(expires))], status: 202)
    }

    static func plausibleEmail(_ text: String) -> Bool {
        guard text.utf8.count <= 200, let at = text.firstIndex(of: "@"), at > text.startIndex else { return false }
        let domain = text[text.index(after: at)...]
        return domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".")
            && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f && $0 != "<" && $0 != ">" && $0 != "\"" }
            && text.filter({ $0 == "@" }).count == 1
    }

    /// `POST /principal/api/session {"link"}`: spends the one-time link, starts a session.
    func signIn(_ request: Request) -> Response {
        if let limiter = rateLimiter, let decision = chargeRoute(request, .writes, limiter: limiter), !decision.allowed {
            return refusal(decision, identity: nil, action: nil)
        }
        // Only this store's own page spends a link (JSON needs a preflight cross-site, and a
        // browser names the page's origin): no other site can sign a visitor in as someone else.
        guard (request.headers["Content-Type"] ?? "").lowercased().hasPrefix("application/json"),
            request.headers["Origin"].map({ $0 == Self.origin(of: configuration.publicURL) }) ?? true
        else {
            return Response.error(
                status: 403, type: "permission_error", code: "cross_origin", message: "Sign-in links are spent by this store's own page only.")
        }
        guard let body = try? JSON.parse(bytes: request.body), let link = body["link"]?.stringValue else {
            return Response.error(status: 400, type: "invalid_request", code: "missing_link", message: "Send {\"link\": \"<the link's token>\"}.")
        }
        let parts = link.split(separator: ".", omittingEmptySubsequences: false)
        guard link.utf8.count <= 2048, parts.count == 2, let payload = Base64URL.decode(String(parts[0])),
            StoreSigningKey.verify(signature: String(parts[1]), payload: Array(payload), publicJWK: signingKey.publicJWK),
            let fields = (try? JSON.parse(bytes: Array(payload)))?.arrayValue, fields.count == 4, fields[0] == "principal-link",
            let email = fields[1].stringValue, let nonce = fields[2].stringValue, let expires = fields[3].intValue, expires >= unixNow()
        else {
            return Response.error(
                status: 403, type: "permission_error", code: "link_invalid", message: "This sign-in link is not valid or has expired; ask for a new one.")
        }
        let writes = services.oauth
        return .later { complete in
            DispatchQueue.global().async {
                do {
                    guard try writes.useLink(nonce, expiresAt: expires) else {
                        return complete(
                            Response.error(status: 403, type: "permission_error", code: "link_used", message: "This sign-in link was already used; ask for a new one."))
                    }
                    let session = try writes.startSession(principal: email)
                    var response = jsonResponse(
                        ["principal": .string(email), "csrf_token": .string(Self.principalCSRF(session.id)), "expires_at": .string(isoTime(session.expiresAt))])
                    response.headers.add("Set-Cookie", self.principalCookie(session.id, maxAge: OAuthStore.sessionLifetime))
                    complete(response)
                } catch {
                    complete(Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Could not sign in; retry."))
                }
            }
        }
    }

    func principalCookie(_ id: String?, maxAge: Int64) -> String {
        let secure = configuration.publicURL.hasPrefix("https://") ? "; Secure" : ""
        guard let id else { return "\(Self.principalCookie)=; Path=/principal; HttpOnly; SameSite=Lax\(secure); Max-Age=0" }
        return "\(Self.principalCookie)=\(id); Path=/principal; HttpOnly; SameSite=Lax\(secure); Max-Age=\(maxAge)"
    }

    static func principalCSRF(_ sessionID: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("storefront principal csrf".utf8), using: SymmetricKey(data: Data(sessionID.utf8)))
        return Base64URL.encode(Data(mac))
    }

    func sessionID(_ request: Request) -> String? {
        for header in request.headers.values("Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == Self.principalCookie {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    func principalSession(_ request: Request) -> Response {
        guard let id = sessionID(request), let principal = services.oauth.session(id) else {
            return jsonResponse(["signed_in": false])
        }
        return jsonResponse(["signed_in": true, "principal": .string(principal), "csrf_token": .string(Self.principalCSRF(id))])
    }

    func signOut(_ request: Request) -> Response {
        if let id = sessionID(request) { try? services.oauth.endSession(id) }
        var response = jsonResponse(["signed_in": false])
        response.headers.add("Set-Cookie", principalCookie(nil, maxAge: 0))
        return response
    }

    /// Runs `handler` for the signed-in principal; a change also needs the CSRF token and a same-origin `Origin` (when sent).
    func asPrincipal(_ request: Request, change: Bool, _ handler: @escaping (String) -> Response) -> Response {
        guard let id = sessionID(request), let principal = services.oauth.session(id) else {
            return Response.error(
                status: 401, type: "authentication_error", code: "principal_sign_in_required",
                message: "Sign in on /principal/ with the one-time link sent to you.")
        }
        if change {
            let presented = request.headers["X-CSRF-Token"] ?? ""
            guard APIKey.equal(Array(presented.utf8), Array(Self.principalCSRF(id).utf8)) else {
                return Response.error(status: 403, type: "permission_error", code: "csrf_token_invalid", message: "Send the session's X-CSRF-Token.")
            }
            if let origin = request.headers["Origin"], origin != Self.origin(of: configuration.publicURL) {
                return Response.error(status: 403, type: "permission_error", code: "cross_origin", message: "Changes come from this store's own page only.")
            }
        }
        return handler(principal)
    }

    static func origin(of url: String) -> String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else { return url }
        return "\(scheme)://\(host)" + (parsed.port.map { ":\($0)" } ?? "")
    }

    // MARK: Consent

    func scopeDescriptions() -> [String: String] {
        var described = OAuthScopes.descriptions
        for scope in oauthScopes where described[scope] == nil { described[scope] = scope }
        return described
    }

    func pendingAuthorization(_ request: Request, principal: String) -> Response {
        guard let pending = verifiedAuthorization(request.query("request") ?? "") else {
            return Response.error(status: 400, type: "invalid_request", code: "authorization_invalid",
                                  message: "This authorization request is not valid or has expired (10 minutes); start again from the agent.")
        }
        let described = scopeDescriptions()
        let existing = (try? services.oauth.grants(of: principal))?.first { $0.clientID == pending.clientID }
        return jsonResponse([
            "principal": .string(principal),
            "client": ["id": .string(pending.clientID), "name": .string(pending.clientName),
                       "redirect_host": .string(URL(string: pending.redirectURI)?.host ?? pending.redirectURI)],
            "scopes": .array(pending.scopes.map { ["scope": .string($0), "description": .string(described[$0] ?? $0)] }),
            "resource": .string(pending.resource),
            "agent_id": existing.map { .string($0.agentID) } ?? .null,
            "currency": .string(manifests.currency),
            "minor_unit_digits": .int(Int64(Money(amount: 0, currency: manifests.currency).minorUnitDigits)),
            "expires_at": .string(isoTime(pending.expires)),
        ])
    }

    /// `POST /principal/api/authorization {"request", "decision": "allow"|"deny", "scopes"?, "limits"?}`:
    /// the answer says where to send the browser (the client's redirect URI with a code, or with `access_denied`).
    func decideAuthorization(_ request: Request, principal: String) -> Response {
        guard let body = try? JSON.parse(bytes: request.body), let pending = verifiedAuthorization(body["request"]?.stringValue ?? "") else {
            return Response.error(status: 400, type: "invalid_request", code: "authorization_invalid",
                                  message: "This authorization request is not valid or has expired; start again from the agent.")
        }
        let iss = configuration.publicURL
        guard body["decision"]?.stringValue == "allow" else {
            let denied = Self.redirect(
                to: pending.redirectURI, ["error": "access_denied", "error_description": "The principal declined.", "state": pending.state, "iss": iss])
            return jsonResponse(["redirect_to": .string(denied.headers["Location"] ?? pending.redirectURI)])
        }
        var scopes = Set(pending.scopes)
        if let chosen = body["scopes"]?.arrayValue {
            let picked = Set(chosen.compactMap(\.stringValue))
            guard picked.isSubset(of: scopes) else {
                return Response.error(status: 400, type: "invalid_request", code: "scope_not_requested",
                                      message: "Grant only scopes the agent asked for: \(pending.scopes.joined(separator: " ")).")
            }
            scopes = picked
        }
        let grantedScopes = scopes
        guard !scopes.isEmpty else {
            return Response.error(status: 400, type: "invalid_request", code: "no_scopes", message: "Grant at least one scope, or deny.")
        }
        let limits = body["limits"] ?? [:]
        if let refusal = Self.limitsRefusal(limits) { return refusal }
        let client = OAuthClient(clientID: pending.clientID, name: pending.clientName, redirectURIs: [pending.redirectURI], metadata: [:])
        let oauth = services.oauth, commerce = self.commerce, currency = manifests.currency
        // The grant and the limits write to the store: off the server's threads.
        return .later { complete in
            DispatchQueue.global().async {
                do {
                    let granted = try oauth.grant(
                        principal: principal, client: client, scopes: grantedScopes, redirectURI: pending.redirectURI,
                        codeChallenge: pending.codeChallenge, resource: pending.resource, currency: currency)
                    if case .object(let changes) = limits, !changes.isEmpty {
                        _ = try commerce.setControls(granted.agentID, limits, by: "principal:\(principal)")
                    }
                    let redirect = Self.redirect(to: pending.redirectURI, ["code": granted.code, "state": pending.state, "iss": iss])
                    complete(jsonResponse([
                        "redirect_to": .string(redirect.headers["Location"] ?? pending.redirectURI), "agent_id": .string(granted.agentID),
                    ]))
                } catch let error as ActionError {
                    complete(error.restResponse)
                } catch {
                    complete(Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Could not save the grant; retry."))
                }
            }
        }
    }

    static let limitKeys = ["per_transaction", "daily", "weekly", "monthly", "all_time", "approval_threshold"]

    /// Limits as the principal sends them: each a whole number of minor units, or null to clear it.
    static func limitsRefusal(_ limits: JSON) -> Response? {
        guard case .object(let members) = limits else {
            return Response.error(status: 400, type: "invalid_request", code: "invalid_limits", message: "limits is an object of minor units.")
        }
        for (key, value) in members {
            switch key {
            case _ where limitKeys.contains(key):
                if value == .null { continue }
                guard let amount = value.intValue, amount >= 0, amount <= 1_000_000_000_000 else {
                    return Response.error(status: 400, type: "invalid_request", code: "invalid_limits",
                                          message: "\(key) is a whole number of minor units (0 to 10^12), or null.", param: key)
                }
            case "allowed_categories", "blocked_categories":
                guard value == .null || (value.arrayValue?.allSatisfy { $0.stringValue != nil } ?? false) else {
                    return Response.error(status: 400, type: "invalid_request", code: "invalid_limits", message: "\(key) is a list of category names.", param: key)
                }
            default:
                return Response.error(status: 400, type: "invalid_request", code: "invalid_limits",
                                      message: "Unknown limit \(key); limits are \((limitKeys + ["allowed_categories", "blocked_categories"]).joined(separator: ", ")).", param: key)
            }
        }
        return nil
    }

    // MARK: The principal's agents

    func principalAgents(_ principal: String) -> Response {
        do {
            let pending = try commerce.approvals(status: "pending", principal: principal)
            var agents: [JSON] = []
            for listed in try services.oauth.principalAgents(principal) {
                guard case .object(var agent) = listed else { continue }
                let id = agent["id"]?.stringValue ?? ""
                agent["wallet"] = (try? commerce.wallet(id)) ?? .null
                agent["pending_approvals"] = .array(pending.filter { $0["agent_id"]?.stringValue == id })
                agents.append(.object(agent))
            }
            return jsonResponse([
                "principal": .string(principal), "agents": .array(agents), "currency": .string(manifests.currency),
                "minor_unit_digits": .int(Int64(Money(amount: 0, currency: manifests.currency).minorUnitDigits)),
            ])
        } catch {
            return Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Could not read your agents; retry.")
        }
    }

    /// The agent `id` if it acts for `principal` (else the same 404 as for no agent at all).
    func principalsAgent(_ id: String, _ principal: String) -> Agent? {
        guard let agent = try? agents.agent(id), agent.principal == principal else { return nil }
        return agent
    }

    func setPrincipalLimits(_ request: Request, principal: String) -> Response {
        let id = request.pathParameters["id"] ?? ""
        guard let agent = principalsAgent(id, principal), agent.active else {
            return Response.error(status: 404, type: "not_found", code: "agent_not_found", message: "No active agent \(id) acts for you.")
        }
        guard let limits = try? JSON.parse(bytes: request.body) else {
            return Response.error(status: 400, type: "invalid_request", code: "invalid_json", message: "Send the limits as a JSON object.")
        }
        if let refusal = Self.limitsRefusal(limits) { return refusal }
        let commerce = self.commerce
        return .later { complete in
            DispatchQueue.global().async {
                do {
                    complete(jsonResponse(try commerce.setControls(id, limits, by: "principal:\(principal)")))
                } catch let error as ActionError {
                    complete(error.restResponse)
                } catch {
                    complete(Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Could not save the limits; retry."))
                }
            }
        }
    }

    func revokePrincipalAgent(_ request: Request, principal: String) -> Response {
        let id = request.pathParameters["id"] ?? ""
        guard principalsAgent(id, principal) != nil else {
            return Response.error(status: 404, type: "not_found", code: "agent_not_found", message: "No agent \(id) acts for you.")
        }
        let oauth = services.oauth
        return .later { complete in
            DispatchQueue.global().async {
                do {
                    let revoked = try oauth.revokeAgent(id, principal: principal)
                    complete(jsonResponse(["agent_id": .string(id), "status": "revoked", "changed": .bool(revoked)]))
                } catch {
                    complete(Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Could not revoke; retry."))
                }
            }
        }
    }

    func principalDecision(_ request: Request, principal: String) -> Response {
        let id = request.pathParameters["id"] ?? ""
        guard let body = try? JSON.parse(bytes: request.body), let decision = body["decision"]?.stringValue.flatMap(Commerce.Decision.init(rawValue:)) else {
            return Response.error(status: 400, type: "invalid_request", code: "invalid_decision", message: "Send {\"decision\": \"approve\" | \"deny\"}.")
        }
        guard let approval = (try? database.reading({ db in try ApprovalStore.find(id, db: db) })) ?? nil,
            principalsAgent(approval.agentID, principal) != nil
        else {
            return Response.error(status: 404, type: "not_found", code: "approval_not_found", message: "No approval \(id) waits for you.")
        }
        let commerce = self.commerce
        return .later { complete in
            DispatchQueue.global().async {
                do {
                    let result = try commerce.decide(id, decision, by: principal)
                    var response = jsonResponse(result)
                    response.noteApprovedOrder(result, request: request)
                    complete(response)
                } catch let error as ActionError {
                    complete(error.restResponse)
                } catch {
                    complete(Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Could not save the decision; retry."))
                }
            }
        }
    }
}
