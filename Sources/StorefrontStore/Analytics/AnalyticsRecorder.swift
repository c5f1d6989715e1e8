import Foundation
import JSON
import StorefrontDomain
import Synchronization
import Store

/// The labels analytics files requests under (client families; routes with their journey stage),
/// numbered once per process. Events carry the numbers: recording one copies no shared string,
/// whose reference count every server thread would otherwise touch (and fight over) per request.
package final class AnalyticsLabels: @unchecked Sendable {
    package static let shared = AnalyticsLabels()

    package struct Route: Hashable, Sendable {
        var route: String
        var stage: String

        package init(route: String, stage: String) {
            self.route = route
            self.stage = stage
        }
    }

    /// Every label so far, by number.
    struct Table: Sendable {
        var families: [AgentClassifier.Family] = []
        var routes: [Route] = []
    }

    private let families = Numbering<AgentClassifier.Family>()
    private let routes = Numbering<Route>()

    package func id(_ family: AgentClassifier.Family) -> Int32 { families.id(family) }
    package func id(_ route: Route) -> Int32 { routes.id(route) }

    var snapshot: Table { Table(families: families.all, routes: routes.all) }

    /// Values numbered in the order first seen; numbers are never reused.
    private final class Numbering<Value: Hashable & Sendable>: @unchecked Sendable {
        private let lock = ReadWriteLock()
        private var values: [Value] = []
        private var ids: [Value: Int32] = [:]

        func id(_ value: Value) -> Int32 {
            if let id = lock.read({ ids[value] }) { return id }
            return lock.write {
                if let id = ids[value] { return id }
                let id = Int32(values.count)
                values.append(value)
                ids[value] = id
                return id
            }
        }

        var all: [Value] { lock.read { values } }
    }
}

/// What the access policy did to a request, as analytics files it.
package enum PolicyOutcome: String, Sendable, Hashable {
    case none
    /// A fetch of a path robots.txt disallows for the agent (refused with 403 when the policy blocks).
    case disallowed
    /// Refused: the policy wants proof of who it is.
    case verificationRequired = "verification_required"
    /// Refused: the policy charges and the request offered no (or too low a) price.
    case paymentRequired = "payment_required"
    /// Served for the policy's price.
    case charged
}

/// The day (`2026-12-07`) of a day number since the epoch.
func isoDay(_ day: Int64) -> String { String(isoTime(day * 86_400).prefix(10)) }

/// One request as analytics sees it.
package struct AnalyticsEvent: Sendable {
    var atMs: Int64
    /// The client's address: an unregistered visitor is its family at this address.
    var remoteAddress: String
    var agentID: String?
    var principal: String?
    /// The client's family and the route with its stage, numbered by ``AnalyticsLabels``.
    var familyID: Int32
    var routeID: Int32
    var method: String
    var status: Int
    var latencyUs: Int64
    var bytesOut: Int64
    var amount: Int64?
    var currency: String?
    var referral: String?
    /// What the access policy did to the request (``PolicyOutcome``), and a charged request's price.
    package var outcome: PolicyOutcome = .none
    package var charged: Money?

    package init(
        atMs: Int64, remoteAddress: String, agentID: String? = nil, principal: String? = nil, familyID: Int32, routeID: Int32,
        method: String, status: Int, latencyUs: Int64, bytesOut: Int64, amount: Int64? = nil, currency: String? = nil,
        referral: String? = nil, outcome: PolicyOutcome = .none, charged: Money? = nil
    ) {
        self.outcome = outcome
        self.charged = charged
        self.atMs = atMs
        self.remoteAddress = remoteAddress
        self.agentID = agentID
        self.principal = principal
        self.familyID = familyID
        self.routeID = routeID
        self.method = method
        self.status = status
        self.latencyUs = latencyUs
        self.bytesOut = bytesOut
        self.amount = amount
        self.currency = currency
        self.referral = referral
    }

    /// An event with its labels spelled out (numbered here).
    init(
        atMs: Int64, remoteAddress: String, agentID: String? = nil, principal: String? = nil, family: String,
        operatorName: String? = nil, category: String, stage: String, route: String, method: String, status: Int,
        latencyUs: Int64, bytesOut: Int64, amount: Int64? = nil, currency: String? = nil, referral: String? = nil
    ) {
        self.init(
            atMs: atMs, remoteAddress: remoteAddress, agentID: agentID, principal: principal,
            familyID: AnalyticsLabels.shared.id(AgentClassifier.Family(name: family, operatorName: operatorName, category: category)),
            routeID: AnalyticsLabels.shared.id(AnalyticsLabels.Route(route: route, stage: stage)), method: method,
            status: status, latencyUs: latencyUs, bytesOut: bytesOut, amount: amount, currency: currency, referral: referral)
    }

    /// Who made the request: the registered agent, else the client's family at its address.
    func visitor(_ labels: AnalyticsLabels.Table) -> String {
        agentID ?? "\(labels.families[Int(familyID)].name)@\(remoteAddress)"
    }

    /// The same caller, route and outcome (everything but when, how long and how many bytes).
    /// Consecutive events of one thread usually are: the flush counts such runs without hashing.
    func sameRequest(as other: AnalyticsEvent) -> Bool {
        status == other.status && routeID == other.routeID && familyID == other.familyID
            && remoteAddress == other.remoteAddress && agentID == other.agentID && method == other.method
            && principal == other.principal && amount == other.amount && currency == other.currency
            && referral == other.referral && outcome == other.outcome
    }
}

