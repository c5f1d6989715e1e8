import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// Web Bot Auth key directories: an agent that signs its requests (RFC 9421) and names its
/// operator's origin in `Signature-Agent` is verified against the keys that origin publishes at
/// `/.well-known/http-message-signatures-directory` (draft-meunier-http-message-signatures-directory,
/// draft-ietf-webbotauth-httpsig-protocol). Visa's Trusted Agent Protocol signs the same way with
/// the tags `agent-browser-auth` and `agent-payer-auth`, which are accepted too.
///
/// A directory is fetched once per origin at a time (others asking meanwhile wait for the same
/// fetch), bounded like every fetch the gateway makes for a caller (``BoundedFetch``), and kept
/// for its `Cache-Control: max-age` (1 second to a day; an hour when it says nothing); a failure
/// is kept for 30 seconds. At most 1,024 directories are kept; at most 32 keys are read from one.
///
/// A verified agent that is not registered here is a known operator (analytics files it under
/// its origin) and may browse; buying still needs registration or OAuth. Its nonces are kept in
/// memory (a bounded set), not in the store: a directory anyone can publish must not let them
/// add rows.
final class KeyDirectories: @unchecked Sendable {
    struct Directory: Sendable {
        /// Ed25519 public keys (raw) by JWK thumbprint.
        var keys: [String: [UInt8]]
        var until: Int64
        var failure: String?
    }

    static let tags: Set<String> = ["web-bot-auth", "agent-browser-auth", "agent-payer-auth"]
    static let path = "/.well-known/http-message-signatures-directory"
    static let mediaType = "application/http-message-signatures-directory+json"
    static let maxKeys = 32

    let allowPrivate: Bool
    private let documents = FetchedDocuments<Directory>(capacity: 1024) { $0.until }
    private let nonces = BoundedMemo<String, Int64>(capacity: 65_536)
    private let lock = NSLock()

    init(allowPrivate: Bool) {
        self.allowPrivate = allowPrivate
    }

    // MARK: Signature-Agent

    /// The origin the signature labelled `label` names in `Signature-Agent`: the dictionary
    /// member with that key (the working group's form), or the whole field when it is a single
    /// quoted string (the earlier drafts' form, still what most agents send).
    static func agentOrigin(_ field: String, label: String) -> String? {
        let trimmed = field.trimmingCharacters(in: .whitespaces)
        var value: String?
        if trimmed.hasPrefix("\"") {
            value = trimmed
        } else {
            value = MessageSignature.members(trimmed).first(where: { $0.0 == label })?.1
        }
        guard var text = value?.split(separator: ";").first.map(String.init)?.trimmingCharacters(in: .whitespaces),
            text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2
        else { return nil }
        text = String(text.dropFirst().dropLast())
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty,
            scheme == "https" || scheme == "http"
        else { return nil }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }

    /// The origin a signed request names, when it is signed with one of the accepted tags and
    /// names one (the request to fetch that origin's directory for).
    static func namedOrigin(_ request: Request) -> String? {
        guard request.headers["Authorization"] == nil, let agentField = request.headers["Signature-Agent"],
            let inputField = request.headers["Signature-Input"],
            let input = (try? MessageSignature.parseInputs(inputField))?.first(where: { tags.contains($0.parameters["tag"] ?? "") })
        else { return nil }
        return agentOrigin(agentField, label: input.label)
    }

    // MARK: The cache

    /// The directory of `origin` when it is known (fetched, or failed recently), else nil.
    func cached(_ origin: String, now: Int64 = unixNow()) -> Directory? { documents.known(origin + Self.path, now: now) }

    /// Fetches `origin`'s directory unless it is known; `then` runs once it is (on a background queue).
    func load(_ origin: String, caller: String, then: @escaping @Sendable () -> Void) {
        documents.load(
            origin + Self.path, fetch: BoundedFetch(maxBytes: 64 * 1024, timeout: 5, allowPrivate: allowPrivate), accept: Self.mediaType,
            caller: caller, entry: { Self.directory(from: $0) }, then: then)
    }

