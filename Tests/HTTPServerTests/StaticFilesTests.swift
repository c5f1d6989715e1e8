import Foundation
import Testing

@testable import HTTPServer

@Suite("Static files")
struct StaticFilesTests {
    let root: URL
    let outside: URL

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("static-\(UUID().uuidString)")
        root = base.appendingPathComponent("public")
        outside = base.appendingPathComponent("secret.txt")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("css"), withIntermediateDirectories: true)
        try Data("<h1>hi</h1>".utf8).write(to: root.appendingPathComponent("index.html"))
        try Data("body{}".utf8).write(to: root.appendingPathComponent("css/site.css"))
        try Data("secret".utf8).write(to: outside)
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent("leak.txt"), withDestinationURL: outside)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
    }

    func serve(_ path: String) -> Response {
        StaticFiles(root: root.path).serve(path, request: Request(method: "GET", path: "/dashboard/" + path))
    }

    @Test("a file is served with its MIME type and an ETag")
    func file() {
        let response = serve("css/site.css")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/css; charset=utf-8")
        #expect(response.headers["ETag"] != nil)
    }

    @Test("a folder serves its index.html, never a listing")
    func index() {
        #expect(serve("").headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(serve("empty").status == 404)
    }

    @Test(
        "paths that leave the folder are 404",
        arguments: ["../secret.txt", "css/../../secret.txt", "/etc/passwd", "leak.txt", "css/..", "a\0b", "..\\secret.txt"])
    func escapes(path: String) {
        #expect(serve(path).status == 404)
    }

    @Test("a matching If-None-Match gets 304")
    func notModified() {
        let etag = serve("css/site.css").headers["ETag"]!
        var request = Request(method: "GET", path: "/dashboard/css/site.css")
        request.headers.add("If-None-Match", etag)
        #expect(StaticFiles(root: root.path).serve("css/site.css", request: request).status == 304)
    }
}
