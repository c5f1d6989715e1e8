import Foundation
import JSON
import Store
import StorefrontDomain

/// What one change to the catalog did.
package struct CatalogChangeReport: Sendable {
    package var created = 0
    package var updated = 0
    package var deleted = 0
    /// Inbox events sent to agents watching the products changed.
    package var events = 0
    package var version: Int64 = 0

    package init() {}

    package var json: JSON {
        ["created": .int(Int64(created)), "updated": .int(Int64(updated)), "deleted": .int(Int64(deleted)),
         "events": .int(Int64(events)), "catalog_version": .int(version)]
    }
}

/// Changes to the catalog while the gateway serves: each is one transaction (nothing half
/// applied), bumps the catalog's version (every node's caches follow it) and tells the agents
/// watching a product what changed, in the same transaction.
package struct CatalogEditor: Sendable {
    let database: Database

    package init(database: Database) {
        self.database = database
    }

    /// Inserts or replaces `products` (and `categories` first), setting their stock as declared.
    package func upsert(
        _ products: [Product], categories: [StorefrontDomain.Category] = [], origin: String = "admin", stock: StockUpdate = .set
    ) throws -> CatalogChangeReport {
        try database.write { db in
            var report = CatalogChangeReport()
            let now = Int64(Date().timeIntervalSince1970)
            for category in categories { try CatalogRows.upsertCategory(category, db: db) }
            for product in products {
                let (created, events) = try CatalogRows.upsert(product, origin: origin, run: 0, stock: stock, now: now, db: db)
                if created { report.created += 1 } else { report.updated += 1 }
                try CatalogRows.tell(events, db: db)
                report.events += events.count
            }
            try CatalogRows.bump(now: now, db: db)
            report.version = try CatalogRows.version(db: db)
            return report
        }
    }

    /// Removes products; an id that is not in the catalog is reported, not an error.
    package func delete(_ ids: [String]) throws -> (report: CatalogChangeReport, missing: [String]) {
        try database.write { db in
            var report = CatalogChangeReport(), missing: [String] = []
            for id in ids {
                guard let event = try CatalogRows.delete(id, db: db) else {
                    missing.append(id)
                    continue
                }
                report.deleted += 1
                try CatalogRows.tell([event], db: db)
                report.events += 1
            }
            try CatalogRows.bump(now: Int64(Date().timeIntervalSince1970), db: db)
            report.version = try CatalogRows.version(db: db)
            return (report, missing)
        }
    }

    /// Sets what is left of SKUs (a product id or a variant id); unknown SKUs are returned.
    package func setStock(_ levels: [(sku: String, available: Int64)]) throws -> (report: CatalogChangeReport, unknown: [String]) {
        try database.write { db in
            var report = CatalogChangeReport(), unknown: [String] = []
            for (sku, available) in levels {
                let (known, event) = try CatalogRows.setStock(sku: sku, available: available, db: db)
                guard known else {
                    unknown.append(sku)
                    continue
                }
                if let event {
                    try CatalogRows.tell([event], db: db)
                    report.events += 1
                }
                report.updated += 1
            }
            try CatalogRows.bump(now: Int64(Date().timeIntervalSince1970), db: db)
            report.version = try CatalogRows.version(db: db)
            return (report, unknown)
        }
    }

    /// Imports a whole feed in one transaction, reading it while it writes (`next` is called on
    /// the store's writer until it returns nil, so the feed is never whole in memory). With
    /// `replace`, products of the same origin the feed no longer has are removed. `manifestStamp`
    /// records which catalog.json this was. If `next` throws, nothing is applied.
    @discardableResult
    package func importFeed(
        origin: String, replace: Bool, stock: StockUpdate, manifestStamp: String? = nil,
        categories: @escaping () -> [StorefrontDomain.Category],
        next: @escaping () throws -> Product?
    ) throws -> CatalogChangeReport {
        try database.write { db in
            var report = CatalogChangeReport()
            let now = Int64(Date().timeIntervalSince1970)
            let run = try CatalogRows.version(db: db) + 1
            while let product = try next() {
                let (created, events) = try CatalogRows.upsert(product, origin: origin, run: run, stock: stock, now: now, db: db)
                if created { report.created += 1 } else { report.updated += 1 }
                if !events.isEmpty {
                    try CatalogRows.tell(events, db: db)
                    report.events += events.count
                }
            }
            // Categories are known once the feed is read (a feed may name them as it goes).
            for category in categories() { try CatalogRows.upsertCategory(category, db: db) }
            if replace {
                for id in try CatalogRows.notWritten(origin: origin, run: run, db: db) {
                    guard let event = try CatalogRows.delete(id, db: db) else { continue }
                    report.deleted += 1
                    try CatalogRows.tell([event], db: db)
                    report.events += 1
                }
            }
            if report.created + report.updated >= 10_000 { try CatalogRows.optimizeSearch(db: db) }
            try CatalogRows.bump(now: now, manifestStamp: manifestStamp, db: db)
            report.version = try CatalogRows.version(db: db)
            return report
        }
    }

    package func manifestStamp() throws -> String? {
        try database.read { try CatalogRows.manifestStamp(db: $0) }
    }
}
