import JSON
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

@Suite("Quoting a prospective order")
struct QuoteTests {
    let manifests: StoreManifests
    init() throws { manifests = try Fixtures.demoStore() }

    func quote(_ arguments: JSON) throws -> JSON { try Quote(manifests: manifests).price(arguments).json }

    /// A product in a category that a volume discount covers, and that discount's tiers.
    func discounted() throws -> (Product, VolumeDiscount) {
        for json in manifests.pricing["volume_discounts"]?.arrayValue ?? [] {
            let discount = VolumeDiscount(json: json)
            if let product = manifests.catalog.products.first(where: {
                discount.applies(to: $0) && $0.variants.isEmpty && $0.source["pricing_model"] == nil
            }) {
                return (product, discount)
            }
        }
        throw QuoteTestError.noFixture
    }
    enum QuoteTestError: Error { case noFixture }

    @Test("line totals are unit price times quantity, less the volume discount the quantity reaches")
    func volumeDiscount() throws {
        let (product, discount) = try discounted()
        let tier = try #require(discount.tiers.first)
        let quantity = tier.minQuantity
        let result = try quote(["items": [["product_id": .string(product.id), "quantity": .int(quantity)]]])
        let line = try #require(result["line_items"]?[0])
        let subtotal = product.price.amount * quantity
        let expectedDiscount = (subtotal * tier.bps + 5000) / 10000
        #expect(line["subtotal"]?["amount"]?.intValue == subtotal)
        #expect(line["discount"]?["amount"]?.intValue == expectedDiscount)
        #expect(line["total"]?["amount"]?.intValue == subtotal - expectedDiscount)
        #expect(result["due_today"]?["amount"]?.intValue == subtotal - expectedDiscount)
        let below = try quote(["items": [["product_id": .string(product.id), "quantity": .int(max(1, quantity - 1))]]])
        if quantity > 1 { #expect(below["discount_total"]?["amount"]?.intValue == 0) }
    }

    @Test("a product with variants needs one, and the error lists them")
    func variantRequired() throws {
        let product = try #require(manifests.catalog.products.first { !$0.variants.isEmpty && $0.source["pricing_model"] == nil })
        #expect {
            try quote(["items": [["product_id": .string(product.id), "quantity": 1]]])
        } throws: { error in
            guard let error = error as? ActionError else { return false }
            return error.code == "variant_required" && error.param == "/items/0/variant_id"
                && error.message.contains(product.variants[0].id)
        }
    }

    @Test("a plan with a free trial costs nothing today and its price each period")
    func trialPlan() throws {
        let plan = try #require(manifests.pricing["plans"]?.arrayValue?.first { ($0["trial_days"]?.intValue ?? 0) > 0 })
        let result = try quote(["plans": [["plan_id": plan["id"]!]]])
        #expect(result["subscriptions"]?[0]?["due_today"]?["amount"]?.intValue == 0)
        #expect(result["subscriptions"]?[0]?["recurring"]?["amount"] == plan["price"]?["amount"])
        #expect(result["due_today"]?["amount"]?.intValue == 0)
    }

    @Test("graduated usage prices each tier's units at that tier's rate")
    func graduatedUsage() throws {
        let price = try #require(manifests.pricing["usage"]?.arrayValue?.first)
        let tiers = price["tiers"]!.arrayValue!
        let quantity: Int64 = 12_500
        var expected: Int64 = 0, lower: Int64 = 0
        for tier in tiers {
            let upper = tier["up_to"]?.intValue ?? Int64.max
            expected += max(0, min(quantity, upper) - lower) * (tier["unit_amount"]?["amount"]?.intValue ?? 0)
            lower = upper
            if upper >= quantity { break }
        }
        let result = try quote(["usage": [["price_id": price["id"]!, "quantity": .int(quantity)]]])
        #expect(result["usage"]?[0]?["total"]?["amount"]?.intValue == expected)
        #expect(expected > 0)
    }

    @Test("subscription products are quoted through their plans, not as items")
    func subscriptionAsItem() throws {
        let product = try #require(manifests.catalog.products.first { $0.source["pricing_model"] == "subscription" })
        #expect(throws: ActionError.self) { try quote(["items": [["product_id": .string(product.id), "quantity": 1]]]) }
    }
}
