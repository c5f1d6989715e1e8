import CMicroHTTPD
import Foundation

/// Settings of the HTTP server; every limit has a safe default.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks a free port (read it back from `HTTPServer.port`).
    public var port: UInt16 = 8080
    /// Threads in libmicrohttpd's epoll pool; defaults to the number of cores.
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    public var maxBodyBytes: Int = 1 << 20
    public var connectionLimit: Int = 4096
    /// Seconds a connection may stay idle before it is closed.
    public var connectionTimeout: Int = 30
    /// How long a graceful stop waits for in-flight requests.
    public var shutdownGrace: Double = 10
    /// Bytes per connection for the request line, headers and I/O buffers (libmicrohttpd's
    /// default, 32 KiB). Headers that do not fit are refused with 431. libmicrohttpd zeroes this
    /// memory after every request, so it is kept no larger than headers need.
    public var connectionMemory: Int = 32 * 1024
    /// Per-address, per-principal and reserved limits on connections and streams.
    public var admission = AdmissionLimits()

    public init() {}
}

public struct ServerError: Error, CustomStringConvertible {
    public var description: String
}

/// An HTTP/1.1 server on libmicrohttpd: an epoll thread pool, bodies read up to a cap, handlers
/// that may answer later (the connection is suspended meanwhile) or stream.
public final class HTTPServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    private let handler: Handler
    private var daemon: OpaquePointer?
    /// Requests begun and not completed; an atomic, so the hot path takes no lock.
    private let activeCount: UnsafeMutablePointer<Int64> = {
        let p = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    private let streamsLock = NSLock()
    private var openStreams: [ObjectIdentifier: StreamBox] = [:]
    /// Requests whose answer comes later (the connection suspended meanwhile), until answered.
    private let deferredLock = NSLock()
    private var deferred: [ObjectIdentifier: (exchange: Exchange, connection: UInt)] = [:]
    private let requestCounter = RequestCounter()
    let admission = AdmissionCounter()
    private var streamSweeper: DispatchSourceTimer?
    private let classifierLock = NSLock()
    private var classifier: (@Sendable (Request) -> Principal)?

    /// Sets how requests are classified when admission must choose (a client address or the
    /// server over its limits): only authenticated principals are served beyond them. Without a
    /// classifier every request counts as anonymous.
    public func setClassifier(_ classify: @escaping @Sendable (Request) -> Principal) {
        classifierLock.withLock { classifier = classify }
    }

    func principal(of request: Request) -> Principal {
        guard let classify = classifierLock.withLock({ classifier }) else { return .anonymous }
        return classify(request)
    }

    public init(configuration: ServerConfiguration, handler: @escaping Handler) {
        self.configuration = configuration
        self.handler = handler
    }

    /// The port the server listens on.
    public private(set) var port: UInt16 = 0

    public func start() throws {
        var options = CMicroHTTPD_Options()
        options.flags =
            UInt32(MHD_USE_EPOLL_INTERNAL_THREAD.rawValue) | UInt32(MHD_ALLOW_SUSPEND_RESUME.rawValue)
            | UInt32(MHD_USE_ERROR_LOG.rawValue)
        options.port = configuration.port
        options.thread_pool_size = UInt32(max(1, configuration.threads))
        options.connection_limit = UInt32(configuration.connectionLimit)
        options.connection_timeout = UInt32(configuration.connectionTimeout)
        options.connection_memory_limit = configuration.connectionMemory
        options.listen_backlog = 1024
        options.notify_connection = connectionNotified
        options.notify_connection_cls = Unmanaged.passUnretained(self).toOpaque()

        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let started: OpaquePointer?
        let context = Unmanaged.passUnretained(self).toOpaque()
        if inet_pton(AF_INET, configuration.host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = configuration.port.bigEndian
            started = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
                    options.bind_address = addr
                    return CMicroHTTPD_start(&options, accessHandler, context, requestCompleted, context, uriLogger, context)
                }
            }
        } else if inet_pton(AF_INET6, configuration.host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = configuration.port.bigEndian
            options.flags |= UInt32(MHD_USE_IPv6.rawValue)
            started = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
                    options.bind_address = addr
                    return CMicroHTTPD_start(&options, accessHandler, context, requestCompleted, context, uriLogger, context)
                }
            }
        } else if configuration.host == "0.0.0.0" || configuration.host == "*" || configuration.host.isEmpty {
            started = CMicroHTTPD_start(&options, accessHandler, context, requestCompleted, context, uriLogger, context)
        } else {
            throw ServerError(description: "--host must be an IPv4 or IPv6 address, not \(configuration.host)")
        }
        guard let started else {
            throw ServerError(
                description: "could not listen on \(configuration.host):\(configuration.port) (port in use?)")
        }
        daemon = started
        port = CMicroHTTPD_bound_port(started)
        startStreamSweeper()
    }

    /// Checks open streams every `streamSweepInterval`: a stream whose client closed its socket
    /// (unnoticed while the connection is suspended) and an anonymous stream without an event
    /// for `streamIdleTimeout` are closed, so neither holds a slot.
    private func startStreamSweeper() {
        let limits = configuration.admission
        guard limits.streamSweepInterval > 0 else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "stream-sweeper"))
        timer.schedule(deadline: .now() + limits.streamSweepInterval, repeating: limits.streamSweepInterval)
        timer.setEventHandler { [weak self] in self?.sweepStreams() }
        timer.resume()
        streamSweeper = timer
    }

    func sweepStreams() {
        let limits = configuration.admission
        let boxes = streamsLock.withLock { Array(openStreams.values) }
        for box in boxes {
            let idle = limits.streamIdleTimeout > 0 && !box.owner.isAuthenticated
                && box.stream.secondsSinceLastEvent > limits.streamIdleTimeout
            if idle || CMicroHTTPD_peer_gone(box.fd) != 0 { box.stream.abort() }
        }
    }

    /// Open streams (for status pages and tests).
    public var openStreamCount: Int { streamsLock.withLock { openStreams.count } }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), ends open
    /// streams, then stops the daemon.
    public func stop() {
        guard let daemon else { return }
        streamSweeper?.cancel()
        streamSweeper = nil
        _ = MHD_quiesce_daemon(daemon)
        streamsLock.lock()
        let streams = openStreams.values.map(\.stream)
        streamsLock.unlock()
        for stream in streams { stream.finish() }
        let deadline = Date().addingTimeInterval(configuration.shutdownGrace)
        while CMicroHTTPD_atomic_load(activeCount) > 0 && Date() < deadline { usleep(10_000) }
        // Requests still waiting for their answer (a handler stuck on a slow store) are answered
        // 503 now: libmicrohttpd aborts the process if it is stopped with a connection suspended.
        let stranded = deferredLock.withLock { () -> [(exchange: Exchange, connection: UInt)] in
            defer { deferred.removeAll() }
            return Array(deferred.values)
        }
        for (exchange, connection) in stranded {
            exchange.deferredResponse = Response.error(
                status: 503, type: "service_unavailable", code: "shutting_down", message: "The server is stopping; try again.")
            exchange.waiting = false
            MHD_resume_connection(OpaquePointer(bitPattern: connection))
        }
        let answered = Date().addingTimeInterval(1)
        while !stranded.isEmpty && CMicroHTTPD_atomic_load(activeCount) > 0 && Date() < answered { usleep(10_000) }
        MHD_stop_daemon(daemon)
        self.daemon = nil
    }

    /// Requests in progress (for status pages and tests).
    public var inFlight: Int { Int(CMicroHTTPD_atomic_load(activeCount)) }

    // MARK: - Per-connection state

    /// What the server knows about one request between libmicrohttpd's calls. Only the thread
    /// serving the connection touches it, except when a deferred answer arrives: the producer
    /// sets `deferredResponse` and `waiting` while the connection is suspended, then resumes it,
    /// and libmicrohttpd's resume (under its mutex) orders those writes before the next read.
    final class Exchange: @unchecked Sendable {
        /// The request target exactly as sent (path and query, still percent-encoded).
        let rawTarget: String
        var started = false
        var request = Request(method: "GET", path: "/")
        var body: [UInt8] = []
        var tooLarge = false
        var answered = false
        var deferredResponse: Response?
        var waiting = false
        /// Why the request's framing is refused (found while its headers were read).
        var framingViolation: FramingViolation?

        init(rawTarget: String) { self.rawTarget = rawTarget }
    }

    fileprivate func begin(
        _ exchange: Exchange, connection: OpaquePointer, url: String, method: String, version: String
    ) {
        _ = CMicroHTTPD_atomic_add(activeCount, 1)
        var headers = HTTPHeaders()
        var query: [(name: String, value: String?)] = []
        var controlCharacterIn: String?
        collectHeaders(connection) { name, value, forbidden in
            headers.add(name, value)
            if forbidden && controlCharacterIn == nil { controlCharacterIn = name }
        }
        exchange.framingViolation = Framing.violation(
            headers: headers, version: version, controlCharacterIn: controlCharacterIn)
        collectValues(connection, kind: .GET_ARGUMENT_KIND) { query.append((name: $0, value: $1)) }
        let remote = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> String in
            CMicroHTTPD_client_address(connection, buffer.baseAddress!, 64)
            return String(cString: buffer.baseAddress!)
        }
        var request = Request(
            method: method, path: url, queryItems: query, headers: headers, remoteAddress: remote,
            id: requestCounter.next())
        request.rawTarget = exchange.rawTarget
        exchange.request = request
        exchange.started = true
    }

    fileprivate func end() { _ = CMicroHTTPD_atomic_add(activeCount, -1) }

    /// The answer to a request refused before any handler runs: bad framing (400/501) or no
    /// room (503); either closes the connection.
    fileprivate func refusalBeforeHandler(_ exchange: Exchange) -> Response? {
        if let violation = exchange.framingViolation {
            return Response.error(
                status: violation.status, type: "invalid_request", code: violation.code, message: violation.message,
                headers: [("Connection", "close")])
        }
        let request = exchange.request
        if let refusal = admission.admitRequest(
            from: request.remoteAddress, connectionLimit: configuration.connectionLimit, limits: configuration.admission,
            principal: { principal(of: request) })
        {
            return Response.refusal(refusal, retryAfter: configuration.admission.retryAfter)
        }
        return nil
    }

    fileprivate func handle(connection: OpaquePointer, exchange: Exchange) -> MHD_Result {
        if exchange.tooLarge && !exchange.answered {
            return queue(tooLargeResponse(), on: connection, exchange: exchange)
        }
        // libmicrohttpd hands over decoded paths and query values as C strings, which a NUL
        // would silently cut short ("/a%00b" would become "/a"); such targets are refused.
        if containsEncodedNUL(exchange.rawTarget) {
            // Name the query parameter that carries it, when one does.
            let query = exchange.rawTarget.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
            let param = query.split(separator: "&").first { $0.contains("%00") }.map {
                String($0.split(separator: "=", maxSplits: 1).first ?? "").removingPercentEncoding ?? ""
            }
            guard let param else {
                // A path with a NUL names nothing that exists.
                return queue(
                    Response.error(
                        status: 404, type: "invalid_request", code: "not_found",
                        message: "No resource at this path: it contains an encoded NUL byte (%00)."),
                    on: connection, exchange: exchange)
            }
            return queue(
                Response.error(
                    status: 400, type: "invalid_request", code: "nul_in_target",
                    message: "The query parameter \(param) contains an encoded NUL byte (%00), which is never valid here.",
                    param: param),
                on: connection, exchange: exchange)
        }
        if let response = exchange.deferredResponse {
            exchange.deferredResponse = nil
            return queue(response, on: connection, exchange: exchange)
        }
        if exchange.waiting { return MHD_Result.YES }
        exchange.request.body = exchange.body
        exchange.body = []
        let response = handler(exchange.request)
        return queue(response, on: connection, exchange: exchange)
    }

    fileprivate func queue(_ response: Response, on connection: OpaquePointer, exchange: Exchange) -> MHD_Result {
        var response = response
        if case .deferred(let produce) = response.body {
            exchange.waiting = true
            MHD_suspend_connection(connection)
            let connectionBits = UInt(bitPattern: connection)
            let key = ObjectIdentifier(exchange)
            deferredLock.withLock { deferred[key] = (exchange, connectionBits) }
            produce { [weak self, weak exchange] result in
                // Whoever takes it from the registry answers it: the handler, or stop() once
                // its grace period is over (the later one finds it gone).
                guard let self, let exchange, self.deferredLock.withLock({ self.deferred.removeValue(forKey: key) }) != nil else { return }
                exchange.deferredResponse = result
                exchange.waiting = false
                MHD_resume_connection(OpaquePointer(bitPattern: connectionBits))
            }
            return MHD_Result.YES
        }
        exchange.answered = true
        response.headers.set("X-Request-Id", exchange.request.id)
        let mhdResponse: OpaquePointer?
        switch response.body {
        case .bytes(let bytes):
            // No copy: a retained box keeps the array's storage alive until MHD frees the response.
            let box = Unmanaged.passRetained(BytesBox(bytes))
            mhdResponse = bytes.withUnsafeBytes { raw in
                MHD_create_response_from_buffer_with_free_callback_cls(
                    raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), bytesFreed, box.toOpaque())
            }
            if mhdResponse == nil { box.release() }
        case .stream(let stream) where exchange.request.method == "HEAD":
            // HEAD gets the stream's headers and no body at all.
            stream.finish()
            stream.connectionClosed()
            mhdResponse = MHD_create_response_from_buffer(0, nil, .RESPMEM_PERSISTENT)
        case .stream(let stream):
            let owner = stream.owner
            let address = exchange.request.remoteAddress
            if let refusal = admission.admitStream(owner: owner, address: address, limits: configuration.admission) {
                stream.finish()
                stream.connectionClosed()
                return queue(
                    Response.refusal(refusal, retryAfter: configuration.admission.retryAfter), on: connection,
                    exchange: exchange)
            }
            mhdResponse = makeStreamResponse(stream, owner: owner, address: address, connection: connection)
        case .deferred:
            fatalError("unreachable: deferred bodies are handled above")
        }
        guard let mhdResponse else { return MHD_Result.NO }
        defer { MHD_destroy_response(mhdResponse) }
        for (name, value) in response.headers {
            // withCString borrows the UTF-8 in place; passing a String as `const char *` directly
            // makes Swift allocate a NUL-terminated copy (utf8CString) for each argument.
            _ = name.withCString { n in value.withCString { v in MHD_add_response_header(mhdResponse, n, v) } }
        }
        return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    }

    private func makeStreamResponse(
        _ stream: ResponseStream, owner: Principal, address: String, connection: OpaquePointer
    ) -> OpaquePointer? {
        let connectionBits = UInt(bitPattern: connection)
        stream.setResumeHook { MHD_resume_connection(OpaquePointer(bitPattern: connectionBits)) }
        let box = StreamBox(
            stream: stream, connection: connectionBits, server: self, fd: CMicroHTTPD_connection_fd(connection),
            owner: owner, address: address)
        streamsLock.lock()
        openStreams[ObjectIdentifier(stream)] = box
        streamsLock.unlock()
        let context = Unmanaged.passRetained(box).toOpaque()
        return MHD_create_response_from_callback(
            CMicroHTTPD_size_unknown(), 16 * 1024, streamReader, context, streamFreed)
    }

    fileprivate func streamEnded(_ box: StreamBox) {
        streamsLock.lock()
        openStreams[ObjectIdentifier(box.stream)] = nil
        streamsLock.unlock()
        admission.streamClosed(owner: box.owner, address: box.address)
        box.stream.connectionClosed()
    }

    fileprivate func tooLargeResponse() -> Response {
        Response.error(
            status: 413, type: "invalid_request", code: "body_too_large",
            message: "The request body is larger than \(configuration.maxBodyBytes) bytes.",
            headers: [("Connection", "close")])
    }
}

