import JSON
import Store
import StorefrontDomain

/// What both catalog indexes store of a product: its row in `catalog_products` (the filters),
/// and the text of its searchable fields.
enum CatalogIndexRows {
    static func insertProduct(_ product: Product, position: Int, db: Connection) throws {
        try db.run(
            """
            INSERT INTO catalog_products (id, position, category, price_amount, currency, inventory)
            VALUES (?, ?, ?, ?, ?, ?)
            """,
            [.text(product.id), SQLValue(position), .text(product.category), .integer(product.price.amount),
             .text(product.price.currency), .integer(product.inventory)])
    }

    /// The attributes (`key words value`, sorted) and variant names, as one text.
    static func attributesText(_ product: Product) -> String {
        let attributes = (product.source["attributes"]?.objectValue ?? [:])
            .map { key, value in "\(key.replacingOccurrences(of: "_", with: " ")) \(value.stringValue ?? value.compactString)" }
            .sorted().joined(separator: " ")
        return attributes + " " + product.variants.map(\.name).joined(separator: " ")
    }
}
