import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain

/// UCP's catalog and cart capabilities over REST, in UCP's shapes, run by the same actions as
/// `search_catalog`, `lookup_catalog` and the cart actions:
///
/// - `POST /catalog/search` (`dev.ucp.shopping.catalog.search`): query, `filters.categories`,
///   `filters.price.{min,max}`, `pagination.{cursor,limit}` → products with their variants, price
///   range, live availability and rating; `pagination.{has_next_page, cursor, total_count}`.
/// - `POST /catalog/lookup` (`…catalog.lookup`): product or variant ids → the products, each
///   variant naming the ids that found it (`inputs`); ids nobody sells are `not_found` messages.
/// - `POST /carts` (201), `GET|PUT /carts/{id}`, `POST /carts/{id}/cancel` (`dev.ucp.shopping.cart`);
///   a checkout is made from a cart with `cart_id`.
extension Gateway {
    static let ucpSearchCapability = "dev.ucp.shopping.catalog.search"
    static let ucpLookupCapability = "dev.ucp.shopping.catalog.lookup"
    static let ucpCartCapability = "dev.ucp.shopping.cart"

    func addUCPShoppingRoutes(to router: inout Router) {
        router.post("/catalog/search") { [unowned self] request in self.ucpSearch(request) }
        router.post("/catalog/lookup") { [unowned self] request in self.ucpLookup(request) }
        router.post("/carts") { [unowned self] request in
            self.ucpCartCall(request, action: "create_cart", successStatus: 201) { ucp, body in
                ucp.items(body["line_items"]).map { ["items": $0] }
            }
        }
        router.get("/carts/{id}") { [unowned self] request in self.ucpCartCall(request, action: "get_cart") { _, _ in .success([:]) } }
        router.add("PUT", "/carts/{id}") { [unowned self] request in
            self.ucpCartCall(request, action: "update_cart") { ucp, body in ucp.items(body["line_items"]).map { ["items": $0] } }
        }
        router.post("/carts/{id}/cancel") { [unowned self] request in
            self.ucpCartCall(request, action: "cancel_cart") { _, _ in .success([:]) }
        }
    }

    func ucpEnvelope(_ capability: String) -> JSON {
        ["version": .string(UCP.version), "status": "success", "capabilities": .object([capability: [["version": .string(UCP.version)]]])]
    }

