import JSON
import Store
import StorefrontDomain

/// A fulfillment event of an order (UCP's `fulfillment.events[]`), as the merchant records it.
package struct FulfillmentEvent: Sendable {
    package static let types: Set<String> = [
        "processing", "shipped", "in_transit", "delivered", "failed_attempt", "canceled", "undeliverable", "returned_to_sender",
    ]
    package var id: String
    package var orderID: String
    package var type: String
    /// `[{id: "li_N", quantity}]`.
    package var lineItems: JSON
    package var trackingNumber: String?
    package var trackingURL: String?
    package var carrier: String?
    package var description: String?
    package var occurredAt: Int64

    package init(
        id: String, orderID: String, type: String, lineItems: JSON, trackingNumber: String?, trackingURL: String?, carrier: String?,
        description: String?, occurredAt: Int64
    ) {
        self.id = id
        self.orderID = orderID
        self.type = type
        self.lineItems = lineItems
        self.trackingNumber = trackingNumber
        self.trackingURL = trackingURL
        self.carrier = carrier
        self.description = description
        self.occurredAt = occurredAt
    }

    package var json: JSON {
        var out: [String: JSON] = [
            "id": .string(id), "occurred_at": .string(isoTime(occurredAt)), "type": .string(type), "line_items": lineItems,
        ]
        if let trackingNumber { out["tracking_number"] = .string(trackingNumber) }
        if let trackingURL { out["tracking_url"] = .string(trackingURL) }
        if let carrier { out["carrier"] = .string(carrier) }
        if let description { out["description"] = .string(description) }
        return .object(out)
    }
}

