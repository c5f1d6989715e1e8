import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// HTTP Message Signatures (RFC 9421) as the Web Bot Auth profile uses them: Ed25519, the
/// key named by its JWK thumbprint, `created`/`expires`, a single-use `nonce`, and
/// `tag="web-bot-auth"`.
package struct MessageSignature {
    /// One member of `Signature-Input`: the covered components and the parameters, plus the
    /// member's text exactly as sent (it is the value of `@signature-params`).
    package struct Input {
        package var label: String
        var components: [String]
        /// Each component's `key` parameter (a dictionary member, RFC 9421 §2.1.2), or nil.
        var componentKeys: [String?] = []
        package var parameters: [String: String]
        var serialized: String
    }

    package static let tag = "web-bot-auth"
    static let clockSkew: Int64 = 60
    static let maxLifetime: Int64 = 24 * 3600

    // MARK: Parsing (RFC 8941 dictionaries, as far as these two fields need)

    /// Splits a dictionary field at top-level commas.
    static func members(_ field: String) -> [(String, String)] {
        var result: [(String, String)] = []
        var current = "", depth = 0, quoted = false, escaped = false, colon = false
        for c in field {
            if quoted {
                current.append(c)
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
                continue
            }
            switch c {
            case "\"": quoted = true; current.append(c)
            case "(": depth += 1; current.append(c)
            case ")": depth -= 1; current.append(c)
            case ":": colon.toggle(); current.append(c)
            case "," where depth == 0 && !colon:
                result.append(split(current))
                current = ""
            default: current.append(c)
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { result.append(split(current)) }
        return result
    }

    private static func split(_ member: String) -> (String, String) {
        let trimmed = member.trimmingCharacters(in: .whitespaces)
        guard let eq = trimmed.firstIndex(of: "=") else { return (trimmed, "") }
        return (String(trimmed[..<eq]), String(trimmed[trimmed.index(after: eq)...]))
    }

    package static func parseInputs(_ field: String) throws -> [Input] {
        try members(field).map { label, value in
            guard value.hasPrefix("("), let close = value.firstIndex(of: ")") else {
                throw AuthenticationError(code: "invalid_signature_input", message: "Signature-Input \(label) is not an inner list.")
            }
            let list = value[value.index(after: value.startIndex)..<close]
            var components: [String] = []
            var keys: [String?] = []
            for item in list.split(separator: " ", omittingEmptySubsequences: true) {
                // `"name"`, or `"name";key="member"` (one member of a dictionary field).
                var name = Substring(item), key: String?
                if let range = item.range(of: "\";key=\"") {
                    name = item[..<item.index(after: range.lowerBound)]
                    let rest = item[range.upperBound...]
                    guard rest.hasSuffix("\""), rest.count >= 2 else {
                        throw AuthenticationError(code: "unsupported_component", message: "Covered component \(item) is not supported.")
                    }
                    key = String(rest.dropLast())
                }
                guard name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2, !name.dropFirst().dropLast().contains("\"") else {
                    throw AuthenticationError(
                        code: "unsupported_component", message: "Covered component \(item) is not supported; use plain names (or ;key=).")
                }
                components.append(String(name.dropFirst().dropLast()))
                keys.append(key)
            }
            var parameters: [String: String] = [:]
            for parameter in value[value.index(after: close)...].split(separator: ";", omittingEmptySubsequences: true) {
                let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                var v = parts[1]
                if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                parameters[parts[0].trimmingCharacters(in: .whitespaces)] = v
            }
            return Input(label: label, components: components, componentKeys: keys, parameters: parameters, serialized: value)
        }
    }

    package static func parseSignatures(_ field: String) -> [String: Data] {
        var result: [String: Data] = [:]
        for (label, value) in members(field) where value.hasPrefix(":") && value.hasSuffix(":") && value.count >= 2 {
            result[label] = Data(base64Encoded: String(value.dropFirst().dropLast()))
        }
        return result
    }

    // MARK: The signature base (RFC 9421 §2.5)

    static func componentValue(_ name: String, request: Request, scheme: String) throws -> String {
        let authority = (request.headers["Host"] ?? "").lowercased()
        switch name {
        case "@method": return request.method.uppercased()
        case "@authority": return authority
        case "@scheme": return scheme
        case "@path": return request.rawPath
        case "@query": return "?" + (request.rawQuery ?? "")
        case "@request-target": return request.rawTarget
        case "@target-uri": return "\(scheme)://\(authority)\(request.rawTarget)"
        default:
            if name.hasPrefix("@") {
                throw AuthenticationError(code: "unsupported_component", message: "Derived component \(name) is not supported.")
            }
            let values = request.headers.values(name)
            guard !values.isEmpty else {
                throw AuthenticationError(code: "missing_component", message: "The signature covers \(name), which the request lacks.")
            }
            return values.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        }
    }

    package static func signatureBase(_ input: Input, request: Request, scheme: String) throws -> String {
        var lines: [String] = []
        for (index, component) in input.components.enumerated() {
            if let key = index < input.componentKeys.count ? input.componentKeys[index] : nil {
                let field = try componentValue(component, request: request, scheme: scheme)
                guard let member = members(field).first(where: { $0.0 == key }) else {
                    throw AuthenticationError(code: "missing_component", message: "The signature covers \(component) member \(key), which the field lacks.")
                }
                lines.append("\"\(component)\";key=\"\(key)\": \(member.1)")
                continue
            }
            lines.append("\"\(component)\": \(try componentValue(component, request: request, scheme: scheme))")
        }
        lines.append("\"@signature-params\": \(input.serialized)")
        return lines.joined(separator: "\n")
    }

    /// Checks a covered `Content-Digest` against the body, so a signed request's body cannot
    /// be swapped.
    static func checkContentDigest(_ request: Request) throws {
        guard let field = request.headers["Content-Digest"] else { return }
        for (algorithm, value) in members(field) {
            let expected = Data(base64Encoded: String(value.dropFirst().dropLast()))
            let actual: Data
            switch algorithm {
            case "sha-256": actual = Data(SHA256.hash(data: Data(request.body)))
            case "sha-512": actual = Data(SHA512.hash(data: Data(request.body)))
            default: continue
            }
            if expected != actual {
                throw AuthenticationError(code: "content_digest_mismatch", message: "Content-Digest does not match the body.")
            }
            return
        }
    }

    /// Verifies the request's Web Bot Auth signature; returns the signing agent.
    package static func verify(
        _ request: Request, directory: AgentDirectory, scheme: String, authorities: Set<String>,
        now: Int64 = Int64(Date().timeIntervalSince1970)
    ) throws -> Identity {
        guard let inputField = request.headers["Signature-Input"], let signatureField = request.headers["Signature"] else {
            throw AuthenticationError(code: "missing_signature", message: "Send both Signature-Input and Signature.")
        }
        let inputs = try parseInputs(inputField)
        guard let input = inputs.first(where: { $0.parameters["tag"] == tag }) else {
            throw AuthenticationError(
                code: "wrong_signature_tag", message: "No signature has tag=\"\(tag)\" (the Web Bot Auth profile).")
        }
        guard let signature = parseSignatures(signatureField)[input.label] else {
            throw AuthenticationError(code: "missing_signature", message: "No Signature member labelled \(input.label).")
        }
        if let alg = input.parameters["alg"], alg != "ed25519" {
            throw AuthenticationError(code: "unsupported_algorithm", message: "alg must be ed25519, not \(alg).")
        }
        guard let created = input.parameters["created"].flatMap(Int64.init),
            let expires = input.parameters["expires"].flatMap(Int64.init)
        else {
            throw AuthenticationError(code: "invalid_signature_input", message: "created and expires are required (Unix seconds).")
        }
        if created > now + clockSkew {
            throw AuthenticationError(code: "signature_not_yet_valid", message: "created is in the future; check the clock.")
        }
        if expires < now - clockSkew || expires <= created {
            throw AuthenticationError(code: "signature_expired", message: "The signature expired at \(expires); sign again.")
        }
        if expires - created > maxLifetime {
            throw AuthenticationError(code: "signature_lifetime_too_long", message: "expires may be at most 24 hours after created.")
        }
        guard let keyID = input.parameters["keyid"] else {
            throw AuthenticationError(code: "invalid_signature_input", message: "keyid (the JWK thumbprint) is required.")
        }
        guard let nonce = input.parameters["nonce"], !nonce.isEmpty, nonce.count <= 256 else {
            throw AuthenticationError(code: "missing_nonce", message: "A nonce is required so a signature cannot be replayed.")
        }
        guard input.components.contains("@authority") else {
            throw AuthenticationError(code: "insufficient_coverage", message: "The signature must cover @authority.")
        }
        // A signature binds a request to a site: one made for another authority is not for us.
        let authority = (request.headers["Host"] ?? "").lowercased()
        guard authorities.contains(authority) else {
            throw AuthenticationError(
                code: "wrong_authority",
                message: "The signature is for \(authority.isEmpty ? "no authority" : authority), not this store (\(authorities.sorted().joined(separator: ", "))).")
        }
        if request.headers["Signature-Agent"] != nil && !input.components.contains("signature-agent") {
            throw AuthenticationError(code: "insufficient_coverage", message: "The signature must cover signature-agent when it is sent.")
        }
        if input.components.contains("content-digest") { try checkContentDigest(request) }
        guard let (agent, jwk) = try directory.agent(forKeyThumbprint: keyID) else {
            throw AuthenticationError(
                code: "unknown_key", message: "No active agent has a key with thumbprint \(keyID); register it with POST /agents/register.")
        }
        let base = try signatureBase(input, request: request, scheme: scheme)
        guard let x = jwk["x"]?.stringValue, let raw = Base64URL.decode(x),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
            key.isValidSignature(signature, for: Data(base.utf8))
        else {
            throw AuthenticationError(code: "invalid_signature", message: "The signature does not verify with the registered key.")
        }
        guard try directory.useNonce(nonce, agentID: agent.id, expiresAt: expires + clockSkew) else {
            throw AuthenticationError(code: "replayed_nonce", message: "This nonce was already used; sign each request with a new one.")
        }
        return Identity(agent: agent, credential: .messageSignature(keyID: keyID))
    }
}

extension MessageSignature {
    /// Whether a UCP platform signed this request (UCP's signatures.md): an RFC 9421 signature
    /// whose `keyid` is a key of the platform's profile (ES256, raw r ‖ s, or Ed25519), covering
    /// the method, authority and path (and `content-digest`, checked against the body, when the
    /// request has one), made within five minutes when it says when.
    package static func signedByPlatform(
        _ request: Request, profile: JSON, scheme: String, now: Int64 = Int64(Date().timeIntervalSince1970)
    ) -> Bool {
        guard let inputField = request.headers["Signature-Input"], let signatureField = request.headers["Signature"],
            let inputs = try? parseInputs(inputField)
        else { return false }
        let keys = profile["keys"]?.arrayValue ?? []
        let signatures = parseSignatures(signatureField)
        for input in inputs {
            guard let keyID = input.parameters["keyid"], let jwk = keys.first(where: { $0["kid"]?.stringValue == keyID }),
                let signature = signatures[input.label]
            else { continue }
            guard ["@method", "@authority", "@path"].allSatisfy(input.components.contains) else { continue }
            if !request.body.isEmpty {
                guard input.components.contains("content-digest"), (try? checkContentDigest(request)) != nil else { continue }
            }
            if let created = input.parameters["created"].flatMap(Int64.init), abs(created - now) > 300 { continue }
            guard let base = try? signatureBase(input, request: request, scheme: scheme) else { continue }
            let message = Data(base.utf8)
            switch (jwk["kty"]?.stringValue, jwk["crv"]?.stringValue) {
            case ("EC", "P-256"):
                guard let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode), let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode),
                    let key = try? P256.Signing.PublicKey(x963Representation: Data([0x04]) + x + y),
                    let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
                else { continue }
                if key.isValidSignature(ecdsa, for: message) { return true }
            case ("OKP", "Ed25519"):
                guard let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode),
                    let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x)
                else { continue }
                if key.isValidSignature(signature, for: message) { return true }
            default: continue
            }
        }
        return false
    }
}
