import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontApp
import StorefrontDomain
import StorefrontStore

/// Passkeys for the principal's page (WebAuthn): signed in once by their emailed link, the
/// person enrols a passkey (`navigator.credentials.create`); afterwards they sign in with it alone
/// (`navigator.credentials.get`), no mail. The relying party is the public URL's host and the
/// only origin accepted its origin. A ceremony's challenge is a token signed by the store's key
/// (what it is for, whose, until when: 5 minutes) whose nonce is spent when the ceremony succeeds,
/// so an anonymous request for sign-in options stores nothing.
extension Gateway {
    static let passkeyChallengeTTL: Int64 = 5 * 60

    func addPasskeyRoutes(to router: inout Router) {
        router.post("/principal/api/passkeys/options") { [unowned self] request in self.passkeyOptions(request) }
        router.post("/principal/api/passkeys/sign-in") { [unowned self] request in self.passkeySignIn(request) }
        router.get("/principal/api/passkeys") { [unowned self] request in
            self.asPrincipal(request, change: false) { principal in
                jsonResponse(["passkeys": .array((try? self.services.oauth.passkeys(of: principal)) ?? [])])
            }
        }
        router.post("/principal/api/passkeys") { [unowned self] request in
            self.asPrincipal(request, change: true) { principal in self.enrolPasskey(request, principal: principal) }
        }
        router.post("/principal/api/passkeys/{id}/remove") { [unowned self] request in
            self.asPrincipal(request, change: true) { principal in
                let id = request.pathParameters["id"] ?? ""
                guard (try? self.services.oauth.removePasskey(id, principal: principal)) == true else {
                    return Response.error(status: 404, type: "not_found", code: "passkey_not_found", message: "You have no passkey \(id).")
                }
                return jsonResponse(["removed": .string(id)])
            }
        }
    }

    var relyingPartyID: String { URL(string: configuration.publicURL)?.host?.lowercased() ?? "localhost" }
    var pageOrigin: String { Self.origin(of: configuration.publicURL) }

    /// `["passkey", purpose, principal, nonce, expires]`, signed: the challenge's bytes are this text.
    func passkeyChallenge(purpose: String, principal: String) throws -> String {
        let payload = JSON.array(["passkey", .string(purpose), .string(principal), .string(APIKey.random(24)),
                                  .int(unixNow() + Self.passkeyChallengeTTL)]).serialized()
        return Base64URL.encode(payload) + "." + Base64URL.encode(try signingKey.sign(payload))
    }

    /// The challenge a ceremony answered (base64url of its bytes, as clientDataJSON carries it), if this store issued it for `purpose`.
    func verifiedPasskeyChallenge(_ encoded: String, purpose: String) -> (principal: String, nonce: String, expires: Int64)? {
        guard encoded.utf8.count <= 2048, let bytes = Base64URL.decode(encoded), let token = String(bytes: bytes, encoding: .utf8) else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(String(parts[0])),
            StoreSigningKey.verify(signature: String(parts[1]), payload: Array(payload), publicJWK: signingKey.publicJWK),
            let f = (try? JSON.parse(bytes: Array(payload)))?.arrayValue, f.count == 5, f[0] == "passkey", f[1].stringValue == purpose,
            let principal = f[2].stringValue, let nonce = f[3].stringValue, let expires = f[4].intValue, expires >= unixNow()
        else { return nil }
        return (principal, nonce, expires)
    }

