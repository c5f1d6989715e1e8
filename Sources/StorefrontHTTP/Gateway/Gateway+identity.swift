import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontApp
import StorefrontDomain
import StorefrontStore

extension Gateway {
    /// The authorities signed requests may name: the public URL's, and for a loopback public
    /// URL its other loopback spellings.
    var acceptedAuthorities: Set<String> {
        guard let url = URL(string: configuration.publicURL), let host = url.host?.lowercased() else { return [] }
        let port = url.port.map { ":\($0)" } ?? ""
        var hosts: Set<String> = [host]
        if ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host) { hosts = ["127.0.0.1", "localhost", "[::1]"] }
        return Set(hosts.map { $0 + port })
    }

    /// Who sent the request: nil for anonymous, or the error for credentials that fail.
    /// A request that presents credentials is never quietly treated as anonymous.
    func authenticate(_ request: Request) -> Result<Identity?, AuthenticationError> {
        if let verified = VerifiedSignature.recalled(for: request) { return verified }
        let result = verify(request)
        // A signature's nonce is spent now: whatever asks again while this thread handles the
        // request (the access policy, then its route) gets this answer, not "replayed".
        VerifiedSignature.remember(result, for: request)
        return result
    }

    /// Checks the request's credentials (a signature's nonce is spent here).
    func verify(_ request: Request) -> Result<Identity?, AuthenticationError> {
        do {
            if let authorization = request.headers["Authorization"] {
                let parts = authorization.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                    return .failure(AuthenticationError(code: "invalid_authorization", message: "Use Authorization: Bearer <api key or OAuth access token>."))
                }
                let key = String(parts[1]).trimmingCharacters(in: .whitespaces)
                if key.hasPrefix("sf_at_") { return oauthIdentity(token: key, path: request.path) }
                guard let agent = try agents.authenticate(apiKey: key), let prefix = APIKey.prefix(of: key) else {
                    return .failure(
                        AuthenticationError(
                            code: "invalid_api_key", message: "The API key is unknown or revoked. Register with POST /agents/register."))
                }
                return .success(Identity(agent: agent, credential: .apiKey(prefix: prefix)))
            }
            if request.headers["Signature-Input"] != nil || request.headers["Signature"] != nil {
                let scheme = URL(string: configuration.publicURL)?.scheme ?? "http"
                if let signed = unregisteredDirectorySignature(request) {
                    switch keyDirectories.verify(
                        request, input: signed.input, signature: signed.signature, origin: signed.origin, scheme: scheme,
                        authorities: acceptedAuthorities)
                    {
                    case .success(let origin):
                        // A known operator, not a registered agent: it browses as anyone does.
                        verifiedOperators.insert(request.id, origin)
                        return .success(nil)
                    case .failure(let error):
                        return .failure(error)
                    }
                }
                return .success(
                    try MessageSignature.verify(request, directory: agents, scheme: scheme, authorities: acceptedAuthorities))
            }
            return .success(nil)
        } catch let error as AuthenticationError {
            return .failure(error)
        } catch {
            return .failure(AuthenticationError(code: "authentication_unavailable", message: "Could not check credentials; retry."))
        }
    }

    /// A request signed with a Web Bot Auth (or TAP) tag by a key no agent registered here,
    /// naming its operator's origin in `Signature-Agent`: the signature, its input and the origin.
    func unregisteredDirectorySignature(_ request: Request) -> (input: MessageSignature.Input, signature: Data, origin: String)? {
        guard let origin = KeyDirectories.namedOrigin(request), let inputField = request.headers["Signature-Input"],
            let signatureField = request.headers["Signature"],
            let input = (try? MessageSignature.parseInputs(inputField))?.first(where: { KeyDirectories.tags.contains($0.parameters["tag"] ?? "") }),
            let signature = MessageSignature.parseSignatures(signatureField)[input.label],
            let keyID = input.parameters["keyid"] ?? input.parameters["keyId"]
        else { return nil }
        if (try? agents.agent(forKeyThumbprint: keyID)) != nil { return nil }
        return (input, signature, origin)
    }

    func unauthorized(_ error: AuthenticationError, path: String = "/") -> Response {
        if error.code == "authentication_unavailable" {
            // The store could not be read: nothing is wrong with the credentials, so no 401.
            var response = Response.error(status: 503, type: "service_unavailable", code: error.code, message: error.message)
            response.headers.add("Retry-After", "1")
            return response
        }
        var response = Response.error(
            status: 401, type: "authentication_error", code: error.code, message: error.message)
        response.headers.add("WWW-Authenticate", bearerChallenge(path: path, error: error))
        return response
    }

    /// The idempotency key of a REST call: the header, or `idempotency_key` in the body.
    static func idempotencyKey(_ request: Request, arguments: JSON) -> String? {
        request.headers["Idempotency-Key"] ?? arguments["idempotency_key"]?.stringValue
    }

    /// `POST /agents/register`: open registration, or refused when the merchant registers agents.
    func register(_ request: Request) -> Response {
        guard configuration.openRegistration else {
            return Response.error(
                status: 403, type: "permission_error", code: "registration_closed",
                message: "This store registers agents by invitation: ask the merchant (storefront agents create).")
        }
        guard let body = try? JSON.parse(bytes: request.body), case .object = body else {
            return Response.error(
                status: 400, type: "invalid_request", code: "invalid_json",
                message: "Send a JSON object: {\"principal\", \"display_name\", \"operator\", \"public_key\"?}.")
        }
        return registerAgent(body)
    }

    /// Registers an agent (the open route and the admin API): 201 with the registration, or the
    /// refusal in the project's error shape.
    func registerAgent(_ body: JSON) -> Response {
        do {
            return jsonResponse(try services.registerAgent(body), status: 201)
        } catch {
            return error.restResponse
        }
    }
}
