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
            var response = Response(status: 200, contentType: "application/jsonl; charset=utf-8", body: Array(acpFeedLines().utf8))
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

    /// One ACP feed `Product` per line, with the stock as the store holds it now.
    func acpFeedLines() -> String {
        let seller: JSON = [
            "name": .string(manifests.storeName),
            "links": [
                ["type": "return_policy", "url": .string(configuration.publicURL + "/policies#returns")],
                ["type": "shipping_policy", "url": .string(configuration.publicURL + "/policies#shipping")],
            ],
        ]
        var out = ""
        catalog.forEachPage { page in
          for product in views.live(page) {
            let page = configuration.publicURL + "/products/\(product.id)"
            let media: [JSON] = product.images.compactMap { URL(string: $0) == nil ? nil : ["type": "image", "url": .string($0)] }
            func variant(id: String, title: String, price: Money, inventory: Int64, options: [JSON]) -> JSON {
                var fields: [String: JSON] = [
                    "id": .string(id), "title": .string(title), "url": .string(page),
                    "price": ["amount": .int(price.amount), "currency": .string(price.currency.uppercased())],
                    "availability": [
                        "available": .bool(inventory > 0),
                        "status": .string(inventory <= 0 ? "out_of_stock" : inventory < 5 ? "limited_stock" : "in_stock"),
                    ],
                    "categories": [["value": .string(product.category)]],
                    "condition": ["new"],
                    "seller": seller,
                ]
                if !options.isEmpty { fields["variant_options"] = .array(options) }
                return .object(fields)
            }
            let variants: [JSON]
            if product.variants.isEmpty {
                variants = [variant(id: product.id, title: product.name, price: product.price, inventory: product.inventory, options: [])]
            } else {
                variants = product.variants.map { v in
                    let options: [JSON] = (v.source["attributes"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.compactMap { name, value in
                        guard let text = value.stringValue ?? value.intValue.map(String.init) else { return nil }
                        return ["name": .string(name), "value": .string(text)]
                    }
                    return variant(
                        id: v.id, title: "\(product.name) — \(v.name)", price: v.price ?? product.price, inventory: v.inventory, options: options)
                }
            }
            var fields: [String: JSON] = [
                "id": .string(product.id), "title": .string(product.name), "description": ["plain": .string(product.description)],
                "url": .string(page), "variants": .array(variants),
            ]
            if !media.isEmpty { fields["media"] = .array(media) }
            out += JSON.object(fields).compactString + "\n"
          }
        }
        return out
    }
}
