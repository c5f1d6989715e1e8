import Foundation
import Synchronization
import Testing

@testable import HTTPServer

/// Sends raw HTTP/1.1 over a socket and reads until the server closes, so tests see exactly
/// what libmicrohttpd put on the wire.
func rawExchange(port: UInt16, _ request: [UInt8], timeout: Int = 5) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw ServerError(description: "connect failed") }
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }  // the server may refuse the rest of a large body
        sent += n
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        received.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: received, as: UTF8.self)
}

func get(_ port: UInt16, _ target: String, method: String = "GET", headers: String = "") throws -> String {
    try rawExchange(port: port, Array("\(method) \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\(headers)\r\n".utf8))
}

final class TestServer {
    let server: HTTPServer
    init(maxBody: Int = 1024, handler: @escaping Handler) throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.maxBodyBytes = maxBody
        configuration.shutdownGrace = 5
        server = HTTPServer(configuration: configuration, handler: handler)
        try server.start()
    }
    var port: UInt16 { server.port }
    deinit { server.stop() }
}

@Suite("A live libmicrohttpd server", .serialized)
struct LiveServerTests {
    @Test("the request's method, decoded path, query, headers and body reach the handler")
    func requestParts() throws {
        let server = try TestServer { request in
            .text(
                "\(request.method) \(request.path) q=\(request.query("q") ?? "-") flag=\(request.query("flag") ?? "-") "
                    + "h=\(request.headers["x-thing"] ?? "-") body=\(String(decoding: request.body, as: UTF8.self)) "
                    + "from=\(request.remoteAddress)")
        }
        let reply = try rawExchange(
            port: server.port,
            Array("POST /a%20b?q=tent%20two&flag HTTP/1.1\r\nHost: x\r\nX-Thing: yes\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".utf8))
        #expect(reply.hasPrefix("HTTP/1.1 200"))
        #expect(reply.contains("POST /a b q=tent two flag= h=yes body=hello from=127.0.0.1"))
        #expect(reply.contains("X-Request-Id: req_"))
    }

    @Test("a body over the cap is refused with a JSON 413, by Content-Length and by chunks")
    func bodyTooLarge() throws {
        let server = try TestServer(maxBody: 1024) { request in .text("got \(request.body.count)") }
        let big = [UInt8](repeating: 0x61, count: 5000)
        let declared = try rawExchange(
            port: server.port, Array("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n".utf8) + big)
        #expect(declared.hasPrefix("HTTP/1.1 413"))
        #expect(declared.contains("\"body_too_large\""))
        var chunked = Array("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".utf8)
        for _ in 0..<5 { chunked += Array("3e8\r\n".utf8) + [UInt8](repeating: 0x62, count: 1000) + Array("\r\n".utf8) }
        chunked += Array("0\r\n\r\n".utf8)
        let streamed = try rawExchange(port: server.port, chunked)
        #expect(streamed.hasPrefix("HTTP/1.1 413"))
        let fits = try rawExchange(
            port: server.port,
            Array("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n".utf8)
                + [UInt8](repeating: 0x61, count: 1024))
        #expect(fits.contains("got 1024"))
    }

    @Test("HEAD gets the headers without a body")
    func head() throws {
        var router = Router()
        router.get("/doc") { _ in .text("twelve bytes") }
        let routes = router
        let server = try TestServer { routes.route($0) }
        let reply = try get(server.port, "/doc", method: "HEAD")
        #expect(reply.hasPrefix("HTTP/1.1 200"))
        #expect(reply.contains("Content-Length: 12"))
        #expect(!reply.contains("twelve bytes"))
    }

    @Test("a response produced on another thread is delivered after the connection resumes")
    func deferred() throws {
        let server = try TestServer { _ in
            .later { complete in
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { complete(.text("done later")) }
            }
        }
        let reply = try get(server.port, "/slow")
        #expect(reply.hasPrefix("HTTP/1.1 200"))
        #expect(reply.hasSuffix("done later"))
    }

    @Test("a stream delivers every chunk written over time, then ends")
    func streaming() throws {
        let server = try TestServer { _ in
            let stream = ResponseStream()
            DispatchQueue.global().async {
                for i in 0..<5 {
                    usleep(30_000)
                    stream.write("data: \(i)\n\n")
                }
                stream.finish()
            }
            return Response(status: 200, headers: HTTPHeaders([("Content-Type", "text/event-stream")]), body: .stream(stream))
        }
        let reply = try get(server.port, "/events")
        for i in 0..<5 { #expect(reply.contains("data: \(i)")) }
    }

    @Test("stopping lets a request in flight finish")
    func gracefulStop() throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        // The stop comes once the request is in the handler (not after a guessed delay, which a
        // busy machine can outrun: the request would not have arrived yet).
        let arrived = DispatchSemaphore(value: 0)
        let server = HTTPServer(configuration: configuration) { _ in
            arrived.signal()
            return .later { complete in
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { complete(.text("finished")) }
            }
        }
        try server.start()
        let port = server.port
        nonisolated(unsafe) var reply = ""
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            reply = (try? get(port, "/work")) ?? "failed"
            done.signal()
        }
        #expect(arrived.wait(timeout: .now() + 30) == .success, "the request never reached the handler")
        server.stop()
        done.wait()
        #expect(reply.hasSuffix("finished"))
    }

    @Test("many concurrent clients are all answered")
    func concurrency() throws {
        let server = try TestServer { request in .text("ok \(request.path)") }
        let port = server.port
        let answered = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            if ((try? get(port, "/n\(i)")) ?? "").hasSuffix("ok /n\(i)") { answered.withLock { $0 += 1 } }
        }
        #expect(answered.withLock { $0 } == 200)
    }
}
