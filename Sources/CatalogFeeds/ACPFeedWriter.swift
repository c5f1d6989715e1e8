import Foundation
import JSON
import StorefrontDomain

/// A product as an ACP feed `Product` (`schema.feed.json` of release 2026-04-17): each
/// purchasable variant (or the product itself when it has none) a `Variant` whose id is what
/// `/checkout_sessions` takes as a line item id, with its price and availability from the
/// product's stock as given (apply live stock before calling). `baseURL` is the store's public
/// URL; product pages are `baseURL/products/{id}`.
public func acpFeedProduct(_ product: Product, seller: JSON, baseURL: String) -> JSON {
    let page = baseURL + "/products/\(product.id)"
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
            return variant(id: v.id, title: "\(product.name) — \(v.name)", price: v.price ?? product.price, inventory: v.inventory, options: options)
        }
    }
    var fields: [String: JSON] = [
        "id": .string(product.id), "title": .string(product.name), "description": ["plain": .string(product.description)],
        "url": .string(page), "variants": .array(variants),
    ]
    if !media.isEmpty { fields["media"] = .array(media) }
    return .object(fields)
}

/// Writes an ACP `products.jsonl` a product at a time to a sink (an HTTP body, a file), so a
/// large catalog is never one string.
public final class ACPFeedWriter {
    private let seller: JSON
    private let baseURL: String
    private let sink: (String) -> Void

    public init(seller: JSON, baseURL: String, sink: @escaping (String) -> Void) {
        self.seller = seller
        self.baseURL = baseURL
        self.sink = sink
    }

    public convenience init(seller: JSON, baseURL: String, fileHandle: FileHandle) {
        self.init(seller: seller, baseURL: baseURL) { fileHandle.write(Data($0.utf8)) }
    }

    /// One line: the product as ACP's `Product`, then a line feed.
    public func write(_ product: Product) {
        sink(acpFeedProduct(product, seller: seller, baseURL: baseURL).compactString + "\n")
    }
}
