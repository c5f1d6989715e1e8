import Foundation

/// Where an address is: inside a network (private, loopback, link-local, carrier-grade NAT,
/// multicast, reserved, and IPv6 forms that embed such an IPv4 address) or public. Used by every
/// fetch made for someone else — the gateway's (OAuth client documents, key directories, webhook
/// targets) and the journey auditor's (URLs a site under audit names) — so that nobody can make
/// Storefront reach into the network it runs in.
public enum NetworkAddress {
    /// Why `host` may not be fetched (it resolves to an address inside a network), or nil.
    public static func refused(host: String, port: Int) -> String? {
        switch resolvesInternal(host: host, port: port) {
        case nil: return "\(host) does not resolve."
        case true?: return "\(host) resolves to a private, loopback or link-local address; only public hosts are fetched."
        case false?: return nil
        }
    }

    public static func isInternal(_ address: UnsafePointer<sockaddr>) -> Bool {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
            return isInternal(ipv4: bytes)
        case AF_INET6:
            let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
            // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) are judged as IPv4.
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff { return isInternal(ipv4: Array(bytes[12...])) }
            if bytes[0..<4] == [0x00, 0x64, 0xff, 0x9b], bytes[4..<12].allSatisfy({ $0 == 0 }) { return isInternal(ipv4: Array(bytes[12...])) }
            if bytes[0..<12].allSatisfy({ $0 == 0 }) { return true }  // ::, ::1 and IPv4-compatible ::a.b.c.d
            if bytes[0] == 0x20, bytes[1] == 0x02 { return isInternal(ipv4: Array(bytes[2..<6])) }  // 6to4 2002:a.b.c.d::/48
            if bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { return true }  // fe80::/10 link-local
            if (bytes[0] & 0xfe) == 0xfc { return true }  // fc00::/7 unique local
            if bytes[0] == 0xff { return true }  // multicast
            return false
        default:
            return true
        }
    }

    public static func isInternal(ipv4 b: [UInt8]) -> Bool {
        guard b.count == 4 else { return true }
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): return true
        case (169, 254): return true
        case (172, 16...31): return true
        case (192, 168): return true
        case (100, 64...127): return true  // carrier-grade NAT
        case (198, 18...19): return true  // benchmarking
        case (224...255, _): return true  // multicast, reserved, broadcast
        default: return false
        }
    }

    /// Whether `host` resolves to an address inside a network (nil when it does not resolve).
    public static func resolvesInternal(host: String, port: Int) -> Bool? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let first = results else { return nil }
        defer { freeaddrinfo(results) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr, isInternal(address) { return true }
            cursor = entry.pointee.ai_next
        }
        return false
    }

    /// Whether a numeric address ("10.0.0.1", "fe80::1%eth0") is inside a network; anything that
    /// is not an address counts as inside.
    public static func isInternal(numeric address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return isInternal(ipv4: withUnsafeBytes(of: v4) { Array($0) }) }
        var storage = sockaddr_in6()
        let bare = address.split(separator: "%").first.map(String.init) ?? address
        guard inet_pton(AF_INET6, bare, &storage.sin6_addr) == 1 else { return true }
        storage.sin6_family = sa_family_t(AF_INET6)
        return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { isInternal($0) } }
    }

    /// The numeric addresses `host` resolves to ("127.0.0.1", "::1"); empty when it does not resolve.
    public static func addresses(host: String, port: Int) -> Set<String> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let first = results else { return [] }
        defer { freeaddrinfo(results) }
        var found: Set<String> = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = entry.pointee.ai_addr,
                getnameinfo(address, entry.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST) == 0
            {
                found.insert(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = entry.pointee.ai_next
        }
        return found
    }
}
