/// A catalog search: full-text words, filters and a page.
public struct CatalogQuery: Sendable, Hashable {
    public var text: String?
    public var category: String?
    public var minPrice: Int64?
    public var maxPrice: Int64?
    public var inStock: Bool?
    public var limit: Int = 20
    /// Where the page starts (nil: the first page).
    public var after: CatalogPosition?

    public static let maxLimit = 100

    public init(
        text: String? = nil, category: String? = nil, minPrice: Int64? = nil, maxPrice: Int64? = nil,
        inStock: Bool? = nil, limit: Int = 20, after: CatalogPosition? = nil
    ) {
        self.text = text
        self.category = category
        self.minPrice = minPrice
        self.maxPrice = maxPrice
        self.inStock = inStock
        self.limit = limit
        self.after = after
    }

    /// How many matches, in catalog position, a word search ranks at a time: a page costs a
    /// window's worth of scoring whatever the number of matches (a catalog smaller than a window
    /// is ranked whole).
    public static let window = 100

    /// Every word, as an FTS5 query: each word quoted (so no FTS syntax reaches the engine from
    /// input), all required; prefix-matched only with `prefix` (the fallback when nothing matches
    /// the words as written: prefix matching reads every word that starts so).
    public func ftsAllWords(prefix: Bool) -> String? {
        words.map { "(" + $0.map { "\"\($0)\"" + (prefix ? "*" : "") }.joined(separator: " ") + ")" }
    }

    /// The words searched for: lowercased runs of letters and digits (so no query syntax of
    /// any engine survives), at most 16; nil when there are none.
    public var words: [String]? {
        guard let text else { return nil }
        let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }.prefix(16).map(String.init)
        return words.isEmpty ? nil : words
    }

    /// Identifies the query without its page, so a cursor cannot be replayed on another query.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let key = [words?.joined(separator: " ") ?? "", category ?? "", minPrice.map(String.init) ?? "", maxPrice.map(String.init) ?? "",
                   inStock.map { $0 ? "1" : "0" } ?? ""].joined(separator: "\u{1F}")
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 36)
    }
}

/// One page of results.
public struct CatalogPage: Sendable {
    public var productIDs: [String]
    /// Products matching on all pages: exact when `totalIsEstimate` is false; otherwise
    /// estimated from the first ``CatalogPage/sampleSize`` matches (counting every match of a
    /// common word in a million products would cost more than the page).
    public var total: Int
    public var totalIsEstimate: Bool
    /// Matches per category, on the same terms as `total`.
    public var categoryCounts: [(id: String, count: Int)]
    public var next: CatalogPosition?

    /// How many products a filter-only listing counts before its total becomes an estimate.
    public static let sampleSize = 200

    public init(
        productIDs: [String], total: Int, totalIsEstimate: Bool = false, categoryCounts: [(id: String, count: Int)] = [],
        next: CatalogPosition?
    ) {
        self.productIDs = productIDs
        self.total = total
        self.totalIsEstimate = totalIsEstimate
        self.categoryCounts = categoryCounts
        self.next = next
    }

    /// The total and category counts from the matches found (their categories) in `span` catalog
    /// positions of a catalog whose positions run to `lastPosition`: exact when those positions
    /// were the whole catalog (`exact`); otherwise scaled by the share of the catalog they cover.
    public static func counts(
        categories: [String], span: Int64, exact: Bool, lastPosition: Int64
    ) -> (total: Int, estimate: Bool, categories: [(id: String, count: Int)]) {
        var byCategory: [String: Int] = [:]
        for category in categories { byCategory[category, default: 0] += 1 }
        let scale = exact ? 1.0 : Double(max(lastPosition + 1, span)) / Double(max(span, 1))
        let scaled = byCategory.map { (id: $0.key, count: Int((Double($0.value) * scale).rounded())) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.id < $1.id }
        let total = exact ? categories.count : max(categories.count, Int((Double(categories.count) * scale).rounded()))
        return (total, !exact, scaled)
    }
}

/// Full-text and filtered search over the catalog the store holds (SQLite: FTS5; PostgreSQL:
/// `tsvector`): a page reads a bounded number of matches, whatever the catalog's size.
public protocol CatalogIndex: Sendable {
    func search(_ query: CatalogQuery) throws -> CatalogPage
}
