import CMicroHTTPD
import Foundation

/// The listening socket and the thread that accepts from it, handing each connection to
/// libmicrohttpd's worker pool with `MHD_add_connection`.
///
/// libmicrohttpd's own listener lets every worker race to accept, and under a burst of
/// connections the race is lopsided (64 connections split 42/26 between two workers here),
/// so the busier worker's clients wait longer for as long as they stay connected. Handed over,
/// a connection goes to the worker its descriptor number selects, and consecutive descriptors
/// alternate: the workers get equal shares.
final class Acceptor: @unchecked Sendable {
    let port: UInt16
    private let listenFD: Int32
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    /// Binds and listens on `host:port` (port 0: any free port).
    init(host: String, port: UInt16, backlog: Int32) throws {
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if host == "0.0.0.0" || host == "*" || host.isEmpty {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_addr.s_addr = INADDR_ANY
            v4.sin_port = port.bigEndian
            withUnsafeBytes(of: v4) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            (length, family) = (socklen_t(MemoryLayout<sockaddr_in>.size), AF_INET)
        } else if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeBytes(of: v4) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            (length, family) = (socklen_t(MemoryLayout<sockaddr_in>.size), AF_INET)
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            withUnsafeBytes(of: v6) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            (length, family) = (socklen_t(MemoryLayout<sockaddr_in6>.size), AF_INET6)
        } else {
            throw ServerError(description: "--host must be an IPv4 or IPv6 address, not \(host)")
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError(description: "could not create a socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size)) }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            Glibc.close(fd)
            throw ServerError(description: "could not listen on \(host):\(port) (port in use?)")
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        self.port = withUnsafeBytes(of: actual) { raw in
            // sin_port and sin6_port sit at the same offset, in network order.
            UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
        }
        listenFD = fd
    }

    /// Accepts until ``stop()``, handing every connection to `daemon`.
    func run(handingTo daemon: OpaquePointer) {
        let daemonBits = UInt(bitPattern: daemon)
        let thread = Thread { [self] in
            let daemon = OpaquePointer(bitPattern: daemonBits)!
            defer { finished.signal() }
            while true {
                var address = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let client = withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        accept(listenFD, $0, &length)
                    }
                }
                if client < 0 {
                    if lock.withLock({ stopping }) { return }
                    switch errno {
                    case EINTR, ECONNABORTED, EPROTO: continue
                    default:
                        // Out of descriptors or memory: let connections finish, then try again.
                        usleep(10_000)
                        continue
                    }
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                // libmicrohttpd owns (and on failure closes) the socket from here.
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MHD_add_connection(daemon, client, $0, length) }
                }
            }
        }
        thread.name = "http-accept"
        thread.start()
    }

    /// Stops accepting: the listening socket is shut (waking the accepting thread) and closed.
    func stop() {
        let first = lock.withLock {
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        finished.wait()
        Glibc.close(listenFD)
    }

    /// Closes the socket of an acceptor that never ran.
    func discard() { Glibc.close(listenFD) }
}
