import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// UCP platform profiles, as a business negotiates with them (UCP overview, §Negotiation): the
/// platforms the merchant approved (`--ucp-platforms`, used as given), and any other platform's
/// profile fetched at the URL its `UCP-Agent` names — https only, no redirects, at most 256 KiB
/// in 5 seconds, never from a private, loopback or link-local address (``BoundedFetch``), once
/// per URL at a time, kept for its `Cache-Control: max-age` (one minute to a day; five minutes
/// when it says nothing). A failure is kept for 30 seconds and answered as UCP says:
/// `profile_unreachable` (424) or `profile_malformed` (422).
///
/// A fetched profile's order `webhook_url` is used only when it is https on a public address
/// (checked when the profile is fetched), so a profile cannot point the store's signed order
/// events at a listener inside its network.
final class PlatformProfiles: @unchecked Sendable {
    struct Entry: Sendable {
        var profile: JSON?
        var failure: (status: Int, code: String, content: String)?
        var until: Int64
        /// Whether the profile's order webhook may receive the store's order events.
        var webhookAllowed: Bool
    }

    static let maxBytes = 256 * 1024

    let registry: [String: JSON]
    let discover: Bool
    let allowPrivate: Bool
    private let documents = FetchedDocuments<Entry>(capacity: 1024) { $0.until }

    init(registry: [String: JSON], discover: Bool, allowPrivate: Bool) {
        self.registry = registry
        self.discover = discover
        self.allowPrivate = allowPrivate
    }

    /// The profile at `url` when it is known: approved by the merchant, or fetched (or failed) recently.
    func known(_ url: String, now: Int64 = unixNow()) -> Entry? {
        if let profile = registry[url] { return Entry(profile: profile, failure: nil, until: .max, webhookAllowed: true) }
        return documents.known(url, now: now)
    }

    /// Whether a request naming `url` must wait for its profile to be fetched.
    func needsFetch(_ url: String) -> Bool {
        guard discover, known(url) == nil, let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), parsed.host != nil else {
            return false
        }
        return scheme == "https" || (allowPrivate && scheme == "http")
    }

    /// The profile URL a request names: the `UCP-Agent` header, or (MCP) the JSON-RPC call's `meta["ucp-agent"].profile`.
    static func named(in request: Request, mcpPath: String) -> String? {
        if let header = request.headers["UCP-Agent"] { return UCP.profileParameter(header) }
        guard request.method == "POST", request.path == mcpPath, request.body.count <= 64 * 1024,
            let body = try? JSON.parse(bytes: request.body)
        else { return nil }
        return body["params"]?["arguments"]?["meta"]?["ucp-agent"]?["profile"]?.stringValue
    }

    /// Fetches the profile at `url` unless it is known; `then` runs once it is (on a background queue).
    func load(_ url: String, caller: String, then: @escaping @Sendable () -> Void) {
        if registry[url] != nil { return then() }
        let allowPrivate = self.allowPrivate
        documents.load(
            url, fetch: BoundedFetch(maxBytes: Self.maxBytes, timeout: 5, allowPrivate: allowPrivate), accept: "application/json",
            caller: caller, entry: { Self.entry(from: $0, url: url, allowPrivate: allowPrivate) }, then: then)
    }

    static func entry(from result: Result<BoundedFetch.Fetched, BoundedFetch.Failure>, url: String, allowPrivate: Bool, now: Int64 = unixNow())
        -> Entry
    {
        func failed(_ status: Int, _ code: String, _ content: String) -> Entry {
            Entry(profile: nil, failure: (status, code, content), until: now + 30, webhookAllowed: false)
        }
        switch result {
        case .failure(let failure):
            return failed(424, "profile_unreachable", "The platform profile at \(url) could not be fetched: \(failure.description).")
        case .success(let answer):
            guard answer.status == 200 else {
                return failed(424, "profile_unreachable", "The platform profile at \(url) answered HTTP \(answer.status).")
            }
            guard let profile = try? JSON.parse(bytes: answer.body), let ucp = profile["ucp"], ucp["version"]?.stringValue != nil,
                ucp["capabilities"]?.objectValue != nil
            else {
                return failed(422, "profile_malformed", "The platform profile at \(url) is not a UCP profile (a JSON object with ucp.version and ucp.capabilities).")
            }
            let webhook = ucp["capabilities"]?["dev.ucp.shopping.order"]?.arrayValue?.lazy
                .compactMap { $0["config"]?["webhook_url"]?.stringValue }.first
            var webhookAllowed = false
            if let webhook, let parsed = URL(string: webhook), let host = parsed.host {
                let scheme = parsed.scheme?.lowercased()
                webhookAllowed = scheme == "https" ? (allowPrivate || BoundedFetch.refusedAddress(host: host, port: parsed.port ?? 443) == nil)
                    : (allowPrivate && scheme == "http")
            }
            let lifetime = min(max(answer.maxAge ?? 300, 60), 24 * 3600)
            return Entry(profile: profile, failure: nil, until: now + lifetime, webhookAllowed: webhookAllowed)
        }
    }
}
