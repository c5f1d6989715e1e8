import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

extension Gateway {
    func addAnalyticsRoutes(to router: inout Router) {
        let prefix = "/admin/api/analytics"
        let queries = AnalyticsQueries(database: database, currency: manifests.currency)
        /// Answers a table as JSON, or as CSV with `?format=csv` (`table` names the rows).
        @Sendable func answer(_ request: Request, table: String, _ work: (AnalyticsQueries.Range) throws -> JSON) -> Response {
            do {
                let range = try AnalyticsQueries.range(
                    from: request.query("from"), to: request.query("to"), verification: request.query("verification"))
                let result = try work(range)
                if request.query("format") == "csv" {
                    var response = Response.text(
                        AnalyticsQueries.csv(result[table]?.arrayValue ?? [result]), contentType: "text/csv; charset=utf-8")
                    response.headers.add("Content-Disposition", "attachment; filename=\"\(table).csv\"")
                    return response
                }
                return jsonResponse(result)
            } catch let error as APIError {
                return error.response
            } catch {
                return Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Retry.")
            }
        }
        router.get(prefix + "/summary", adminOnly { [unowned self] request in
            answer(request, table: "summary") { try queries.summary($0, recorder: analytics) }
        })
        router.get(prefix + "/timeseries", adminOnly { request in
            let bucket = Int64(request.query("bucket_minutes") ?? "") ?? 60
            return answer(request, table: "points") {
                try queries.timeseries($0, by: request.query("by") ?? "family", bucketMinutes: max(1, min(bucket, 10_080)))
            }
        })
        router.get(prefix + "/funnel", adminOnly { request in answer(request, table: "stages") { try queries.funnel($0) } })
        let publicURL = configuration.publicURL
        router.get(prefix + "/gaps", adminOnly { request in answer(request, table: "stages") { try queries.gaps($0, target: publicURL) } })
        router.get(prefix + "/top-agents", adminOnly { request in
            answer(request, table: "agents") { try queries.topAgents($0, limit: min(100, Int(request.query("limit") ?? "") ?? 10)) }
        })
        router.get(prefix + "/actions", adminOnly { request in answer(request, table: "actions") { try queries.actions($0) } })
        router.get(prefix + "/revenue", adminOnly { request in
            answer(request, table: "rows") { try queries.revenue($0, by: request.query("by") ?? "agent") }
        })
        router.get(prefix + "/status-codes", adminOnly { request in
            answer(request, table: "statuses") { try queries.statusCodes($0) }
        })
        router.get(prefix + "/live", adminOnly { [unowned self] request in
            liveFeed(after: request.headers["Last-Event-ID"].flatMap { Int64($0) })
        })
        router.get("/metrics") { [unowned self] request in
            guard metricsAllowed(request) else {
                return Response.error(
                    status: 401, type: "authentication_error", code: "metrics_token_required",
                    message: "/metrics needs Authorization: Bearer <metrics token> (serve --metrics-token-file) or the admin token.",
                    headers: [("WWW-Authenticate", "Bearer realm=\"storefront-metrics\"")])
            }
            return Response.text(prometheusText(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        if let chartDirectory = configuration.chartJSDirectory {
            let files = StaticFiles(root: chartDirectory)
            router.get("/vendor/chart.js/{path...}") { request in
                files.serve(request.pathParameters["path"] ?? "", request: request, cacheControl: "public, max-age=86400")
            }
        }
    }

    /// How many of the latest agent events a new live-feed stream starts with, so the merchant
    /// sees the recent past at once rather than an empty panel.
    static let liveFeedBacklog = 20

    /// Agent activity as it is recorded (Server-Sent Events): each request an event (under load,
    /// identical requests of one second are one event with their count in `requests`): the latest
    /// `liveFeedBacklog` events first, then each new one as it comes (or everything after
    /// `Last-Event-ID` when a client resumes).
    func liveFeed(after: Int64?) -> Response {
        let database = self.database
        // The id just before the backlog's oldest event (0 when there are fewer events than that).
        let start = after ?? (try? LiveFeedRows.idBeforeLatest(Self.liveFeedBacklog, in: database)) ?? 0
        let tail = SSETail(after: start, feed: liveChanges, topic: "") { cursor in
            try LiveFeedRows.events(after: cursor, in: database).map { event in
                (event.id, "id: \(event.id)\nevent: request\ndata: \(event.json.compactString)\n\n")
            }
        }
        tail.stream.owner = .merchant
        tail.start()
        return Response(
            status: 200, headers: HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]),
            body: .stream(tail.stream))
    }

    /// Orders, revenue and refunds as the store holds them (every node reads the same).
    package var salesFigures: SalesFigures { (try? database.reading { try SalesFigures.read($0) }) ?? SalesFigures() }

    /// Prometheus text exposition of this process's counters.
    func prometheusText() -> String {
        let c = analytics.snapshot
        var lines: [String] = []
        lines.append("# HELP storefront_requests_total Requests by journey stage, status class, and whether the caller proved who it is (verified) or only claimed it.")
        lines.append("# TYPE storefront_requests_total counter")
        for (key, value) in c.requests.sorted(by: { $0.key < $1.key }) {
            lines.append("storefront_requests_total{stage=\"\(key.stage)\",status=\"\(key.statusClass)xx\",verification=\"\(key.verification)\"} \(value)")
        }
        lines.append("# HELP storefront_request_duration_seconds Time to answer a request.")
        lines.append("# TYPE storefront_request_duration_seconds histogram")
        var cumulative: Int64 = 0
        for (i, bound) in AnalyticsRecorder.bucketBounds.enumerated() {
            cumulative += c.buckets[i]
            let le = bound == Int64.max ? "+Inf" : JSON.ecmaScriptString(Double(bound) / 1_000_000)
            lines.append("storefront_request_duration_seconds_bucket{le=\"\(le)\"} \(cumulative)")
        }
        lines.append("storefront_request_duration_seconds_sum \(JSON.ecmaScriptString(Double(c.latencySum) / 1_000_000))")
        lines.append("storefront_request_duration_seconds_count \(c.count)")
        // From the store, like the analytics API: every process on the store reports the same
        // figures, an idempotent replay is no second order, and approvals from any process count.
        let sales = salesFigures
        let currency = manifests.currency
        lines.append("# HELP storefront_orders_total Orders paid from wallets (each once, replays not counted).")
        lines.append("# TYPE storefront_orders_total counter")
        lines.append("storefront_orders_total \(sales.orders)")
        lines.append("# HELP storefront_revenue_minor_units_total Order totals (gross), in minor units.")
        lines.append("# TYPE storefront_revenue_minor_units_total counter")
        lines.append("storefront_revenue_minor_units_total{currency=\"\(currency)\"} \(sales.revenue)")
        lines.append("# HELP storefront_refunded_minor_units_total Paid back on orders (cancellations and refunds), in minor units.")
        lines.append("# TYPE storefront_refunded_minor_units_total counter")
        lines.append("storefront_refunded_minor_units_total{currency=\"\(currency)\"} \(sales.refunded)")
        lines.append("# HELP storefront_analytics_queue_depth Events waiting to be written.")
        lines.append("# TYPE storefront_analytics_queue_depth gauge")
        lines.append("storefront_analytics_queue_depth \(analytics.depth)")
        lines.append("# HELP storefront_analytics_dropped_events_total Events dropped because the queue was full.")
        lines.append("# TYPE storefront_analytics_dropped_events_total counter")
        lines.append("storefront_analytics_dropped_events_total \(analytics.droppedCount)")
        lines.append("# HELP storefront_store_write_queue_depth Jobs waiting for the store's writer.")
        lines.append("# TYPE storefront_store_write_queue_depth gauge")
        lines.append("storefront_store_write_queue_depth \(database.writeQueueDepth)")
        lines += rateLimitMetrics()
        lines.append("# HELP storefront_stream_wakeups_total Live streams woken by a new event (only the streams it concerns).")
        lines.append("# TYPE storefront_stream_wakeups_total counter")
        lines.append("storefront_stream_wakeups_total \(ChangeFeed.wakeups.value)")
        return lines.joined(separator: "\n") + "\n"
    }
}