/// The SQL of UCP's order capability: fulfillment events, the platforms that hear of orders, and
/// the order entity UCP defines (`order.json`), built from the store's own records.
package enum UCPOrders {
    package static let version = "2026-08-25"

    package static func addEvent(_ event: FulfillmentEvent, db: Connection) throws {
        try db.run(
            """
            INSERT INTO order_fulfillment_events (id, order_id, type, line_items, tracking_number, tracking_url, carrier, description, occurred_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(event.id), .text(event.orderID), .text(event.type), .text(event.lineItems.compactString), SQLValue(event.trackingNumber),
             SQLValue(event.trackingURL), SQLValue(event.carrier), SQLValue(event.description), .integer(event.occurredAt)])
    }

    package static func events(orderID: String, db: Connection) throws -> [FulfillmentEvent] {
        try db.query("SELECT * FROM order_fulfillment_events WHERE order_id = ? ORDER BY occurred_at, id", [.text(orderID)]).map { row in
            let decode = RowDecoder(row, table: "order_fulfillment_events")
            return FulfillmentEvent(
                id: try decode.text("id"), orderID: try decode.text("order_id"), type: try decode.text("type"),
                lineItems: try decode.json("line_items"), trackingNumber: decode.optionalText("tracking_number"),
                trackingURL: decode.optionalText("tracking_url"), carrier: decode.optionalText("carrier"),
                description: decode.optionalText("description"), occurredAt: try decode.int("occurred_at"))
        }
    }

    /// Remembers the platform a checkout was made through and its order webhook (once).
    package static func rememberPlatform(checkoutID: String, platform: String, url: String, db: Connection) throws {
        try db.run(
            "INSERT INTO ucp_order_webhooks (checkout_id, platform, url, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (checkout_id) DO NOTHING",
            [.text(checkoutID), .text(platform), .text(url), .integer(unixNow())])
    }

    /// The platform an order's checkout was made through and its order webhook (an ACP
    /// platform's name starts with `acp:`).
    package static func platformWebhook(orderID: String, db: Connection) throws -> (platform: String, url: String)? {
        guard let row = try db.queryOne(
            "SELECT w.platform, w.url FROM ucp_order_webhooks w JOIN orders o ON o.checkout_id = w.checkout_id WHERE o.id = ?",
            [.text(orderID)])
        else { return nil }
        guard let platform = row[0].string, let url = row[1].string else { return nil }
        return (platform, url)
    }

    /// The order as UCP's `order.json` shows it: its lines with what was fulfilled, the
    /// fulfillment events, refunds and cancellation as adjustments, and the totals.
    package static func json(_ order: Order, baseURL: String, db: Connection) throws -> JSON {
        let events = try events(orderID: order.id, db: db)
        var fulfilled: [String: Int64] = [:]
        for event in events where event.type == "shipped" || event.type == "delivered" {
            // A line shipped and then delivered is fulfilled once: count each type apart, keep the larger.
            var byType: [String: Int64] = [:]
            for line in event.lineItems.arrayValue ?? [] {
                byType[line["id"]?.stringValue ?? "", default: 0] += line["quantity"]?.intValue ?? 0
            }
            for (id, quantity) in byType { fulfilled[event.type + "|" + id, default: 0] += quantity }
        }
        let canceled = order.status == "canceled"
        let lines: [JSON] = order.lineItems.enumerated().map { index, line in
            let id = "li_\(index + 1)"
            let quantity = line["quantity"]?.intValue ?? 1
            let total = canceled ? 0 : quantity
            let done = min(total, max(fulfilled["shipped|" + id] ?? 0, fulfilled["delivered|" + id] ?? 0))
            let status = total == 0 ? "removed" : done == total ? "fulfilled" : done > 0 ? "partial" : "processing"
            let itemID = line["variant_id"]?.stringValue ?? line["product_id"]?.stringValue ?? ""
            var quantities: [String: JSON] = ["total": .int(total), "fulfilled": .int(done)]
            if total != quantity { quantities["original"] = .int(quantity) }
            return [
                "id": .string(id),
                "item": ["id": .string(itemID), "title": line["name"] ?? .string(itemID), "price": .int(line["unit_price"]?["amount"]?.intValue ?? 0)],
                "quantity": .object(quantities),
                "totals": lineTotals(line),
                "status": .string(status),
            ]
        }
        let refunds = try db.query(
            "SELECT id, amount, note, at FROM ledger WHERE agent_id = ? AND reference = ? AND kind = 'refund' ORDER BY id",
            [.text(order.agentID), .text(order.id)])
        let adjustments: [JSON] = refunds.enumerated().map { index, row in
            let last = index == refunds.count - 1
            var adjustment: [String: JSON] = [
                "id": .string("adj_\(row["id"].int ?? 0)"), "type": .string(canceled && last ? "cancellation" : "refund"),
                "occurred_at": .string(isoTime(row["at"].int ?? 0)), "status": "completed",
                "totals": [["type": "total", "amount": .int(-(row["amount"].int ?? 0))]],
            ]
            if let note = row["note"].string, !note.isEmpty { adjustment["description"] = .string(note) }
            return .object(adjustment)
        }
        var out: [String: JSON] = [
            "ucp": ["version": .string(version), "status": "success", "capabilities": ["dev.ucp.shopping.order": [["version": .string(version)]]]],
            "id": .string(order.id), "checkout_id": .string(order.checkoutID), "permalink_url": .string(baseURL + "/orders/\(order.id)"),
            "currency": .string(order.currency), "line_items": .array(lines),
            "fulfillment": ["events": .array(events.map(\.json))],
            "totals": orderTotals(order.items["totals"] ?? [:]),
        ]
        if !adjustments.isEmpty { out["adjustments"] = .array(adjustments) }
        return .object(out)
    }

    static func lineTotals(_ line: JSON) -> JSON {
        let subtotal = line["subtotal"]?["amount"]?.intValue ?? 0
        let discount = line["discount"]?["amount"]?.intValue ?? 0
        var totals: [JSON] = [["type": "subtotal", "amount": .int(subtotal)]]
        if discount > 0 { totals.append(["type": "items_discount", "amount": .int(-discount)]) }
        totals.append(["type": "total", "amount": .int(line["total"]?["amount"]?.intValue ?? subtotal - discount)])
        return .array(totals)
    }

    static func orderTotals(_ totals: JSON) -> JSON {
        let discount = totals["discount"]?["amount"]?.intValue ?? 0
        let shipping = totals["shipping"]?["amount"]?.intValue ?? 0
        var out: [JSON] = [["type": "subtotal", "amount": .int(totals["subtotal"]?["amount"]?.intValue ?? 0)]]
        if discount > 0 { out.append(["type": "items_discount", "amount": .int(-discount)]) }
        if shipping > 0 { out.append(["type": "fulfillment", "amount": .int(shipping), "display_text": "Shipping"]) }
        out.append(["type": "total", "amount": .int(totals["total"]?["amount"]?.intValue ?? 0)])
        return .array(out)
    }
}
