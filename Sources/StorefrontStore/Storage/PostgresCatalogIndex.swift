import JSON
import Store
import StorefrontDomain

/// The catalog index on PostgreSQL: the same filter table as SQLite's, and a `tsvector` per
/// product position (GIN-indexed) with the name weighted A, the category B, tags and brand C,
/// description and attributes D. Every word is prefix-matched and indexed both as written and
/// stemmed (English), so "stoves" finds "stove". The same relevance tiers as SQLite's, each in
/// catalog position, read as keyset pages.
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
    private static let wordPage = """
        SELECT p.id, p.position FROM catalog_search s JOIN catalog_products p ON p.position = s.position
        WHERE s.document @@ to_tsquery('simple', $5::TEXT) AND s.position > $6::BIGINT AND \(filters)
        ORDER BY s.position LIMIT $7::BIGINT
        """
    private static let filterPage = """
        SELECT p.id, p.position FROM catalog_products p
        WHERE $5::TEXT IS NULL AND p.position > $6::BIGINT AND \(filters) ORDER BY p.position LIMIT $7::BIGINT
        """
    private static let wordSample = """
        SELECT p.category, p.position FROM catalog_search s JOIN catalog_products p ON p.position = s.position
        WHERE s.document @@ to_tsquery('simple', $5::TEXT) AND $6::BIGINT IS NULL AND \(filters)
        ORDER BY s.position LIMIT $7::BIGINT
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

    /// The tsquery of every word, restricted to the weights given (none: any).
    static func allWords(_ words: [String], weights: String) -> String {
        "(" + words.map { "\($0):*\(weights)" }.joined(separator: " & ") + ")"
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
                return SQLiteCatalogIndex.page(rows.map { ($0[0].string ?? "", 0, $0[1].int ?? 0) }, sample: sample, last: last, limit: query.limit)
            }
            let name = Self.allWords(words, weights: "A"), category = Self.allWords(words, weights: "AB")
            let labels = Self.allWords(words, weights: "ABC"), all = Self.allWords(words, weights: "")
            let tiers = [name, "\(category) & !\(name)", "\(labels) & !\(category)", "\(all) & !\(labels)"]
            var hits: [(String, Int, Int64)] = []
            var tier = min(query.after?.tier ?? 0, tiers.count - 1)
            var after = query.after?.position ?? -1
            while tier < tiers.count, hits.count <= query.limit {
                let rows = try db.query(Self.wordPage, filters + [.text(tiers[tier]), .integer(after), SQLValue(query.limit + 1 - hits.count)])
                hits += rows.map { ($0[0].string ?? "", tier, $0[1].int ?? 0) }
                tier += 1
                after = -1
            }
            let sample = try db.query(Self.wordSample, filters + [.text(all), .null, SQLValue(CatalogPage.sampleSize + 1)])
            return SQLiteCatalogIndex.page(hits, sample: sample, last: last, limit: query.limit)
        }
    }
}
