import Foundation
import HTTPServer
import JSON
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

@Suite("Agent analytics", .serialized)
struct AnalyticsTests {
    let classifier = AgentClassifier.bundled()

    @Test("the known-agents table loads from the project's data file")
    func loads() {
        #expect(classifier.count > 150)
    }

    @Test(
        "user agents are matched on whole words to their family and category",
        arguments: [
            ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot)", "ChatGPT-User", "ai_assistant"),
            ("Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)", "GPTBot", "ai_crawler"),
            ("Mozilla/5.0 (compatible; PerplexityBot/1.0)", "PerplexityBot", "ai_search"),
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot", "search_engine"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", "browser", "browser"),
            ("curl/8.5.0", "unknown client", "unknown_client"),
        ])
    func classify(userAgent: String, family: String, category: String) {
        let found = classifier.classify(userAgent: userAgent)
        #expect(found.name == family)
        #expect(found.category == category)
    }

    @Test("a token inside another word does not match")
    func wholeWords() {
        #expect(classifier.classify(userAgent: "NotGPTBotReally/1.0").name == "unknown client")
    }

    @Test("requests are recorded, rolled up and counted by stage; identity wins over the user agent")
    func recording() throws {
        let shop = try Shop()
        let gateway = shop.gateway
        var anonymous = Request(method: "GET", path: "/agents", headers: HTTPHeaders([("User-Agent", "Claude-User/1.0")]))
        anonymous.remoteAddress = "127.0.0.1"
        _ = gateway.handle(anonymous)
        _ = gateway.handle(Request(method: "GET", path: "/catalog", headers: HTTPHeaders([("User-Agent", "Claude-User/1.0")])))
        gateway.analytics.flush()
        try gateway.database.write { _ in }  // waits for the background batch ahead of it
        let families = try gateway.database.read { db in
            try db.query("SELECT family, stage, sum(requests) FROM analytics_minutes GROUP BY family, stage ORDER BY stage")
        }
        #expect(families.contains { $0[0].string == "Claude-User" && $0[1].string == "finding" })
        #expect(families.contains { $0[0].string == "Claude-User" && $0[1].string == "evaluating" })
    }

    @Test("unknown tool names and paths add no analytics labels: they are filed under their route")
    func boundedLabels() throws {
        let shop = try Shop()
        let gateway = shop.gateway
        func mcpCall(_ tool: String) -> Request {
            let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(tool)","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
            return Request(
                method: "POST", path: "/mcp",
                headers: HTTPHeaders([
                    ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
                    ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", tool),
                ]), body: Array(body.utf8))
        }
        // Warm up: the routes these requests come by are numbered once.
        _ = gateway.handle(mcpCall("no-such-tool-warmup"))
        _ = gateway.handle(Request(method: "POST", path: "/tools/no-such-tool-warmup", body: Array("{}".utf8)))
        _ = gateway.handle(Request(method: "GET", path: "/no/such/path-warmup"))
        for i in 0..<50 {
            _ = gateway.handle(mcpCall("no-such-tool-\(i)"))
            _ = gateway.handle(Request(method: "POST", path: "/tools/no-such-tool-\(i)", body: Array("{}".utf8)))
            _ = gateway.handle(Request(method: "GET", path: "/no/such/path-\(i)"))
        }
        // (Other suites may number their own routes meanwhile: look for these names, not a count.)
        #expect(!AnalyticsLabels.shared.snapshot.routes.contains { $0.route.contains("no-such-tool-") && !$0.route.hasSuffix("warmup") })
        gateway.analytics.flush()
        try gateway.database.write { _ in }
        let routes = try gateway.database.read { db in
            try db.query("SELECT DISTINCT route FROM analytics_events WHERE route LIKE '%no-such%' OR route LIKE '/tools/%' OR route IN ('(unmatched)', '/mcp')")
        }.compactMap { $0[0].string }
        #expect(!routes.contains { $0.contains("no-such") }, "\(routes)")
        #expect(Set(routes).isSubset(of: ["/tools/{name}", "(unmatched)", "/mcp"]), "\(routes)")
    }

    @Test("a full queue drops events and counts them instead of blocking")
    func overflow() throws {
        let db = try Fixtures.temporaryStore()
        let recorder = AnalyticsRecorder(database: db, capacity: 3, flushInterval: 3600)
        for i in 0..<10 {
            recorder.record(
                AnalyticsEvent(
                    atMs: 0, remoteAddress: "v", family: "f", category: "c", stage: "finding", route: "/r\(i)", method: "GET", status: 200,
                    latencyUs: 10, bytesOut: 1))
        }
        #expect(recorder.depth == 3)
        #expect(recorder.droppedCount == 7)
        // The counters for /metrics see every request: the dropped ones and the queued ones.
        #expect(recorder.snapshot.count == 10)
        recorder.flush()
        #expect(recorder.depth == 0)
        #expect(recorder.snapshot.count == 10, "a flush moves queued events into the counters once")
    }

    @Test("under load identical requests of a second share a row; every count stays exact")
    func coalescing() throws {
        let db = try Fixtures.temporaryStore()
        let recorder = AnalyticsRecorder(database: db, capacity: 100_000, flushInterval: 3600)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var expected: [String: Int64] = [:]
        var sent = 0
        for i in 0..<3000 {
            let visitor = ["a", "b", "c"][i % 3]
            let paid = i % 500 == 0  // a purchase is never merged
            recorder.record(
                AnalyticsEvent(
                    atMs: now + Int64(i % 4) * 1000, remoteAddress: visitor, family: "f", category: "c",
                    stage: i % 2 == 0 ? "finding" : "evaluating", route: "/r", method: "GET", status: 200,
                    latencyUs: 100 + Int64(i % 7), bytesOut: 10, amount: paid ? 2500 : nil, currency: paid ? "USD" : nil))
            expected["f@\(visitor)", default: 0] += 1
            sent += 1
        }
        recorder.flush()
        try db.write { _ in }
        let rows = try db.read { try $0.queryOne("SELECT count(*), sum(requests), sum(bytes_out) FROM analytics_events")! }
        #expect(rows[1].int == Int64(sent))
        #expect(rows[2].int == Int64(sent) * 10)
        #expect((rows[0].int ?? 0) < 100, "3,000 requests in 4 seconds from 3 visitors make few rows")
        #expect(try db.read { try $0.queryOne("SELECT count(*) FROM analytics_events WHERE amount IS NOT NULL")![0].int } == 6)
        let queries = AnalyticsQueries(database: db)
        let top = try queries.topAgents(AnalyticsQueries.Range(fromMs: now - 60_000, toMs: now + 60_000), limit: 10)
        let counted = Dictionary(
            uniqueKeysWithValues: (top["agents"]?.arrayValue ?? []).map { ($0["visitor"]!.stringValue!, $0["requests"]!.intValue!) })
        #expect(counted == expected)
        // Below the threshold every request is its own row, as the live feed shows them.
        let quiet = AnalyticsRecorder(database: db, capacity: 100, flushInterval: 3600)
        for _ in 0..<5 {
            quiet.record(
                AnalyticsEvent(
                    atMs: now, remoteAddress: "q", family: "f", category: "c", stage: "finding", route: "/q", method: "GET", status: 200,
                    latencyUs: 1, bytesOut: 1))
        }
        quiet.flush()
        try db.write { _ in }
        #expect(try db.read { try $0.queryOne("SELECT count(*), sum(requests) FROM analytics_events WHERE visitor = 'f@q'")! }.values == [.integer(5), .integer(5)])
    }

    @Test("events recorded by many threads are counted exactly once: rows, per-minute rollups and /metrics")
    func manyThreads() throws {
        let db = try Fixtures.temporaryStore()
        let recorder = AnalyticsRecorder(database: db, capacity: 1_000_000, flushInterval: 3600)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let threads = 6, perThread = 2_000
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                // Runs of identical requests broken by others, as real traffic is.
                let route = i % 10 < 7 ? "/a" : "/b\(i % 3)"
                recorder.record(
                    AnalyticsEvent(
                        atMs: now + Int64(i % 3) * 1000, remoteAddress: "10.0.0.\(t)", family: "f", category: "c",
                        stage: i % 50 == 0 ? "evaluating" : "finding", route: route, method: "GET", status: i % 97 == 0 ? 500 : 200,
                        latencyUs: Int64(i % 13) * 100, bytesOut: 3))
            }
        }
        let sent = Int64(threads * perThread)
        #expect(recorder.snapshot.count == sent)
        recorder.flush()
        try db.write { _ in }
        let events = try db.read { try $0.queryOne("SELECT sum(requests), sum(bytes_out), sum(latency_us * requests) FROM analytics_events")! }
        let minutes = try db.read {
            try $0.queryOne("SELECT sum(requests), sum(bytes_out), sum(latency_sum), sum(\((0..<AnalyticsRecorder.bucketBounds.count).map { "h\($0)" }.joined(separator: " + "))) FROM analytics_minutes")!
        }
        let latencyTotal = Int64(threads) * (0..<perThread).reduce(Int64(0)) { $0 + Int64($1 % 13) * 100 }
        #expect(events[0].int == sent && events[1].int == sent * 3)
        #expect(minutes.values == [.integer(sent), .integer(sent * 3), .integer(latencyTotal), .integer(sent)])
        // Coalesced rows keep their mean latency (rounded down): the sum over rows is short by
        // less than a microsecond per request.
        #expect((events[2].int ?? 0) <= latencyTotal && latencyTotal - (events[2].int ?? 0) < sent)
        let errors = try db.read { try $0.queryOne("SELECT sum(requests) FROM analytics_minutes WHERE status = 500")![0].int }
        #expect(errors == Int64(threads) * Int64((0..<perThread).filter { $0 % 97 == 0 }.count))
        let snapshot = recorder.snapshot
        #expect(snapshot.count == sent && snapshot.buckets.reduce(0, +) == sent)
        #expect(snapshot.requests.values.reduce(0, +) == sent)
        #expect(snapshot.requests[.init(stage: "finding", statusClass: 5, verification: "claimed")] != nil)
    }

    @Test("labels first seen while a flush runs are known to it: nothing is lost or miscounted")
    func labelsDuringFlush() throws {
        let db = try Fixtures.temporaryStore()
        let recorder = AnalyticsRecorder(database: db, capacity: 1_000_000, flushInterval: 3600)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let unique = UUID().uuidString.prefix(8)
        let sent = 3_000
        final class Done: @unchecked Sendable {
            let lock = NSLock()
            var value = false
        }
        let done = Done()
        let writer = Thread {
            for i in 0..<sent {
                // Every event has a route never seen before, numbered as it is recorded.
                recorder.record(
                    AnalyticsEvent(
                        atMs: now, remoteAddress: "10.1.1.1", family: "f-\(unique)", category: "c", stage: "finding",
                        route: "/fresh-\(unique)-\(i)", method: "GET", status: 200, latencyUs: 5, bytesOut: 1))
            }
            done.lock.withLock { done.value = true }
        }
        writer.start()
        var flushes = 0
        while !done.lock.withLock({ done.value }) {
            recorder.flush()
            _ = recorder.snapshot
            flushes += 1
        }
        #expect(flushes > 1, "flushed while events were being recorded")
        recorder.flush()
        try db.write { _ in }
        let rows = try db.read {
            try $0.queryOne("SELECT sum(requests), count(DISTINCT route) FROM analytics_events WHERE family = ?", [.text("f-\(unique)")])!
        }
        #expect(rows.values == [.integer(Int64(sent)), .integer(Int64(sent))])
        #expect(recorder.snapshot.count >= Int64(sent))
    }

    @Test("percentiles come from the latency histogram")
    func percentiles() {
        var counts = [Int64](repeating: 0, count: AnalyticsRecorder.bucketBounds.count)
        counts[2] = 50  // ≤ 500 µs
        counts[5] = 45  // ≤ 5 ms
        counts[9] = 5  // ≤ 100 ms
        let p = AnalyticsQueries.percentiles(counts)
        #expect(p["p50_us"] == 500)
        #expect(p["p95_us"] == 5000)
        #expect(p["p99_us"] == 100_000)
    }
}