/// Records every request off the request path: events wait in a bounded in-memory queue and
/// the store's writer commits them in batches at background priority, with per-minute
/// rollups (counts, bytes, revenue and a latency histogram) so dashboard queries stay fast.
/// When the queue is full, events are dropped and counted — a request never waits for
/// analytics.
public final class AnalyticsRecorder: @unchecked Sendable {
    /// Upper bounds of the latency histogram's buckets, in microseconds (the last is open).
    public static let bucketBounds: [Int64] = [
        100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
        Int64.max,
    ]

    let database: Database
    public var enabled = true
    public let capacity: Int
    /// The queue, in shards: each thread appends to the shard of its ordinal, so server threads
    /// never wait on each other's lock (only on the flush, once a second, for a swap).
    private final class Shard: @unchecked Sendable {
        let lock = NSLock()
        var events: [AnalyticsEvent] = []
    }
    private let shards: [Shard] = (0..<16).map { _ in Shard() }
    /// Events waiting in all shards, against `capacity`.
    private let queued = Atomic<Int>(0)
    /// Guards the counters and the drop count; a flush drains the shards under it.
    private let lock = NSLock()
    private var dropped: Int64 = 0
    private var timer: DispatchSourceTimer?
    /// In-process counters for /metrics.
    private(set) var counters = MetricsCounters()
    /// Told of every flushed request (its stage, status, verified or claimed, latency), off the
    /// request path: an exporter of metrics (OpenTelemetry) counts them as /metrics does.
    package var observer: (@Sendable ([ObservedRequest]) -> Void)? {
        get { lock.withLock { observing } }
        set { lock.withLock { observing = newValue } }
    }
    private var observing: (@Sendable ([ObservedRequest]) -> Void)?

    /// One request as a metrics exporter sees it.
    package struct ObservedRequest: Sendable {
        package var stage: String
        package var statusClass: Int
        package var verification: String
        package var latencyUs: Int64
    }

