import Foundation

/// Serves files from one folder: correct MIME types, no directory listings, and nothing outside
/// the folder (`..`, absolute paths and symlinks that lead out are all 404).
public struct StaticFiles: Sendable {
    public let root: String
    private let resolvedRoot: String

    public init(root: String) {
        self.root = root
        resolvedRoot = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// The response for `relativePath` (already percent-decoded by the server).
    public func serve(_ relativePath: String, request: Request, cacheControl: String = "no-cache") -> Response {
        guard let path = resolve(relativePath) else { return notFound(request) }
        guard let data = FileManager.default.contents(atPath: path) else { return notFound(request) }
        let bytes = [UInt8](data)
        let etag = "\"" + String(fnv1a(bytes), radix: 16) + "\""
        var headers = HTTPHeaders([
            ("Content-Type", MIMEType.forPath(path)), ("ETag", etag), ("Cache-Control", cacheControl),
            ("X-Content-Type-Options", "nosniff"),
        ])
        if ifNoneMatchMatches(request.headers["If-None-Match"], etag: etag) {
            headers.remove("Content-Type")
            return Response(status: 304, headers: headers)
        }
        return Response(status: 200, headers: headers, body: .bytes(bytes))
    }

    /// The real path of a file inside the root, or nil. Directories resolve to their
    /// `index.html`; anything that leaves the root does not resolve.
    public func resolve(_ relativePath: String) -> String? {
        if relativePath.contains("\0") || relativePath.contains("\\") { return nil }
        let segments = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        if segments.contains(where: { $0 == ".." || $0 == "." }) { return nil }
        var candidate = URL(fileURLWithPath: resolvedRoot)
        for segment in segments { candidate.appendPathComponent(String(segment)) }
        var real = candidate.resolvingSymlinksInPath().path
        guard real == resolvedRoot || real.hasPrefix(resolvedRoot + "/") else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            real = URL(fileURLWithPath: real).appendingPathComponent("index.html").resolvingSymlinksInPath().path
            guard real.hasPrefix(resolvedRoot + "/"),
                FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), !isDirectory.boolValue
            else { return nil }
        }
        return real
    }

    private func notFound(_ request: Request) -> Response {
        Response.error(
            status: 404, type: "invalid_request", code: "not_found", message: "No file at \(request.path).")
    }
}

/// FNV-1a, a fast non-cryptographic hash for entity tags.
public func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return hash
}

/// Content types by file extension.
public enum MIMEType {
    static let byExtension: [String: String] = [
        "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8", "css": "text/css; charset=utf-8",
        "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8",
        "json": "application/json", "map": "application/json", "txt": "text/plain; charset=utf-8",
        "md": "text/markdown; charset=utf-8", "xml": "application/xml", "svg": "image/svg+xml",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "ico": "image/x-icon", "woff": "font/woff", "woff2": "font/woff2", "wasm": "application/wasm",
        "webmanifest": "application/manifest+json", "csv": "text/csv; charset=utf-8",
    ]

    public static func forPath(_ path: String) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        return byExtension[ext] ?? "application/octet-stream"
    }
}
