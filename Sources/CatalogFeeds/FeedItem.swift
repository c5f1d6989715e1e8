import JSON
import StorefrontDomain

/// One result of an import: a product in the store's `catalog.json` shape, or a row the
/// importer refused and why. An import never stops at a bad row, so a merchant sees every
/// problem of a feed in one pass.
public enum FeedItem: Sendable, Equatable {
    case product(JSON)
    case rejected(FeedRejection)
}

/// Why a row of a feed was not imported (the store's rejection: row, id, field, reason).
public typealias FeedRejection = CatalogRejection

/// A category an import met: feeds name categories by text ("Apparel & Accessories > Shoes"),
/// the store by slug, so each text becomes an id and a name the catalog can declare.
public struct FeedCategory: Sendable, Equatable, Hashable {
    public var id: String
    public var name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// What every importer is: an iterator of items that also collects the categories it saw and
/// says how far through its input it is (for ``ImportProgress``).
public protocol FeedImporter: IteratorProtocol, Sequence where Element == FeedItem {
    /// Categories met so far, in the order first seen.
    var categories: [FeedCategory] { get }
    /// Bytes of the input read so far, and its size when known.
    var bytesRead: Int64 { get }
    var totalBytes: Int64? { get }
}

/// Choices an import needs that a feed does not always carry.
public struct FeedOptions: Sendable {
    /// Currency of feeds whose prices carry none (Shopify's products.json).
    public var defaultCurrency: String
    /// Stock to record for a product a feed says is in stock without a quantity.
    public var inStockInventory: Int64
    /// The largest row, line or element read; a larger one is rejected, not loaded.
    public var maxRowBytes: Int

    public init(defaultCurrency: String = "USD", inStockInventory: Int64 = 1, maxRowBytes: Int = 4 << 20) {
        self.defaultCurrency = defaultCurrency
        self.inStockInventory = inStockInventory
        self.maxRowBytes = maxRowBytes
    }
}