    package init(database: Database, capacity: Int = 50_000, flushInterval: Double = 0.2) {
        self.database = database
        self.capacity = capacity
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "analytics-flush"))
        timer.schedule(deadline: .now() + flushInterval, repeating: flushInterval)
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
        self.timer = timer
    }

    /// Queues one request; the counters for /metrics take queued events when they are flushed
    /// (or read), so the request path only appends.
    package func record(_ event: AnalyticsEvent) {
        guard enabled else { return }
        if queued.add(1, ordering: .relaxed).newValue > capacity {
            queued.subtract(1, ordering: .relaxed)
            let labels = AnalyticsLabels.shared.snapshot
            lock.withLock {
                counters.count([event], labels)
                dropped += 1
            }
            return
        }
        let shard = shards[ThreadOrdinal.current % shards.count]
        shard.lock.withLock { shard.events.append(event) }
    }

    public var depth: Int { shards.reduce(0) { n, shard in n + shard.lock.withLock { shard.events.count } } }
    public var droppedCount: Int64 { lock.withLock { dropped } }

    /// Takes every queued event, shard by shard (each in the order its thread recorded them),
    /// counting them for /metrics, with the labels their numbers stand for (read after the events
    /// were taken, so every number in them is known).
    private func drain() -> (batches: [[AnalyticsEvent]], labels: AnalyticsLabels.Table) {
        lock.withLock {
            var batches: [[AnalyticsEvent]] = []
            for shard in shards {
                let events = shard.lock.withLock {
                    defer { shard.events.removeAll(keepingCapacity: true) }
                    return shard.events
                }
                guard !events.isEmpty else { continue }
                queued.subtract(events.count, ordering: .relaxed)
                batches.append(events)
            }
            let labels = AnalyticsLabels.shared.snapshot
            for events in batches { counters.count(events, labels) }
            return (batches, labels)
        }
    }

    /// Every request recorded so far, queued ones included.
    package var snapshot: MetricsCounters {
        lock.withLock {
            let queued = shards.map { shard in shard.lock.withLock { shard.events } }
            let labels = AnalyticsLabels.shared.snapshot
            var c = counters
            for events in queued { c.count(events, labels) }
            return c
        }
    }

    static let chunk = 64
    static func insert(rows: Int) -> String {
        """
        INSERT INTO analytics_events (at_ms, minute, visitor, agent_id, principal, family, operator, category, stage, route,
            method, status, latency_us, bytes_out, amount, currency, referral_code, requests, verification)
        VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", "))
        """
    }

    /// A flush with more events than this coalesces identical ones (see ``coalesced(_:)``).
    var coalesceAbove = 1000

    /// One row per event, or under load one row per group of identical requests in the same
    /// second: same visitor, agent, family, stage, route, method and status, no money. Every
    /// count and every distinct visitor stays exact; the rows are just fewer (a row per request
    /// at thousands a second is a write the store cannot afford, and no one reads them one by one).
    static func coalesced(_ batches: [[AnalyticsEvent]]) -> [(event: AnalyticsEvent, requests: Int64)] {
        struct Key: Hashable {
            let second: Int64, remoteAddress: String, agentID: String?, principal: String?, familyID: Int32, routeID: Int32
            let method: String, status: Int
        }
        var rows: [(event: AnalyticsEvent, requests: Int64)] = []
        var groups: [Key: Int] = [:]
        var latencies: [Int64] = []
        for batch in batches {
            var last = -1  // the row of the previous event, when it could be grouped
            for e in batch {
                guard e.amount == nil && e.referral == nil && e.outcome == .none else {
                    rows.append((e, 1))
                    latencies.append(e.latencyUs)
                    last = -1
                    continue
                }
                var index: Int
                if last >= 0, rows[last].event.atMs / 1000 == e.atMs / 1000, rows[last].event.sameRequest(as: e) {
                    index = last
                } else {
                    let key = Key(
                        second: e.atMs / 1000, remoteAddress: e.remoteAddress, agentID: e.agentID, principal: e.principal,
                        familyID: e.familyID, routeID: e.routeID, method: e.method, status: e.status)
                    if let found = groups[key] {
                        index = found
                    } else {
                        index = rows.count
                        groups[key] = index
                        rows.append((e, 0))
                        rows[index].event.bytesOut = 0
                        latencies.append(0)
                    }
                }
                rows[index].requests += 1
                rows[index].event.bytesOut += e.bytesOut
                latencies[index] += e.latencyUs
                last = index
            }
        }
        for i in rows.indices { rows[i].event.latencyUs = latencies[i] / rows[i].requests }
        return rows
    }
    static let chunkInsert = insert(rows: chunk)

    static func bucket(_ latencyUs: Int64) -> Int { bucketBounds.firstIndex { latencyUs <= $0 } ?? bucketBounds.count - 1 }

    /// Commits what is queued (also called on stop).
    public func flush() {
        let (batches, labels) = drain()
        guard !batches.isEmpty else { return }
        if let observer {
            observer(batches.joined().map { e in
                ObservedRequest(
                    stage: labels.routes[Int(e.routeID)].stage, statusClass: e.status / 100,
                    verification: labels.families[Int(e.familyID)].verification, latencyUs: e.latencyUs)
            })
        }
        // Keyed by numbers; two families differing only in operator share a row of the table
        // (its upsert adds them up).
        struct Key: Hashable { let minute: Int64, familyID: Int32, routeID: Int32, status: Int }
        // Labels are numbers now, so a key costs little to hash: one lookup per event.
        typealias Rollup = (requests: Int64, latency: Int64, bytes: Int64, revenue: Int64, buckets: [Int64])
        func add(_ e: AnalyticsEvent, to r: inout Rollup) {
            r.requests += 1
            r.latency += e.latencyUs
            r.bytes += e.bytesOut
            r.revenue = MoneyMath.saturatingAdd(r.revenue, e.amount ?? 0)
            r.buckets[Self.bucket(e.latencyUs)] += 1
        }
        let empty: Rollup = (0, 0, 0, 0, Array(repeating: 0, count: Self.bucketBounds.count))
        var rollups: [Key: Rollup] = [:]
        for e in batches.joined() {
            add(e, to: &rollups[Key(minute: e.atMs / 60_000, familyID: e.familyID, routeID: e.routeID, status: e.status), default: empty])
        }
        let bucketColumns = (0..<Self.bucketBounds.count).map { "h\($0)" }
        let upsert = """
            INSERT INTO analytics_minutes (minute, family, category, stage, route, status, verification, requests, latency_sum, bytes_out, revenue, \(bucketColumns.joined(separator: ", ")))
            VALUES (\(Array(repeating: "?", count: 11 + bucketColumns.count).joined(separator: ", ")))
            ON CONFLICT (minute, family, category, stage, route, status, verification) DO UPDATE SET
            requests = analytics_minutes.requests + excluded.requests, latency_sum = analytics_minutes.latency_sum + excluded.latency_sum,
            bytes_out = analytics_minutes.bytes_out + excluded.bytes_out, revenue = analytics_minutes.revenue + excluded.revenue,
            \(bucketColumns.map { "\($0) = analytics_minutes.\($0) + excluded.\($0)" }.joined(separator: ", "))
            """
        let total = batches.reduce(0) { $0 + $1.count }
        // Rows in time order across threads (each thread's are already).
        var rows = total > coalesceAbove ? Self.coalesced(batches) : batches.joined().map { ($0, Int64(1)) }
        if batches.count > 1 { rows.sort { $0.event.atMs < $1.event.atMs } }
        // Each row's visitor, named once: written with the row and, once per minute and stage,
        // to analytics_visitors.
        let names = rows.map { $0.event.visitor(labels) }
        struct Visit: Hashable { let minute: Int64, stage: String, visitor: String, agentID: String? }
        var visits = Set<Visit>()
        for ((e, _), name) in zip(rows, names) {
            visits.insert(Visit(minute: e.atMs / 60_000, stage: labels.routes[Int(e.routeID)].stage, visitor: name, agentID: e.agentID))
        }
        let visitors = Array(visits)
        // What the access policy did, per day, family and outcome.
        struct OutcomeKey: Hashable { let day: Int64, familyID: Int32, outcome: PolicyOutcome, currency: String }
        var outcomes: [OutcomeKey: (requests: Int64, amount: Int64)] = [:]
        for e in batches.joined() where e.outcome != .none {
            let key = OutcomeKey(day: e.atMs / 86_400_000, familyID: e.familyID, outcome: e.outcome, currency: e.charged?.currency ?? "")
            outcomes[key, default: (0, 0)].requests += 1
            outcomes[key, default: (0, 0)].amount = MoneyMath.saturatingAdd(outcomes[key, default: (0, 0)].amount, e.charged?.amount ?? 0)
        }
        database.write(priority: .background, { db in
            // Many rows per statement: one step inserts a chunk of events.
            for start in stride(from: 0, to: rows.count, by: Self.chunk) {
                let end = min(rows.count, start + Self.chunk)
                let sql = end - start == Self.chunk ? Self.chunkInsert : Self.insert(rows: end - start)
                var values: [SQLValue] = []
                values.reserveCapacity((end - start) * 19)
                for i in start..<end {
                    let (e, requests) = rows[i]
                    let family = labels.families[Int(e.familyID)], route = labels.routes[Int(e.routeID)]
                    values += [
                        .integer(e.atMs), .integer(e.atMs / 60_000), .text(names[i]), SQLValue(e.agentID),
                        SQLValue(e.principal), .text(family.name), SQLValue(family.operatorName), .text(family.category),
                        .text(route.stage), .text(route.route), .text(e.method),
                        SQLValue(e.status), .integer(e.latencyUs), .integer(e.bytesOut), e.amount.map(SQLValue.integer) ?? .null,
                        SQLValue(e.currency), SQLValue(e.referral), .integer(requests), .text(family.verification),
                    ]
                }
                try db.run(sql, values)
            }
            for start in stride(from: 0, to: visitors.count, by: Self.chunk) {
                let chunk = visitors[start..<min(visitors.count, start + Self.chunk)]
                try db.run(
                    "INSERT INTO analytics_visitors (minute, stage, visitor, agent_id) VALUES "
                        + Array(repeating: "(?, ?, ?, ?)", count: chunk.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING",
                    chunk.flatMap { [.integer($0.minute), .text($0.stage), .text($0.visitor), SQLValue($0.agentID)] })
            }
            for (k, r) in rollups {
                let family = labels.families[Int(k.familyID)], route = labels.routes[Int(k.routeID)]
                try db.run(
                    upsert,
                    [.integer(k.minute), .text(family.name), .text(family.category), .text(route.stage), .text(route.route),
                     SQLValue(k.status), .text(family.verification),
                     .integer(r.requests), .integer(r.latency), .integer(r.bytes), .integer(r.revenue)] + r.buckets.map(SQLValue.integer))
            }
            for (k, o) in outcomes {
                let family = labels.families[Int(k.familyID)]
                try db.run(
                    """
                    INSERT INTO policy_outcomes (day, family, operator, verification, outcome, requests, amount, currency)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (day, family, verification, outcome, currency) DO UPDATE SET
                    requests = policy_outcomes.requests + excluded.requests, amount = policy_outcomes.amount + excluded.amount
                    """,
                    [.text(isoDay(k.day)), .text(family.name), .text(family.operatorName ?? ""), .text(family.verification),
                     .text(k.outcome.rawValue), .integer(o.requests), .integer(o.amount), .text(k.currency)])
            }
        }, completion: { _ in })
    }

    public func stop() {
        timer?.cancel()
        flush()
    }
}

