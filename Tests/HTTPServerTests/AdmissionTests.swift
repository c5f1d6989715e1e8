import Foundation
import Testing

@testable import HTTPServer

@Suite("Admission: per-address, per-principal and reserved limits")
struct AdmissionTests {
    func limits() -> AdmissionLimits {
        var limits = AdmissionLimits()
        limits.reservedConnections = 2
        limits.connectionsPerAddress = 3
        limits.anonymousStreams = 4
        limits.streamsPerAddress = 2
        limits.streamsPerPrincipal = 1
        return limits
    }

    @Test("an address over its connection limit is refused unless authenticated, and the classifier is asked only then")
    func perAddress() {
        let counter = AdmissionCounter()
        var asked = 0
        for _ in 0..<3 { counter.connectionOpened(from: "10.0.0.1") }
        #expect(counter.admitRequest(from: "10.0.0.1", connectionLimit: 100, limits: limits()) { asked += 1; return .anonymous } == nil)
        #expect(asked == 0)
        counter.connectionOpened(from: "10.0.0.1")
        #expect(counter.admitRequest(from: "10.0.0.1", connectionLimit: 100, limits: limits()) { .anonymous }?.code == "too_many_connections")
        #expect(counter.admitRequest(from: "10.0.0.1", connectionLimit: 100, limits: limits()) { .agent("agt_1") } == nil)
        #expect(counter.admitRequest(from: "10.0.0.2", connectionLimit: 100, limits: limits()) { .anonymous } == nil)
        counter.connectionClosed(from: "10.0.0.1")
        #expect(counter.admitRequest(from: "10.0.0.1", connectionLimit: 100, limits: limits()) { .anonymous } == nil)
    }

    @Test("the reserve is kept for agents and the merchant")
    func reserve() {
        let counter = AdmissionCounter()
        for i in 0..<9 { counter.connectionOpened(from: "10.0.1.\(i)") }
        // 9 open, limit 10, reserve 2: anonymous traffic may use 8.
        #expect(counter.admitRequest(from: "10.0.1.0", connectionLimit: 10, limits: limits()) { .anonymous }?.code == "overloaded")
        #expect(counter.admitRequest(from: "10.0.1.0", connectionLimit: 10, limits: limits()) { .merchant } == nil)
        #expect(counter.admitRequest(from: "10.0.1.0", connectionLimit: 10, limits: limits()) { .agent("a") } == nil)
    }

    @Test("streams are counted per principal, per address and in all, and given back")
    func streams() {
        let counter = AdmissionCounter()
        #expect(counter.admitStream(owner: .agent("a"), address: "x", limits: limits()) == nil)
        #expect(counter.admitStream(owner: .agent("a"), address: "x", limits: limits())?.code == "too_many_streams")
        #expect(counter.admitStream(owner: .agent("b"), address: "x", limits: limits()) == nil)
        #expect(counter.admitStream(owner: .anonymous, address: "x", limits: limits()) == nil)
        #expect(counter.admitStream(owner: .anonymous, address: "x", limits: limits()) == nil)
        #expect(counter.admitStream(owner: .anonymous, address: "x", limits: limits())?.code == "too_many_streams")
        #expect(counter.admitStream(owner: .anonymous, address: "y", limits: limits()) == nil)
        #expect(counter.admitStream(owner: .anonymous, address: "z", limits: limits()) == nil)
        #expect(counter.admitStream(owner: .anonymous, address: "w", limits: limits())?.code == "overloaded")
        counter.streamClosed(owner: .anonymous, address: "x")
        counter.streamClosed(owner: .agent("a"), address: "x")
        #expect(counter.admitStream(owner: .anonymous, address: "w", limits: limits()) == nil)
        #expect(counter.admitStream(owner: .agent("a"), address: "x", limits: limits()) == nil)
    }

    @Test("a stream's idle time counts events, not keep-alives")
    func idleness() throws {
        let stream = ResponseStream()
        stream.write("data: 1\n\n")
        Thread.sleep(forTimeInterval: 0.2)
        stream.heartbeat(": keep-alive\n\n")
        #expect(stream.secondsSinceLastEvent >= 0.2)
        stream.write("data: 2\n\n")
        #expect(stream.secondsSinceLastEvent < 0.1)
    }
}

@Suite("Strict framing (RFC 9112)")
struct FramingTests {
    func check(_ fields: [(String, String)], version: String = "HTTP/1.1", control: String? = nil) -> String? {
        Framing.violation(headers: HTTPHeaders([("Host", "x")] + fields), version: version, controlCharacterIn: control)?.code
    }

    @Test("ambiguous lengths and unknown codings are refused; plain ones pass")
    func lengths() {
        #expect(check([("Content-Length", "5")]) == nil)
        #expect(check([("Content-Length", "5"), ("Content-Length", "5")]) == nil)
        #expect(check([("Content-Length", "5, 5")]) == nil)
        #expect(check([("Content-Length", "5"), ("Content-Length", "6")]) == "invalid_content_length")
        #expect(check([("Content-Length", "-1")]) == "invalid_content_length")
        #expect(check([("Content-Length", "")]) == "invalid_content_length")
        #expect(check([("Transfer-Encoding", "chunked")]) == nil)
        #expect(check([("Transfer-Encoding", "Chunked ")]) == nil)
        #expect(check([("Transfer-Encoding", "chunked"), ("Content-Length", "5")]) == "ambiguous_length")
        #expect(check([("Transfer-Encoding", "gzip")]) == "unsupported_transfer_encoding")
        #expect(check([("Transfer-Encoding", "gzip, chunked")]) == "unsupported_transfer_encoding")
        #expect(check([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]) == "unsupported_transfer_encoding")
    }

    @Test("HTTP/1.1 needs one Host; HTTP/1.0 does not")
    func host() {
        #expect(Framing.violation(headers: HTTPHeaders(), version: "HTTP/1.1", controlCharacterIn: nil)?.code == "missing_host")
        #expect(Framing.violation(headers: HTTPHeaders(), version: "HTTP/1.0", controlCharacterIn: nil) == nil)
        #expect(check([("Host", "y")]) == "missing_host")
    }

    @Test("a control character in a field is refused")
    func control() {
        #expect(check([], control: "X-Note") == "invalid_header")
        #expect(Framing.isForbidden(0) && Framing.isForbidden(0x0D) && Framing.isForbidden(0x7F))
        #expect(!Framing.isForbidden(0x09) && !Framing.isForbidden(0x20))
    }
}

