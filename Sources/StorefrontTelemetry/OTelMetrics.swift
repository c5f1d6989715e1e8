import CoreMetrics
import Foundation
import OTel
import StorefrontHTTP
import StorefrontStore

/// The gateway's metrics exported over OpenTelemetry's protocol (OTLP/HTTP, protobuf) beside
/// `/metrics`, by swift-otel: requests by journey stage, status class and whether the caller was
/// verified or only claimed who it is; request latency as a histogram; orders, revenue and refunds
/// from the store; the analytics queue and what it dropped. Requests are counted as analytics
/// flushes them (off the request path); the store's figures are read once per export interval.
public final class OTelMetricsExport: Sendable {
    public struct Settings: Sendable {
        /// Where the collector takes metrics (`http://collector:4318/v1/metrics`).
        public var endpoint: String
        /// Seconds between exports.
        public var interval: Double = 10
        /// Extra headers for the collector (`Authorization`, say).
        public var headers: [(String, String)] = []

        public init(endpoint: String) { self.endpoint = endpoint }
    }

    private let task: Task<Void, Never>

    /// Starts exporting the gateway's metrics until ``stop()``.
    public init(gateway: Gateway, settings: Settings) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "storefront"
        configuration.resourceAttributes = [
            "service.version": gateway.configuration.version, "storefront.store": gateway.manifests.storeID,
            "storefront.public_url": gateway.configuration.publicURL,
        ]
        configuration.traces.enabled = false
        configuration.logs.enabled = false
        configuration.metrics.enabled = true
        configuration.metrics.exporter = .otlp
        configuration.metrics.exportInterval = .milliseconds(Int64(settings.interval * 1000))
        configuration.metrics.otlpExporter.endpoint = settings.endpoint
        configuration.metrics.otlpExporter.protocol = .httpProtobuf
        configuration.metrics.otlpExporter.headers = settings.headers
        configuration.metrics.defaultDurationHistogramBuckets = AnalyticsRecorder.bucketBounds.dropLast().map { .microseconds($0) }
        let (factory, service) = try OTel.makeMetricsBackend(configuration: configuration)
        let counters = RequestCounters(factory: factory)
        gateway.analytics.observer = { requests in counters.count(requests) }
        let store = StoreFigures(factory: factory, gateway: gateway)
        let interval = settings.interval
        task = Task.detached {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await service.run() }
                group.addTask {
                    while !Task.isCancelled {
                        store.read()
                        try? await Task.sleep(for: .milliseconds(Int64(interval * 500)))
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    public func stop() { task.cancel() }
}

/// Requests counted by stage, status class and verification, and their latency.
private final class RequestCounters: @unchecked Sendable {
    struct Key: Hashable {
        let stage: String
        let statusClass: Int
        let verification: String
    }

    private let factory: any MetricsFactory
    private let lock = NSLock()
    private var counters: [Key: Counter] = [:]
    private let latency: CoreMetrics.Timer

    init(factory: any MetricsFactory) {
        self.factory = factory
        latency = CoreMetrics.Timer(label: "storefront.request.duration", dimensions: [], factory: factory)
    }

    func count(_ requests: [AnalyticsRecorder.ObservedRequest]) {
        lock.withLock {
            for request in requests {
                let key = Key(stage: request.stage, statusClass: request.statusClass, verification: request.verification)
                let counter = counters[key] ?? {
                    let made = Counter(
                        label: "storefront.requests",
                        dimensions: [("stage", key.stage), ("status", "\(key.statusClass)xx"), ("verification", key.verification)],
                        factory: factory)
                    counters[key] = made
                    return made
                }()
                counter.increment()
                latency.recordMicroseconds(request.latencyUs)
            }
        }
    }
}

/// The store's own figures (every node reports the same), as counters that grow by what changed.
private final class StoreFigures: @unchecked Sendable {
    private let gateway: Gateway
    private let orders: Counter
    private let revenue: Counter
    private let refunded: Counter
    private let dropped: Counter
    private let queueDepth: Gauge
    private let lock = NSLock()
    private var last = (orders: Int64(0), revenue: Int64(0), refunded: Int64(0), dropped: Int64(0))

    init(factory: any MetricsFactory, gateway: Gateway) {
        self.gateway = gateway
        let currency = [("currency", gateway.manifests.currency)]
        orders = Counter(label: "storefront.orders", dimensions: [], factory: factory)
        revenue = Counter(label: "storefront.revenue.minor_units", dimensions: currency, factory: factory)
        refunded = Counter(label: "storefront.refunded.minor_units", dimensions: currency, factory: factory)
        dropped = Counter(label: "storefront.analytics.dropped_events", dimensions: [], factory: factory)
        queueDepth = Gauge(label: "storefront.analytics.queue_depth", dimensions: [], factory: factory)
    }

    func read() {
        let sales = gateway.salesFigures
        let droppedNow = gateway.analytics.droppedCount
        lock.withLock {
            if sales.orders > last.orders { orders.increment(by: sales.orders - last.orders) }
            if sales.revenue > last.revenue { revenue.increment(by: sales.revenue - last.revenue) }
            if sales.refunded > last.refunded { refunded.increment(by: sales.refunded - last.refunded) }
            if droppedNow > last.dropped { dropped.increment(by: droppedNow - last.dropped) }
            last = (max(last.orders, sales.orders), max(last.revenue, sales.revenue), max(last.refunded, sales.refunded), max(last.dropped, droppedNow))
        }
        queueDepth.record(gateway.analytics.depth)
    }
}
