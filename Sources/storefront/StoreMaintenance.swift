import ArgumentParser
import Foundation
import JSON
import Store
import StorefrontActions
import StorefrontApp
import StorefrontStore

/// `storefront store compact`: deletes what outlived its retention (as the gateway's sweep
/// does) and gives the freed pages back to the file system with `VACUUM`. Safe while a gateway
/// runs on the same file (SQLite locks it for the duration; requests wait, none fail).
struct StoreMaintenance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Maintenance of the store file.", subcommands: [Compact.self])

    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sweep expired rows, then VACUUM the store so the file shrinks to what it holds.")
        @Option(help: "The store: an SQLite file or a postgres:// URL.") var store: String = "storefront.db"
        @Option(name: .customLong("mcp-session-ttl"), help: "Seconds an unused MCP session lives.") var mcpSessionTTL: Int64 = 3600
        @Option(name: .customLong("checkout-ttl"), help: "Seconds an abandoned checkout or cart is kept.") var checkoutTTL: Int64 = 24 * 3600
        @Option(name: .customLong("idempotency-ttl"), help: "Seconds an idempotency record is kept.") var idempotencyTTL: Int64 = 24 * 3600
        @Option(help: "Days raw analytics events are kept.") var analyticsRetentionDays: Int64 = 30
        @Flag(inversion: .prefixedNo, help: "Delete expired rows before compacting.") var sweep = true

        func run() throws {
            guard StoreOpener.exists(store) else {
                throw ValidationError("No store at \(StoreOpener.describe(store)).")
            }
            let before = try Self.size(store)
            var swept: JSON = .null
            if sweep {
                var policy = RetentionPolicy()
                policy.mcpSessionTTL = mcpSessionTTL
                policy.checkoutTTL = checkoutTTL
                policy.idempotencyTTL = idempotencyTTL
                policy.analyticsRetentionDays = analyticsRetentionDays
                let database = try StoreOpener.open(store, readers: 1)
                var retention = StoreRetention(database: database, policy: policy)
                retention.batch = Int.max / 2
                let report = try retention.sweep()
                database.close()
                swept = [
                    "mcp_sessions": .int(Int64(report.mcpSessions)), "checkouts": .int(Int64(report.checkouts)),
                    "carts": .int(Int64(report.carts)), "idempotency_records": .int(Int64(report.idempotencyRecords)),
                    "analytics_events": .int(Int64(report.analyticsEvents)), "refused_attempts": .int(Int64(report.refusedAttempts)),
                    "a2a_tasks": .int(Int64(report.a2aTasks)), "delegated_allowances": .int(Int64(report.allowances)),
                    "ucp_order_webhooks": .int(Int64(report.ucpPlatformLinks)),
                ]
            }
            let connection = try StoreOpener.connect(store)
            if connection.backend == .sqlite {
                try connection.execute("PRAGMA busy_timeout = 30000")
                try connection.execute("VACUUM")
                _ = try connection.query("PRAGMA wal_checkpoint(TRUNCATE)")
            } else {
                // Outside a transaction, as VACUUM must be; nodes keep serving meanwhile.
                try connection.execute("VACUUM (ANALYZE)")
            }
            connection.close()
            printJSON([
                "store": .string(StoreOpener.describe(store)), "bytes_before": .int(before), "bytes_after": .int(try Self.size(store)),
                "swept": swept,
            ])
        }

        /// The file and its write-ahead log, in bytes (PostgreSQL: the database's size).
        static func size(_ path: String) throws -> Int64 {
            if StoreOpener.isPostgres(path) {
                let connection = try StoreOpener.connect(path)
                defer { connection.close() }
                return try connection.queryOne("SELECT pg_database_size(current_database())")?[0].int ?? 0
            }
            return [path, path + "-wal"].reduce(Int64(0)) { total, file in
                let attributes = try? FileManager.default.attributesOfItem(atPath: file)
                return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
            }
        }
    }
}
