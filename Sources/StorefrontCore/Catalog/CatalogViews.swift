import JSON

/// How products look on the wire: a summary for lists, the full product for lookups.
struct CatalogViews: Sendable {
    let manifests: StoreManifests
    let baseURL: String

    func summary(_ product: Product) -> JSON {
        [
            "id": .string(product.id),
            "name": .string(product.name),
            "description": .string(product.description),
            "category": .string(product.category),
            "brand": JSON(product.brand),
            "price": product.price.json,
            "in_stock": .bool(product.inStock),
            "inventory": .int(product.inventory),
            "variant_count": .int(Int64(product.variants.count)),
            "image": product.images.first.map(JSON.string) ?? .null,
            "url": .string(baseURL + "/products/" + product.id),
            "api_url": .string(baseURL + "/catalog/" + product.id),
        ]
    }

    func detail(_ product: Product) -> JSON {
        guard case .object(var detail) = product.source else { return product.source }
        detail["in_stock"] = .bool(product.inStock)
        detail["url"] = .string(baseURL + "/products/" + product.id)
        detail["api_url"] = .string(baseURL + "/catalog/" + product.id)
        detail["category_name"] = JSON(manifests.catalog.categories.first { $0.id == product.category }?.name)
        return .object(detail)
    }

    var categories: JSON {
        .array(manifests.catalog.categories.map { ["id": .string($0.id), "name": .string($0.name)] })
    }
}