    static func directory(from result: Result<BoundedFetch.Fetched, BoundedFetch.Failure>, now: Int64 = unixNow()) -> Directory {
        let failed = { (why: String) in Directory(keys: [:], until: now + 30, failure: why) }
        switch result {
        case .failure(let failure): return failed(failure.description)
        case .success(let answer):
            guard answer.status == 200 else { return failed("the key directory answered HTTP \(answer.status)") }
            let type = answer.contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard type == mediaType || type == "application/json" || type == "application/jwk-set+json" else {
                return failed("the key directory is served as \(type.isEmpty ? "nothing" : type), not \(mediaType)")
            }
            guard let document = try? JSON.parse(bytes: answer.body), let list = document["keys"]?.arrayValue else {
                return failed("the key directory is not a JSON Web Key Set")
            }
            var keys: [String: [UInt8]] = [:]
            for jwk in list.prefix(maxKeys) {
                guard let thumbprint = jwkThumbprint(jwk), let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode),
                    x.count == 32
                else { continue }
                if let kid = jwk["kid"]?.stringValue, kid != thumbprint { continue }  // a kid must be the thumbprint
                if let nbf = jwk["nbf"]?.intValue, nbf > now { continue }
                if let exp = jwk["exp"]?.intValue, exp <= now { continue }
                keys[thumbprint] = Array(x)
            }
            let lifetime = min(max(answer.maxAge ?? 3600, 1), 24 * 3600)
            return Directory(keys: keys, until: now + lifetime, failure: nil)
        }
    }

    // MARK: Verifying

    /// Verifies a request signed for an agent that is not registered here against its origin's
    /// directory (already loaded): the operator's origin, or why not.
    func verify(
        _ request: Request, input: MessageSignature.Input, signature: Data, origin: String, scheme: String, authorities: Set<String>,
        now: Int64 = unixNow()
    ) -> Result<String, AuthenticationError> {
        func refuse(_ code: String, _ message: String) -> Result<String, AuthenticationError> {
            .failure(AuthenticationError(code: code, message: message))
        }
        guard let directory = cached(origin) else {
            return refuse("key_directory_unavailable", "The key directory of \(origin) could not be read yet; retry.")
        }
        if let failure = directory.failure {
            return refuse("key_directory_unavailable", "The key directory at \(origin)\(Self.path) could not be used: \(failure)")
        }
        let tag = input.parameters["tag"] ?? ""
        guard let keyID = input.parameters["keyid"] ?? input.parameters["keyId"] else {
            return refuse("invalid_signature_input", "keyid (the JWK thumbprint) is required.")
        }
        guard let raw = directory.keys[keyID], let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            return refuse("unknown_key", "The key directory of \(origin) has no key \(keyID).")
        }
        if let alg = input.parameters["alg"], alg != "ed25519" {
            return refuse("unsupported_algorithm", "alg must be ed25519, not \(alg).")
        }
        guard let created = input.parameters["created"].flatMap(Int64.init), let expires = input.parameters["expires"].flatMap(Int64.init)
        else { return refuse("invalid_signature_input", "created and expires are required (Unix seconds).") }
        if created > now + MessageSignature.clockSkew { return refuse("signature_not_yet_valid", "created is in the future; check the clock.") }
        if expires < now - MessageSignature.clockSkew || expires <= created {
            return refuse("signature_expired", "The signature expired at \(expires); sign again.")
        }
        // Visa's Trusted Agent Protocol: a signature lives at most 8 minutes; Web Bot Auth: a day.
        let longest: Int64 = tag == "web-bot-auth" ? MessageSignature.maxLifetime : 480
        if expires - created > longest {
            return refuse("signature_lifetime_too_long", "expires may be at most \(longest) seconds after created for tag \(tag).")
        }
        guard input.components.contains("@authority") || input.components.contains("@target-uri") else {
            return refuse("insufficient_coverage", "The signature must cover @authority (or @target-uri).")
        }
        let authority = (request.headers["Host"] ?? "").lowercased()
        guard authorities.contains(authority) else {
            return refuse("wrong_authority", "The signature is for \(authority.isEmpty ? "no authority" : authority), not this store.")
        }
        // The member of Signature-Agent this signature is labelled with (or the whole field) must be covered.
        let coversAgent = input.components.indices.contains { i in
            input.components[i] == "signature-agent"
                && (i >= input.componentKeys.count || input.componentKeys[i] == nil || input.componentKeys[i] == input.label)
        }
        if tag == "web-bot-auth" && !coversAgent {
            return refuse("insufficient_coverage", "The signature must cover signature-agent (its own member, key=\"\(input.label)\").")
        }
        if tag != "web-bot-auth" && input.parameters["nonce"] == nil {
            return refuse("missing_nonce", "Tag \(tag) needs a single-use nonce.")
        }
        do {
            if input.components.contains("content-digest") { try MessageSignature.checkContentDigest(request) }
            let base = try MessageSignature.signatureBase(input, request: request, scheme: scheme)
            guard key.isValidSignature(signature, for: Data(base.utf8)) else {
                return refuse("invalid_signature", "The signature does not verify with key \(keyID) of \(origin).")
            }
        } catch let error as AuthenticationError {
            return .failure(error)
        } catch {
            return refuse("invalid_signature", "The signature could not be checked.")
        }
        if let nonce = input.parameters["nonce"] {
            guard nonce.count <= 256 else { return refuse("invalid_signature_input", "The nonce is at most 256 characters.") }
            let seen: Bool = lock.withLock {
                let key = origin + " " + nonce
                if let until = nonces[key], until >= now { return true }
                nonces.insert(key, expires + MessageSignature.clockSkew)
                return false
            }
            if seen { return refuse("replayed_nonce", "This nonce was already used; sign each request with a new one.") }
        }
        return .success(origin)
    }
}
