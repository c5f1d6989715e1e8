import Foundation
import JSON
import StorefrontActions
import StorefrontDomain

/// The documents written from the catalog — the signed capability manifest (and its JWS), the
/// sitemap and the pricing document — rebuilt when the catalog's version moves (a product,
/// price or stock change on any node), by the first request that sees the new version; the
/// others keep answering from the previous build meanwhile.
final class CatalogDocuments: @unchecked Sendable {
    final class Current: Sendable {
        let version: Int
        let capabilities: Document
        let capabilitiesSignature: Document
        let sitemap: Document
        let pricing: Document
        let pricingJSON: JSON

        init(version: Int, capabilities: Document, capabilitiesSignature: Document, sitemap: Document, pricing: Document, pricingJSON: JSON) {
            self.version = version
            self.capabilities = capabilities
            self.capabilitiesSignature = capabilitiesSignature
            self.sitemap = sitemap
            self.pricing = pricing
            self.pricingJSON = pricingJSON
        }
    }

    private let lock = NSLock()
    private var built: Current
    private var building = false
    private let version: @Sendable () -> Int
    private let build: @Sendable (Int) throws -> Current

    init(version: @escaping @Sendable () -> Int, build: @escaping @Sendable (Int) throws -> Current) throws {
        self.version = version
        self.build = build
        built = try build(version())
    }

    var current: Current {
        let now = version()
        let (held, claimed) = lock.withLock { () -> (Current, Bool) in
            guard built.version != now, !building else { return (built, false) }
            building = true
            return (built, true)
        }
        guard claimed else { return held }
        let fresh = try? build(now)
        return lock.withLock {
            building = false
            if let fresh { built = fresh }
            return built
        }
    }

    /// The four documents for catalog version `version`.
    static func build(version: Int, facts: StoreFacts, actions: ActionRegistry, signingKey: StoreSigningKey) throws -> Current {
        let baseURL = facts.baseURL
        let manifestBytes = facts.capabilityManifest(signingKey: signingKey, actions: actions).canonicalized()
        let jws = try signingKey.detachedJWS(payload: manifestBytes, type: "storefront-capabilities+jws")
        let pricing = facts.pricingDocument()
        return Current(
            version: version,
            capabilities: Document(
                bytes: manifestBytes, contentType: "application/json",
                extraHeaders: [
                    ("X-Capabilities-Signature", jws),
                    ("Link", "<\(baseURL)/.well-known/jwks.json>; rel=\"jwks\", <\(baseURL)/.well-known/capabilities.json.jws>; rel=\"signature\""),
                ]),
            capabilitiesSignature: Document(bytes: Array(jws.utf8), contentType: "application/jose"),
            sitemap: .text(facts.sitemap(), contentType: "application/xml; charset=utf-8"),
            pricing: .json(pricing),
            pricingJSON: pricing)
    }
}

/// A value set once, after the closures that read it were made (the catalog's documents are
/// written from the actions, and one action publishes one of them).
final class SetOnce<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?

    var value: Value? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
