import Foundation
import JSON

/// Prices a prospective order: products with variants and volume discounts, subscription
/// plans with trials, usage with graduated or volume tiers. All integer minor units.
public struct Quote {
    public let manifests: StoreManifests
    /// Where products are read (the store's live catalog when serving).
    public let catalog: any CatalogReader
    /// Live stock for availability (the catalog's numbers when nil).
    public var stock: (@Sendable ([String]) -> StockLevels)? = nil

    public init(manifests: StoreManifests, catalog: (any CatalogReader)? = nil, stock: (@Sendable ([String]) -> StockLevels)? = nil) {
        self.manifests = manifests
        self.catalog = catalog ?? manifests.liveCatalog
        self.stock = stock
    }

    public struct Result {
        public var json: JSON
    }

    public var currency: String { manifests.currency }
    public func money(_ amount: Int64) -> JSON { Money(amount: amount, currency: currency).json }

    public func price(_ arguments: JSON) throws -> Result {
        let items = arguments["items"]?.arrayValue ?? []
        let levels = stock?(items.compactMap { $0["product_id"]?.stringValue })
        let discounts = (manifests.pricing["volume_discounts"]?.arrayValue ?? []).map(VolumeDiscount.init(json:))

        struct Line {
            let product: Product
            let variant: Product.Variant?
            let quantity: Int64
            var unit: Int64 { variant?.price?.amount ?? product.price.amount }
            var available: Int64 { variant?.inventory ?? product.inventory }
        }
        var lines: [Line] = []
        for (i, item) in items.enumerated() {
            let productID = item["product_id"]?.stringValue ?? ""
            guard let product = catalog.product(productID).map({ levels?.applied(to: $0) ?? $0 }) else {
                throw ActionError.notFound("No product \(productID).", param: "/items/\(i)/product_id")
            }
            if let model = product.source["pricing_model"]?.stringValue, model != "one_time" {
                throw ActionError.invalid(
                    "priced_by_\(model)",
                    "\(product.name) is sold by \(model == "usage" ? "usage: quote it with usage: [{price_id, quantity}]" : "subscription: quote it with plans: [{plan_id}]"); see get_pricing.",
                    param: "/items/\(i)/product_id")
            }
            var variant: Product.Variant?
            if let variantID = item["variant_id"]?.stringValue {
                guard let found = product.variants.first(where: { $0.id == variantID }) else {
                    throw ActionError.invalid(
                        "unknown_variant",
                        "\(product.name) has no variant \(variantID). Variants: \(product.variants.map(\.id).joined(separator: ", ")).",
                        param: "/items/\(i)/variant_id")
                }
                variant = found
            } else if !product.variants.isEmpty {
                throw ActionError.invalid(
                    "variant_required",
                    "\(product.name) comes in variants; choose one of: \(product.variants.map(\.id).joined(separator: ", ")).",
                    param: "/items/\(i)/variant_id")
            }
            lines.append(Line(product: product, variant: variant, quantity: item["quantity"]?.intValue ?? 1))
        }

        // Each discount counts every qualifying unit in the order; a line gets its best one.
        var best: [(bps: Int64, id: String?)] = Array(repeating: (0, nil), count: lines.count)
        for discount in discounts {
            let qualifying = lines.filter { discount.applies(to: $0.product) }.reduce(Int64(0)) { $0 &+ $1.quantity }
            let bps = discount.rate(forQuantity: qualifying)
            guard bps > 0 else { continue }
            for (i, line) in lines.enumerated() where discount.applies(to: line.product) && bps > best[i].bps {
                best[i] = (bps, discount.id)
            }
        }
        var lineItems: [JSON] = []
        var productsSubtotal: Int64 = 0, discountTotal: Int64 = 0
        for (i, line) in lines.enumerated() {
            let subtotal = try MoneyMath.multiply(line.unit, line.quantity, "\(line.product.name) × \(line.quantity)")
            let discount = try applyBasisPoints(subtotal, best[i].bps)
            productsSubtotal = try MoneyMath.add(productsSubtotal, subtotal, "The products' subtotal")
            discountTotal = try MoneyMath.add(discountTotal, discount, "The discount total")
            lineItems.append([
                "product_id": .string(line.product.id),
                "variant_id": JSON(line.variant?.id),
                "name": .string(line.variant.map { "\(line.product.name) — \($0.name)" } ?? line.product.name),
                "quantity": .int(line.quantity),
                "unit_price": money(line.unit),
                "subtotal": money(subtotal),
                "discount": money(discount),
                "discount_id": JSON(best[i].id),
                "total": money(subtotal - discount),
                "in_stock": .bool(line.available >= line.quantity),
                "available_quantity": .int(max(0, line.available)),
            ])
        }

        let plans = manifests.pricing["plans"]?.arrayValue ?? []
        var subscriptions: [JSON] = []
        var recurringTotal: Int64 = 0, subscriptionsDueToday: Int64 = 0
        for (i, request) in (arguments["plans"]?.arrayValue ?? []).enumerated() {
            let planID = request["plan_id"]?.stringValue ?? ""
            guard let plan = plans.first(where: { $0["id"]?.stringValue == planID }) else {
                throw ActionError.notFound(
                    "No plan \(planID). Plans: \(plans.compactMap { $0["id"]?.stringValue }.joined(separator: ", ")).",
                    param: "/plans/\(i)/plan_id")
            }
            let quantity = request["quantity"]?.intValue ?? 1
            let recurring = try MoneyMath.multiply(Money(json: plan["price"])?.amount ?? 0, quantity, "Plan \(planID) × \(quantity)")
            let trial = plan["trial_days"]?.intValue ?? 0
            let due = trial > 0 ? 0 : recurring
            recurringTotal = try MoneyMath.add(recurringTotal, recurring, "The plans' total")
            subscriptionsDueToday = try MoneyMath.add(subscriptionsDueToday, due, "The plans due today")
            subscriptions.append([
                "plan_id": .string(planID), "name": plan["name"] ?? .string(planID), "quantity": .int(quantity),
                "price": plan["price"] ?? money(0), "interval": plan["interval"] ?? "month",
                "interval_count": plan["interval_count"] ?? 1, "trial_days": .int(trial),
                "due_today": money(due), "recurring": money(recurring),
            ])
        }

        let usagePrices = manifests.pricing["usage"]?.arrayValue ?? []
        var usage: [JSON] = []
        var usageTotal: Int64 = 0
        for (i, request) in (arguments["usage"]?.arrayValue ?? []).enumerated() {
            let priceID = request["price_id"]?.stringValue ?? ""
            guard let price = usagePrices.first(where: { $0["id"]?.stringValue == priceID }) else {
                throw ActionError.notFound(
                    "No usage price \(priceID). Usage prices: \(usagePrices.compactMap { $0["id"]?.stringValue }.joined(separator: ", ")).",
                    param: "/usage/\(i)/price_id")
            }
            let quantity = request["quantity"]?.intValue ?? 0
            let (tiers, total) = try usageCharge(price, quantity: quantity)
            usageTotal = try MoneyMath.add(usageTotal, total, "The usage total")
            usage.append([
                "price_id": .string(priceID), "name": price["name"] ?? .string(priceID),
                "unit": price["unit"] ?? "unit", "quantity": .int(quantity), "tiers": .array(tiers), "total": money(total),
            ])
        }

        let subtotal = try MoneyMath.add(
            try MoneyMath.add(productsSubtotal, recurringTotal, "The subtotal"), usageTotal, "The subtotal")
        let total = try MoneyMath.subtract(subtotal, discountTotal, "The total")
        let dueToday = try MoneyMath.add(
            try MoneyMath.subtract(productsSubtotal, discountTotal, "The amount due today"), subscriptionsDueToday, "The amount due today")
        return Result(json: [
            "currency": .string(currency),
            "line_items": .array(lineItems),
            "subscriptions": .array(subscriptions),
            "usage": .array(usage),
            "subtotal": money(subtotal),
            "discount_total": money(discountTotal),
            "total": money(total),
            "due_today": money(dueToday),
            "quoted_at": .string(Timestamp.iso8601(Date())),
        ])
    }

