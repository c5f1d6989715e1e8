import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// A product's HTML page with schema.org `Product`/`Offer` JSON-LD, for crawlers and browsers.
struct ProductPage {
    let product: Product
    let manifests: StoreManifests
    let baseURL: String
    var rating: JSON?

    var url: String { baseURL + "/products/" + product.id }

    func offer(price: Money, inStock: Bool, sku: String, name: String? = nil) -> JSON {
        var offer: [String: JSON] = [
            "@type": "Offer",
            "price": .string(price.decimalString),
            "priceCurrency": .string(price.currency),
            "availability": .string(inStock ? "https://schema.org/InStock" : "https://schema.org/OutOfStock"),
            "url": .string(url),
            "sku": .string(sku),
            "seller": ["@type": "Organization", "name": .string(manifests.storeName)],
        ]
        if let name { offer["name"] = .string(name) }
        if let days = manifests.policies["returns"]?["window_days"]?.intValue {
            offer["hasMerchantReturnPolicy"] = [
                "@type": "MerchantReturnPolicy",
                "merchantReturnDays": .int(days),
                "returnPolicyCategory": "https://schema.org/MerchantReturnFiniteReturnWindow",
                "url": .string(baseURL + "/policies"),
            ]
        }
        return .object(offer)
    }

    var jsonLD: JSON {
        var offers: [JSON] = []
        if product.variants.isEmpty {
            offers.append(offer(price: product.price, inStock: product.inStock, sku: product.id))
        } else {
            for variant in product.variants {
                offers.append(
                    offer(
                        price: variant.price ?? product.price, inStock: variant.inventory > 0, sku: variant.id,
                        name: variant.name))
            }
        }
        var ld: [String: JSON] = [
            "@context": "https://schema.org",
            "@type": "Product",
            "@id": .string(url),
            "productID": .string(product.id),
            "sku": .string(product.id),
            "name": .string(product.name),
            "description": .string(product.description),
            "category": .string(product.category),
            "image": .array(product.images.map(JSON.string)),
            "url": .string(url),
            "offers": offers.count == 1 ? offers[0] : .array(offers),
        ]
        if let brand = product.brand { ld["brand"] = ["@type": "Brand", "name": .string(brand)] }
        if let rating, let average = rating["average"], let count = rating["count"] {
            ld["aggregateRating"] = [
                "@type": "AggregateRating", "ratingValue": average, "reviewCount": count, "bestRating": 5, "worstRating": 1,
            ]
        }
        return .object(ld)
    }

    func html() -> String {
        let variantRows = product.variants.map { v in
            "<tr><td>\(htmlEscape(v.name))</td><td>\(htmlEscape((v.price ?? product.price).displayString))</td>"
                + "<td>\(v.inventory > 0 ? "In stock" : "Sold out")</td></tr>"
        }.joined(separator: "\n")
        let variants =
            product.variants.isEmpty
            ? ""
            : "<h2>Options</h2><table><thead><tr><th>Option</th><th>Price</th><th>Availability</th></tr></thead><tbody>\(variantRows)</tbody></table>"
        let image = product.images.first.map { "<img src=\"\(htmlEscape($0))\" alt=\"\(htmlEscape(product.name))\" width=\"480\">" } ?? ""
        let body = """
            <p class="muted"><a href="/agents">\(htmlEscape(manifests.storeName))</a> · \(htmlEscape(product.category))</p>
            <h1>\(htmlEscape(product.name))</h1>
            \(image)
            <p class="price">\(htmlEscape(product.price.displayString))</p>
            <p>\(product.inStock ? "In stock" : "Sold out")</p>
            <p>\(htmlEscape(product.description))</p>
            \(variants)
            <p class="muted">Agents: this product as JSON is at <a href="/catalog/\(htmlEscape(product.id))"><code>/catalog/\(htmlEscape(product.id))</code></a>; prices and terms at <a href="/pricing">/pricing</a> and <a href="/policies">/policies</a>.</p>
            """
        let head = "<link rel=\"canonical\" href=\"\(htmlEscape(url))\">\n"
            + "<script type=\"application/ld+json\">\(scriptSafeJSON(jsonLD.serialized()))</script>"
        return htmlPage(title: "\(product.name) — \(manifests.storeName)", description: product.description, head: head, body: body)
    }
}
