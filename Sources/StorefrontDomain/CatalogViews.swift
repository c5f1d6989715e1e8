import JSON

/// How products look on the wire: a summary for lists, the full product for lookups.
public struct CatalogViews: Sendable {
    public let manifests: StoreManifests
    public let baseURL: String
    /// Aggregate ratings by product id, for the products asked about (one read for a page).
    public var ratings: @Sendable ([String]) -> [String: JSON] = { _ in [:] }
    /// What is left to sell (the catalog's numbers until the store says otherwise).
    public var stock: @Sendable () -> StockLevels = { StockLevels() }
    /// Each product's summary but its rating and stock, serialized once: manifests do not change
    /// while serving.
    private let summaryTemplates: [String: EncodedObjectTemplate]
    /// A search_catalog result but its page: the categories.
    public let searchTemplate: EncodedObjectTemplate

    public init(manifests: StoreManifests, baseURL: String) {
        self.manifests = manifests
        self.baseURL = baseURL
        var templates: [String: EncodedObjectTemplate] = [:]
        for product in manifests.catalog.products {
            templates[product.id] = EncodedObjectTemplate(Self.summaryMembers(product, baseURL: baseURL))
        }
        summaryTemplates = templates
        searchTemplate = EncodedObjectTemplate(["categories": Self.categories(manifests)])
    }

    /// The same summaries as ``summaries(_:)``, serialized.
    public func encodedSummaries(_ products: [Product]) -> [EncodedJSON] {
        let found = ratings(products.map(\.id))
        let levels = stock()
        return products.map { product in
            let rating = found[product.id] ?? .null
            guard let template = summaryTemplates[product.id] else {
                return summary(product, rating: rating, stock: levels).encoded
            }
            let inventory = levels.byProduct[product.id] ?? product.inventory
            return template.encoded(adding: ["rating": rating, "inventory": .int(inventory), "in_stock": .bool(inventory > 0)])
        }
    }

    public func summaries(_ products: [Product]) -> [JSON] {
        let found = ratings(products.map(\.id))
        let levels = stock()
        return products.map { summary($0, rating: found[$0.id], stock: levels) }
    }

    public func summary(_ product: Product) -> JSON { summaries([product])[0] }

    public func summary(_ product: Product, rating: JSON?, stock levels: StockLevels) -> JSON {
        var members = Self.summaryMembers(levels.applied(to: product), baseURL: baseURL)
        members["rating"] = rating ?? .null
        return .object(members)
    }

    public static func summaryMembers(_ product: Product, baseURL: String) -> [String: JSON] {
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

    /// The product with what is left of it now.
    public func live(_ product: Product) -> Product { stock().applied(to: product) }

    public func detail(_ product: Product) -> JSON {
        let product = live(product)
        guard case .object(var detail) = product.source else { return product.source }
        detail["in_stock"] = .bool(product.inStock)
        detail["url"] = .string(baseURL + "/products/" + product.id)
        detail["api_url"] = .string(baseURL + "/catalog/" + product.id)
        detail["category_name"] = JSON(manifests.catalog.categories.first { $0.id == product.category }?.name)
        detail["rating"] = ratings([product.id])[product.id] ?? .null
        return .object(detail)
    }

    public var categories: JSON { Self.categories(manifests) }

    public static func categories(_ manifests: StoreManifests) -> JSON {
        .array(manifests.catalog.categories.map { ["id": .string($0.id), "name": .string($0.name)] })
    }
}
