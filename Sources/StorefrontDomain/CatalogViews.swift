import JSON

/// How products look on the wire: a summary for lists, the full product for lookups.
public struct CatalogViews: Sendable {
    public let manifests: StoreManifests
    /// The catalog being served (the store's, followed live).
    public let catalog: any CatalogReader
    public let baseURL: String
    /// Aggregate ratings by product id, for the products asked about (one read for a page).
    public var ratings: @Sendable ([String]) -> [String: JSON] = { _ in [:] }
    /// What is left of the products asked about (the catalog's numbers until the store says otherwise).
    public var stock: @Sendable ([String]) -> StockLevels = { _ in StockLevels() }
    /// Hot products' summaries but their rating and stock, serialized once per catalog version.
    private let summaryTemplates = BoundedMemo<String, (version: Int, template: EncodedObjectTemplate)>(capacity: 50_000)
    private let searchTemplates = BoundedMemo<Int, EncodedObjectTemplate>(capacity: 4)

    public init(manifests: StoreManifests, catalog: any CatalogReader, baseURL: String) {
        self.manifests = manifests
        self.catalog = catalog
        self.baseURL = baseURL
    }

    /// A search_catalog result but its page: the categories.
    public var searchTemplate: EncodedObjectTemplate {
        let version = catalog.version
        if let template = searchTemplates[version] { return template }
        let template = EncodedObjectTemplate(["categories": categories])
        searchTemplates.insert(version, template)
        return template
    }

    /// The same summaries as ``summaries(_:)``, serialized.
    public func encodedSummaries(_ products: [Product]) -> [EncodedJSON] {
        let ids = products.map(\.id)
        let found = ratings(ids)
        let levels = stock(ids)
        let version = catalog.version
        return products.map { product in
            let rating = found[product.id] ?? .null
            let template: EncodedObjectTemplate
            if let kept = summaryTemplates[product.id], kept.version == version {
                template = kept.template
            } else {
                template = EncodedObjectTemplate(Self.summaryMembers(product, baseURL: baseURL))
                summaryTemplates.insert(product.id, (version, template))
            }
            let inventory = levels.byProduct[product.id] ?? product.inventory
            return template.encoded(adding: ["rating": rating, "inventory": .int(inventory), "in_stock": .bool(inventory > 0)])
        }
    }

    public func summaries(_ products: [Product]) -> [JSON] {
        let ids = products.map(\.id)
        let found = ratings(ids)
        let levels = stock(ids)
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
    public func live(_ product: Product) -> Product { stock([product.id]).applied(to: product) }

    /// The products with what is left of each now.
    public func live(_ products: [Product]) -> [Product] {
        let levels = stock(products.map(\.id))
        return products.map(levels.applied(to:))
    }

    public func detail(_ product: Product) -> JSON {
        let product = live(product)
        guard case .object(var detail) = product.source else { return product.source }
        detail["in_stock"] = .bool(product.inStock)
        detail["url"] = .string(baseURL + "/products/" + product.id)
        detail["api_url"] = .string(baseURL + "/catalog/" + product.id)
        detail["category_name"] = JSON(catalog.category(product.category)?.name)
        detail["rating"] = ratings([product.id])[product.id] ?? .null
        return .object(detail)
    }

    public var categories: JSON {
        .array(catalog.categories.map { ["id": .string($0.id), "name": .string($0.name)] })
    }
}
