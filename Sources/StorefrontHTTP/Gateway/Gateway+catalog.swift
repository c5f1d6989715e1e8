import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

extension Gateway {
    static let catalogParameters: Set<String> = ["q", "category", "min_price", "max_price", "in_stock", "limit", "cursor"]

    /// `GET /catalog` is `search_catalog` with its arguments in the query string; each
    /// parameter is typed here so a malformed one is a 400 naming it.
    func catalogArguments(from request: Request) throws -> JSON {
        var seen: Set<String> = []
        var arguments: [String: JSON] = [:]
        for item in request.queryItems where !item.name.isEmpty {
            guard Self.catalogParameters.contains(item.name) else {
                throw APIError.invalidParameter(
                    item.name,
                    "Unknown parameter \(item.name). Use: \(Self.catalogParameters.sorted().joined(separator: ", ")).")
            }
            guard seen.insert(item.name).inserted else {
                throw APIError.invalidParameter(item.name, "\(item.name) was given more than once.")
            }
            let value = item.value ?? ""
            switch item.name {
            case "q": arguments["query"] = .string(value)
            case "min_price", "max_price":
                guard let amount = Int64(value), amount >= 0 else {
                    throw APIError.invalidParameter(
                        item.name,
                        "\(item.name) must be a non-negative integer in minor units (e.g. 2500 for 25.00), not \"\(value)\".")
                }
                arguments[item.name] = .int(amount)
            case "in_stock":
                switch value.lowercased() {
                case "true", "1": arguments["in_stock"] = true
                case "false", "0": arguments["in_stock"] = false
                default: throw APIError.invalidParameter("in_stock", "in_stock must be true or false, not \"\(value)\".")
                }
            case "limit":
                guard let limit = Int64(value), (1...Int64(CatalogQuery.maxLimit)).contains(limit) else {
                    throw APIError.invalidParameter(
                        "limit", "limit must be an integer from 1 to \(CatalogQuery.maxLimit), not \"\(value)\".")
                }
                arguments["limit"] = .int(limit)
            default: arguments[item.name] = .string(value)
            }
        }
        return .object(arguments)
    }

    func searchCatalog(_ request: Request) -> Response {
        do {
            let arguments = try catalogArguments(from: request)
            var response = actionResponse("search_catalog", arguments: arguments, request: request, cacheControl: "public, max-age=60")
            // The action names JSON fields; the REST route names query parameters.
            if response.status == 400, var body = try? JSON.parse(bytes: response.bodyBytes),
                case .object(var error)? = body["error"], let param = error["param"]?.stringValue
            {
                let renamed = param == "/query" || param == "query" ? "q" : param.hasPrefix("/") ? String(param.dropFirst()) : param
                error["param"] = .string(renamed)
                body = ["error": .object(error)]
                response = jsonResponse(body, status: 400)
            }
            return response
        } catch let error as APIError {
            return error.response
        } catch {
            return APIError(status: 500, kind: .processing, code: "search_failed", message: "The catalog search failed; try again.", param: nil).response
        }
    }

    func catalogProduct(_ request: Request) -> Response {
        let id = request.pathParameters["id"] ?? ""
        guard let product = catalog.product(id) else {
            return APIError.notFound("No product \(id). Search with GET /catalog?q=...").response
        }
        return jsonResponse(views.detail(product), cacheControl: "public, max-age=60")
    }

    func productPage(_ request: Request) -> Response {
        let id = request.pathParameters["id"] ?? ""
        guard let product = catalog.product(id) else {
            return APIError.notFound("No product \(id). Search with GET /catalog?q=...").response
        }
        if !request.prefersHTML && request.headers["Accept"]?.contains("application/json") == true {
            return jsonResponse(views.detail(product), cacheControl: "public, max-age=60")
        }
        let html = ProductPage(
            product: views.live(product), manifests: manifests, baseURL: configuration.publicURL,
            rating: views.ratings([product.id])[product.id]
        ).html()
        var response = Response.text(html, contentType: "text/html; charset=utf-8")
        response.headers.add("Cache-Control", "public, max-age=60")
        response.headers.add("Vary", "Accept")
        return response
    }
}
