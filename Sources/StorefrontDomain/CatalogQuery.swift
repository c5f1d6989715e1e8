/// A catalog search: full-text words, filters and a page.
public struct CatalogQuery: Sendable, Hashable {
    public var text: String?
    public var category: String?
    public var minPrice: Int64?
    public var maxPrice: Int64?
    public var inStock: Bool?
    public var limit: Int = 20
    public var offset: Int = 0

    public static let maxLimit = 100

    public init(
        text: String? = nil, category: String? = nil, minPrice: Int64? = nil, maxPrice: Int64? = nil,
        inStock: Bool? = nil, limit: Int = 20, offset: Int = 0
    ) {
        self.text = text
        self.category = category
        self.minPrice = minPrice
        self.maxPrice = maxPrice
        self.inStock = inStock
        self.limit = limit
        self.offset = offset
    }

    /// The words of `text` as an FTS5 query: each word quoted (so no FTS syntax reaches the
    /// engine from input) and prefix-matched; all words must match.
    public var ftsExpression: String? {
        words.map { $0.map { "\"\($0)\"*" }.joined(separator: " ") }
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
        let key = [text ?? "", category ?? "", minPrice.map(String.init) ?? "", maxPrice.map(String.init) ?? "",
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
    public var total: Int
    public var nextOffset: Int?

    public init(productIDs: [String], total: Int, nextOffset: Int?) {
        self.productIDs = productIDs
        self.total = total
        self.nextOffset = nextOffset
    }
}

/// Full-text and filtered search over the catalog. SQLite implements it with FTS5; a
/// PostgreSQL store would implement it with `tsvector`.
public protocol CatalogIndex: Sendable {
    /// Replaces the indexed catalog with `catalog` in one transaction.
    func replace(with catalog: Catalog) throws
    func search(_ query: CatalogQuery) throws -> CatalogPage
}
