import JSON
import Store
import StorefrontDomain

/// The catalog index in SQLite: a table for filters and an FTS5 table for words, ranked by BM25.
///
/// Pages are remembered per query: the index changes only through ``replace(with:)``, which
/// forgets them, so a remembered page is always the page SQLite would answer (pages filtered
/// by stock are not remembered: they follow the `inventory` table) (agents repeat
/// popular searches; each costs an FTS5 query with BM25 ranking otherwise).
public struct SQLiteCatalogIndex: CatalogIndex {
    let database: Database
    private let pages: BoundedMemo<CatalogQuery, CatalogPage>?

    /// `rememberedPages` bounds the memo of answered searches (0 turns it off).
    public init(database: Database, rememberedPages: Int = 2048) {
        self.database = database
        pages = rememberedPages > 0 ? BoundedMemo(capacity: rememberedPages) : nil
    }

    public func replace(with catalog: Catalog) throws {
        pages?.removeAll()
        defer { pages?.removeAll() }
        try database.write { db in
            try db.run("DELETE FROM catalog_products")
            try db.run("DELETE FROM catalog_fts")
            for (position, product) in catalog.products.enumerated() {
                try CatalogIndexRows.insertProduct(product, position: position, db: db)
                try db.run(
                    "INSERT INTO catalog_fts (id, name, description, tags, brand, category, attributes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(product.id), .text(product.name), .text(product.description),
                     .text(product.tags.joined(separator: " ")), SQLValue(product.brand), .text(product.category),
                     .text(CatalogIndexRows.attributesText(product))])
            }
        }
    }

    // Filters are bound parameters; a NULL parameter switches its filter off, so one prepared
    // statement serves every combination and no SQL is ever built from input.
    private static let filters = """
        (?1 IS NULL OR p.category = ?1) AND (?2 IS NULL OR p.price_amount >= ?2)
        AND (?3 IS NULL OR p.price_amount <= ?3)
        AND (?4 IS NULL OR (coalesce((SELECT sum(i.available) FROM inventory i WHERE i.product_id = p.id), p.inventory) > 0) = ?4)
        """
    // bm25() only works where the FTS table drives the query, so rank in a materialised CTE first.
    private static let wordSearch = """
        WITH hits AS MATERIALIZED (
            SELECT id, bm25(catalog_fts, 0.0, 10.0, 2.0, 5.0, 3.0, 3.0, 1.0) AS score
            FROM catalog_fts WHERE catalog_fts MATCH ?5
        )
        SELECT p.id, count(*) OVER () AS total FROM hits JOIN catalog_products p ON p.id = hits.id
        WHERE \(filters) ORDER BY hits.score, p.position LIMIT ?6 OFFSET ?7
        """
    private static let filterSearch = """
        SELECT p.id, count(*) OVER () AS total FROM catalog_products p
        WHERE ?5 IS NULL AND \(filters) ORDER BY p.position LIMIT ?6 OFFSET ?7
        """

    public func search(_ query: CatalogQuery) throws -> CatalogPage {
        // A page filtered by stock depends on sales, not only on the index: never remembered
        // here (the result cache keys it on the stock's version).
        guard query.inStock == nil else { return try searchStore(query) }
        if let page = pages?[query] { return page }
        let page = try searchStore(query)
        pages?.insert(query, page)
        return page
    }

    private func searchStore(_ query: CatalogQuery) throws -> CatalogPage {
        let fts = query.ftsExpression
        let parameters: [SQLValue] = [
            SQLValue(query.category), query.minPrice.map(SQLValue.integer) ?? .null,
            query.maxPrice.map(SQLValue.integer) ?? .null, query.inStock.map(SQLValue.init) ?? .null,
            SQLValue(fts), SQLValue(query.limit + 1), SQLValue(query.offset),
        ]
        let rows = try database.read { db in
            try db.query(fts == nil ? Self.filterSearch : Self.wordSearch, parameters)
        }
        var ids = rows.compactMap { $0[0].string }
        let total = rows.first.flatMap { $0[1].int }.map(Int.init) ?? (query.offset > 0 ? query.offset : 0)
        var next: Int?
        if ids.count > query.limit {
            ids.removeLast()
            next = query.offset + query.limit
        }
        return CatalogPage(productIDs: ids, total: rows.isEmpty ? 0 : total, nextOffset: next)
    }
}
