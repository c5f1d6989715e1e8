import Foundation
import JSON
import StorefrontDomain
import StorefrontStore

/// Priced line items: the catalog's prices, variants and volume discounts, plus shipping.
struct PricedItems {
    var lineItems: [JSON]
    var subtotal: Int64
    var discount: Int64
    var shipping: Int64
    var shippingOption: String?
    var currency: String
    /// Checked when the items are priced (`price` refuses a total that overflows).
    var total: Int64 { subtotal - discount + shipping }
    var categories: Set<String> { Set(lineItems.compactMap { $0["category"]?.stringValue }) }

    var totalsJSON: JSON {
        [
            "subtotal": Money(amount: subtotal, currency: currency).json,
            "discount": Money(amount: discount, currency: currency).json,
            "shipping": Money(amount: shipping, currency: currency).json,
            "total": Money(amount: total, currency: currency).json,
        ]
    }

    /// Prices `items` with the quote engine, then adds shipping for physical goods.
    static func price(_ items: JSON, manifests: StoreManifests, shippingOption: String?) throws -> PricedItems {
        let quote = try Quote(manifests: manifests).price(["items": items]).json
        let currency = manifests.currency
        var lines: [JSON] = []
        var subtotal: Int64 = 0, discount: Int64 = 0
        var physical = false
        for line in quote["line_items"]?.arrayValue ?? [] {
            let product = manifests.liveCatalog.product(line["product_id"]?.stringValue ?? "")
            if product?.isDigital == false { physical = true }
            subtotal = try MoneyMath.add(subtotal, line["subtotal"]?["amount"]?.intValue ?? 0, "The order's subtotal")
            discount = try MoneyMath.add(discount, line["discount"]?["amount"]?.intValue ?? 0, "The order's discount")
            lines.append([
                "product_id": line["product_id"] ?? .null, "variant_id": line["variant_id"] ?? .null,
                "name": line["name"] ?? .null, "category": .string(product?.category ?? ""),
                "quantity": line["quantity"] ?? 1, "unit_price": line["unit_price"] ?? .null,
                "subtotal": line["subtotal"] ?? .null, "discount": line["discount"] ?? .null, "total": line["total"] ?? .null,
            ])
        }
        var shipping: Int64 = 0
        var chosen: String?
        if physical {
            let options = manifests.policies["shipping"]?["options"]?.arrayValue ?? []
            let option: JSON?
            if let shippingOption {
                guard let found = options.first(where: { $0["id"]?.stringValue == shippingOption }) else {
                    throw ActionError.invalid(
                        "unknown_shipping_option",
                        "No shipping option \(shippingOption). Options: \(options.compactMap { $0["id"]?.stringValue }.joined(separator: ", ")).",
                        param: "/shipping_option")
                }
                option = found
            } else {
                option = options.min { ($0["price"]?["amount"]?.intValue ?? 0) < ($1["price"]?["amount"]?.intValue ?? 0) }
            }
            chosen = option?["id"]?.stringValue
            shipping = option?["price"]?["amount"]?.intValue ?? 0
            if let freeOver = manifests.policies["shipping"]?["free_over"]?["amount"]?.intValue, subtotal - discount >= freeOver,
                shippingOption == nil || option == options.min(by: { ($0["price"]?["amount"]?.intValue ?? 0) < ($1["price"]?["amount"]?.intValue ?? 0) })
            {
                shipping = 0
            }
        }
        _ = try MoneyMath.add(try MoneyMath.subtract(subtotal, discount, "The order's total"), shipping, "The order's total")
        return PricedItems(
            lineItems: lines, subtotal: subtotal, discount: discount, shipping: shipping, shippingOption: chosen, currency: currency)
    }
}
