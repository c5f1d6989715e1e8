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

    /// The words of `text` as an FTS5 query for each relevance tier: every word in the name; in
    /// the category; in the tags or brand; anywhere (each tier without the earlier ones' matches).
    /// Each word is quoted (so no FTS syntax reaches the engine from input) and all must match;
    /// a word is prefix-matched only with `prefix` (the fallback when nothing matches the words
    /// as written: prefix matching reads every word that starts so).
    public func ftsTiers(prefix: Bool) -> [String]? {
        guard let group = ftsAllWords(prefix: prefix) else { return nil }
        let columns = ["{name}", "{name category}", "{name category labels}"].map { $0 + " : " + group }
        return [columns[0], "\(columns[1]) NOT \(columns[0])", "\(columns[2]) NOT \(columns[1])", "\(group) NOT \(columns[2])"]
    }

    /// How many relevance tiers there are (a cursor's tier is below twice this: the prefix tiers
    /// follow).
    public static let tiers = 4

    /// Every word anywhere, as an FTS5 query (what all tiers together match).
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

    /// How many matches are counted before the total becomes an estimate.
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

    /// The total and category counts from a sample: the categories and positions of the first
    /// matches in position order (at most `sampleSize + 1`), of a catalog whose positions run
    /// to `lastPosition`. When the sample is all there is, exact; otherwise scaled by how far
    /// into the catalog the sample reached.
    public static func counts(
        sample: [(category: String, position: Int64)], lastPosition: Int64
    ) -> (total: Int, estimate: Bool, categories: [(id: String, count: Int)]) {
        var byCategory: [String: Int] = [:]
        let counted = sample.prefix(sampleSize)
        for hit in counted { byCategory[hit.category, default: 0] += 1 }
        var scale = 1.0
        let estimate = sample.count > sampleSize
        if estimate, let reached = counted.last?.position, reached >= 0 {
            scale = Double(max(lastPosition, reached) + 1) / Double(reached + 1)
        }
        let scaled = byCategory.map { (id: $0.key, count: Int((Double($0.value) * scale).rounded())) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.id < $1.id }
        let total = estimate ? max(sample.count, Int((Double(counted.count) * scale).rounded())) : counted.count
        return (total, estimate, scaled)
    }
}

/// Full-text and filtered search over the catalog the store holds (SQLite: FTS5; PostgreSQL:
/// `tsvector`), in relevance tiers and, within a tier, catalog position: a page reads only as
/// many matches as it shows, whatever the catalog's size.
public protocol CatalogIndex: Sendable {
    func search(_ query: CatalogQuery) throws -> CatalogPage
}
