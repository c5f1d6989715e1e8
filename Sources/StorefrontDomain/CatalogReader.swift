/// The catalog as the gateway serves it: read product by product from wherever it lives (the
/// store, for a served catalog of any size; memory, for a manifests folder being validated), so
/// nothing that answers a request ever holds or walks the whole catalog.
public protocol CatalogReader: Sendable {
    /// Changes whenever the catalog may have changed: at once for this process's writes, within a
    /// second for another process's. Caches of anything derived from products key on it.
    var version: Int { get }
    var categories: [Category] { get }
    /// How many products there are.
    var productCount: Int { get }
    func product(_ id: String) -> Product?
    /// The products of `ids` that exist, in the order asked.
    func products(_ ids: [String]) -> [Product]
    /// The product a variant id belongs to.
    func productID(ofVariant id: String) -> String?
    /// At most `limit` products in catalog order after the position `after` (nil: from the
    /// start), and the position to continue after (nil at the end): for documents and feeds
    /// that list the catalog page by page.
    func page(after: Int64?, limit: Int) -> (products: [Product], next: Int64?)
    /// The ids of the first `limit` products in catalog order (a sitemap needs no more).
    func firstIDs(_ limit: Int) -> [String]
}

extension CatalogReader {
    public func firstIDs(_ limit: Int) -> [String] { page(after: nil, limit: limit).products.map(\.id) }

    public func category(_ id: String) -> Category? { categories.first { $0.id == id } }

    /// A product by its id or by one of its variants' ids (and which variant).
    public func find(_ id: String) -> (Product, variant: String?)? {
        if let product = product(id) { return (product, nil) }
        guard let owner = productID(ofVariant: id), let product = product(owner) else { return nil }
        return (product, id)
    }

    /// Every product, page by page (for exports: the caller sees one page at a time).
    public func forEachPage(size: Int = 500, _ body: ([Product]) throws -> Void) rethrows {
        var after: Int64?
        repeat {
            let (products, next) = page(after: after, limit: size)
            if !products.isEmpty { try body(products) }
            after = next
        } while after != nil
    }
}

/// A catalog declared in memory (a manifests folder) read the same way.
extension Catalog: CatalogReader {
    public var version: Int { 0 }
    public var productCount: Int { products.count }
    public func products(_ ids: [String]) -> [Product] { ids.compactMap(product) }
    public func productID(ofVariant id: String) -> String? {
        products.first { $0.variants.contains { $0.id == id } }?.id
    }
    public func page(after: Int64?, limit: Int) -> (products: [Product], next: Int64?) {
        let start = Int(after ?? -1) + 1
        guard start < products.count else { return ([], nil) }
        let end = min(products.count, start + max(1, limit))
        return (Array(products[start..<end]), end < products.count ? Int64(end - 1) : nil)
    }
}
