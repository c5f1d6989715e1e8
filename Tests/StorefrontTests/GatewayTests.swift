import Foundation
import HTTPServer
import JSON
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

@Suite("The gateway's routes", .serialized)
struct GatewayTests {
    let gateway: Gateway
    let router: Router

    init() throws {
        gateway = try Fixtures.gateway()
        router = gateway.router()
    }

    func get(_ path: String, query: [(String, String?)] = [], headers: [(String, String)] = []) -> Response {
        router.route(
            Request(method: "GET", path: path, queryItems: query.map { (name: $0.0, value: $0.1) }, headers: HTTPHeaders(headers)))
    }

    func json(_ response: Response) throws -> JSON { try JSON.parse(bytes: response.bodyBytes) }

    @Test("the capability manifest conforms to its schema and its signature verifies with the JWKS")
    func capabilities() throws {
        let response = get("/.well-known/capabilities.json")
        let manifest = try json(response)
        let violations = try Fixtures.schemas.schema("capabilities.schema.json").validate(manifest)
        #expect(violations.isEmpty, "\(violations)")
        let jws = try #require(response.headers["X-Capabilities-Signature"])
        let jwk = try #require(try json(get("/.well-known/jwks.json"))["keys"]?[0])
        #expect(StoreSigningKey.verifyDetachedJWS(jws, payload: response.bodyBytes, publicJWK: jwk))
    }

    @Test("every declared endpoint is routed")
    func declaredEndpointsAnswer() throws {
        let id = gateway.manifests.catalog.products[0].id
        // A trail entry, so that the proofs have something to prove.
        _ = try gateway.services.registerAgent(["principal": "routes@example.com", "display_name": "Route checker"])
        for endpoint in Endpoints.all {
            let query = endpoint.parameters.compactMap { p in p.example.map { (p.name, Optional($0.stringValue ?? $0.compactString)) } }
            let response = get(endpoint.path.replacingOccurrences(of: "{id}", with: id), query: query)
            #expect(response.status == (endpoint.requiresIdentity ? 401 : 200), "\(endpoint.path)")
        }
    }

    @Test("every route an agent can call is in openapi.json, and every declared endpoint is routed")
    func routesAndDocumentAgree() throws {
        let document = try JSON.parse(bytes: get("/openapi.json").bodyBytes)
        var documented = Set<String>()
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        // The merchant's side (its token or session) and the dashboard's files are not the agents'
        // API; MCP's transport is JSON-RPC (its server card describes it); an alias answers as
        // the document it names.
        // OAuth's endpoints are described by the authorization server's metadata (RFC 8414, named
        // by the OpenAPI document's oauth2 security scheme), the principal's page is for people.
        let merchantPrefixes = ["/admin", "/dashboard", "/analytics", "/metrics", "/vendor", "/oauth/", "/.well-known/oauth-", "/principal"]
        let aliases = Dictionary(uniqueKeysWithValues: Endpoints.aliases.map { ($0.path, $0.of) })
        var undocumented: [String] = []
        for route in router.methodsAndPatterns.sorted() {
            let parts = route.split(separator: " ").map(String.init)
            let (method, path) = (parts[0], parts[1])
            // A2A's transports are described by the agent card, as MCP's by its server card.
            if merchantPrefixes.contains(where: { path.hasPrefix($0) }) || path == Endpoints.mcpPath || path == Endpoints.ucpMCPPath || path == Endpoints.acpMCPPath || path.hasPrefix("/a2a")
                || path.hasPrefix(Endpoints.ucpCheckoutPath) || path.hasPrefix(Endpoints.ucpOrderPath + "/")
                || Endpoints.acpPaths.contains(where: { path.hasPrefix($0) })
                || Endpoints.ucpShoppingPaths.contains(where: { path.hasPrefix($0) })
            {
                continue
            }
            if let target = aliases[path] {
                if !documented.contains("\(method) \(target)") { undocumented.append("\(route) (alias of \(target))") }
            } else if route == "POST /tools/{name}" {
                undocumented += gateway.actions.names.filter { !documented.contains("POST /tools/\($0)") }.map { "POST /tools/\($0)" }
            } else if !documented.contains(route) {
                undocumented.append(route)
            }
        }
        #expect(undocumented.isEmpty, "routed but not in openapi.json: \(undocumented)")
        // The other way: each documented operation is routed (not a 404 from the router).
        for operation in documented.sorted() {
            let parts = operation.split(separator: " ").map(String.init)
            let path = parts[1].replacingOccurrences(of: "{id}", with: "x")
            #expect(router.methodsAndPatterns.contains(operation) || path.hasPrefix("/tools/"), "documented but not routed: \(operation)")
        }
    }

    @Test("public documents answer If-None-Match with 304 and allow any origin")
    func conditional() throws {
        let first = get("/pricing")
        let etag = try #require(first.headers["ETag"])
        #expect(first.headers["Access-Control-Allow-Origin"] == "*")
        #expect(get("/pricing", headers: [("If-None-Match", etag)]).status == 304)
    }

    @Test("/agents answers HTML to a browser and JSON to an agent")
    func negotiation() throws {
        #expect(get("/agents", headers: [("Accept", "text/html")]).headers["Content-Type"]?.hasPrefix("text/html") == true)
        #expect(try json(get("/agents"))["store"]?["name"]?.stringValue == gateway.manifests.storeName)
    }

    @Test("malformed catalog parameters are a 400 naming the parameter", arguments: [
        ("limit", "0"), ("limit", "abc"), ("min_price", "-1"), ("max_price", "1.5"), ("in_stock", "maybe"),
        ("category", "kayaks"), ("cursor", "garbage"), ("colour", "red"),
    ])
    func badParameters(name: String, value: String) throws {
        let response = get("/catalog", query: [(name, value)])
        #expect(response.status == 400)
        #expect(try json(response)["error"]?["param"]?.stringValue == name)
    }

    @Test("a cursor from one search walks the rest of that search")
    func cursorWalk() throws {
        var ids: [String] = []
        var cursor: String?
        repeat {
            var query: [(String, String?)] = [("limit", "10")]
            if let cursor { query.append(("cursor", cursor)) }
            let page = try json(get("/catalog", query: query))
            ids += page["products"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = page["next_cursor"]?.stringValue
        } while cursor != nil
        #expect(ids.count == gateway.manifests.catalog.products.count)
        #expect(Set(ids).count == ids.count)
    }

    @Test("a product page carries schema.org Product JSON-LD with offers")
    func productPage() throws {
        let product = gateway.manifests.catalog.products[0]
        let html = String(decoding: get("/products/\(product.id)", headers: [("Accept", "text/html")]).bodyBytes, as: UTF8.self)
        let start = try #require(html.range(of: "<script type=\"application/ld+json\">"))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let ld = try JSON.parse(String(html[start.upperBound..<end.lowerBound]))
        #expect(ld["@type"] == "Product")
        #expect(ld["name"]?.stringValue == product.name)
        let offers = ld["offers"]?.arrayValue ?? [ld["offers"]!]
        #expect(offers.allSatisfy { $0["priceCurrency"] == "USD" && $0["price"]?.stringValue != nil })
    }

    @Test("an unknown product is a JSON 404")
    func unknownProduct() throws {
        let response = get("/catalog/no-such-thing")
        #expect(response.status == 404)
        #expect(try json(response)["error"]?["code"] == "not_found")
    }
}
