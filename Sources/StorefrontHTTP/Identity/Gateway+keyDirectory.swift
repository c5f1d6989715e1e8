import Foundation
import HTTPServer
import JSON
import StorefrontDomain

extension Gateway {
    /// `GET /.well-known/http-message-signatures-directory`: the keys this store signs HTTP
    /// messages with — the ES256 key of its RFC 9421 webhook signatures and its Ed25519 key — as a
    /// key directory (draft-meunier-http-message-signatures-directory), so whoever receives the
    /// store's signed messages finds the keys where the standard puts them. The answer is itself
    /// signed (tag `http-message-signatures-directory`, covering the request's `@authority`) with the Ed25519 key,
    /// as the draft asks, for an hour.
    func ownKeyDirectory(_ request: Request) -> Response {
        let body = JSON.object(["keys": [signingKey.publicJWK, signingKey.es256.publicJWK]]).compactString
        var headers = HTTPHeaders([
            ("Content-Type", KeyDirectories.mediaType), ("Cache-Control", "public, max-age=3600"), ("Access-Control-Allow-Origin", "*"),
        ])
        // RFC 9421 §2.2.3: the authority as the client named it, lowercased, without the scheme's
        // default port; the public URL's when the request names none.
        let publicURL = URL(string: configuration.publicURL)
        let https = publicURL?.scheme == "https"
        var authority = (request.headers["Host"] ?? publicURL.map { u in (u.host ?? "") + (u.port.map { ":\($0)" } ?? "") } ?? "").lowercased()
        if authority.hasSuffix(https ? ":443" : ":80") { authority = String(authority.dropLast(https ? 4 : 3)) }
        let created = unixNow()
        let parameters = "(\"@authority\";req);created=\(created);expires=\(created + 3600);keyid=\"\(signingKey.keyID)\";alg=\"ed25519\";tag=\"http-message-signatures-directory\""
        let base = "\"@authority\";req: \(authority)\n\"@signature-params\": \(parameters)"
        if let signature = try? signingKey.sign(Array(base.utf8)) {
            headers.add("Signature-Input", "sig1=" + parameters)
            headers.add("Signature", "sig1=:\(signature.base64EncodedString()):")
        }
        return Response(status: 200, headers: headers, body: .bytes(Array(body.utf8)))
    }
}