    /// Graduated: each tier prices the units that fall in it. Volume: every unit at the rate
    /// of the tier the total falls in. A tier's flat amount is charged when it is reached.
    public func usageCharge(_ price: JSON, quantity: Int64) throws -> ([JSON], Int64) {
        let tiers = price["tiers"]?.arrayValue ?? []
        let volume = price["billing"]?.stringValue == "volume"
        var rows: [JSON] = [], total: Int64 = 0, lower: Int64 = 0
        for tier in tiers {
            let upper = tier["up_to"]?.intValue
            let unit = Money(json: tier["unit_amount"])?.amount ?? 0
            let flat = Money(json: tier["flat_amount"])?.amount ?? 0
            let inTier: Int64
            if volume {
                let isTier = quantity > lower && (upper == nil || quantity <= upper!)
                inTier = isTier ? quantity : 0
            } else {
                inTier = max(0, min(quantity, upper ?? Int64.max) - lower)
            }
            let name = price["id"]?.stringValue ?? "usage"
            let amount = try MoneyMath.add(
                try MoneyMath.multiply(inTier, unit, "\(name): \(inTier) units"), inTier > 0 ? flat : 0, "\(name)'s tier")
            total = try MoneyMath.add(total, amount, "\(name)'s total")
            rows.append([
                "from": .int(lower &+ 1), "to": upper.map(JSON.int) ?? .null, "quantity": .int(inTier),
                "unit_amount": money(unit), "amount": money(amount),
            ])
            guard let upper else { break }
            lower = upper
        }
        return (rows, total)
    }
}
