import JSON
import Store
import StorefrontDomain

/// The catalog index on PostgreSQL: the same filter table as SQLite's, and a `tsvector` per
/// product position (GIN-indexed) with the name weighted A, the category B, tags and brand C,
/// description and attributes D. Every word is prefix-matched and indexed both as written and
/// stemmed (English), so "stoves" finds "stove". Ranked a window at a time as SQLite's, by
/// `ts_rank`.
public struct PostgresCatalogIndex: CatalogIndex {
    let database: Database
    let catalogVersion: @Sendable () -> Int
    private let pages: BoundedMemo<CatalogQuery, (version: Int, page: CatalogPage)>?

    public init(database: Database, catalogVersion: @escaping @Sendable () -> Int, rememberedPages: Int = 2048) {
        self.database = database
        self.catalogVersion = catalogVersion
        pages = rememberedPages > 0 ? BoundedMemo(capacity: rememberedPages) : nil
    }

    private static let filters = """
        ($1::TEXT IS NULL OR p.category = $1::TEXT) AND ($2::BIGINT IS NULL OR p.price_amount >= $2::BIGINT)
        AND ($3::BIGINT IS NULL OR p.price_amount <= $3::BIGINT)
        AND ($4::BOOLEAN IS NULL OR (coalesce((SELECT sum(i.available) FROM inventory i WHERE i.product_id = p.id), p.inventory) > 0) = $4::BOOLEAN)
        """
    // The next window of matches in position order, ranked by ts_rank (higher is better, so
    // negated: lower is better, as for BM25), with whether each passes the filters.
    private static let window = """
        WITH hits AS MATERIALIZED (
            SELECT s.position, ts_rank('{0.2, 0.4, 0.5, 1.0}', s.document, to_tsquery('simple', $5::TEXT), 1) AS score
            FROM catalog_search s WHERE s.document @@ to_tsquery('simple', $5::TEXT) AND s.position > $6::BIGINT
            ORDER BY s.position LIMIT $7::BIGINT
        )
        SELECT h.position, -h.score, p.id, p.category, CASE WHEN \(filters) THEN 1 ELSE 0 END
        FROM hits h JOIN catalog_products p ON p.position = h.position ORDER BY h.position
        """
    private static let filterPage = """
        SELECT p.id, p.position FROM catalog_products p
        WHERE $5::TEXT IS NULL AND p.position > $6::BIGINT AND \(filters) ORDER BY p.position LIMIT $7::BIGINT
        """
    private static let filterSample = """
        SELECT p.category, p.position FROM catalog_products p
        WHERE $5::TEXT IS NULL AND $6::BIGINT IS NULL AND \(filters) ORDER BY p.position LIMIT $7::BIGINT
        """

    public func search(_ query: CatalogQuery) throws -> CatalogPage {
        guard query.inStock == nil, let pages else { return try searchStore(query) }
        let version = catalogVersion()
        if let remembered = pages[query], remembered.version == version { return remembered.page }
        let page = try searchStore(query)
        pages.insert(query, (version, page))
        return page
    }

    private func searchStore(_ query: CatalogQuery) throws -> CatalogPage {
        let filters: [SQLValue] = [
            SQLValue(query.category), query.minPrice.map(SQLValue.integer) ?? .null,
            query.maxPrice.map(SQLValue.integer) ?? .null, query.inStock.map(SQLValue.init) ?? .null,
        ]
        return try database.read { db in
            let last = try db.queryOne("SELECT coalesce(max(position), 0) FROM catalog_products")?[0].int ?? 0
            guard let words = query.words else {
                let rows = try db.query(Self.filterPage, filters + [.null, .integer(query.after?.position ?? -1), SQLValue(query.limit + 1)])
                let sample = try db.query(Self.filterSample, filters + [.null, .null, SQLValue(CatalogPage.sampleSize + 1)])
                return SQLiteCatalogIndex.filterListing(rows, sample: sample, last: last, limit: query.limit)
            }
            let tsquery = words.map { "\($0):*" }.joined(separator: " & ")
            return try RankedWindows.page(query, prefix: true, last: last) { start in
                try db.query(Self.window, filters + [.text(tsquery), .integer(start), SQLValue(CatalogQuery.window)]).map {
                    RankedWindows.Hit(
                        position: $0[0].int ?? 0, score: $0[1].double ?? 0, id: $0[2].string ?? "", category: $0[3].string ?? "",
                        passes: $0[4].int == 1)
                }
            }
        }
    }
}