    /// The WebAuthn user handle of a principal: not their address, a digest of it.
    static func userHandle(_ principal: String) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data("storefront principal \(principal)".utf8)).prefix(16)))
    }

    /// `POST /principal/api/passkeys/options {"purpose": "register" | "sign-in"}`.
    func passkeyOptions(_ request: Request) -> Response {
        guard let body = try? JSON.parse(bytes: request.body), let purpose = body["purpose"]?.stringValue, ["register", "sign-in"].contains(purpose)
        else {
            return Response.error(status: 400, type: "invalid_request", code: "invalid_purpose", message: "Send {\"purpose\": \"register\" | \"sign-in\"}.")
        }
        if purpose == "register" {
            return asPrincipal(request, change: true) { principal in
                guard let token = try? self.passkeyChallenge(purpose: "register", principal: principal) else {
                    return Response.error(status: 503, type: "service_unavailable", code: "signing_failed", message: "Retry.")
                }
                let enrolled = ((try? self.services.oauth.passkeys(of: principal)) ?? []).compactMap { $0["id"] }
                return jsonResponse([
                    "challenge": .string(Base64URL.encode(Data(token.utf8))),
                    "rp": ["id": .string(self.relyingPartyID), "name": .string(self.manifests.storeName)],
                    "user": ["id": .string(Self.userHandle(principal)), "name": .string(principal), "displayName": .string(principal)],
                    "pubKeyCredParams": [["type": "public-key", "alg": -7]],
                    "timeout": 120_000, "attestation": "none",
                    "authenticatorSelection": ["residentKey": "required", "userVerification": "preferred"],
                    "excludeCredentials": .array(enrolled.map { ["type": "public-key", "id": $0] }),
                ])
            }
        }
        if let limiter = rateLimiter, let decision = chargeRoute(request, .registration, limiter: limiter), !decision.allowed {
            return refusal(decision, identity: nil, action: nil)
        }
        guard let token = try? passkeyChallenge(purpose: "sign-in", principal: "") else {
            return Response.error(status: 503, type: "service_unavailable", code: "signing_failed", message: "Retry.")
        }
        return jsonResponse([
            "challenge": .string(Base64URL.encode(Data(token.utf8))), "rpId": .string(relyingPartyID), "timeout": 120_000,
            "userVerification": "preferred", "allowCredentials": [],
        ])
    }

    static func passkeyField(_ body: JSON, _ name: String) -> [UInt8]? {
        body["response"]?[name]?.stringValue.flatMap(Base64URL.decode).map(Array.init)
    }

    func enrolPasskey(_ request: Request, principal: String) -> Response {
        @Sendable func refuse(_ why: String) -> Response {
            Response.error(status: 400, type: "invalid_request", code: "passkey_invalid", message: "The passkey was not enrolled: \(why).")
        }
        guard let body = try? JSON.parse(bytes: request.body), let id = body["id"]?.stringValue, !id.isEmpty, id.utf8.count <= 1400,
            let clientData = Self.passkeyField(body, "clientDataJSON"), let attestation = Self.passkeyField(body, "attestationObject")
        else { return refuse("send {id, response: {clientDataJSON, attestationObject}} in base64url") }
        do {
            let client = try JSON.parse(bytes: clientData)
            guard let challenge = verifiedPasskeyChallenge(client["challenge"]?.stringValue ?? "", purpose: "register"),
                challenge.principal == principal
            else { return refuse("the challenge is not one this store gave you, or it expired") }
            try WebAuthn.checkClientData(clientData, type: "webauthn.create", challenge: client["challenge"]?.stringValue ?? "", origin: pageOrigin)
            var offset = 0
            let object = try WebAuthn.decode(attestation, offset: &offset)
            guard let authData = object[.text("authData")]?.bytes else { return refuse("the attestation object has no authData") }
            let data = try WebAuthn.authenticatorData(authData)
            guard data.rpIDHash == Array(SHA256.hash(data: Data(relyingPartyID.utf8))) else { return refuse("it was made for another site") }
            guard data.userPresent else { return refuse("no user was present") }
            guard let credential = data.credentialID, let cose = data.publicKey else { return refuse("no credential was attested") }
            guard Base64URL.encode(Data(credential)) == id else { return refuse("the id differs from the attested credential") }
            let jwk = try WebAuthn.jwk(cose: cose)
            let oauth = services.oauth
            return .later { complete in
                DispatchQueue.global().async {
                    do {
                        guard try oauth.useLink(challenge.nonce, expiresAt: challenge.expires) else {
                            return complete(refuse("this challenge was answered already"))
                        }
                        guard try oauth.addPasskey(principal: principal, credentialID: id, publicKey: jwk, signCount: Int64(data.signCount)) else {
                            return complete(refuse("it is enrolled already, or you have \(OAuthStore.passkeysPerPrincipal) passkeys"))
                        }
                        complete(jsonResponse(["enrolled": .string(id)], status: 201))
                    } catch {
                        complete(Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Retry."))
                    }
                }
            }
        } catch let failure as WebAuthn.Failure {
            return refuse(failure.description)
        } catch {
            return refuse("the response could not be read")
        }
    }

    /// `POST /principal/api/passkeys/sign-in {id, response: {clientDataJSON, authenticatorData, signature, userHandle}}`:
    /// a session, as a spent sign-in link gives.
    func passkeySignIn(_ request: Request) -> Response {
        if let limiter = rateLimiter, let decision = chargeRoute(request, .writes, limiter: limiter), !decision.allowed {
            return refusal(decision, identity: nil, action: nil)
        }
        guard (request.headers["Content-Type"] ?? "").lowercased().hasPrefix("application/json"),
            request.headers["Origin"].map({ $0 == pageOrigin }) ?? true
        else {
            return Response.error(status: 403, type: "permission_error", code: "cross_origin", message: "Passkeys sign in on this store's own page only.")
        }
        @Sendable func refuse(_ why: String) -> Response {
            Response.error(status: 401, type: "authentication_error", code: "passkey_refused", message: "Not signed in: \(why).")
        }
        guard let body = try? JSON.parse(bytes: request.body), let id = body["id"]?.stringValue, id.utf8.count <= 1400,
            let clientData = Self.passkeyField(body, "clientDataJSON"), let authData = Self.passkeyField(body, "authenticatorData"),
            let signature = Self.passkeyField(body, "signature")
        else { return refuse("send {id, response: {clientDataJSON, authenticatorData, signature}} in base64url") }
        do {
            let client = try JSON.parse(bytes: clientData)
            guard let challenge = verifiedPasskeyChallenge(client["challenge"]?.stringValue ?? "", purpose: "sign-in") else {
                return refuse("the challenge is not one this store gave, or it expired")
            }
            try WebAuthn.checkClientData(clientData, type: "webauthn.get", challenge: client["challenge"]?.stringValue ?? "", origin: pageOrigin)
            let data = try WebAuthn.authenticatorData(authData)
            guard data.rpIDHash == Array(SHA256.hash(data: Data(relyingPartyID.utf8))) else { return refuse("the passkey is for another site") }
            guard data.userPresent else { return refuse("no user was present") }
            guard let stored = try services.oauth.passkey(id) else { return refuse("this passkey is not enrolled here") }
            if let handle = body["response"]?["userHandle"]?.stringValue, !handle.isEmpty, handle != Self.userHandle(stored.principal) {
                return refuse("the passkey belongs to someone else")
            }
            let message = authData + Array(SHA256.hash(data: Data(clientData)))
            guard WebAuthn.verify(signature: signature, over: message, jwk: stored.publicKey) else {
                return refuse("the signature does not verify with the enrolled key")
            }
            let oauth = services.oauth
            return .later { complete in
                DispatchQueue.global().async {
                    do {
                        guard try oauth.useLink(challenge.nonce, expiresAt: challenge.expires) else {
                            return complete(refuse("this challenge was answered already"))
                        }
                        guard try oauth.usePasskey(id, signCount: Int64(data.signCount)) else {
                            return complete(refuse("the authenticator's counter went backwards (a cloned passkey?)"))
                        }
                        let session = try oauth.startSession(principal: stored.principal)
                        var response = jsonResponse([
                            "principal": .string(stored.principal), "csrf_token": .string(Self.principalCSRF(session.id)),
                            "expires_at": .string(isoTime(session.expiresAt)),
                        ])
                        response.headers.add("Set-Cookie", self.principalCookie(session.id, maxAge: OAuthStore.sessionLifetime))
                        complete(response)
                    } catch {
                        complete(Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Retry."))
                    }
                }
            }
        } catch let failure as WebAuthn.Failure {
            return refuse(failure.description)
        } catch {
            return refuse("the response could not be read")
        }
    }
}
