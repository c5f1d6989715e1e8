import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontApp
import StorefrontDomain
import StorefrontStore

/// The gateway as an OAuth 2.1 authorization server for its own resources (the MCP endpoints and
/// the REST API), per the MCP authorization specification:
///
/// - discovery: RFC 8414 metadata at `/.well-known/oauth-authorization-server`, RFC 9728
///   protected resource metadata at `/.well-known/oauth-protected-resource[/mcp|/ucp/mcp|/acp/mcp]`,
///   and every 401 points at it (`WWW-Authenticate: Bearer resource_metadata=…`);
/// - clients: RFC 7591 registration (public clients: `none`, PKCE), or a client ID metadata
///   document (the `client_id` is an HTTPS URL whose document is fetched, bounded, and cached);
/// - the authorization code flow with PKCE S256 only; the request is signed by the store's key
///   and handed to the principal's page (`/principal/`), where the human signs in, grants scopes
///   and sets the agent's spend limits;
/// - RFC 8707 resource indicators: each token is bound to one resource (its audience) and is
///   refused anywhere else; refresh tokens rotate on each use; RFC 7009 revocation.
///
/// Every way in ends in the same agent identity: a grant is an agent (with its wallet) acting
/// for the principal through the client, and its tokens carry the scopes granted (the actions'
/// own scopes).
extension Gateway {
    /// The authorization request as the principal's page carries it: signed, valid 10 minutes.
    struct AuthorizationRequest {
        var clientID: String
        var clientName: String
        var redirectURI: String
        var scopes: [String]
        var state: String?
        var codeChallenge: String
        var resource: String
        var expires: Int64
    }

    static let authorizationRequestTTL: Int64 = 10 * 60

    func addOAuthRoutes(to router: inout Router) {
        // Browser-based MCP clients call these cross-origin: no cookie is involved, so any origin may.
        let open: @Sendable (Response) -> Response = { response in response.amended { $0.headers.add("Access-Control-Allow-Origin", "*") } }
        router.get("/.well-known/oauth-authorization-server") { [unowned self] request in
            open(jsonResponse(self.authorizationServerMetadata(), cacheControl: "public, max-age=300"))
        }
        router.get("/.well-known/oauth-protected-resource") { [unowned self] _ in
            open(jsonResponse(self.protectedResourceMetadata(self.configuration.publicURL), cacheControl: "public, max-age=300"))
        }
        router.get("/.well-known/oauth-protected-resource/{path...}") { [unowned self] request in
            let path = "/" + (request.pathParameters["path"] ?? "")
            guard self.protectedResources.contains(self.configuration.publicURL + path) else {
                return Response.error(status: 404, type: "not_found", code: "unknown_resource",
                                      message: "No protected resource at \(path); resources: \(self.protectedResources.sorted().joined(separator: ", ")).")
            }
            return open(jsonResponse(self.protectedResourceMetadata(self.configuration.publicURL + path), cacheControl: "public, max-age=300"))
        }
        // Registration, tokens and revocation write to the store: off the server's threads.
        router.post("/oauth/register") { [unowned self] request in open(self.offThread { self.registerClient(request) }) }
        router.get("/oauth/authorize") { [unowned self] request in self.authorize(request) }
        router.post("/oauth/token") { [unowned self] request in open(self.offThread { self.token(request) }) }
        router.post("/oauth/revoke") { [unowned self] request in open(self.offThread { self.revokeToken(request) }) }
    }

    func offThread(_ produce: @escaping @Sendable () -> Response) -> Response {
        .later { complete in DispatchQueue.global().async { complete(produce()) } }
    }

    // MARK: Discovery

    /// The resources tokens are issued for: the whole API (the public URL) and each MCP endpoint.
    var protectedResources: Set<String> {
        let base = configuration.publicURL
        return [base, base + Endpoints.mcpPath, base + Endpoints.ucpMCPPath, base + Endpoints.acpMCPPath]
    }