    /// The body of a UCP request (`{}` when empty), or the 400 that says it is not JSON.
    func ucpBody(_ request: Request) -> Result<JSON, UCPProblem> {
        if request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .success([:]) }
        guard let body = try? JSON.parse(bytes: request.body), case .object = body else { return .failure(UCPProblem("Send a JSON object.")) }
        return .success(body)
    }

    // MARK: Catalog

    func ucpSearch(_ request: Request) -> Response {
        let arguments: JSON
        switch ucpBody(request).flatMap(Self.ucpSearchArguments) {
        case .failure(let problem):
            chargeReads(request)
            return Self.ucpTransportError(status: 400, code: "invalid_request", content: problem.message)
        case .success(let found): arguments = found
        }
        return runAction("search_catalog", arguments: arguments, request: request) { [unowned self] outcome in
            ucpSearchAnswer(outcome).response()
        }.reshapedError(Self.ucpErrorShape)
    }

    /// `search_catalog`'s arguments from UCP's search request.
    static func ucpSearchArguments(_ body: JSON) -> Result<JSON, UCPProblem> {
        var arguments: [String: JSON] = [:]
        if let query = body["query"] { arguments["query"] = query }
        if let categories = body["filters"]?["categories"]?.arrayValue, let first = categories.first {
            guard categories.count == 1 else { return .failure(UCPProblem("filters.categories takes one category here.")) }
            arguments["category"] = first
        }
        if let min = body["filters"]?["price"]?["min"] { arguments["min_price"] = min }
        if let max = body["filters"]?["price"]?["max"] { arguments["max_price"] = max }
        if let cursor = body["pagination"]?["cursor"] { arguments["cursor"] = cursor }
        arguments["limit"] = body["pagination"]?["limit"] ?? 10
        return .success(.object(arguments))
    }

    /// `search_catalog`'s outcome as UCP's search response.
    func ucpSearchAnswer(_ outcome: ActionOutcome) -> UCPAnswer {
        switch outcome.result {
        case .failure(let error):
            return .transport(status: error.status, code: error.code, content: error.message, retryAfter: outcome.retryAfter)
        case .success(let result):
            let summaries = result["products"]?.arrayValue ?? []
            let stock = views.stock(summaries.compactMap { $0["id"]?.stringValue })
            let products: [JSON] = summaries.compactMap { summary in
                guard let id = summary["id"]?.stringValue, let product = catalog.product(id) else { return nil }
                return ucpProduct(stock.applied(to: product), rating: summary["rating"], matching: nil)
            }
            var pagination: [String: JSON] = ["has_next_page": .bool(result["next_cursor"]?.stringValue != nil)]
            if let next = result["next_cursor"]?.stringValue { pagination["cursor"] = .string(next) }
            if let total = result["total"]?.intValue { pagination["total_count"] = .int(total) }
            return .body(["ucp": ucpEnvelope(Self.ucpSearchCapability), "products": .array(products), "pagination": .object(pagination)])
        }
    }

    func ucpLookup(_ request: Request) -> Response {
        if let refused = chargedPage(request) { return refused.reshapedError(Self.ucpErrorShape) }
        var response: Response
        switch ucpBody(request) {
        case .failure(let problem): return Self.ucpTransportError(status: 400, code: "invalid_request", content: problem.message)
        case .success(let body): response = ucpLookupAnswer(body).response()
        }
        response.noteCaller(nil, action: "lookup_catalog")
        return response
    }

    /// UCP's lookup: product or variant ids → the products, each variant naming the ids that found it.
    func ucpLookupAnswer(_ body: JSON) -> UCPAnswer {
        guard let ids = body["ids"]?.arrayValue?.compactMap(\.stringValue), !ids.isEmpty, ids.count == body["ids"]?.arrayValue?.count else {
            return .transport(status: 400, code: "invalid_request", content: "ids must be a non-empty array of product or variant ids.", retryAfter: nil)
        }
        guard ids.count <= 100 else {
            return .transport(status: 400, code: "request_too_large", content: "At most 100 ids at once.", retryAfter: nil)
        }
        // product id → (variant id → the request ids that found it, and how)
        var found: [String: [String: [JSON]]] = [:]
        var order: [String] = []
        var messages: [JSON] = []
        for id in ids {
            let productID = productOfVariant(id) ?? id
            guard let product = catalog.product(productID) else {
                messages.append(["type": "info", "code": "not_found", "content": .string(id)])
                continue
            }
            if found[productID] == nil { order.append(productID) }
            let variantIDs = product.variants.isEmpty ? [product.id] : product.variants.map(\.id)
            for variant in variantIDs where productOfVariant(id) == nil || variant == id {
                found[productID, default: [:]][variant, default: []].append(
                    ["id": .string(id), "match": .string(productOfVariant(id) == nil && !product.variants.isEmpty ? "featured" : "exact")])
            }
        }
        let stock = views.stock(order)
        let products: [JSON] = order.compactMap { productID in
            guard let product = catalog.product(productID) else { return nil }
            return ucpProduct(stock.applied(to: product), rating: nil, matching: found[productID])
        }
        var out: [String: JSON] = ["ucp": ucpEnvelope(Self.ucpLookupCapability), "products": .array(products)]
        if !messages.isEmpty { out["messages"] = .array(messages) }
        return .body(.object(out))
    }

    /// A product in UCP's shape; with `matching`, only those variants, each with its `inputs`.
    func ucpProduct(_ product: Product, rating: JSON?, matching: [String: [JSON]]?) -> JSON {
        let page = configuration.publicURL + "/products/\(product.id)"
        func price(_ money: Money) -> JSON { ["amount": .int(money.amount), "currency": .string(money.currency.uppercased())] }
        func availability(_ inventory: Int64) -> JSON {
            ["available": .bool(inventory > 0), "status": .string(inventory > 0 ? "in_stock" : "out_of_stock")]
        }
        var variants: [JSON]
        if product.variants.isEmpty {
            variants = [[
                "id": .string(product.id), "title": .string(product.name), "description": ["plain": .string(product.description)],
                "price": price(product.price), "availability": availability(product.inventory), "url": .string(page),
            ]]
        } else {
            variants = product.variants.map { v in
                var options: [JSON] = []
                for (name, value) in (v.source["attributes"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    if let label = value.stringValue ?? value.intValue.map(String.init) { options.append(["name": .string(name), "label": .string(label)]) }
                }
                var variant: [String: JSON] = [
                    "id": .string(v.id), "title": .string("\(product.name) — \(v.name)"),
                    "description": ["plain": .string(product.description)], "price": price(v.price ?? product.price),
                    "availability": availability(v.inventory), "url": .string(page),
                ]
                if !options.isEmpty { variant["options"] = .array(options) }
                return .object(variant)
            }
        }
        if let matching {
            variants = variants.compactMap { variant in
                guard let id = variant["id"]?.stringValue, let inputs = matching[id], case .object(var fields) = variant else { return nil }
                fields["inputs"] = .array(inputs)
                return .object(fields)
            }
        }
        let prices = (product.variants.isEmpty ? [product.price] : product.variants.map { $0.price ?? product.price }).map(\.amount)
        let currency = product.price.currency
        var out: [String: JSON] = [
            "id": .string(product.id), "title": .string(product.name), "description": ["plain": .string(product.description)],
            "url": .string(page), "handle": .string(product.id),
            "price_range": [
                "min": price(Money(amount: prices.min() ?? 0, currency: currency)),
                "max": price(Money(amount: prices.max() ?? 0, currency: currency)),
            ],
            "categories": [["value": .string(product.category), "taxonomy": "merchant"]],
            "tags": .array(product.tags.map(JSON.string)), "variants": .array(variants),
        ]
        let media: [JSON] = product.images.map { ["type": "image", "url": .string($0)] }
        if !media.isEmpty { out["media"] = .array(media) }
        if let rating, let average = rating["average"]?.doubleValue, let count = rating["count"]?.intValue, count > 0 {
            out["rating"] = ["value": .double(average), "scale_max": 5, "count": .int(count)]
        }
        return .object(out)
    }

    // MARK: Carts

    func ucpCartCall(
        _ request: Request, action: String, successStatus: Int = 200, arguments: (UCP, JSON) -> Result<JSON, UCPProblem>
    ) -> Response {
        let ucp = self.ucp
        if case .refused(let status, let code, let content) = ucp.negotiate(request.headers["UCP-Agent"]) {
            chargeReads(request)
            return Self.ucpTransportError(status: status, code: code, content: content)
        }
        let mapped: JSON
        switch ucpArguments(request, ucp, idArgument: "cart_id", arguments) {
        case .refused(let refusal): return refusal
        case .ready(let found): mapped = found
        }
        return runAction(action, arguments: mapped, request: request) { [unowned self] outcome in
            var response = ucp.answer(outcome, render: { ucpCart($0["cart"] ?? [:]) }).response(successStatus: successStatus)
            if outcome.replayed { response.headers.add("Idempotent-Replayed", "true") }
            return response
        }.reshapedError(Self.ucpErrorShape)
    }

    /// A Storefront cart in UCP's shape.
    func ucpCart(_ cart: JSON) -> JSON {
        let shaped = ucp.checkout(["id": cart["id"] ?? "", "status": "incomplete", "line_items": cart["items"] ?? [], "totals": cart["totals"] ?? [:],
                                   "currency": cart["currency"] ?? "USD"])
        var out: [String: JSON] = [
            "ucp": ucpEnvelope(Self.ucpCartCapability), "id": cart["id"] ?? "", "currency": cart["currency"] ?? "USD",
            "line_items": shaped["line_items"] ?? [], "totals": shaped["totals"] ?? [], "links": ucp.links,
        ]
        if cart["status"]?.stringValue != "active" {
            out["messages"] = [[
                "type": "info", "code": .string(cart["status"]?.stringValue ?? "inactive"),
                "content": .string("This cart is \(cart["status"]?.stringValue ?? "inactive"); it no longer changes."),
            ]]
        }
        return .object(out)
    }
}
