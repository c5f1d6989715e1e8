/// HTTP header fields, looked up without regard to case.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init(_ fields: [(String, String)] = []) {
        // Room for what a response usually gains on its way out (request id, CORS, rate-limit,
        // caching headers) without growing the array one append at a time.
        var all: [(name: String, value: String)] = []
        all.reserveCapacity(fields.count + 8)
        for (name, value) in fields { all.append((name, value)) }
        self.fields = all
    }

    /// Whether a field with either name is present (one pass).
    public func contains(_ name: String, or other: String) -> Bool {
        fields.contains { $0.name.caseInsensitiveEquals(name) || $0.name.caseInsensitiveEquals(other) }
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Replaces every field of that name with one.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name, value))
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
    }

    /// The first value of the field, or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        if self == other { return true }
        guard utf8.count == other.utf8.count else { return false }
        // Header names are short ASCII: compare the bytes in place (contiguous for native strings).
        let done = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in Self.asciiCaseInsensitiveEqual(a, b) }
        }
        if let done, let done { return done }
        return Self.asciiCaseInsensitiveEqual(Array(utf8), Array(other.utf8))
    }

    private static func asciiCaseInsensitiveEqual<C: RandomAccessCollection<UInt8>>(_ a: C, _ b: C) -> Bool
    where C.Index == Int {
        for i in 0..<a.count {
            let x = a[a.startIndex + i], y = b[b.startIndex + i]
            if x != y {
                let lx = x | 0x20
                guard lx == y | 0x20, lx >= 0x61, lx <= 0x7A else { return false }
            }
        }
        return true
    }
}

/// One HTTP request, with its body fully read.
public struct Request: Sendable {
    public var method: String
    /// The decoded path, without the query.
    public var path: String
    /// Query parameters in the order sent; values are percent-decoded.
    public var queryItems: [(name: String, value: String?)]
    public var headers: HTTPHeaders
    /// The client's IP address as text.
    public var remoteAddress: String
    public var body: [UInt8]
    /// Values of `{name}` segments of the route that matched.
    public var pathParameters: [String: String] = [:]
    /// A per-request identifier, also sent back as `X-Request-Id`.
    public var id: String
    /// The request target as sent: path and query, percent-encoded (defaults to `path`).
    public var rawTarget: String = ""

    /// The raw query string without `?`, or nil.
    public var rawQuery: String? {
        guard let q = rawTarget.firstIndex(of: "?") else { return nil }
        return String(rawTarget[rawTarget.index(after: q)...])
    }

    /// The raw path without the query.
    public var rawPath: String {
        guard !rawTarget.isEmpty else { return path }
        return String(rawTarget.prefix { $0 != "?" })
    }

    public init(
        method: String, path: String, queryItems: [(name: String, value: String?)] = [],
        headers: HTTPHeaders = HTTPHeaders(), remoteAddress: String = "", body: [UInt8] = [], id: String = ""
    ) {
        self.method = method
        self.path = path
        self.queryItems = queryItems
        self.headers = headers
        self.remoteAddress = remoteAddress
        self.body = body
        self.id = id
        rawTarget = path
    }

    /// The first value of a query parameter (an empty string for `?flag`), or nil when absent.
    public func query(_ name: String) -> String? {
        guard let item = queryItems.first(where: { $0.name == name }) else { return nil }
        return item.value ?? ""
    }

    /// True when the client prefers HTML to JSON (a browser), judged from `Accept`.
    /// Whether the client asks for Markdown before HTML and JSON (`Accept: text/markdown`).
    public var prefersMarkdown: Bool {
        guard let accept = headers["Accept"]?.lowercased(), let md = accept.range(of: "text/markdown") else { return false }
        return [accept.range(of: "text/html"), accept.range(of: "application/json")].allSatisfy { other in other.map { md.lowerBound < $0.lowerBound } ?? true }
    }

    public var prefersHTML: Bool {
        guard let accept = headers["Accept"]?.lowercased() else { return false }
        let html = accept.range(of: "text/html")
        let json = accept.range(of: "application/json")
        switch (html, json) {
        case (nil, _): return false
        case (.some, nil): return true
        case (.some(let h), .some(let j)): return h.lowerBound < j.lowerBound
        }
    }
}
