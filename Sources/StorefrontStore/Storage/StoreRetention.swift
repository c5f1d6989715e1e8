import Foundation
import Store

/// How long the store keeps what outsiders can make it keep. Everything here is swept by the
/// gateway's periodic sweep (`--sweep-interval`); the README's "What the store keeps" lists it.
public struct RetentionPolicy: Sendable {
    /// Seconds an MCP session may sit unused before it ends and is deleted with its streams,
    /// events, subscriptions and cancellations.
    public var mcpSessionTTL: Int64 = 3600
    /// Seconds a checkout (or cart) nobody completed is kept after its last change.
    public var checkoutTTL: Int64 = 24 * 3600
    /// Seconds an idempotency record is kept: a retry after this is a new request.
    public var idempotencyTTL: Int64 = 24 * 3600
    /// Days raw analytics events (and refused-attempt counts) are kept; per-minute rollups stay.
    public var analyticsRetentionDays: Int64 = 30

    public init() {}
}

/// What one sweep removed, by kind.
public struct SweepReport: Sendable, Equatable {
    public var mcpSessions = 0
    public var checkouts = 0
    public var carts = 0
    public var idempotencyRecords = 0
    public var analyticsEvents = 0
    public var refusedAttempts = 0
    public var a2aTasks = 0
    public var allowances = 0
    public var ucpPlatformLinks = 0
    /// OAuth codes and tokens a day past their expiry, and expired principal sessions and spent sign-in links.
    public var oauthRows = 0
}

/// Deletes what outlived its retention. Each kind is deleted in bounded batches, so one sweep
/// never holds the writer for long; what is left waits for the next sweep.
public struct StoreRetention: Sendable {
    public let database: Database
    public var policy: RetentionPolicy
    /// Rows deleted per kind per sweep at most.
    public var batch = 5_000

    public init(database: Database, policy: RetentionPolicy) {
        self.database = database
        self.policy = policy
    }

    @discardableResult
    public func sweep(now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> SweepReport {
        var report = SweepReport()
        report.mcpSessions = try MCPSessionSweep.deleteExpired(
            database: database, idleBefore: now - policy.mcpSessionTTL, limit: batch)
        let checkoutCutoff = now - policy.checkoutTTL
        let idempotencyCutoff = now - policy.idempotencyTTL
        let analyticsCutoffMinute = (now - policy.analyticsRetentionDays * 86400) / 60
        let hourCutoff = (now - policy.analyticsRetentionDays * 86400) / 3600
        let limit = batch
        let counts = try database.write(priority: .background) { db -> [Int] in
            // Abandoned checkouts: never completed, no approval waiting (a pending approval
            // holds money and expires by its own TTL).
            let checkouts = try db.run(
                """
                DELETE FROM checkouts WHERE id IN (
                    SELECT id FROM checkouts WHERE status IN ('incomplete', 'ready_for_complete', 'canceled')
                    AND updated_at < ? AND approval_id IS NULL LIMIT ?)
                """, [.integer(checkoutCutoff), .integer(Int64(limit))])
            let carts = try db.run(
                """
                DELETE FROM carts WHERE id IN (
                    SELECT id FROM carts WHERE status IN ('active', 'canceled') AND updated_at < ? LIMIT ?)
                """, [.integer(checkoutCutoff), .integer(Int64(limit))])
            let idempotencyRecords = try db.run(
                """
                DELETE FROM idempotency_keys WHERE (agent_id, action, key) IN (
                    SELECT agent_id, action, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)
                """, [.integer(idempotencyCutoff), .integer(Int64(limit))])
            let analyticsEvents = try db.run(
                "DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events WHERE minute < ? LIMIT ?)",
                [.integer(analyticsCutoffMinute), .integer(Int64(limit))])
            try db.run(
                "DELETE FROM analytics_visitors WHERE (minute, stage, visitor) IN (SELECT minute, stage, visitor FROM analytics_visitors WHERE minute < ? LIMIT ?)",
                [.integer(analyticsCutoffMinute), .integer(Int64(limit))])
            let refusedAttempts = try db.run(
                "DELETE FROM refused_attempts WHERE hour < ?", [.integer(hourCutoff)])
            // A2A tasks unchanged for as long as a checkout is kept (a purchase that waited
            // for its principal has been decided or has expired by then).
            let a2aTasks = try db.run(
                "DELETE FROM a2a_tasks WHERE seq IN (SELECT seq FROM a2a_tasks WHERE updated_at < ? LIMIT ?)",
                [.integer(checkoutCutoff), .integer(Int64(limit))])
            // Allowances never spent, a day after they expired (spent ones are the record of what
            // paid for an order).
            let allowances = try db.run(
                "DELETE FROM delegated_allowances WHERE id IN (SELECT id FROM delegated_allowances WHERE used_at IS NULL AND expires_at < ? LIMIT ?)",
                [.integer(idempotencyCutoff), .integer(Int64(limit))])
            // The platform of a checkout that is gone (never completed, swept above).
            let ucpPlatformLinks = try db.run(
                """
                DELETE FROM ucp_order_webhooks WHERE checkout_id IN (
                    SELECT w.checkout_id FROM ucp_order_webhooks w WHERE w.created_at < ?
                    AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = w.checkout_id) LIMIT ?)
                """, [.integer(checkoutCutoff), .integer(Int64(limit))])
            // The conversation of a checkout that is gone.
            try db.run(
                """
                DELETE FROM a2a_contexts WHERE (agent_id, context_id) IN (
                    SELECT x.agent_id, x.context_id FROM a2a_contexts x WHERE x.created_at < ?
                    AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.id = x.checkout_id) LIMIT ?)
                """, [.integer(checkoutCutoff), .integer(Int64(limit))])
            // OAuth: codes and tokens a day past their expiry (a spent refresh token is kept that
            // long to catch its reuse), principal sessions and used sign-in links once expired,
            // registered clients never used after a day.
            var oauthRows = 0
            for (table, key, cutoff) in [("oauth_codes", "code_sha256", now - 24 * 3600), ("oauth_tokens", "token_sha256", now - 24 * 3600),
                                         ("principal_sessions", "id_sha256", now), ("principal_links_used", "nonce", now)] {
                oauthRows += try db.run(
                    "DELETE FROM \(table) WHERE \(key) IN (SELECT \(key) FROM \(table) WHERE expires_at < ? LIMIT ?)",
                    [.integer(cutoff), .integer(Int64(limit))])
            }
            oauthRows += try db.run(
                "DELETE FROM oauth_clients WHERE client_id IN (SELECT client_id FROM oauth_clients WHERE last_used_at IS NULL AND created_at < ? LIMIT ?)",
                [.integer(now - 24 * 3600), .integer(Int64(limit))])
            return [checkouts, carts, idempotencyRecords, analyticsEvents, refusedAttempts, a2aTasks, allowances, ucpPlatformLinks, oauthRows]
        }
        (report.checkouts, report.carts, report.idempotencyRecords) = (counts[0], counts[1], counts[2])
        (report.analyticsEvents, report.refusedAttempts, report.a2aTasks) = (counts[3], counts[4], counts[5])
        (report.allowances, report.ucpPlatformLinks, report.oauthRows) = (counts[6], counts[7], counts[8])
        return report
    }
}