    /// The resource a request's path belongs to (a token for the whole API is accepted too).
    func resource(of path: String) -> String {
        for candidate in [Endpoints.mcpPath, Endpoints.ucpMCPPath, Endpoints.acpMCPPath] where path == candidate {
            return configuration.publicURL + candidate
        }
        return configuration.publicURL
    }

    /// The protected resource metadata URL for a request's path (RFC 9728 §3.1: path inserted after the well-known prefix).
    func resourceMetadataURL(path: String) -> String {
        let resource = resource(of: path)
        let suffix = String(resource.dropFirst(configuration.publicURL.count))
        return configuration.publicURL + "/.well-known/oauth-protected-resource" + suffix
    }

    /// The scopes a client may ask for: every action's scope, and UCP's identity-linking scopes.
    var oauthScopes: [String] { OAuthScopes.all(actions) }

    func authorizationServerMetadata() -> JSON {
        let base = configuration.publicURL
        return [
            "issuer": .string(base),
            "authorization_endpoint": .string(base + "/oauth/authorize"),
            "token_endpoint": .string(base + "/oauth/token"),
            "registration_endpoint": .string(base + "/oauth/register"),
            "revocation_endpoint": .string(base + "/oauth/revoke"),
            "scopes_supported": .array(oauthScopes.map(JSON.string)),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "service_documentation": .string(base + "/agents"),
        ]
    }

    func protectedResourceMetadata(_ resource: String) -> JSON {
        [
            "resource": .string(resource),
            "authorization_servers": [.string(configuration.publicURL)],
            "scopes_supported": .array(oauthScopes.map(JSON.string)),
            "bearer_methods_supported": ["header"],
            "resource_name": .string(manifests.storeName + (resource == configuration.publicURL ? "" : " (\(resource.dropFirst(configuration.publicURL.count)))")),
            "resource_documentation": .string(configuration.publicURL + "/agents"),
        ]
    }

    /// `WWW-Authenticate` for a 401 (RFC 6750 §3, RFC 9728 §5.1): where to find how to authorize,
    /// the error when a token was presented, and the scope the call needs.
    func bearerChallenge(path: String, error: AuthenticationError?, scope: String? = nil) -> String {
        var parts = ["Bearer realm=\"\(configuration.publicURL)\"", "resource_metadata=\"\(resourceMetadataURL(path: path))\""]
        if let error, error.code != "authentication_required" {
            parts.append("error=\"invalid_token\"")
            parts.append("error_description=\"\(Self.quotable(error.message))\"")
        }
        if let scope { parts.append("scope=\"\(scope)\"") }
        return parts.joined(separator: ", ") + ", Signature realm=\"storefront\""
    }

    /// A 401 of the store's own realm (REST, A2A, the inbox) or of UCP's routes points at the
    /// protected resource metadata too, whichever route refused: one place, so no route can
    /// forget it. (UCP identity linking: `realm` is the issuer, `resource_metadata` is named.)
    func challenged(_ request: Request, _ response: Response) -> Response {
        guard response.status == 401, let current = response.headers["WWW-Authenticate"],
            current.hasPrefix("Bearer realm=\"storefront\"") || current.hasPrefix("Bearer realm=\"ucp\"")
        else { return response }
        var response = response
        let presented = request.headers["Authorization"] != nil
        response.headers.set(
            "WWW-Authenticate",
            bearerChallenge(
                path: request.path,
                error: presented ? AuthenticationError(code: "invalid_token", message: "The credentials were refused.") : nil))
        return response
    }

    /// `WWW-Authenticate` for a 403 (RFC 6750 §3.1 `insufficient_scope`).
    func insufficientScopeChallenge(path: String, scope: String) -> String {
        "Bearer realm=\"\(configuration.publicURL)\", error=\"insufficient_scope\", scope=\"\(scope)\", resource_metadata=\"\(resourceMetadataURL(path: path))\", error_description=\"This call needs the scope \(scope).\""
    }

