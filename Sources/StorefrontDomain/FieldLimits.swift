import JSON

/// Size caps on what an outsider can make the store keep about an agent. Every refusal is a
/// 400 that names the field and its limit; nothing is stored.
public enum FieldLimits {
    /// `principal`, `display_name` and `operator`, in characters.
    public static let agentText = 200
    /// The serialized `public_key` JWK, in bytes (an Ed25519 JWK is about 80).
    public static let publicKeyBytes = 512
    /// Members a `public_key` may carry; only `kty`, `crv` and `x` are kept.
    public static let publicKeyMembers: Set<String> = ["kty", "crv", "x", "alg", "use", "kid"]
    /// Scopes named at registration.
    public static let scopes = 16

    /// The refusal of a value over its cap.
    static func tooLarge(_ field: String, limit: Int, unit: String, got: Int) -> ActionError {
        ActionError.invalid("field_too_long", "\(field) may be at most \(limit) \(unit); this one is \(got).", param: field)
    }

    /// Checks an optional text field of a registration.
    static func checkText(_ body: JSON, _ field: String) -> ActionError? {
        guard let value = body[field] else { return nil }
        guard let text = value.stringValue else {
            return ActionError.invalid("invalid_field", "\(field) must be a string.", param: field)
        }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            // A name is shown in logs and pages (the principal's confirmation links among them):
            // a line break in it could forge a line.
            return ActionError.invalid("invalid_field", "\(field) may not contain control characters (line breaks, tabs).", param: field)
        }
        return text.count > agentText ? tooLarge(field, limit: agentText, unit: "characters", got: text.count) : nil
    }

    /// Checks a registration body's sizes; nil when every field is within its cap.
    public static func checkRegistration(_ body: JSON) -> ActionError? {
        for field in ["principal", "display_name", "operator"] {
            if let refusal = checkText(body, field) { return refusal }
        }
        if let key = body["public_key"], key != .null {
            let size = key.compactString.utf8.count
            if size > publicKeyBytes { return tooLarge("public_key", limit: publicKeyBytes, unit: "bytes", got: size) }
            guard let members = key.objectValue else {
                return ActionError.invalid("invalid_public_key", "public_key must be a JWK object.", param: "public_key")
            }
            let extra = Set(members.keys).subtracting(publicKeyMembers)
            if !extra.isEmpty {
                return ActionError.invalid(
                    "invalid_public_key", "public_key may carry only \(publicKeyMembers.sorted()); not \(extra.sorted()).",
                    param: "public_key")
            }
        }
        if let scopes = body["scopes"]?.arrayValue, scopes.count > Self.scopes {
            return tooLarge("scopes", limit: Self.scopes, unit: "items", got: scopes.count)
        }
        return nil
    }

    /// The members of an Ed25519 JWK the store keeps.
    public static func canonicalJWK(_ jwk: JSON) -> JSON {
        ["kty": jwk["kty"] ?? .null, "crv": jwk["crv"] ?? .null, "x": jwk["x"] ?? .null]
    }
}
