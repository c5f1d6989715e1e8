import Foundation
import JSON
import StorefrontDomain
import StorefrontStore

/// The read-only actions of the Finding and Evaluating stages.
package struct CatalogActions: Sendable {
    let manifests: StoreManifests
    let index: CatalogIndex
    let views: CatalogViews
    /// The pricing document as published now (it follows the catalog).
    let pricing: @Sendable () -> JSON
    let baseURL: String

    package init(manifests: StoreManifests, index: CatalogIndex, views: CatalogViews, pricing: @escaping @Sendable () -> JSON, baseURL: String) {
        self.manifests = manifests
        self.index = index
        self.views = views
        self.pricing = pricing
        self.baseURL = baseURL
    }

    var catalog: any CatalogReader { manifests.liveCatalog }

    /// Every one reads only the manifests, the catalog index and ratings: cacheable — but a
    /// quote, which says when it was made (`quoted_at`): a cached one would name another time.
    package var all: [Action] {
        actions.map { action in
            var action = action
            action.cacheable = action.name != "get_quote"
            return action
        }
    }

    private var actions: [Action] {
        [
            Action(
                name: "search_catalog", title: "Search the catalog",
                description: "Find products by words (names, descriptions, tags, brands, attributes), category, price range in minor units and stock. Returns summaries and a next_cursor for the next page.",
                stage: .evaluating, encoded: search),
            Action(
                name: "lookup_catalog", title: "Look up products by id",
                description: "Fetch up to 50 products at once by product or variant id, with variants, inventory and attributes; ids that match nothing are listed in not_found.",
                stage: .evaluating, handler: lookup),
            Action(
                name: "get_product", title: "Get one product",
                description: "One product with its variants, inventory, images and attributes. A variant id returns its product and names the variant.",
                stage: .evaluating, handler: product),
            Action(
                name: "get_pricing", title: "Get prices and plans",
                description: "Every price: one-time product prices, subscription plans with intervals and trials, usage prices with tiers, volume discounts. Optionally only what applies to one product. Integer minor units.",
                stage: .evaluating, handler: pricingAction),
            Action(
                name: "get_policies", title: "Get store policies",
                description: "Returns, refunds (with the window in days), shipping options and prices, privacy, terms, SLA and support channels, as data. Optionally one topic.",
                stage: .trustChecking, handler: policies),
            Action(
                name: "compare_products", title: "Compare products",
                description: "Side by side for 2 to 10 products: prices, stock, and every attribute with each product's value, the attributes that differ, and the cheapest.",
                stage: .evaluating, handler: compare),
            Action(
                name: "get_quote", title: "Price a prospective order",
                description: "Line items and totals for products (variants, quantities, volume discounts), subscription plans (trial, first charge, recurring) and expected usage (graduated tiers), without buying anything.",
                stage: .evaluating, handler: quote),
        ]
    }

    /// The answer is written from each product's summary serialized once (the hottest action).
    func search(_ arguments: JSON, _ context: ActionContext) throws -> EncodedJSON {
        let (page, next) = try searchPage(arguments)
        let products = catalog.products(page.productIDs)
        return views.searchTemplate.encoded(
            adding: [
                "total": .int(Int64(page.total)), "total_is_estimate": .bool(page.totalIsEstimate),
                "facets": ["category": .array(page.categoryCounts.map { ["id": .string($0.id), "count": .int(Int64($0.count))] })],
                "next_cursor": next.map(JSON.string) ?? .null,
            ],
            encoded: ["products": .array(views.encodedSummaries(products))])
    }

    func searchPage(_ arguments: JSON) throws -> (CatalogPage, next: String?) {
        var query = CatalogQuery()
        query.text = arguments["query"]?.stringValue
        if let category = arguments["category"]?.stringValue {
            guard catalog.categories.contains(where: { $0.id == category }) else {
                throw ActionError.invalid(
                    "unknown_category",
                    "Unknown category \(category). Categories: \(catalog.categories.map(\.id).joined(separator: ", ")).",
                    param: "/category")
            }
            query.category = category
        }
        query.minPrice = arguments["min_price"]?.intValue
        query.maxPrice = arguments["max_price"]?.intValue
        if let min = query.minPrice, let max = query.maxPrice, min > max {
            throw ActionError.invalid("invalid_price_range", "min_price (\(min)) is greater than max_price (\(max)).", param: "/min_price")
        }
        query.inStock = arguments["in_stock"]?.boolValue
        query.limit = Int(arguments["limit"]?.intValue ?? 20)
        if let cursor = arguments["cursor"]?.stringValue {
            guard let after = CatalogCursor.decode(cursor, fingerprint: query.fingerprint) else {
                throw ActionError.invalid(
                    "invalid_cursor", "cursor is not one this store issued for this search; start again without it.",
                    param: "/cursor")
            }
            query.after = after
        }
        let page = try index.search(query)
        return (page, page.next.map { CatalogCursor.encode($0, fingerprint: query.fingerprint) })
    }

    /// A product by its id or by one of its variants' ids.
    func find(_ id: String) -> (Product, variant: String?)? { catalog.find(id) }

    func lookup(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        var products: [JSON] = [], seen: Set<String> = [], missing: [JSON] = []
        for id in arguments["ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            guard let (product, _) = find(id) else {
                missing.append(.string(id))
                continue
            }
            if seen.insert(product.id).inserted { products.append(views.detail(product)) }
        }
        return ["products": .array(products), "not_found": .array(missing)]
    }

    func product(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        // `product_id`, as checkout and quotes name it; `id` is its former name, still accepted.
        guard let id = (arguments["product_id"] ?? arguments["id"])?.stringValue else {
            throw ActionError.invalid("missing_argument", "product_id is required: the product (or variant) id.", param: "/product_id")
        }
        let param = arguments["product_id"] != nil ? "/product_id" : "/id"
        guard let (product, variant) = find(id) else {
            throw ActionError.notFound("No product or variant \(id). Find ids with search_catalog.", param: param)
        }
        var result: [String: JSON] = ["product": views.detail(product)]
        if let variant { result["variant_id"] = .string(variant) }
        return .object(result)
    }

    func pricingAction(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let pricing = self.pricing()
        guard let productID = arguments["product_id"]?.stringValue else { return pricing }
        guard let product = catalog.product(productID) else {
            throw ActionError.notFound("No product \(productID).", param: "/product_id")
        }
        guard case .object(var filtered) = pricing else { return pricing }
        let forProduct = { (entry: JSON) in entry["product_id"]?.stringValue == productID }
        // The product's price as the catalog has it now (the published document lists only the
        // first products of a large catalog).
        filtered["one_time"] = .array([PricingEntries.oneTime(views.live(product))])
        filtered.removeValue(forKey: "one_time_complete")
        filtered["plans"] = .array((pricing["plans"]?.arrayValue ?? []).filter(forProduct))
        filtered["usage"] = .array((pricing["usage"]?.arrayValue ?? []).filter(forProduct))
        filtered["volume_discounts"] = .array(
            (pricing["volume_discounts"]?.arrayValue ?? []).filter { VolumeDiscount(json: $0).applies(to: product) })
        return .object(filtered)
    }

    func policies(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let all = manifests.policies.objectValue ?? [:]
        let topics = ["returns", "refunds", "shipping", "privacy", "terms", "sla", "support"]
        var chosen: [String: JSON] = [:]
        if let topic = arguments["topic"]?.stringValue {
            chosen[topic] = all[topic] ?? [:]
        } else {
            for topic in topics { if let value = all[topic] { chosen[topic] = value } }
        }
        return ["policies": .object(chosen), "url": .string(baseURL + "/policies")]
    }

    func compare(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        let ids = arguments["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var products: [Product] = []
        for (i, id) in ids.enumerated() {
            guard let (product, _) = find(id) else {
                throw ActionError.notFound("No product \(id). Find ids with search_catalog.", param: "/ids/\(i)")
            }
            if !products.contains(where: { $0.id == product.id }) { products.append(product) }
        }
        guard products.count >= 2 else {
            throw ActionError.invalid("too_few_products", "Give at least two different products to compare.", param: "/ids")
        }
        var attributes: [String: JSON] = [:], differences: [JSON] = []
        let names = Set(products.flatMap { ($0.source["attributes"]?.objectValue ?? [:]).keys }).sorted()
        for name in names {
            var values: [String: JSON] = [:]
            for product in products { values[product.id] = product.source["attributes"]?[name] ?? .null }
            attributes[name] = .object(values)
            let distinct = Set(values.values.map { String(decoding: $0.canonicalized(), as: UTF8.self) })
            if distinct.count > 1 { differences.append(.string(name)) }
        }
        let cheapest = products.min { $0.price.amount < $1.price.amount }!
        return [
            "products": .array(views.summaries(products)),
            "attributes": .object(attributes),
            "differences": .array(differences),
            "cheapest": .string(cheapest.id),
        ]
    }

    func quote(_ arguments: JSON, _ context: ActionContext) throws -> JSON {
        try Quote(manifests: manifests, catalog: catalog, stock: views.stock).price(arguments).json
    }
}