    static func quotable(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "\\" }.map(Character.init))
    }

    // MARK: Access tokens at the resource

    /// The identity an access token stands for at `path`, or why it is refused.
    func oauthIdentity(token: String, path: String) -> Result<Identity?, AuthenticationError> {
        let access: OAuthAccess?
        do {
            access = try services.oauth.access(token)
        } catch {
            return .failure(AuthenticationError(code: "authentication_unavailable", message: "Could not check credentials; retry."))
        }
        guard let access else {
            return .failure(
                AuthenticationError(code: "invalid_token", message: "The access token is unknown, expired or revoked; refresh it or authorize again."))
        }
        let here = resource(of: path)
        guard access.resource == configuration.publicURL || access.resource == here else {
            return .failure(
                AuthenticationError(
                    code: "invalid_token", message: "The access token was issued for \(access.resource), not \(here) (its audience)."))
        }
        guard let agent = try? agents.agent(access.agentID), agent.active else {
            return .failure(AuthenticationError(code: "invalid_token", message: "The agent of this token is revoked."))
        }
        // What the token was issued with, as far as the principal still grants it (a later,
        // narrower consent narrows every older token of the same agent too).
        var scoped = agent
        scoped.scopes = OAuthScopes.effective(access.scopes.intersection(agent.scopes))
        return .success(Identity(agent: scoped, credential: .oauthToken(hash: access.tokenHash)))
    }

    // MARK: Registration (RFC 7591)

    func registerClient(_ request: Request) -> Response {
        if let limiter = rateLimiter, let decision = chargeRoute(request, .registration, limiter: limiter), !decision.allowed {
            return refusal(decision, identity: nil, action: nil)
        }
        guard request.body.count <= 16 * 1024, let body = try? JSON.parse(bytes: request.body), case .object = body else {
            return oauthError("invalid_client_metadata", "Send the client's metadata as a JSON object (RFC 7591 §2), at most 16 KiB.")
        }
        let client: OAuthClient
        switch validatedMetadata(body, clientID: "sfc_" + APIKey.random(24)) {
        case .failure(let error): return oauthError(error.code, error.description)
        case .success(let valid): client = valid
        }
        do {
            guard try services.oauth.register(client, by: request.remoteAddress) else {
                var response = oauthError(
                    "temporarily_unavailable",
                    "This address has registered \(OAuthStore.unusedClientsPerAddress) clients no principal has granted yet; use one of them, or retry tomorrow.",
                    status: 429)
                response.headers.add("Retry-After", "3600")
                return response
            }
        } catch {
            return oauthError("temporarily_unavailable", "The client could not be stored; retry.", status: 503)
        }
        guard case .object(var answer) = client.metadata else { return oauthError("invalid_client_metadata", "Send a JSON object.") }
        answer["client_id"] = .string(client.clientID)
        answer["client_id_issued_at"] = .int(unixNow())
        answer["token_endpoint_auth_method"] = "none"
        answer["grant_types"] = ["authorization_code", "refresh_token"]
        answer["response_types"] = ["code"]
        return jsonResponse(.object(answer), status: 201)
    }

    /// Client metadata checked as RFC 7591 §2 and OAuth 2.1 ask: redirect URIs that are https,
    /// loopback http, or a private-use scheme (RFC 8252 §7.1), no fragments; the authorization
    /// code grant; a public client (the store issues no secrets: PKCE protects the code).
    func validatedMetadata(_ body: JSON, clientID: String) -> Result<OAuthClient, OAuthError> {
        guard let uris = body["redirect_uris"]?.arrayValue, !uris.isEmpty, uris.count <= 10 else {
            return .failure(OAuthError("invalid_redirect_uri", "redirect_uris must list 1 to 10 redirect URIs."))
        }
        var redirects: [String] = []
        for uri in uris {
            guard let text = uri.stringValue, text.utf8.count <= 2000, Self.acceptableRedirect(text) else {
                return .failure(
                    OAuthError("invalid_redirect_uri", "\(uri.compactString.prefix(200)) is not a usable redirect URI: https, http on a loopback host, or a private-use scheme; no fragment."))
            }
            redirects.append(text)
        }
        let name = body["client_name"]?.stringValue ?? clientID
        guard name.count <= 200 else { return .failure(OAuthError("invalid_client_metadata", "client_name is at most 200 characters.")) }
        if let grants = body["grant_types"]?.arrayValue, !grants.allSatisfy({ ["authorization_code", "refresh_token"].contains($0.stringValue ?? "") }) {
            return .failure(OAuthError("invalid_client_metadata", "grant_types may be authorization_code and refresh_token only."))
        }
        if let types = body["response_types"]?.arrayValue, !types.allSatisfy({ $0.stringValue == "code" }) {
            return .failure(OAuthError("invalid_client_metadata", "response_types may be code only."))
        }
        var metadata: [String: JSON] = [:]
        for key in ["client_name", "client_uri", "logo_uri", "scope", "contacts", "tos_uri", "policy_uri", "software_id", "software_version"] {
            if let value = body[key], value.compactString.utf8.count <= 2000 { metadata[key] = value }
        }
        metadata["redirect_uris"] = .array(redirects.map(JSON.string))
        // What an anonymous registration makes the store keep is small: 8 KiB of metadata at most.
        guard JSON.object(metadata).compactString.utf8.count <= 8 * 1024 else {
            return .failure(OAuthError("invalid_client_metadata", "The client's metadata is larger than 8 KiB."))
        }
        return .success(OAuthClient(clientID: clientID, name: name, redirectURIs: redirects, metadata: .object(metadata)))
    }

    static func acceptableRedirect(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), url.fragment == nil, !text.contains("#") else { return false }
        switch scheme {
        case "https": return url.host?.isEmpty == false
        case "http": return ["127.0.0.1", "localhost", "::1", "[::1]"].contains(url.host?.lowercased() ?? "")
        case "javascript", "data", "file", "vbscript", "about", "blob": return false
        default: return scheme.contains(".")  // a private-use scheme, reverse domain name (RFC 8252 §7.1)
        }
    }

    // MARK: Clients by id

    /// A client by its id: registered here, or (an HTTPS URL) its client ID metadata document,
    /// fetched once and kept for its cache lifetime (5 minutes to a day).
    func resolveClient(_ clientID: String, caller: String, completion: @escaping @Sendable (Result<OAuthClient, OAuthError>) -> Void) {
        guard !clientID.isEmpty, clientID.utf8.count <= 2000 else {
            return completion(.failure(OAuthError("invalid_client", "client_id is missing or too long.")))
        }
        if !clientID.hasPrefix("https://") && !clientID.hasPrefix("http://") {
            do {
                guard let client = try services.oauth.client(clientID) else {
                    return completion(.failure(OAuthError("invalid_client", "No client \(clientID) is registered here (register at /oauth/register).", status: 401)))
                }
                return completion(.success(client))
            } catch {
                return completion(.failure(OAuthError("temporarily_unavailable", "Could not read the client; retry.", status: 503)))
            }
        }
        if let cached = clientDocuments[clientID], cached.until > unixNow() { return completion(cached.result) }
        BoundedFetch(allowPrivate: configuration.allowPrivateFetches).get(clientID, accept: "application/json", caller: caller) { [self] fetched in
            let result: Result<OAuthClient, OAuthError>
            var keep: Int64 = 300
            switch fetched {
            case .failure(let failure):
                result = .failure(OAuthError("invalid_client", "The client ID metadata document at \(clientID) could not be read: \(failure.description)"))
                // A busy gateway learnt nothing about the document: that is not remembered.
                keep = failure.transient ? 0 : 30
            case .success(let answer):
                keep = min(max(answer.maxAge ?? 300, 300), 24 * 3600)
                if answer.status != 200 {
                    result = .failure(OAuthError("invalid_client", "The client ID metadata document at \(clientID) answered HTTP \(answer.status)."))
                    keep = 30
                } else if let document = try? JSON.parse(bytes: answer.body), case .object = document {
                    if document["client_id"]?.stringValue != clientID {
                        result = .failure(OAuthError("invalid_client", "The client ID metadata document's client_id must be its own URL, \(clientID)."))
                    } else if document["client_secret"] != nil || ["client_secret_basic", "client_secret_post", "client_secret_jwt"].contains(document["token_endpoint_auth_method"]?.stringValue ?? "none") {
                        result = .failure(OAuthError("invalid_client", "A client ID metadata document describes a public client: no client_secret, token_endpoint_auth_method none."))
                    } else {
                        result = validatedMetadata(document, clientID: clientID).mapError { OAuthError("invalid_client", "Client metadata document: \($0.description)") }
                    }
                } else {
                    result = .failure(OAuthError("invalid_client", "The client ID metadata document at \(clientID) is not a JSON object."))
                }
            }
            if keep > 0 { clientDocuments.insert(clientID, (result, unixNow() + keep)) }
            completion(result)
        }
    }

    // MARK: Authorization endpoint

    func authorize(_ request: Request) -> Response {
        if let refused = chargedPage(request) { return refused }
        let clientID = request.query("client_id") ?? ""
        return .later { [self] complete in
            resolveClient(clientID, caller: request.remoteAddress) { [self] resolved in
                complete(authorizeResolved(request, resolved))
            }
        }
    }

    private func authorizeResolved(_ request: Request, _ resolved: Result<OAuthClient, OAuthError>) -> Response {
        let client: OAuthClient
        switch resolved {
        case .failure(let error):
            // An unknown client or redirect URI is never redirected to (RFC 6749 §4.1.2.1).
            return escalationPage("Cannot authorize", "<p id=\"error\">\(htmlEscape(error.description))</p>", status: 400)
        case .success(let found): client = found
        }
        let redirect = request.query("redirect_uri") ?? (client.redirectURIs.count == 1 ? client.redirectURIs[0] : "")
        guard client.redirectURIs.contains(where: { Self.redirectMatches(registered: $0, presented: redirect) }) else {
            return escalationPage(
                "Cannot authorize", "<p id=\"error\">redirect_uri is not one the client \(htmlEscape(client.name)) registered.</p>", status: 400)
        }
        let state = request.query("state")
        // Errors before the principal has seen anything are shown here, not redirected: anyone
        // can register a client, and a redirect on a malformed request would make this store's
        // origin a redirector to wherever that client points (RFC 9700 §4.11.2).
        func fail(_ code: String, _ description: String) -> Response {
            escalationPage(
                "Cannot authorize",
                "<p id=\"error\"><code>\(htmlEscape(code))</code>: \(htmlEscape(description))</p><p class=\"muted\">Tell the agent's developer; nothing was granted.</p>",
                status: 400)
        }
        guard request.query("response_type") == "code" else { return fail("unsupported_response_type", "response_type must be code.") }
        guard let challenge = request.query("code_challenge"), (43...128).contains(challenge.count),
            challenge.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        else { return fail("invalid_request", "code_challenge (PKCE, RFC 7636) is required: base64url of the verifier's SHA-256.") }
        guard request.query("code_challenge_method") == "S256" else { return fail("invalid_request", "code_challenge_method must be S256.") }
        if let state, state.utf8.count > 1024 { return fail("invalid_request", "state is at most 1024 bytes.") }
        let supported = Set(oauthScopes)
        var scopes = Set((request.query("scope") ?? "").split(separator: " ").map(String.init))
        if scopes.isEmpty { scopes = Set((client.metadata["scope"]?.stringValue ?? "").split(separator: " ").map(String.init)) }
        if scopes.isEmpty { scopes = Agent.defaultScopes }
        if let unknown = scopes.subtracting(supported).sorted().first {
            return fail("invalid_scope", "Unknown scope \(unknown); this store grants \(supported.sorted().joined(separator: " ")).")
        }
        let resource = request.query("resource") ?? configuration.publicURL
        guard protectedResources.contains(resource) else {
            return fail("invalid_target", "resource must be one of \(protectedResources.sorted().joined(separator: ", ")).")
        }
        let pending = AuthorizationRequest(
            clientID: client.clientID, clientName: client.name, redirectURI: redirect, scopes: scopes.sorted(), state: state,
            codeChallenge: challenge, resource: resource, expires: unixNow() + Self.authorizationRequestTTL)
        guard let signed = try? signAuthorization(pending) else {
            return escalationPage("Try again", "<p>The request could not be signed; try again.</p>", status: 503)
        }
        return Response(
            status: 302,
            headers: HTTPHeaders([("Location", configuration.publicURL + "/principal/?authorize=" + signed), ("Cache-Control", "no-store")]))
    }

    /// Exact match, except that a loopback redirect's port may differ (RFC 8252 §7.3: a native
    /// client listens on whatever port is free).
    static func redirectMatches(registered: String, presented: String) -> Bool {
        if registered == presented { return true }
        guard var a = URLComponents(string: registered), var b = URLComponents(string: presented), a.scheme == "http", b.scheme == "http",
            ["127.0.0.1", "[::1]", "::1"].contains(a.host ?? ""), a.host == b.host
        else { return false }
        a.port = nil
        b.port = nil
        return a.string == b.string
    }

    /// `base` with `parameters` added to its query, each percent-encoded but for RFC 3986's
    /// unreserved characters (a `+` in a client's state must come back as `+`, not a space).
    static func redirect(to base: String, _ parameters: [String: String?]) -> Response {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        var added: [String] = []
        for (key, value) in parameters.sorted(by: { $0.key < $1.key }) {
            guard let value else { continue }
            added.append(
                (key.addingPercentEncoding(withAllowedCharacters: unreserved) ?? key) + "="
                    + (value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""))
        }
        let fragmentless = base.split(separator: "#", maxSplits: 1).first.map(String.init) ?? base
        let location = fragmentless + (fragmentless.contains("?") ? "&" : "?") + added.joined(separator: "&")
        return Response(status: 302, headers: HTTPHeaders([("Location", location), ("Cache-Control", "no-store")]))
    }

    /// `base64url(["authorize", client, name, redirect, scopes, state, challenge, resource, expires]).base64url(Ed25519)`.
    func signAuthorization(_ request: AuthorizationRequest) throws -> String {
        let payload = JSON.array([
            "authorize", .string(request.clientID), .string(request.clientName), .string(request.redirectURI),
            .array(request.scopes.map(JSON.string)), request.state.map(JSON.string) ?? .null, .string(request.codeChallenge),
            .string(request.resource), .int(request.expires),
        ]).serialized()
        return Base64URL.encode(payload) + "." + Base64URL.encode(try signingKey.sign(payload))
    }

    func verifiedAuthorization(_ token: String) -> AuthorizationRequest? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 16 * 1024, parts.count == 2, let payload = Base64URL.decode(String(parts[0])),
            StoreSigningKey.verify(signature: String(parts[1]), payload: Array(payload), publicJWK: signingKey.publicJWK),
            let f = (try? JSON.parse(bytes: Array(payload)))?.arrayValue, f.count == 9, f[0] == "authorize",
            let clientID = f[1].stringValue, let name = f[2].stringValue, let redirect = f[3].stringValue,
            let scopes = f[4].arrayValue?.compactMap(\.stringValue), let challenge = f[6].stringValue, let resource = f[7].stringValue,
            let expires = f[8].intValue, expires >= unixNow()
        else { return nil }
        return AuthorizationRequest(
            clientID: clientID, clientName: name, redirectURI: redirect, scopes: scopes, state: f[5].stringValue, codeChallenge: challenge,
            resource: resource, expires: expires)
    }

    // MARK: Token endpoint

    func token(_ request: Request) -> Response {
        if let limiter = rateLimiter, let decision = chargeRoute(request, .writes, limiter: limiter), !decision.allowed {
            return refusal(decision, identity: nil, action: nil)
        }
        guard (request.headers["Content-Type"] ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            return oauthError("invalid_request", "Send the token request as application/x-www-form-urlencoded (RFC 6749 §4.1.3).")
        }
        let form = Self.formFields(request.body)
        if request.headers["Authorization"] != nil || form["client_secret"] != nil {
            return oauthError("invalid_client", "This store's clients are public (token_endpoint_auth_method none): send client_id, no secret.", status: 401)
        }
        guard let clientID = form["client_id"], !clientID.isEmpty else {
            return oauthError("invalid_request", "client_id is required.")
        }
        let lifetime = configuration.oauthAccessTokenTTL
        let resource = form["resource"]
        let result: Result<OAuthTokens, OAuthError>
        do {
            switch form["grant_type"] {
            case "authorization_code":
                guard let code = form["code"], let redirect = form["redirect_uri"], let verifier = form["code_verifier"] else {
                    return oauthError("invalid_request", "code, redirect_uri and code_verifier are required.")
                }
                guard (43...128).contains(verifier.count) else {
                    return oauthError("invalid_request", "code_verifier must be 43 to 128 characters (RFC 7636 §4.1).")
                }
                result = try services.oauth.redeem(
                    code: code, clientID: clientID, redirectURI: redirect, verifier: verifier, resource: resource, accessLifetime: lifetime)
            case "refresh_token":
                guard let refresh = form["refresh_token"] else { return oauthError("invalid_request", "refresh_token is required.") }
                let scopes = form["scope"].map { Set($0.split(separator: " ").map(String.init)) }
                result = try services.oauth.refresh(refresh, clientID: clientID, scopes: scopes, resource: resource, accessLifetime: lifetime)
            default:
                return oauthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")
            }
        } catch {
            return oauthError("temporarily_unavailable", "The token could not be issued; retry.", status: 503)
        }
        switch result {
        case .failure(let error): return oauthError(error.code, error.description, status: error.status)
        case .success(let tokens):
            var response = jsonResponse([
                "access_token": .string(tokens.accessToken), "token_type": "Bearer", "expires_in": .int(tokens.expiresIn),
                "refresh_token": .string(tokens.refreshToken), "scope": .string(tokens.scopes.sorted().joined(separator: " ")),
            ])
            response.headers.add("Pragma", "no-cache")
            return response
        }
    }

    func revokeToken(_ request: Request) -> Response {
        if let limiter = rateLimiter, let decision = chargeRoute(request, .writes, limiter: limiter), !decision.allowed {
            return refusal(decision, identity: nil, action: nil)
        }
        let form = Self.formFields(request.body)
        guard let token = form["token"], !token.isEmpty else { return oauthError("invalid_request", "token is required (RFC 7009 §2.1).") }
        do {
            try services.oauth.revoke(token, clientID: form["client_id"])
        } catch {
            return oauthError("temporarily_unavailable", "The token could not be revoked; retry.", status: 503)
        }
        return Response(status: 200, headers: HTTPHeaders([("Cache-Control", "no-store")]))
    }

    func oauthError(_ code: String, _ description: String, status: Int = 400) -> Response {
        var response = jsonResponse(["error": .string(code), "error_description": .string(description)], status: status)
        if status == 401 { response.headers.add("WWW-Authenticate", "Basic realm=\"storefront\"") }
        return response
    }
}
