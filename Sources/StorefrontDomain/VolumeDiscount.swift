import JSON

/// A volume discount from `pricing.json`: the more qualifying units in one order, the larger
/// the percentage off (in basis points).
public struct VolumeDiscount: Sendable {
    public let id: String
    public let categories: Set<String>
    public let products: Set<String>
    public let appliesToAll: Bool
    /// (minimum quantity, basis points), ascending by quantity.
    public let tiers: [(minQuantity: Int64, bps: Int64)]

    public init(json: JSON) {
        id = json["id"]?.stringValue ?? ""
        let appliesTo = json["applies_to"]
        categories = Set(appliesTo?["categories"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        products = Set(appliesTo?["products"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        appliesToAll = appliesTo?["all"]?.boolValue == true
        tiers = (json["tiers"]?.arrayValue ?? []).compactMap { tier in
            guard let q = tier["min_quantity"]?.intValue, let bps = tier["discount_bps"]?.intValue else { return nil }
            return (q, bps)
        }.sorted { $0.minQuantity < $1.minQuantity }
    }

    public func applies(to product: Product) -> Bool {
        appliesToAll || products.contains(product.id) || categories.contains(product.category)
    }

    /// The discount rate for this many qualifying units, in basis points (0 below the first tier).
    public func rate(forQuantity quantity: Int64) -> Int64 {
        tiers.last { $0.minQuantity <= quantity }?.bps ?? 0
    }
}

/// `amount × bps / 10000`, rounded half up, in integer arithmetic (checked: a product that does
/// not fit in 64 bits is `amount_out_of_range`).
public func applyBasisPoints(_ amount: Int64, _ bps: Int64) throws -> Int64 {
    try MoneyMath.add(try MoneyMath.multiply(amount, bps, "A discount"), 5000, "A discount") / 10000
}