/// Counters since the process started, for Prometheus.
package struct MetricsCounters: Sendable {
    package struct RequestKey: Hashable, Comparable {
        package var stage: String
        package var statusClass: Int  // 2 for 2xx, …
        /// `verified` or `claimed` (two values: the label's cardinality stays bounded).
        package var verification: String

        package static func < (a: RequestKey, b: RequestKey) -> Bool {
            (a.stage, a.statusClass, a.verification) < (b.stage, b.statusClass, b.verification)
        }
    }

    package var requests: [RequestKey: Int64] = [:]
    package var buckets = [Int64](repeating: 0, count: AnalyticsRecorder.bucketBounds.count)
    package var latencySum: Int64 = 0
    package var count: Int64 = 0

    /// Counts events; consecutive ones of the same route and status class cost no lookup.
    mutating func count(_ events: [AnalyticsEvent], _ labels: AnalyticsLabels.Table) {
        var i = 0
        while i < events.count {
            let first = events[i]
            var j = i + 1
            while j < events.count && events[j].status / 100 == first.status / 100 && events[j].routeID == first.routeID
                && events[j].familyID == first.familyID
            { j += 1 }
            let stage = labels.routes[Int(first.routeID)].stage
            let verification = labels.families[Int(first.familyID)].verification
            requests[RequestKey(stage: stage, statusClass: first.status / 100, verification: verification), default: 0] += Int64(j - i)
            for e in events[i..<j] { countMeasures(e) }
            i = j
        }
    }

    private mutating func countMeasures(_ e: AnalyticsEvent) {
        buckets[AnalyticsRecorder.bucket(e.latencyUs)] += 1
        latencySum += e.latencyUs
        count += 1
    }
}
