import Foundation
import JSON
import Store
import StorefrontDomain

/// A change to a product that agents watching it hear of: `price_changed`, `back_in_stock` or
/// `discontinued`, with what changed.
package struct CatalogEvent: Sendable, Equatable {
    package var type: String
    package var productID: String
    package var data: JSON
}

/// How an upsert treats stock: a manifest only seeds SKUs the store does not know (after the
/// first start the store is the record of what is left); a feed or the admin API says what is
/// left now.
package enum StockUpdate: Sendable {
    case seedMissing
    case set
}

/// The SQL of the catalog: products (their declared JSON, the columns filters use, the words
/// search uses), variants, categories, the catalog's version, and the agents watching products.
/// Every change bumps `catalog_state.version` in its own transaction, which is how every node's
/// caches learn of it.
package enum CatalogRows {
    // MARK: Reading

    package static func version(db: Connection) throws -> Int64 {
        try db.queryOne("SELECT version FROM catalog_state WHERE id = 1")?[0].int ?? 0
    }

    package static func manifestStamp(db: Connection) throws -> String? {
        try db.queryOne("SELECT manifest_stamp FROM catalog_state WHERE id = 1")?[0].string
    }

    package static func count(db: Connection) throws -> Int {
        Int(try db.queryOne("SELECT count(*) FROM catalog_products")?[0].int ?? 0)
    }

    /// Products with stock left (walks the catalog: for status pages, not per request).
    package static func inStockCount(db: Connection) throws -> Int64 {
        try db.queryOne(
            """
            SELECT count(*) FROM catalog_products p
            WHERE coalesce((SELECT sum(i.available) FROM inventory i WHERE i.product_id = p.id), p.inventory) > 0
            """)?[0].int ?? 0
    }

    package static func categories(db: Connection) throws -> [StorefrontDomain.Category] {
        try db.query("SELECT id, name, description FROM catalog_categories ORDER BY position, id").compactMap { row in
            guard let id = row[0].string else { return nil }
            return Category(id: id, name: row[1].string ?? id, description: row[2].string ?? "")
        }
    }

    static func decode(_ source: String?) -> Product? {
        guard let source, let json = try? JSON.parse(source) else { return nil }
        return try? Product(json: json)
    }

    package static func products(_ ids: [String], db: Connection) throws -> [String: Product] {
        var found: [String: Product] = [:]
        for row in try rows(where: "id", in: ids, "SELECT id, source FROM catalog_products", db: db) {
            if let id = row[0].string, let product = decode(row[1].string) { found[id] = product }
        }
        return found
    }

    /// The rows of `select` whose `column` is one of `values`, asked in slices of 200 so that no
    /// statement carries more parameters than either engine takes.
    static func rows(where column: String, in values: [String], _ select: String, db: Connection) throws -> [Row] {
        var rows: [Row] = []
        var start = 0
        while start < values.count {
            let slice = Array(values[start..<min(values.count, start + 200)])
            start += slice.count
            let marks = Array(repeating: "?", count: slice.count).joined(separator: ", ")
            rows += try db.query("\(select) WHERE \(column) IN (\(marks))", slice.map(SQLValue.text))
        }
        return rows
    }

    package static func productID(ofVariant id: String, db: Connection) throws -> String? {
        try db.queryOne("SELECT product_id FROM catalog_variants WHERE id = ?", [.text(id)])?[0].string
    }

    package static func firstIDs(_ limit: Int, db: Connection) throws -> [String] {
        try db.query("SELECT id FROM catalog_products ORDER BY position LIMIT ?", [SQLValue(limit)]).compactMap { $0[0].string }
    }

    package static func page(after: Int64?, limit: Int, db: Connection) throws -> (products: [Product], next: Int64?) {
        let rows = try db.query(
            "SELECT position, source FROM catalog_products WHERE position > ? ORDER BY position LIMIT ?",
            [.integer(after ?? -1), SQLValue(limit + 1)])
        let more = rows.count > limit
        let kept = rows.prefix(limit)
        return (kept.compactMap { decode($0[1].string) }, more ? kept.last?[0].int : nil)
    }

    // MARK: Writing

    /// The texts search reads: name; category; tags and brand; description; attributes and
    /// variant names.
    static func texts(_ product: Product) -> [String] {
        let attributes = (product.source["attributes"]?.objectValue ?? [:])
            .map { key, value in "\(key.replacingOccurrences(of: "_", with: " ")) \(value.stringValue ?? value.compactString)" }
            .sorted().joined(separator: " ")
        return [
            product.name,
            product.category,
            (product.tags + [product.brand ?? ""]).joined(separator: " "),
            product.description,
            attributes + " " + product.variants.map(\.name).joined(separator: " "),
        ]
    }

    private static func indexWords(_ product: Product, position: Int64, db: Connection) throws {
        let texts = texts(product).map(SQLValue.text)
        switch db.backend {
        case .sqlite:
            try db.run(
                "INSERT INTO catalog_search (rowid, name, category, labels, description, attributes) VALUES (?, ?, ?, ?, ?, ?)",
                [.integer(position)] + texts)
        case .postgres:
            try db.run(
                """
                INSERT INTO catalog_search (position, document) VALUES (?1::BIGINT,
                    setweight(to_tsvector('simple', ?2) || to_tsvector('english', ?2), 'A')
                    || setweight(to_tsvector('simple', ?3) || to_tsvector('english', ?3), 'B')
                    || setweight(to_tsvector('simple', ?4) || to_tsvector('english', ?4), 'C')
                    || setweight(to_tsvector('simple', ?5 || ' ' || ?6) || to_tsvector('english', ?5 || ' ' || ?6), 'D'))
                ON CONFLICT (position) DO UPDATE SET document = excluded.document
                """, [.integer(position)] + texts)
        }
    }

    /// Takes `product`'s words out of the index (a contentless FTS5 table is told the words it
    /// indexed for that row; PostgreSQL deletes the row).
    private static func unindexWords(_ product: Product, position: Int64, db: Connection) throws {
        switch db.backend {
        case .sqlite:
            try db.run(
                "INSERT INTO catalog_search (catalog_search, rowid, name, category, labels, description, attributes) VALUES ('delete', ?, ?, ?, ?, ?, ?)",
                [.integer(position)] + texts(product).map(SQLValue.text))
        case .postgres:
            try db.run("DELETE FROM catalog_search WHERE position = ?", [.integer(position)])
        }
    }

    package static func upsertCategory(_ category: StorefrontDomain.Category, db: Connection) throws {
        try db.run(
            """
            INSERT INTO catalog_categories (id, name, description, position)
            VALUES (?1, ?2, ?3, (SELECT coalesce(max(position), -1) + 1 FROM catalog_categories))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description
            """, [.text(category.id), .text(category.name), .text(category.description)])
    }

    /// What is left of a product now (the sum of its SKUs), nil when the store knows none of them.
    private static func liveStock(_ productID: String, db: Connection) throws -> Int64? {
        try db.queryOne("SELECT sum(available) FROM inventory WHERE product_id = ?", [.text(productID)])?[0].int
    }

    /// Inserts or replaces a product (keeping its position when it exists), its variants, words
    /// and stock, and returns what agents watching it should hear.
    @discardableResult
    package static func upsert(
        _ product: Product, origin: String, run: Int64, stock: StockUpdate, now: Int64, db: Connection
    ) throws -> (created: Bool, events: [CatalogEvent]) {
        let old = try db.queryOne("SELECT position, source FROM catalog_products WHERE id = ?", [.text(product.id)])
        let previous = decode(old?[1].string)
        let stockBefore = try liveStock(product.id, db: db)
        let position: Int64
        if let old, let at = old[0].int {
            position = at
            if let previous { try unindexWords(previous, position: at, db: db) }
            try db.run("DELETE FROM catalog_variants WHERE product_id = ?", [.text(product.id)])
        } else {
            position = try db.queryOne("SELECT coalesce(max(position), -1) + 1 FROM catalog_products")?[0].int ?? 0
        }
        try db.run(
            """
            INSERT INTO catalog_products (id, position, category, price_amount, currency, inventory, source, origin, import_run, updated_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            ON CONFLICT (id) DO UPDATE SET category = excluded.category, price_amount = excluded.price_amount,
                currency = excluded.currency, inventory = excluded.inventory, source = excluded.source,
                origin = excluded.origin, import_run = excluded.import_run, updated_at = excluded.updated_at
            """,
            [.text(product.id), .integer(position), .text(product.category), .integer(product.price.amount),
             .text(product.price.currency), .integer(product.inventory), .text(product.source.compactString),
             .text(origin), .integer(run), .integer(now)])
        try indexWords(product, position: position, db: db)
        let skus: [(String, Int64)] = product.variants.isEmpty
            ? [(product.id, product.inventory)] : product.variants.map { ($0.id, $0.inventory) }
        for variant in product.variants {
            try db.run(
                "INSERT INTO catalog_variants (id, product_id) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET product_id = excluded.product_id",
                [.text(variant.id), .text(product.id)])
        }
        for (sku, available) in skus {
            switch stock {
            case .seedMissing:
                try db.run(
                    "INSERT INTO inventory (sku, product_id, available) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [.text(sku), .text(product.id), .integer(available)])
            case .set:
                try db.run(
                    """
                    INSERT INTO inventory (sku, product_id, available) VALUES (?, ?, ?)
                    ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id, available = excluded.available
                    """, [.text(sku), .text(product.id), .integer(available)])
            }
        }
        var events: [CatalogEvent] = []
        if let previous {
            // Each SKU's price before and after (a variant without its own has the product's).
            func prices(_ p: Product) -> [String: Money] {
                p.variants.isEmpty ? [p.id: p.price] : Dictionary(p.variants.map { ($0.id, $0.price ?? p.price) }, uniquingKeysWith: { a, _ in a })
            }
            let before = prices(previous), after = prices(product)
            let changed = after.keys.sorted().filter { sku in before[sku].map { $0 != after[sku] } ?? false }
            if previous.price != product.price || !changed.isEmpty {
                events.append(
                    CatalogEvent(
                        type: "price_changed", productID: product.id,
                        data: ["product_id": .string(product.id), "name": .string(product.name),
                               "old_price": previous.price.json, "new_price": product.price.json,
                               "skus": .array(changed.map { ["sku": .string($0), "old_price": before[$0]!.json, "new_price": after[$0]!.json] })]))
            }
        }
        let stockAfter = try liveStock(product.id, db: db) ?? 0
        if previous != nil, (stockBefore ?? 0) <= 0, stockAfter > 0 {
            events.append(backInStock(product, available: stockAfter))
        }
        return (old == nil, events)
    }

    static func backInStock(_ product: Product, available: Int64) -> CatalogEvent {
        CatalogEvent(
            type: "back_in_stock", productID: product.id,
            data: ["product_id": .string(product.id), "name": .string(product.name), "inventory": .int(available)])
    }

    /// Removes a product (its variants, words and watchers stay answerable as "discontinued":
    /// orders keep naming it). Returns the event, nil when there was no such product.
    package static func delete(_ id: String, db: Connection) throws -> CatalogEvent? {
        guard let old = try db.queryOne("SELECT position, source FROM catalog_products WHERE id = ?", [.text(id)]),
            let position = old[0].int
        else { return nil }
        let previous = decode(old[1].string)
        if let previous { try unindexWords(previous, position: position, db: db) }
        try db.run("DELETE FROM catalog_products WHERE id = ?", [.text(id)])
        try db.run("DELETE FROM catalog_variants WHERE product_id = ?", [.text(id)])
        try db.run("UPDATE inventory SET available = 0 WHERE product_id = ?", [.text(id)])
        return CatalogEvent(
            type: "discontinued", productID: id,
            data: ["product_id": .string(id), "name": JSON(previous?.name)])
    }

    /// The ids of products of `origin` a re-import with run `run` did not write.
    package static func notWritten(origin: String, run: Int64, db: Connection) throws -> [String] {
        try db.query("SELECT id FROM catalog_products WHERE origin = ? AND import_run <> ?", [.text(origin), .integer(run)])
            .compactMap { $0[0].string }
    }

    /// Sets what is left of one SKU (false: the catalog has no such SKU, nothing written), and the
    /// `back_in_stock` event when its product had none left.
    package static func setStock(sku: String, available: Int64, db: Connection) throws -> (known: Bool, event: CatalogEvent?) {
        // A SKU is a variant of a product, or a product of its own.
        guard let productID = try productID(ofVariant: sku, db: db)
            ?? (try db.queryOne("SELECT id FROM catalog_products WHERE id = ?", [.text(sku)])?[0].string)
        else { return (false, nil) }
        let before = try liveStock(productID, db: db) ?? 0
        try db.run(
            """
            INSERT INTO inventory (sku, product_id, available) VALUES (?, ?, ?)
            ON CONFLICT (sku) DO UPDATE SET available = excluded.available
            """, [.text(sku), .text(productID), .integer(available)])
        let after = try liveStock(productID, db: db) ?? 0
        guard before <= 0, after > 0, let product = try products([productID], db: db)[productID] else { return (true, nil) }
        return (true, backInStock(product, available: after))
    }

    /// After a large import: FTS5's index merged into one segment, so a search reads each word's
    /// matches from one place rather than from every segment the import left (PostgreSQL's GIN
    /// index needs nothing).
    package static func optimizeSearch(db: Connection) throws {
        guard db.backend == .sqlite else { return }
        try db.run("INSERT INTO catalog_search (catalog_search) VALUES ('optimize')")
    }

    /// Adds one to the catalog's version (and records the manifest's stamp when it was imported).
    package static func bump(now: Int64, manifestStamp: String? = nil, db: Connection) throws {
        try db.run(
            "UPDATE catalog_state SET version = version + 1, updated_at = ?, manifest_stamp = coalesce(?, manifest_stamp) WHERE id = 1",
            [.integer(now), SQLValue(manifestStamp)])
    }

    // MARK: Watchers

    package static func watch(productID: String, agentID: String, reason: String, now: Int64, db: Connection) throws {
        try db.runDeferred(
            "INSERT INTO product_watchers (product_id, agent_id, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [.text(productID), .text(agentID), .text(reason), .integer(now)])
    }

    package static func watchCount(agentID: String, db: Connection) throws -> Int64 {
        try db.queryOne("SELECT count(*) FROM product_watchers WHERE agent_id = ?", [.text(agentID)])?[0].int ?? 0
    }

    package static func unwatch(productID: String, agentID: String, db: Connection) throws -> Bool {
        try db.run("DELETE FROM product_watchers WHERE product_id = ? AND agent_id = ?", [.text(productID), .text(agentID)]) > 0
    }

    package static func watchers(of productID: String, db: Connection) throws -> [String] {
        try db.query("SELECT agent_id FROM product_watchers WHERE product_id = ? ORDER BY agent_id", [.text(productID)])
            .compactMap { $0[0].string }
    }

    /// Each event into the inbox of every agent watching its product (and so onto their MCP
    /// streams), in the transaction of the change.
    package static func tell(_ events: [CatalogEvent], db: Connection) throws {
        let inbox = AgentEvents()
        for event in events {
            for agent in try watchers(of: event.productID, db: db) {
                try inbox.record(event.type, agentID: agent, data: event.data, db: db)
            }
        }
    }
}
