import JSON
import Store
import StorefrontDomain

/// The catalog index in SQLite: `catalog_products` for filters and a contentless FTS5 table whose
/// rowid is the product's catalog position.
///
/// A word search ranks a window at a time: the next ``CatalogQuery/window`` matches in position
/// order (FTS5 walks its doclists in rowid order and stops there), scored with BM25 (name first,
/// then category, tags and brand, description, attributes), filtered, sorted by score. A catalog
/// with fewer matches than a window is ranked whole, exactly as BM25 over every match would; a
/// large one is ranked within windows, so a page never scores more than a window's matches
/// (BM25 over every match of a common word in a million products took most of a second). A page
/// that the filters leave short goes on to the next windows, at most four of them.
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
    // bm25() only works where the FTS table drives the query: scored in a materialised window.
    private static let window = """
        WITH hits AS MATERIALIZED (
            SELECT rowid AS position, bm25(catalog_search, 10.0, 5.0, 4.0, 2.0, 1.0) AS score FROM catalog_search
            WHERE catalog_search MATCH ?5 AND rowid > ?6 ORDER BY rowid LIMIT ?7
        )
        SELECT h.position, h.score, p.id, p.category, \(filters) AS passes
        FROM hits h JOIN catalog_products p ON p.position = h.position ORDER BY h.position
        """
    private static let filterPage = """
        SELECT p.id, p.position FROM catalog_products p
        WHERE p.position > ?6 AND \(filters) AND ?5 IS NULL ORDER BY p.position LIMIT ?7
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
            guard query.words != nil else {
                // No words: every product that passes the filters, in catalog order.
                let rows = try db.query(Self.filterPage, filters + [.null, .integer(query.after?.position ?? -1), SQLValue(query.limit + 1)])
                let sample = try db.query(Self.filterSample, filters + [.null, .null, SQLValue(CatalogPage.sampleSize + 1)])
                return Self.filterListing(rows, sample: sample, last: last, limit: query.limit)
            }
            if query.after == nil {
                // Words as written; prefix-matched only when nothing matches them so and one of
                // them is not a word of the catalog (a partial word): prefix matching reads every
                // word that starts so, and two real words that never meet need no second search.
                let page = try ranked(query, prefix: false, filters: filters, last: last, db: db)
                if page.total > 0 || page.next != nil { return page }
                let partial = try (query.words ?? []).contains { word in
                    try db.queryOne("SELECT rowid FROM catalog_search WHERE catalog_search MATCH ? LIMIT 1", [.text("\"\(word)\"")]) == nil
                }
                return partial ? try ranked(query, prefix: true, filters: filters, last: last, db: db) : page
            }
            return try ranked(query, prefix: query.after?.prefix ?? false, filters: filters, last: last, db: db)
        }
    }

    /// A filter-only page (rows: id, position; up to `limit + 1`) with its counts from the first
    /// products that pass (category, position; up to ``CatalogPage/sampleSize`` + 1).
    static func filterListing(_ rows: [Row], sample: [Row], last: Int64, limit: Int) -> CatalogPage {
        let shown = Array(rows.prefix(limit))
        let counted = sample.prefix(CatalogPage.sampleSize)
        let counts = CatalogPage.counts(
            categories: counted.compactMap { $0[0].string }, span: (counted.last?[1].int ?? 0) + 1,
            exact: sample.count <= CatalogPage.sampleSize, lastPosition: last)
        return CatalogPage(
            productIDs: shown.compactMap { $0[0].string }, total: counts.total, totalIsEstimate: counts.estimate,
            categoryCounts: counts.categories,
            next: rows.count > limit ? shown.last.map { CatalogPosition(position: $0[1].int ?? 0) } : nil)
    }

    /// A page ranked a window at a time, from the query's cursor (or the start).
    private func ranked(_ query: CatalogQuery, prefix: Bool, filters: [SQLValue], last: Int64, db: Connection) throws -> CatalogPage {
        let match = SQLValue(query.ftsAllWords(prefix: prefix))
        return try RankedWindows.page(query, prefix: prefix, last: last) { start in
            try db.query(Self.window, filters + [match, .integer(start), SQLValue(CatalogQuery.window)]).map {
                RankedWindows.Hit(position: $0[0].int ?? 0, score: $0[1].double ?? 0, id: $0[2].string ?? "", category: $0[3].string ?? "", passes: $0[4].int == 1)
            }
        }
    }
}

/// Pages of a word search ranked a window at a time (both engines): each window is the next
/// ``CatalogQuery/window`` matches after a catalog position, scored by the engine; those passing
/// the filters are shown best first (lower score first), then the next window's.
enum RankedWindows {
    struct Hit {
        var position: Int64
        /// Lower is better.
        var score: Double
        var id: String
        var category: String
        var passes: Bool
    }

    /// How many windows one page may read before it answers with what it found.
    static let maxWindows = 4

    static func page(_ query: CatalogQuery, prefix: Bool, last: Int64, window: (Int64) throws -> [Hit]) throws -> CatalogPage {
        var start = query.after?.position ?? -1
        var skip = query.after?.skip ?? 0
        var shown: [String] = []
        var next: CatalogPosition?
        var counts: (total: Int, estimate: Bool, categories: [(id: String, count: Int)])?
        for _ in 0..<maxWindows {
            let hits = try window(start)
            let reached = hits.last?.position ?? last
            let complete = hits.count < CatalogQuery.window
            let passing = hits.filter(\.passes).sorted { ($0.score, $0.position) < ($1.score, $1.position) }
            if counts == nil {
                counts = CatalogPage.counts(
                    categories: passing.map(\.category), span: complete ? last - start : reached - start,
                    exact: complete && start < 0, lastPosition: last)
            }
            let wanted = query.limit - shown.count
            let available = passing.dropFirst(skip)
            shown += available.prefix(wanted).map(\.id)
            if available.count > wanted {
                // The page ends inside this window.
                next = CatalogPosition(position: start, skip: skip + wanted, prefix: prefix)
                break
            }
            if complete {
                next = nil
                break
            }
            // This window is spent: the next one starts after it.
            start = reached
            skip = 0
            next = CatalogPosition(position: start, skip: 0, prefix: prefix)
            if shown.count == query.limit { break }
        }
        let found = counts ?? (0, false, [])
        return CatalogPage(
            productIDs: shown, total: max(found.total, shown.count), totalIsEstimate: found.estimate, categoryCounts: found.categories,
            next: next)
    }
}