final class BytesBox {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private let bytesFreed: MHD_ContentReaderFreeCallback = { cls in
    guard let cls else { return }
    Unmanaged<BytesBox>.fromOpaque(cls).release()
}

/// "%00" anywhere in the target, without Foundation's `range(of:)`.
func containsEncodedNUL(_ target: String) -> Bool {
    var state = 0
    for byte in target.utf8 {
        switch (state, byte) {
        case (_, UInt8(ascii: "%")): state = 1
        case (1, UInt8(ascii: "0")): state = 2
        case (2, UInt8(ascii: "0")): return true
        default: state = 0
        }
    }
    return false
}

final class StreamBox {
    let stream: ResponseStream
    let connection: UInt
    unowned let server: HTTPServer
    /// The connection's socket, watched for a client that left while the stream idles.
    let fd: Int32
    let owner: Principal
    let address: String
    init(stream: ResponseStream, connection: UInt, server: HTTPServer, fd: Int32, owner: Principal, address: String) {
        self.stream = stream
        self.connection = connection
        self.server = server
        self.fd = fd
        self.owner = owner
        self.address = address
    }
}

/// The client address of one TCP connection, kept from its opening to its closing so the
/// admission counts can be given back.
final class ConnectionTag {
    let address: String
    init(address: String) { self.address = address }
}

/// Monotonic request ids, unique within a process start.
final class RequestCounter: @unchecked Sendable {
    private let value: UnsafeMutablePointer<Int64> = {
        let p = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    private let prefix: [UInt8] = Array("req_\(String(UInt32.random(in: 0...UInt32.max), radix: 36))_".utf8)

    /// "req_<prefix>_<counter in base 36>", formatted without locks or string interpolation.
    func next() -> String {
        var v = UInt64(CMicroHTTPD_atomic_add(value, 1))
        return String(unsafeUninitializedCapacity: prefix.count + 13) { out in
            var n = 0
            for b in prefix { out[n] = b; n += 1 }
            var scratch: (UInt64, UInt64) = (0, 0)
            return withUnsafeMutableBytes(of: &scratch) { digits in
                var k = 0
                repeat {
                    let d = UInt8(v % 36)
                    v /= 36
                    digits[k] = d < 10 ? 48 + d : 87 + d
                    k += 1
                } while v > 0
                while k > 0 { k -= 1; out[n] = digits[k]; n += 1 }
                return n
            }
        }
    }
}

/// Header fields with their byte lengths (`MHD_get_connection_values_n`), so a NUL inside a value,
/// which C strings would hide, is seen; `forbidden` says whether the name or value holds a
/// control character.
private func collectHeaders(_ connection: OpaquePointer, _ body: (String, String, Bool) -> Void) {
    typealias Collector = (String, String, Bool) -> Void
    withoutActuallyEscaping(body) { escapable in
        var collector: Collector = escapable
        withUnsafeMutablePointer(to: &collector) { pointer in
            _ = MHD_get_connection_values_n(
                connection, .HEADER_KIND,
                { cls, _, key, keySize, value, valueSize in
                    guard let cls, let key else { return MHD_Result.YES }
                    let collect = cls.assumingMemoryBound(to: Collector.self).pointee
                    var forbidden = false
                    let name = key.withMemoryRebound(to: UInt8.self, capacity: keySize) { bytes -> String in
                        let buffer = UnsafeBufferPointer(start: bytes, count: keySize)
                        forbidden = buffer.contains(where: Framing.isForbidden)
                        return String(decoding: buffer, as: UTF8.self)
                    }
                    var text = ""
                    if let value {
                        if CMicroHTTPD_value_hides_nul(value, valueSize) != 0 { forbidden = true }
                        text = value.withMemoryRebound(to: UInt8.self, capacity: valueSize) { bytes -> String in
                            let buffer = UnsafeBufferPointer(start: bytes, count: valueSize)
                            if buffer.contains(where: Framing.isForbidden) { forbidden = true }
                            return String(decoding: buffer, as: UTF8.self)
                        }
                    }
                    collect(name, text, forbidden)
                    return MHD_Result.YES
                }, pointer)
        }
    }
}

private func collectValues(
    _ connection: OpaquePointer, kind: MHD_ValueKind, _ body: (String, String?) -> Void
) {
    typealias Collector = (String, String?) -> Void
    withoutActuallyEscaping(body) { escapable in
        var collector: Collector = escapable
        withUnsafeMutablePointer(to: &collector) { pointer in
            _ = MHD_get_connection_values(
                connection, kind,
                { cls, _, key, value in
                    guard let cls, let key else { return MHD_Result.YES }
                    let collect = cls.assumingMemoryBound(to: Collector.self).pointee
                    collect(String(cString: key), value.map { String(cString: $0) })
                    return MHD_Result.YES
                }, pointer)
        }
    }
}

// MARK: - libmicrohttpd callbacks

private let accessHandler: MHD_AccessHandlerCallback = {
    cls, connection, url, method, version, uploadData, uploadDataSize, connectionContext in
    guard let cls, let connection, let connectionContext, let uploadDataSize else { return MHD_Result.NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()

    let exchange: HTTPServer.Exchange
    if let existing = connectionContext.pointee {
        exchange = Unmanaged<HTTPServer.Exchange>.fromOpaque(existing).takeUnretainedValue()
    } else {
        // The URI logger normally made the exchange; this is the fallback.
        exchange = HTTPServer.Exchange(rawTarget: url.map { String(cString: $0) } ?? "/")
        connectionContext.pointee = Unmanaged.passRetained(exchange).toOpaque()
    }
    if !exchange.started {
        server.begin(
            exchange, connection: connection, url: url.map { String(cString: $0) } ?? "/",
            method: method.map { String(cString: $0) } ?? "GET", version: version.map { String(cString: $0) } ?? "")
        if let refusal = server.refusalBeforeHandler(exchange) {
            return server.queue(refusal, on: connection, exchange: exchange)
        }
        if let length = exchange.request.headers["Content-Length"].flatMap(Int.init),
            length > server.configuration.maxBodyBytes
        {
            exchange.tooLarge = true
            return server.queue(server.tooLargeResponse(), on: connection, exchange: exchange)
        }
        return MHD_Result.YES
    }
    if exchange.answered {
        uploadDataSize.pointee = 0  // discard the rest of a refused body
        return MHD_Result.YES
    }
    let size = uploadDataSize.pointee
    if size > 0 {
        // libmicrohttpd accepts a response only on the first or the last call, so an
        // oversized streamed body is discarded as it arrives and refused at the end.
        if exchange.tooLarge || exchange.body.count + size > server.configuration.maxBodyBytes {
            uploadDataSize.pointee = 0
            exchange.tooLarge = true
            exchange.body = []
            return MHD_Result.YES
        }
        if let uploadData {
            uploadData.withMemoryRebound(to: UInt8.self, capacity: size) {
                exchange.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: size))
            }
        }
        uploadDataSize.pointee = 0
        return MHD_Result.YES
    }
    return server.handle(connection: connection, exchange: exchange)
}

private let requestCompleted: MHD_RequestCompletedCallback = { cls, _, connectionContext, _ in
    guard let cls, let connectionContext, let existing = connectionContext.pointee else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    let exchange = Unmanaged<HTTPServer.Exchange>.fromOpaque(existing).takeRetainedValue()
    connectionContext.pointee = nil
    if exchange.started { server.end() }
}

/// Called first for every request with the target as sent; the exchange it makes becomes the
/// request's context, so the raw target (needed to verify HTTP message signatures) is kept.
private let uriLogger: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?)
    -> UnsafeMutableRawPointer? = { _, uri, _ in
    let exchange = HTTPServer.Exchange(rawTarget: uri.map { String(cString: $0) } ?? "/")
    return Unmanaged.passRetained(exchange).toOpaque()
}

