import JSON
import Store
import StorefrontDomain

/// The order as ACP's order webhooks carry it (`Order` of release 2026-04-17, always whole):
/// lines with what was ordered, is current and was fulfilled; the fulfillment with its events;
/// refunds as adjustments. Built from the same records as UCP's order.
package enum ACPOrders {
    package static func json(_ order: Order, baseURL: String, db: Connection) throws -> JSON {
        let ucp = try UCPOrders.json(order, baseURL: baseURL, db: db)
        let events = try UCPOrders.events(orderID: order.id, db: db)
        let lines: [JSON] = (ucp["line_items"]?.arrayValue ?? []).enumerated().map { index, line in
            let source = order.lineItems.indices.contains(index) ? order.lineItems[index] : [:]
            var out: [String: JSON] = [
                "id": line["id"] ?? "", "title": line["item"]?["title"] ?? "",
                "quantity": [
                    "ordered": .int(source["quantity"]?.intValue ?? 1), "current": line["quantity"]?["total"] ?? 0,
                    "fulfilled": line["quantity"]?["fulfilled"] ?? 0,
                ],
                "unit_price": line["item"]?["price"] ?? 0, "status": line["status"] ?? "processing",
            ]
            if let product = source["product_id"] { out["product_id"] = product }
            return .object(out)
        }
        var fulfillments: [JSON] = []
        if let last = events.last {
            fulfillments = [[
                "id": .string("ful_\(order.id)"), "type": "shipping", "status": .string(last.type),
                "events": .array(events.map { ["id": .string($0.id), "type": .string($0.type), "occurred_at": .string(isoTime($0.occurredAt))] }),
            ]]
            if case .object(var fields) = fulfillments[0] {
                if let carrier = events.last(where: { $0.carrier != nil })?.carrier { fields["carrier"] = .string(carrier) }
                if let number = events.last(where: { $0.trackingNumber != nil })?.trackingNumber { fields["tracking_number"] = .string(number) }
                if let url = events.last(where: { $0.trackingURL != nil })?.trackingURL { fields["tracking_url"] = .string(url) }
                fulfillments[0] = .object(fields)
            }
        }
        let adjustments: [JSON] = (ucp["adjustments"]?.arrayValue ?? []).map { adjustment in
            var out: [String: JSON] = [
                "id": adjustment["id"] ?? "", "type": adjustment["type"] ?? "refund", "occurred_at": adjustment["occurred_at"] ?? "",
                "status": adjustment["status"] ?? "completed",
                "amount": .int(-(adjustment["totals"]?[0]?["amount"]?.intValue ?? 0)), "currency": .string(order.currency.lowercased()),
            ]
            if let description = adjustment["description"] { out["reason"] = description }
            return .object(out)
        }
        let status: String
        switch order.status {
        case "canceled": status = "canceled"
        default:
            if events.contains(where: { $0.type == "delivered" }) {
                status = "completed"
            } else if events.contains(where: { $0.type == "shipped" || $0.type == "in_transit" }) {
                status = "shipped"
            } else {
                status = "confirmed"
            }
        }
        var out: [String: JSON] = [
            "type": "order", "id": .string(order.id), "checkout_session_id": .string(order.checkoutID),
            "permalink_url": .string(baseURL + "/orders/\(order.id)"), "status": .string(status), "line_items": .array(lines),
        ]
        if !fulfillments.isEmpty { out["fulfillments"] = .array(fulfillments) }
        if !adjustments.isEmpty { out["adjustments"] = .array(adjustments) }
        return .object(out)
    }
}
