import CatalogFeeds
import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// The catalog as ACP's product feed (`schema.feed.json` of release 2026-04-17), for an agent
/// platform to ingest: `GET /feeds/acp/products.jsonl` (one `Product` per line, each with its
/// purchasable variants, live stock and price) and `GET /feeds/acp/metadata.json`. A variant's id
/// is what `/checkout_sessions` takes as a line item id. Public, like the catalog it is.
extension Gateway {
    static let acpFeedPath = "/feeds/acp"

    func addACPFeedRoutes(to router: inout Router) {
        // Charged as reads by their path, as every document is.
        router.get(Self.acpFeedPath + "/products.jsonl") { [unowned self] _ in
            var response = Response(
                status: 200, headers: HTTPHeaders([("Content-Type", "application/jsonl; charset=utf-8")]), body: .stream(acpFeedStream()))
            response.headers.add("Cache-Control", "public, max-age=60")
            return response
        }
        router.get(Self.acpFeedPath + "/metadata.json") { [unowned self] _ in
            let country = (manifests.policies["shipping"]?["regions"]?.arrayValue?.first?.stringValue ?? "US").uppercased()
            return jsonResponse(
                ["id": .string("\(manifests.storeID)-acp"), "target_country": .string(country), "updated_at": .string(isoTime(unixNow()))],
                cacheControl: "public, max-age=60")
        }
    }

    /// The seller every feed product names.
    var acpSeller: JSON {
        [
            "name": .string(manifests.storeName),
            "links": [
                ["type": "return_policy", "url": .string(configuration.publicURL + "/policies#returns")],
                ["type": "shipping_policy", "url": .string(configuration.publicURL + "/policies#shipping")],
            ],
        ]
    }

    /// One ACP feed `Product` per line, with the stock as the store holds it now, written a page
    /// of products at a time while the client reads: a catalog of any size is sent without being
    /// whole in memory (at most about a megabyte is queued for a slow reader).
    func acpFeedStream() -> ResponseStream {
        let stream = ResponseStream()
        let catalog = self.catalog, views = self.views, seller = acpSeller, baseURL = configuration.publicURL
        let producer = FeedProducer()
        let pump: @Sendable () -> Void = {
            DispatchQueue.global().async {
                producer.lock.withLock {
                    while !producer.done, stream.queuedBytes < 1 << 20 {
                        let (page, next) = catalog.page(after: producer.after, limit: 500)
                        var text = ""
                        for product in views.live(page) { text += acpFeedProduct(product, seller: seller, baseURL: baseURL).compactString + "\n" }
                        if !text.isEmpty, !stream.write(text) { producer.done = true }
                        producer.after = next
                        if next == nil {
                            producer.done = true
                            stream.finish()
                        }
                    }
                }
            }
        }
        stream.onDrain(pump)
        stream.onClose { producer.lock.withLock { producer.done = true } }
        pump()
        return stream
    }
}

/// Where a streamed feed is in the catalog.
private final class FeedProducer: @unchecked Sendable {
    let lock = NSLock()
    var after: Int64?
    var done = false
}
