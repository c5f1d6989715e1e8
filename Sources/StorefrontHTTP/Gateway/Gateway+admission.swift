import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontApp
import StorefrontDomain
import StorefrontStore

extension Gateway {
    /// Seconds between keep-alive comments on idle streams (every stream of the process).
    public static var streamKeepAliveInterval: Double {
        get { SSETail.keepAliveInterval }
        set { SSETail.keepAliveInterval = newValue }
    }

    /// Who a request comes from, for admission: asked by the HTTP server only when a client
    /// address or the server is over its limits, to serve agents and the merchant from the
    /// reserve. Credentials are checked, not trusted: a bearer token must be the admin token or
    /// a live API key, and a signature must verify with a registered key. Its body and nonce are
    /// not checked here (the body is not read yet, and the nonce is spent when the handler
    /// verifies the request in full), so a replayed signed request may be admitted, then refused.
    public func principal(of request: Request) -> Principal {
        if let authorization = request.headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .anonymous }
            let token = String(parts[1]).trimmingCharacters(in: .whitespaces)
            if AdminToken.verify(token, in: database) { return .merchant }
            if token.hasPrefix("sf_at_") { return (try? services.oauth.access(token)).flatMap { $0 }.map { .agent($0.agentID) } ?? .anonymous }
            if let agent = try? agents.authenticate(apiKey: token) { return .agent(agent.id) }
            return .anonymous
        }
        if let agentID = signer(of: request) { return .agent(agentID) }
        return .anonymous
    }

    /// The agent whose registered key made the request's Web Bot Auth signature, or nil.
    private func signer(of request: Request) -> String? {
        guard let inputField = request.headers["Signature-Input"], let signatureField = request.headers["Signature"],
            let inputs = try? MessageSignature.parseInputs(inputField),
            let input = inputs.first(where: { $0.parameters["tag"] == MessageSignature.tag }),
            let signature = MessageSignature.parseSignatures(signatureField)[input.label],
            let keyID = input.parameters["keyid"],
            let found = try? agents.agent(forKeyThumbprint: keyID)
        else { return nil }
        let scheme = URL(string: configuration.publicURL)?.scheme ?? "http"
        guard let base = try? MessageSignature.signatureBase(input, request: request, scheme: scheme),
            let x = found.jwk["x"]?.stringValue, let raw = Base64URL.decode(x),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
            key.isValidSignature(signature, for: Data(base.utf8))
        else { return nil }
        return found.0.id
    }
}
