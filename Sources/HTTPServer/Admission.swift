import Foundation
import Synchronization

/// Who a request or a stream is for, as the application judged it. The server knows nothing of
/// agents or the store: the application classifies requests (``HTTPServer/classify``) and tags
/// the streams it opens (``ResponseStream/owner``) after checking credentials.
public enum Principal: Sendable, Hashable {
    case anonymous
    /// A registered agent, by its id.
    case agent(String)
    /// The merchant (the admin token).
    case merchant

    public var isAuthenticated: Bool { self != .anonymous }
}

/// Limits that keep one client (or anonymous traffic as a whole) from taking every connection
/// and stream, while agents and the merchant keep a reserve. Zero turns a limit off.
public struct AdmissionLimits: Sendable {
    /// Connections kept for authenticated agents and the merchant: anonymous requests are
    /// refused (503) once open connections exceed the connection limit minus this.
    public var reservedConnections = 256
    /// Open connections one client address may hold and still be served anonymously.
    public var connectionsPerAddress = 256
    /// Anonymous streams open at once, from every address together.
    public var anonymousStreams = 1024
    /// Anonymous streams one client address may hold.
    public var streamsPerAddress = 32
    /// Streams one agent (or the merchant) may hold.
    public var streamsPerPrincipal = 32
    /// Seconds an anonymous stream may go without an event before it is closed; keep-alive
    /// comments do not count as activity.
    public var streamIdleTimeout: Double = 300
    /// Seconds between checks of open streams (idle ones, clients that left).
    public var streamSweepInterval: Double = 1
    /// The `Retry-After` of a refusal, in seconds.
    public var retryAfter = 2

    public init() {}
}

/// Why a request or a stream was not admitted.
struct AdmissionRefusal: Equatable {
    let code: String
    let message: String
}

/// Open connections and streams, by client address and by principal. Connections are counted
/// from libmicrohttpd's connection notifications, streams when a stream response is queued and
/// when it ends.
final class AdmissionCounter: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var connections = 0
    /// `connections`, readable without the lock (the request path's fast check).
    private let openConnections = Atomic<Int>(0)
    private var connectionsByAddress: [String: Int] = [:]
    private(set) var anonymousStreams = 0
    private var anonymousStreamsByAddress: [String: Int] = [:]
    private var streamsByPrincipal: [Principal: Int] = [:]

    func connectionOpened(from address: String) {
        lock.withLock {
            connections += 1
            connectionsByAddress[address, default: 0] += 1
        }
        openConnections.add(1, ordering: .relaxed)
    }

    func connectionClosed(from address: String) {
        lock.withLock {
            connections -= 1
            Self.decrement(&connectionsByAddress, address)
        }
        openConnections.subtract(1, ordering: .relaxed)
    }

    /// Open connections in all, and from one address.
    func connectionCounts(from address: String) -> (total: Int, fromAddress: Int) {
        lock.withLock { (connections, connectionsByAddress[address] ?? 0) }
    }

    /// Whether a request on a connection from `address` is served: always while the address and
    /// the server are under their limits; beyond them only for authenticated callers (asked of
    /// `principal` only then, so ordinary traffic pays nothing for classification).
    func admitRequest(
        from address: String, connectionLimit: Int, limits: AdmissionLimits, principal: () -> Principal
    ) -> AdmissionRefusal? {
        // No address can hold more connections than are open: while the total is within both
        // limits, nobody is over either, and the per-address table need not be read.
        let open = openConnections.load(ordering: .relaxed)
        let shared = max(1, connectionLimit - limits.reservedConnections)
        if open <= shared && (limits.connectionsPerAddress <= 0 || open <= limits.connectionsPerAddress) { return nil }
        let (total, fromAddress) = connectionCounts(from: address)
        let overAddress = limits.connectionsPerAddress > 0 && fromAddress > limits.connectionsPerAddress
        let overShared = total > max(1, connectionLimit - limits.reservedConnections)
        guard overAddress || overShared else { return nil }
        if principal().isAuthenticated { return nil }
        if overAddress {
            return AdmissionRefusal(
                code: "too_many_connections",
                message: "This address holds more than \(limits.connectionsPerAddress) open connections; close some and retry.")
        }
        return AdmissionRefusal(
            code: "overloaded",
            message: "The gateway is serving as many anonymous connections as it admits; retry later, or authenticate.")
    }

    /// Counts a new stream, or says why it is refused.
    func admitStream(owner: Principal, address: String, limits: AdmissionLimits) -> AdmissionRefusal? {
        lock.withLock {
            if owner.isAuthenticated {
                let held = streamsByPrincipal[owner] ?? 0
                if limits.streamsPerPrincipal > 0 && held >= limits.streamsPerPrincipal {
                    return AdmissionRefusal(
                        code: "too_many_streams",
                        message: "You hold \(held) open streams, the most allowed; close one and retry.")
                }
                streamsByPrincipal[owner] = held + 1
                return nil
            }
            let fromAddress = anonymousStreamsByAddress[address] ?? 0
            if limits.streamsPerAddress > 0 && fromAddress >= limits.streamsPerAddress {
                return AdmissionRefusal(
                    code: "too_many_streams",
                    message: "This address holds \(fromAddress) open anonymous streams, the most allowed; close one, or authenticate.")
            }
            if limits.anonymousStreams > 0 && anonymousStreams >= limits.anonymousStreams {
                return AdmissionRefusal(
                    code: "overloaded",
                    message: "The gateway holds as many anonymous streams as it admits; retry later, or authenticate.")
            }
            anonymousStreams += 1
            anonymousStreamsByAddress[address] = fromAddress + 1
            return nil
        }
    }

    func streamClosed(owner: Principal, address: String) {
        lock.withLock {
            if owner.isAuthenticated {
                Self.decrement(&streamsByPrincipal, owner)
            } else {
                anonymousStreams -= 1
                Self.decrement(&anonymousStreamsByAddress, address)
            }
        }
    }

    /// Streams a principal holds (for tests and status pages).
    func streams(of owner: Principal) -> Int {
        lock.withLock { owner.isAuthenticated ? streamsByPrincipal[owner] ?? 0 : anonymousStreams }
    }

    private static func decrement<Key: Hashable>(_ counts: inout [Key: Int], _ key: Key) {
        guard let n = counts[key] else { return }
        counts[key] = n > 1 ? n - 1 : nil
    }
}

extension Response {
    /// 503 with `Retry-After` and the error body; the connection is closed after it, so a
    /// refused client holds no slot.
    static func refusal(_ refusal: AdmissionRefusal, retryAfter: Int) -> Response {
        Response.error(
            status: 503, type: "service_unavailable", code: refusal.code, message: refusal.message,
            headers: [("Retry-After", String(retryAfter)), ("Connection", "close")])
    }
}
