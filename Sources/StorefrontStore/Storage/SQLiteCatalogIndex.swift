import JSON
import Store
import StorefrontDomain

/// The catalog index in SQLite: `catalog_products` for filters and a contentless FTS5 table
/// whose rowid is the product's catalog position. A word search runs one FTS5 query per
/// relevance tier, walking matches in position order and stopping once the page is full, so
/// its cost follows the page, not the number of matches (BM25 over every match of a common
/// word in a million products took most of a second).
///
/// Pages are remembered per query and catalog version (agents repeat popular searches); pages
/// filtered by stock are not (they follow sales).
public struct SQLiteCatalogIndex: CatalogIndex {
    let database: Database
    let catalogVersion: @Sendable () -> Int
    private let pages: BoundedMemo<CatalogQuery, (version: Int, page: CatalogPage)>?

    /// `rememberedPages` bounds the memo of answered searches (0 turns it off).
    public init(database: Database, catalogVersion: @escaping @Sendable () -> Int, rememberedPages: Int = 2048) {
        self.database = database
        self.catalogVersion = catalogVersion
        pages = rememberedPages > 0 ? BoundedMemo(capacity: rememberedPages) : nil
    }

    // Filters are bound parameters; a NULL parameter switches its filter off, so one prepared
    // statement serves every combination and no SQL is ever built from input.
    static let filters = """
        (?1 IS NULL OR p.category = ?1) AND (?2 IS NULL OR p.price_amount >= ?2)
        AND (?3 IS NULL OR p.price_amount <= ?3)
        AND (?4 IS NULL OR (coalesce((SELECT sum(i.available) FROM inventory i WHERE i.product_id = p.id), p.inventory) > 0) = ?4)
        """
    private static let wordPage = """
        SELECT p.id, catalog_search.rowid FROM catalog_search JOIN catalog_products p ON p.position = catalog_search.rowid
        WHERE catalog_search MATCH ?5 AND catalog_search.rowid > ?6 AND \(filters)
        ORDER BY catalog_search.rowid LIMIT ?7
        """
    private static let filterPage = """
        SELECT p.id, p.position FROM catalog_products p
        WHERE p.position > ?6 AND \(filters) AND ?5 IS NULL ORDER BY p.position LIMIT ?7
        """
    private static let wordSample = """
        SELECT p.category, catalog_search.rowid FROM catalog_search JOIN catalog_products p ON p.position = catalog_search.rowid
        WHERE catalog_search MATCH ?5 AND \(filters) AND ?6 IS NULL ORDER BY catalog_search.rowid LIMIT ?7
        """
    private static let filterSample = """
        SELECT p.category, p.position FROM catalog_products p
        WHERE \(filters) AND ?5 IS NULL AND ?6 IS NULL ORDER BY p.position LIMIT ?7
        """

    public func search(_ query: CatalogQuery) throws -> CatalogPage {
        // A page filtered by stock depends on sales, not only on the catalog: never remembered.
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
            guard let exact = query.ftsTiers(prefix: false), let prefixed = query.ftsTiers(prefix: true) else {
                // No words: every product that passes the filters, in catalog order.
                let rows = try db.query(Self.filterPage, filters + [.null, .integer(query.after?.position ?? -1), SQLValue(query.limit + 1)])
                let sample = try db.query(Self.filterSample, filters + [.null, .null, SQLValue(CatalogPage.sampleSize + 1)])
                return Self.page(rows.map { ($0[0].string ?? "", 0, $0[1].int ?? 0) }, sample: sample, last: last, limit: query.limit)
            }
            // Words as written; prefix-matched only when nothing matches them so.
            let tierCount = CatalogQuery.tiers
            var prefix = (query.after?.tier ?? 0) >= tierCount
            if query.after == nil,
                try db.queryOne("SELECT rowid FROM catalog_search WHERE catalog_search MATCH ? LIMIT 1", [SQLValue(query.ftsAllWords(prefix: false))]) == nil
            {
                prefix = true
            }
            let tiers = prefix ? prefixed : exact
            let offset = prefix ? tierCount : 0
            var hits: [(String, Int, Int64)] = []
            var tier = (query.after?.tier ?? offset) - offset
            var after = query.after?.position ?? -1
            while tier < tierCount, hits.count <= query.limit {
                let rows = try db.query(
                    Self.wordPage, filters + [.text(tiers[tier]), .integer(after), SQLValue(query.limit + 1 - hits.count)])
                hits += rows.map { ($0[0].string ?? "", tier + offset, $0[1].int ?? 0) }
                tier += 1
                after = -1
            }
            let sample = try db.query(
                Self.wordSample, filters + [SQLValue(query.ftsAllWords(prefix: prefix)), .null, SQLValue(CatalogPage.sampleSize + 1)])
            return Self.page(hits, sample: sample, last: last, limit: query.limit)
        }
    }

    /// A page from up to `limit + 1` hits (id, tier, position) and the sample for the total and
    /// facets.
    static func page(_ hits: [(String, Int, Int64)], sample: [Row], last: Int64, limit: Int) -> CatalogPage {
        let shown = Array(hits.prefix(limit))
        let next = hits.count > limit ? shown.last.map { CatalogPosition(tier: $0.1, position: $0.2) } : nil
        let counts = CatalogPage.counts(sample: sample.map { ($0[0].string ?? "", $0[1].int ?? 0) }, lastPosition: last)
        return CatalogPage(
            productIDs: shown.map(\.0), total: counts.total, totalIsEstimate: counts.estimate, categoryCounts: counts.categories,
            next: next)
    }
}
