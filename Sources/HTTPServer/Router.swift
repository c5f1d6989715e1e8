/// A request handler. It returns at once; slow work returns `Response.later`.
public typealias Handler = @Sendable (Request) -> Response

/// Routes by method and path pattern (`/catalog/{id}`); HEAD is served by GET's handler, a known
/// path with another method answers 405 with `Allow`, anything else 404.
public struct Router: Sendable {
    struct Route: Sendable {
        let method: String
        let pattern: String
        let segments: [Segment]
        let handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        /// `{name...}` at the end: the rest of the path.
        case rest(String)
    }

    private var routes: [Route] = []
    /// Exact-path GET routes, found without a scan (the hot discovery documents).
    private var exact: [String: [String: Handler]] = [:]
    public var notFound: Handler = { request in
        Response.error(
            status: 404, type: "invalid_request", code: "not_found",
            message: "No resource at \(request.path). The agent entry point /agents lists every route.")
    }

    /// Applied to every response the router produces (for example to add entity tags).
    public var after: (@Sendable (Request, Response) -> Response)?
    /// Asked before a matched route's handler runs, with the route's pattern (and the request's
    /// path parameters filled): a response refuses the request and the handler never runs.
    public var before: (@Sendable (Request, String) -> Response?)?

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let segments = Router.split(pattern).map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("...}") { return .rest(String(part.dropFirst().dropLast(4))) }
            if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .literal(part)
        }
        if segments.allSatisfy({ if case .literal = $0 { return true } else { return false } }) {
            exact[Router.normalized(pattern), default: [:]][method] = handler
        }
        routes.append(Route(method: method, pattern: pattern, segments: segments, handler: handler))
    }

    /// Every route's pattern, as `routeWithPattern` reports it.
    public var patterns: Set<String> { Set(routes.map { Router.normalized($0.pattern) }) }

    /// The handler registered for a method and pattern (to answer an alias the same way).
    public func handler(_ method: String, _ pattern: String) -> Handler? {
        routes.first { $0.method == method && Router.normalized($0.pattern) == Router.normalized(pattern) }?.handler
    }

    /// Every route as `METHOD /pattern`, to compare with what the documents declare.
    public var methodsAndPatterns: Set<String> { Set(routes.map { "\($0.method) \(Router.normalized($0.pattern))" }) }

    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add("GET", pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { add("POST", pattern, handler) }
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { add("DELETE", pattern, handler) }

    static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    static func normalized(_ path: String) -> String {
        "/" + split(path).joined(separator: "/")
    }

    /// Finds the handler for a request and fills its path parameters.
    public func route(_ request: Request) -> Response {
        routeWithPattern(request).response
    }

    /// The response and the route pattern that produced it (nil when none matched).
    public func routeWithPattern(_ request: Request) -> (response: Response, pattern: String?) {
        let (response, pattern) = dispatch(request)
        return (after.map { $0(request, response) } ?? response, pattern)
    }

    private func dispatch(_ request: Request) -> (Response, String?) {
        var request = request
        let method = request.method == "HEAD" ? "GET" : request.method
        // Most paths arrive normalised: look them up as they are before splitting and joining.
        if let byMethod = exact[request.path], let handler = byMethod[method] {
            return (before?(request, request.path) ?? handler(request), request.path)
        }
        let normalized = Router.normalized(request.path)
        if let byMethod = exact[normalized], let handler = byMethod[method] {
            return (before?(request, normalized) ?? handler(request), normalized)
        }
        let parts = Router.split(request.path)
        var allowed: Set<String> = []
        for route in routes {
            guard let params = Router.match(route.segments, parts) else { continue }
            if route.method == method {
                request.pathParameters = params
                return (before?(request, route.pattern) ?? route.handler(request), route.pattern)
            }
            allowed.insert(route.method)
        }
        if !allowed.isEmpty {
            if allowed.contains("GET") { allowed.insert("HEAD") }
            if request.method == "OPTIONS" {
                var headers = HTTPHeaders([("Allow", allowed.sorted().joined(separator: ", "))])
                headers.add("Access-Control-Allow-Origin", "*")
                headers.add("Access-Control-Allow-Methods", allowed.sorted().joined(separator: ", "))
                headers.add(
                    "Access-Control-Allow-Headers",
                    "Authorization, Content-Type, Idempotency-Key, MCP-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID, Signature, Signature-Input, Signature-Agent, Content-Digest")
                headers.add("Access-Control-Expose-Headers", "MCP-Session-Id, Idempotent-Replayed, Retry-After, ETag, RateLimit, RateLimit-Policy")
                headers.add("Access-Control-Max-Age", "600")
                return (Response(status: 204, headers: headers), nil)
            }
            return (Response.error(
                status: 405, type: "invalid_request", code: "method_not_allowed",
                message: "\(request.method) is not allowed on \(request.path); use \(allowed.sorted().joined(separator: ", ")).",
                headers: [("Allow", allowed.sorted().joined(separator: ", "))]), nil)
        }
        return (notFound(request), nil)
    }

    static func match(_ segments: [Segment], _ parts: [String]) -> [String: String]? {
        var params: [String: String] = [:]
        for (i, segment) in segments.enumerated() {
            switch segment {
            case .rest(let name):
                params[name] = parts.dropFirst(i).joined(separator: "/")
                return params
            case .literal(let text):
                guard i < parts.count, parts[i] == text else { return nil }
            case .parameter(let name):
                guard i < parts.count, !parts[i].isEmpty else { return nil }
                params[name] = parts[i]
            }
        }
        return segments.count == parts.count ? params : nil
    }
}
