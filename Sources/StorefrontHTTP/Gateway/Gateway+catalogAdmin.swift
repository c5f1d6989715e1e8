import CatalogFeeds
import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontApp
import StorefrontDomain

/// The merchant's catalog API: products, prices and stock changed while the gateway serves.
/// Each change is one transaction; search, product pages, documents and the signed manifest
/// follow within a second on every node, and agents watching a product hear of it.
extension Gateway {
    func addCatalogAdminRoutes(to router: inout Router) {
        let prefix = "/admin/api/catalog"
        router.get(prefix, adminOnly { [unowned self] _ in
            adminResult {
                [
                    "version": .int(Int64(catalog.version)), "products": .int(Int64(catalog.productCount)),
                    "categories": views.categories,
                ]
            }
        })
        // Many products at once: {"products": [...], "categories": [...]}.
        router.post(prefix + "/products", adminOnly { [unowned self] request in
            let body = Self.body(request)
            guard let products = body["products"]?.arrayValue, !products.isEmpty else {
                return Response.error(status: 400, type: "invalid_request", code: "missing_products", message: "Send {\"products\": [product, ...]} in catalog.json's shape.")
            }
            return catalogChange { try catalogChanges.upsert(products, categories: body["categories"]?.arrayValue ?? []) }
        })
        router.add("PUT", prefix + "/products/{id}", adminOnly { [unowned self] request in
            let id = request.pathParameters["id"] ?? ""
            let body = Self.body(request)
            guard body["id"]?.stringValue == id else {
                return Response.error(status: 400, type: "invalid_request", code: "id_mismatch", message: "The body's id must be \(id), the product in the path.")
            }
            return catalogChange { try catalogChanges.upsert([body]) }
        })
        router.add("PATCH", prefix + "/products/{id}", adminOnly { [unowned self] request in
            let id = request.pathParameters["id"] ?? ""
            return catalogChange {
                guard let result = try catalogChanges.patch(id, Self.body(request)) else {
                    throw ActionError.notFound("No product \(id).", param: "id")
                }
                return result
            }
        })
        router.delete(prefix + "/products/{id}", adminOnly { [unowned self] request in
            let id = request.pathParameters["id"] ?? ""
            return adminResult {
                let (report, missing) = try catalogChanges.delete([id])
                guard missing.isEmpty else { throw ActionError.notFound("No product \(id).", param: "id") }
                return report
            }
        })
        // A feed in the body (up to the body limit; larger feeds: `storefront catalog import`):
        // ?format=gmc-tsv|gmc-xml|shopify|acp|storefront|storefront-jsonl&replace=true&strict=true&dry_run=true
        router.post(prefix + "/import", adminOnly(anyBody: true) { [unowned self] request in
            guard let name = request.query("format"), let format = CatalogFeedFormat(rawValue: name) else {
                return Response.error(
                    status: 400, type: "invalid_request", code: "invalid_format",
                    message: "format must be one of \(CatalogFeedFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            var job = CatalogImport(format: format, origin: request.query("origin") ?? format.rawValue)
            job.replace = request.query("replace") == "true"
            job.strict = request.query("strict") == "true"
            job.dryRun = request.query("dry_run") == "true"
            job.currency = request.query("currency") ?? manifests.currency
            job.defaultWeightGrams = request.query("default_weight_grams").flatMap { Int64($0) }
            let body = request.body
            return adminResult {
                let outcome = try job.run({ ByteSource(bytes: body) }, services: services, schemas: schemas)
                return outcome.json
            }
        })
        // {"levels": [{"sku": "...", "available": n}, ...]}
        router.add("PUT", prefix + "/stock", adminOnly { [unowned self] request in
            let body = Self.body(request)
            var levels: [(sku: String, available: Int64)] = []
            for (i, entry) in (body["levels"]?.arrayValue ?? []).enumerated() {
                guard let sku = entry["sku"]?.stringValue, let available = entry["available"]?.intValue, available >= 0 else {
                    return Response.error(
                        status: 400, type: "invalid_request", code: "invalid_level",
                        message: "levels[\(i)] must be {\"sku\": product or variant id, \"available\": integer ≥ 0}.")
                }
                levels.append((sku, available))
            }
            guard !levels.isEmpty, levels.count <= 10_000 else {
                return Response.error(status: 400, type: "invalid_request", code: "invalid_levels", message: "Send 1 to 10,000 levels.")
            }
            return adminResult {
                let (report, unknown) = try catalogChanges.setStock(levels)
                guard case .object(var out) = report else { return report }
                out["unknown_skus"] = .array(unknown.map(JSON.string))
                return .object(out)
            }
        })
    }

    /// A change's answer: its report, or 422 with every rejected product and field.
    private func catalogChange(_ work: () throws -> Result<JSON, CatalogRejections>) -> Response {
        do {
            switch try work() {
            case .success(let report): return jsonResponse(report)
            case .failure(let rejections): return jsonResponse(rejections.json, status: 422)
            }
        } catch let error as ActionError {
            return error.restResponse
        } catch {
            return Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "\(error)")
        }
    }
}
