import JSON
import Store
import StorefrontDomain

/// The catalog index on PostgreSQL: the same filter table as SQLite's, and a `tsvector` per
/// product (GIN-indexed) for words. A product's words are indexed both as written and stemmed
/// (English), so "stoves" finds "stove" and every word is prefix-matched, as in FTS5. Ranked by
/// `ts_rank` (length-normalised) with name > tags, brand and category > description > attributes,
/// then catalog order.
public struct PostgresCatalogIndex: CatalogIndex {
    let database: Database
    private let pages: BoundedMemo<CatalogQuery, CatalogPage>?

    public init(database: Database, rememberedPages: Int = 2048) {
        self.database = database
        pages = rememberedPages > 0 ? BoundedMemo(capacity: rememberedPages) : nil
    }

    private static let document = """
        setweight(to_tsvector('simple', ?2) || to_tsvector('english', ?2), 'A')
        || setweight(to_tsvector('simple', ?3) || to_tsvector('english', ?3), 'B')
        || setweight(to_tsvector('simple', ?4) || to_tsvector('english', ?4), 'C')
        || setweight(to_tsvector('simple', ?5) || to_tsvector('english', ?5), 'D')
        """

    public func replace(with catalog: Catalog) throws {
        pages?.removeAll()
        defer { pages?.removeAll() }
        try database.write { db in
            try db.run("DELETE FROM catalog_products")
            try db.run("DELETE FROM catalog_fts")
            for (position, product) in catalog.products.enumerated() {
                try CatalogIndexRows.insertProduct(product, position: position, db: db)
                try db.run(
                    "INSERT INTO catalog_fts (id, document) VALUES (?1::TEXT, \(Self.document))",
                    [.text(product.id), .text(product.name),
                     .text((product.tags + [product.brand ?? "", product.category]).joined(separator: " ")), .text(product.description),
                     .text(CatalogIndexRows.attributesText(product))])
            }
        }
    }

    private static let filters = """
        ($1::TEXT IS NULL OR p.category = $1::TEXT) AND ($2::BIGINT IS NULL OR p.price_amount >= $2::BIGINT)
        AND ($3::BIGINT IS NULL OR p.price_amount <= $3::BIGINT)
        AND ($4::BOOLEAN IS NULL OR (coalesce((SELECT sum(i.available) FROM inventory i WHERE i.product_id = p.id), p.inventory) > 0) = $4::BOOLEAN)
        """
    private static let wordSearch = """
        SELECT p.id, count(*) OVER () AS total
        FROM catalog_fts f JOIN catalog_products p ON p.id = f.id
        WHERE f.document @@ to_tsquery('simple', $5::TEXT) AND \(filters)
        ORDER BY ts_rank('{0.05, 0.2, 0.4, 1.0}', f.document, to_tsquery('simple', $5::TEXT), 1) DESC, p.position
        LIMIT $6::BIGINT OFFSET $7::BIGINT
        """
    private static let filterSearch = """
        SELECT p.id, count(*) OVER () AS total FROM catalog_products p
        WHERE $5::TEXT IS NULL AND \(filters) ORDER BY p.position LIMIT $6::BIGINT OFFSET $7::BIGINT
        """

    public func search(_ query: CatalogQuery) throws -> CatalogPage {
        guard query.inStock == nil else { return try searchStore(query) }
        if let page = pages?[query] { return page }
        let page = try searchStore(query)
        pages?.insert(query, page)
        return page
    }

    private func searchStore(_ query: CatalogQuery) throws -> CatalogPage {
        // Every word prefix-matched, all required; words are letters and digits only.
        let tsquery = query.words.map { $0.map { "\($0):*" }.joined(separator: " & ") }
        let parameters: [SQLValue] = [
            SQLValue(query.category), query.minPrice.map(SQLValue.integer) ?? .null,
            query.maxPrice.map(SQLValue.integer) ?? .null, query.inStock.map(SQLValue.init) ?? .null,
            SQLValue(tsquery), SQLValue(query.limit + 1), SQLValue(query.offset),
        ]
        let rows = try database.read { db in
            try db.query(tsquery == nil ? Self.filterSearch : Self.wordSearch, parameters)
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
