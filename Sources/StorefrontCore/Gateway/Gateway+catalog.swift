import Foundation
import HTTPServer
import JSON

extension Gateway {
    static let catalogParameters: Set<String> = ["q", "category", "min_price", "max_price", "in_stock", "limit", "cursor"]

    /// Reads `/catalog`'s query parameters; anything malformed is a 400 naming the parameter.
    func catalogQuery(from request: Request) throws -> CatalogQuery {
        var seen: Set<String> = []
        for item in request.queryItems {
            guard Self.catalogParameters.contains(item.name) else {
                throw APIError.invalidParameter(
                    item.name,
                    "Unknown parameter \(item.name). Use: \(Self.catalogParameters.sorted().joined(separator: ", ")).")
            }
            guard seen.insert(item.name).inserted else {
                throw APIError.invalidParameter(item.name, "\(item.name) was given more than once.")
            }
        }
        var query = CatalogQuery()
        if let q = request.query("q") {
            guard q.count <= 200 else { throw APIError.invalidParameter("q", "q is longer than 200 characters.") }
            query.text = q
        }
        if let category = request.query("category") {
            guard manifests.catalog.categories.contains(where: { $0.id == category }) else {
                throw APIError.invalidParameter(
                    "category",
                    "Unknown category \(category). Categories: \(manifests.catalog.categories.map(\.id).joined(separator: ", ")).")
            }
            query.category = category
        }
        query.minPrice = try nonNegativeInteger(request, "min_price")
        query.maxPrice = try nonNegativeInteger(request, "max_price")
        if let min = query.minPrice, let max = query.maxPrice, min > max {
            throw APIError.invalidParameter("min_price", "min_price (\(min)) is greater than max_price (\(max)).")
        }
        if let text = request.query("in_stock") {
            switch text.lowercased() {
            case "true", "1": query.inStock = true
            case "false", "0": query.inStock = false
            default: throw APIError.invalidParameter("in_stock", "in_stock must be true or false, not \"\(text)\".")
            }
        }
        if let text = request.query("limit") {
            guard let limit = Int(text), (1...CatalogQuery.maxLimit).contains(limit) else {
                throw APIError.invalidParameter(
                    "limit", "limit must be an integer from 1 to \(CatalogQuery.maxLimit), not \"\(text)\".")
            }
            query.limit = limit
        }
        if let cursor = request.query("cursor") {
            guard let offset = CatalogCursor.decode(cursor, fingerprint: query.fingerprint) else {
                throw APIError.invalidParameter(
                    "cursor", "cursor is not one this server issued for this query; start again without it.")
            }
            query.offset = offset
        }
        return query
    }

    private func nonNegativeInteger(_ request: Request, _ name: String) throws -> Int64? {
        guard let text = request.query(name) else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw APIError.invalidParameter(
                name, "\(name) must be a non-negative integer in minor units (e.g. 2500 for 25.00), not \"\(text)\".")
        }
        return value
    }

    func searchCatalog(_ request: Request) -> Response {
        do {
            let query = try catalogQuery(from: request)
            let page = try catalogIndex.search(query)
            let products = page.productIDs.compactMap { manifests.catalog.product($0) }.map(productSummary)
            let next = page.nextOffset.map { CatalogCursor.encode(offset: $0, fingerprint: query.fingerprint) }
            return jsonResponse(
                [
                    "products": .array(products),
                    "total": .int(Int64(page.total)),
                    "next_cursor": next.map(JSON.string) ?? .null,
                    "categories": .array(manifests.catalog.categories.map { ["id": .string($0.id), "name": .string($0.name)] }),
                ], cacheControl: "public, max-age=60")
        } catch let error as APIError {
            return error.response
        } catch {
            return APIError(
                status: 500, kind: .processing, code: "search_failed", message: "The catalog search failed; try again.",
                param: nil
            ).response
        }
    }

    func productSummary(_ product: Product) -> JSON {
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
            "url": .string(configuration.publicURL + "/products/" + product.id),
            "api_url": .string(configuration.publicURL + "/catalog/" + product.id),
        ]
    }

    func productDetail(_ product: Product) -> JSON {
        guard case .object(var detail) = product.source else { return product.source }
        detail["in_stock"] = .bool(product.inStock)
        detail["url"] = .string(configuration.publicURL + "/products/" + product.id)
        detail["api_url"] = .string(configuration.publicURL + "/catalog/" + product.id)
        detail["category_name"] = JSON(manifests.catalog.categories.first { $0.id == product.category }?.name)
        return .object(detail)
    }

    func catalogProduct(_ request: Request) -> Response {
        let id = request.pathParameters["id"] ?? ""
        guard let product = manifests.catalog.product(id) else {
            return APIError.notFound("No product \(id). Search with GET /catalog?q=...").response
        }
        return jsonResponse(productDetail(product), cacheControl: "public, max-age=60")
    }

    func productPage(_ request: Request) -> Response {
        let id = request.pathParameters["id"] ?? ""
        guard let product = manifests.catalog.product(id) else {
            return APIError.notFound("No product \(id). Search with GET /catalog?q=...").response
        }
        if !request.prefersHTML && request.headers["Accept"]?.contains("application/json") == true {
            return jsonResponse(productDetail(product), cacheControl: "public, max-age=60")
        }
        let html = ProductPage(product: product, manifests: manifests, baseURL: configuration.publicURL).html()
        var response = Response.text(html, contentType: "text/html; charset=utf-8")
        response.headers.add("Cache-Control", "public, max-age=60")
        response.headers.add("Vary", "Accept")
        return response
    }
}

/// An opaque page cursor: the offset and the query's fingerprint, base64url-encoded.
enum CatalogCursor {
    static func encode(offset: Int, fingerprint: String) -> String {
        Base64URL.encode(Data("v1:\(offset):\(fingerprint)".utf8))
    }

    static func decode(_ cursor: String, fingerprint: String) -> Int? {
        guard cursor.count <= 128, let data = Base64URL.decode(cursor) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 3, parts[0] == "v1", let offset = Int(parts[1]), offset >= 0, offset < 1_000_000,
            parts[2] == fingerprint
        else { return nil }
        return offset
    }
}