private let streamReader: MHD_ContentReaderCallback = { cls, _, buffer, max in
    guard let cls, let buffer else { return CMicroHTTPD_end_with_error() }
    let box = Unmanaged<StreamBox>.fromOpaque(cls).takeUnretainedValue()
    let result = box.stream.read(into: buffer, max: max) {
        MHD_suspend_connection(OpaquePointer(bitPattern: box.connection))
    }
    switch result {
    case .bytes(let n): return n
    case .wouldBlock: return 0
    case .end: return CMicroHTTPD_end_of_stream()
    case .abort: return CMicroHTTPD_end_with_error()
    }
}

private let streamFreed: MHD_ContentReaderFreeCallback = { cls in
    guard let cls else { return }
    let box = Unmanaged<StreamBox>.fromOpaque(cls).takeRetainedValue()
    box.server.streamEnded(box)
}

/// Counts each TCP connection by client address from its opening to its closing.
private let connectionNotified: MHD_NotifyConnectionCallback = { cls, connection, socketContext, code in
    guard let cls, let connection, let socketContext else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    switch code {
    case .CONNECTION_NOTIFY_STARTED:
        let address = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> String in
            CMicroHTTPD_sockaddr_text(CMicroHTTPD_client_sockaddr(connection), buffer.baseAddress!, 64)
            return String(cString: buffer.baseAddress!)
        }
        server.admission.connectionOpened(from: address)
        socketContext.pointee = Unmanaged.passRetained(ConnectionTag(address: address)).toOpaque()
    case .CONNECTION_NOTIFY_CLOSED:
        guard let existing = socketContext.pointee else { return }
        let tag = Unmanaged<ConnectionTag>.fromOpaque(existing).takeRetainedValue()
        socketContext.pointee = nil
        server.admission.connectionClosed(from: tag.address)
    default:
        break
    }
}
