import JSON

/// A product of the catalog, as the merchant declared it in `catalog.json`.
public struct Product: Sendable {
    public struct Variant: Sendable {
        public var id: String
        public var name: String
        public var price: Money?
        public var inventory: Int64
        public var source: JSON
    }

    public var id: String
    public var name: String
    public var description: String
    public var category: String
    public var brand: String?
    public var tags: [String]
    public var price: Money
    public var images: [String]
    public var inventory: Int64
    public var variants: [Variant]
    public var isDigital: Bool
    /// The product exactly as declared, for the full view.
    public var source: JSON

    public var inStock: Bool { inventory > 0 }

    public init(json: JSON) throws {
        guard let id = json["id"]?.stringValue, let name = json["name"]?.stringValue,
            let price = Money(json: json["price"])
        else { throw ManifestError(file: "catalog.json", pointer: "", message: "product without id, name or price") }
        self.id = id
        self.name = name
        description = json["description"]?.stringValue ?? ""
        category = json["category"]?.stringValue ?? ""
        brand = json["brand"]?.stringValue
        tags = json["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.price = price
        images = json["images"]?.arrayValue?.compactMap(\.stringValue) ?? []
        inventory = json["inventory"]?.intValue ?? 0
        variants = (json["variants"]?.arrayValue ?? []).compactMap { v in
            guard let vid = v["id"]?.stringValue else { return nil }
            return Variant(
                id: vid, name: v["name"]?.stringValue ?? vid, price: Money(json: v["price"]),
                inventory: v["inventory"]?.intValue ?? 0, source: v)
        }
        isDigital = json["digital"]?.boolValue ?? false
        source = json
    }
}

public struct Category: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String

    public init(id: String, name: String, description: String = "") {
        self.id = id
        self.name = name
        self.description = description
    }

    public init?(json: JSON) {
        guard let id = json["id"]?.stringValue else { return nil }
        self.init(id: id, name: json["name"]?.stringValue ?? id, description: json["description"]?.stringValue ?? "")
    }
}

/// The catalog: categories and products, in the merchant's order.
public struct Catalog: Sendable {
    public var categories: [Category]
    public var products: [Product]
    private var byID: [String: Int]

    public init(json: JSON) throws {
        categories = (json["categories"]?.arrayValue ?? []).compactMap(Category.init(json:))
        products = try (json["products"]?.arrayValue ?? []).map(Product.init(json:))
        byID = Dictionary(products.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func product(_ id: String) -> Product? { byID[id].map { products[$0] } }
}
