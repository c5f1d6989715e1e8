import Testing

@testable import HTTPServer

@Suite("Routing")
struct RouterTests {
    func router() -> Router {
        var r = Router()
        r.get("/agents") { _ in .text("agents") }
        r.get("/catalog/{id}") { .text("product " + ($0.pathParameters["id"] ?? "?")) }
        r.post("/tools/{name}") { .text("tool " + ($0.pathParameters["name"] ?? "?")) }
        r.get("/files/{path...}") { .text("file " + ($0.pathParameters["path"] ?? "?")) }
        return r
    }

    func body(_ response: Response) -> String { String(decoding: response.bodyBytes, as: UTF8.self) }

    @Test("path parameters are filled in")
    func parameters() {
        let response = router().route(Request(method: "GET", path: "/catalog/tent-1"))
        #expect(response.status == 200)
        #expect(body(response) == "product tent-1")
    }

    @Test("a rest parameter takes the remaining segments")
    func rest() {
        #expect(body(router().route(Request(method: "GET", path: "/files/a/b.css"))) == "file a/b.css")
        #expect(body(router().route(Request(method: "GET", path: "/files"))) == "file ")
    }

    @Test("HEAD is served by the GET handler")
    func head() {
        #expect(router().route(Request(method: "HEAD", path: "/agents")).status == 200)
        #expect(router().route(Request(method: "HEAD", path: "/catalog/x1")).status == 200)
    }

    @Test("a known path with another method is 405 with Allow")
    func methodNotAllowed() {
        let response = router().route(Request(method: "DELETE", path: "/catalog/x1"))
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == "GET, HEAD")
        #expect(body(response).contains("\"method_not_allowed\""))
    }

    @Test("an unknown path is a JSON 404")
    func notFound() {
        let response = router().route(Request(method: "GET", path: "/catalog/x/y"))
        #expect(response.status == 404)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(body(response).hasPrefix("{\"error\":{\"code\":\"not_found\""))
    }

    @Test("trailing and doubled slashes reach the same route")
    func slashes() {
        #expect(router().route(Request(method: "GET", path: "/agents/")).status == 200)
        #expect(router().route(Request(method: "GET", path: "//catalog//x1")).status == 200)
    }

    @Test("OPTIONS answers a CORS preflight for a known path")
    func preflight() {
        let response = router().route(Request(method: "OPTIONS", path: "/tools/search"))
        #expect(response.status == 204)
        #expect(response.headers["Access-Control-Allow-Origin"] == "*")
    }
}

@Suite("Conditional requests")
struct ConditionalTests {
    @Test("If-None-Match matches strong, weak, listed and wildcard tags")
    func matches() {
        #expect(ifNoneMatchMatches("\"abc\"", etag: "\"abc\""))
        #expect(ifNoneMatchMatches("W/\"abc\"", etag: "\"abc\""))
        #expect(ifNoneMatchMatches("\"x\", \"abc\"", etag: "\"abc\""))
        #expect(ifNoneMatchMatches("*", etag: "\"abc\""))
        #expect(!ifNoneMatchMatches("\"abd\"", etag: "\"abc\""))
        #expect(!ifNoneMatchMatches(nil, etag: "\"abc\""))
    }
}

@Suite("Headers")
struct HeaderTests {
    @Test("lookup ignores case")
    func caseInsensitive() {
        var headers = HTTPHeaders([("Content-Type", "a")])
        #expect(headers["content-type"] == "a")
        headers.set("CONTENT-TYPE", "b")
        #expect(headers.values("Content-Type") == ["b"])
        // Only letters fold: '[' and '{' differ by the same bit as 'A' and 'a'.
        let pairs: [(String, String, Bool)] = [
            ("X-A[", "x-a{", false), ("x-a", "X-A", true), ("Mcp-Name", "MCP-NAME", true), ("ab", "abc", false),
            ("a@", "a`", false), ("é", "É", false), ("Z", "z", true), ("0", "p", false),
        ]
        for (a, b, equal) in pairs {
            #expect(HTTPHeaders([(a, "v")])[b] == (equal ? "v" : nil), "\(a) vs \(b)")
        }
        // Bridged or substring-made strings take the same path.
        let sub = String("xx-Content-Length".dropFirst(3))
        #expect(HTTPHeaders([(sub, "7")])["content-length"] == "7")
    }

    @Test("Accept decides between HTML and JSON")
    func prefersHTML() {
        var request = Request(method: "GET", path: "/")
        #expect(!request.prefersHTML)
        request.headers.add("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        #expect(request.prefersHTML)
        request.headers.set("Accept", "application/json, text/html")
        #expect(!request.prefersHTML)
    }
}
