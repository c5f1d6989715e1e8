import Foundation
import JSON
import StorefrontDomain

/// ACP (Agentic Commerce Protocol, release 2026-04-17), the seller side: the discovery
/// document, the checkout session's shapes, and the wallet as a payment handler that takes a
/// delegated allowance (`delegate_payment`). One implementation serves both: a session is a
/// Storefront checkout, shown in ACP's shape.
struct ACP: Sendable {
    static let version = "2026-04-17"
    static let walletHandlerID = "wallet"

    let baseURL: String
    let storeID: String
    let currency: String
    /// The store's shipping options (policies.shipping.options).
    let shippingOptions: [JSON]

    func url(_ path: String) -> String { baseURL + path }

    /// `/.well-known/acp.json`: what is served, and nothing else.
    var discovery: JSON {
        [
            "protocol": [
                "name": "acp", "version": .string(Self.version), "supported_versions": [.string(Self.version)],
                "documentation_url": .string(url("/agents")),
            ],
            "api_base_url": .string(baseURL),
            "transports": ["rest", "mcp"],
            "capabilities": ["services": ["checkout", "delegate_payment"], "supported_currencies": [.string(currency.lowercased())]],
        ]
    }

    var walletHandler: JSON {
        [
            "id": .string(Self.walletHandlerID), "name": "dev.storefront.wallet", "display_name": "Agent wallet",
            "version": .string(Self.version), "spec": .string(url("/agents#wallet")),
            "requires_delegate_payment": true, "requires_pci_compliance": false, "psp": "storefront",
            "config_schema": .string(url("/agents#wallet")), "instrument_schemas": [.string(url("/agents#wallet"))],
            "config": [
                "merchant_id": .string(storeID),
                "delegate_payment": .string(url("/agentic_commerce/delegate_payment")),
                "payment_method_number": "wallet:<agent id>",
            ],
        ]
    }

    /// A Storefront checkout as an ACP checkout session (with its order once completed).
    func session(_ checkout: JSON, order: JSON? = nil) -> JSON {
        let id = checkout["id"]?.stringValue ?? ""
        let lines: [JSON] = (checkout["line_items"]?.arrayValue ?? []).enumerated().map { index, line in
            let itemID = line["variant_id"]?.stringValue ?? line["product_id"]?.stringValue ?? ""
            let unit = line["unit_price"]?["amount"]?.intValue ?? 0
            let subtotal = line["subtotal"]?["amount"]?.intValue ?? 0
            let total = line["total"]?["amount"]?.intValue ?? subtotal
            var totals: [JSON] = [["type": "subtotal", "display_text": "Subtotal", "amount": .int(subtotal)]]
            if subtotal != total { totals.append(["type": "items_discount", "display_text": "Volume discount", "amount": .int(total - subtotal)]) }
            totals.append(["type": "total", "display_text": "Total", "amount": .int(total)])
            var out: [String: JSON] = [
                "id": .string("li_\(index + 1)"),
                "item": ["id": .string(itemID), "name": line["name"] ?? .string(itemID), "unit_amount": .int(unit)],
                "quantity": .int(line["quantity"]?.intValue ?? 1), "name": line["name"] ?? .string(itemID), "unit_amount": .int(unit),
                "totals": .array(totals),
            ]
            if let product = line["product_id"]?.stringValue { out["product_id"] = .string(product) }
            if let variant = line["variant_id"]?.stringValue { out["variant_id"] = .string(variant) }
            return .object(out)
        }
        let totals = checkout["totals"] ?? [:]
        let discount = totals["discount"]?["amount"]?.intValue ?? 0
        let shipping = totals["shipping"]?["amount"]?.intValue ?? 0
        var sums: [JSON] = [["type": "subtotal", "display_text": "Subtotal", "amount": .int(totals["subtotal"]?["amount"]?.intValue ?? 0)]]
        if discount > 0 { sums.append(["type": "discount", "display_text": "Discount", "amount": .int(-discount)]) }
        let chosenShipping = checkout["shipping_option"]?.stringValue
        if chosenShipping != nil { sums.append(["type": "fulfillment", "display_text": "Shipping", "amount": .int(shipping)]) }
        sums.append(["type": "total", "display_text": "Total", "amount": .int(totals["total"]?["amount"]?.intValue ?? 0)])
        var messages: [JSON] = (checkout["messages"]?.arrayValue ?? []).map { message in
            var out: [String: JSON] = [
                "type": "error", "code": message["code"]?.stringValue == "out_of_stock" ? "out_of_stock" : "invalid",
                "content_type": "plain", "content": message["content"] ?? "",
            ]
            if let path = message["path"]?.stringValue { out["param"] = .string(UCP.jsonPath(path)) }
            return .object(out)
        }
        var out: [String: JSON] = [
            "id": .string(id), "currency": .string((checkout["currency"]?.stringValue ?? currency).lowercased()),
            "line_items": .array(lines), "totals": .array(sums), "links": links,
            "capabilities": ["payment": ["handlers": [walletHandler]]],
            "protocol": ["version": .string(Self.version)],
        ]
        if let created = checkout["created_at"] { out["created_at"] = created }
        if let updated = checkout["updated_at"] { out["updated_at"] = updated }
        var options: [JSON] = []
        if chosenShipping != nil {
            options = shippingOptions.map { option in
                let amount = option["price"]?["amount"]?.intValue ?? 0
                return [
                    "type": "shipping", "id": option["id"] ?? "", "title": option["name"] ?? option["id"] ?? "Shipping",
                    "totals": [["type": "total", "display_text": "Shipping", "amount": .int(amount)]],
                ]
            }
            out["selected_fulfillment_options"] = [
                ["type": "shipping", "option_id": .string(chosenShipping ?? ""), "item_ids": .array(lines.map { $0["id"] ?? "" })]
            ]
        }
        out["fulfillment_options"] = .array(options)
        switch checkout["status"]?.stringValue {
        case "incomplete": out["status"] = "not_ready_for_payment"
        case "ready_for_complete": out["status"] = "ready_for_payment"
        case "pending_approval":
            out["status"] = "pending_approval"
            out["continue_url"] = .string(url("/checkout-sessions/\(id)/continue"))
            messages.append([
                "type": "info", "content_type": "plain", "resolution": "requires_buyer_review",
                "content": "Above the approval threshold the buyer's principal set: they approve or decline at continue_url; the money is held meanwhile.",
            ])
        case "completed": out["status"] = "completed"
        default: out["status"] = "canceled"
        }
        out["messages"] = .array(messages)
        if let orderID = order?["id"]?.stringValue ?? checkout["order_id"]?.stringValue {
            out["order"] = [
                "type": "order", "id": .string(orderID), "checkout_session_id": .string(id),
                "permalink_url": .string(url("/orders/\(orderID)")), "status": "confirmed",
            ]
        }
        return .object(out)
    }

    var links: JSON {
        [
            ["type": "return_policy", "url": .string(url("/policies#returns"))],
            ["type": "shipping_policy", "url": .string(url("/policies#shipping"))],
            ["type": "privacy_policy", "url": .string(url("/policies#privacy"))],
            ["type": "terms_of_use", "url": .string(url("/policies#terms"))],
        ]
    }

    /// `create_checkout`'s arguments from ACP's create request.
    func createArguments(_ body: JSON, _ productOfVariant: @Sendable (String) -> String?) -> Result<JSON, ACPError> {
        guard case .object = body else { return .failure(.invalid("invalid", "Send a JSON object.")) }
        guard let requested = body["currency"]?.stringValue else {
            return .failure(.invalid("missing", "currency is required.", param: "$.currency"))
        }
        guard requested.lowercased() == currency.lowercased() else {
            return .failure(.invalid("unsupported_currency", "This store sells in \(currency.lowercased()).", param: "$.currency"))
        }
        guard case .object? = body["capabilities"] else {
            return .failure(.invalid("missing", "capabilities is required (it may be {}).", param: "$.capabilities"))
        }
        return items(body["line_items"], productOfVariant: productOfVariant).map { ["items": $0] }
    }

    /// `update_checkout`'s arguments: new items and the chosen shipping option.
    func updateArguments(_ body: JSON, _ productOfVariant: @Sendable (String) -> String?) -> Result<JSON, ACPError> {
        guard case .object = body else { return .failure(.invalid("invalid", "Send a JSON object.")) }
        var arguments: [String: JSON] = [:]
        if body["line_items"] != nil {
            switch items(body["line_items"], productOfVariant: productOfVariant) {
            case .failure(let error): return .failure(error)
            case .success(let items): arguments["items"] = items
            }
        }
        if let option = body["selected_fulfillment_options"]?.arrayValue?.first?["option_id"]?.stringValue {
            arguments["shipping_option"] = .string(option)
        }
        return .success(.object(arguments))
    }

    /// `complete_checkout`'s arguments: the wallet handler and a delegated allowance's token.
    func completeArguments(_ body: JSON) -> Result<JSON, ACPError> {
        let payment = body["payment_data"] ?? .null
        guard case .object = payment else {
            return .failure(.invalid("missing", "payment_data is required.", param: "$.payment_data"))
        }
        guard payment["handler_id"]?.stringValue == Self.walletHandlerID else {
            return .failure(
                .invalid("invalid", "This store takes the agent's wallet: handler_id \"\(Self.walletHandlerID)\".", param: "$.payment_data.handler_id"))
        }
        guard let credential = payment["instrument"]?["credential"], credential["type"]?.stringValue == "spt",
            let token = credential["token"]?.stringValue, !token.isEmpty
        else {
            return .failure(
                .invalid(
                    "invalid", "The wallet handler needs a delegated allowance: instrument.credential {type: \"spt\", token: <delegate_payment id>}.",
                    param: "$.payment_data.instrument.credential"))
        }
        return .success(["payment_token": .string(token)])
    }

    /// ACP `line_items` (`[{id}]`, one unit each; an id repeated is more units) as Storefront items.
    func items(_ lineItems: JSON?, productOfVariant: @Sendable (String) -> String?) -> Result<JSON, ACPError> {
        guard let lines = lineItems?.arrayValue, !lines.isEmpty else {
            return .failure(.invalid("missing", "line_items must name at least one item: [{\"id\": …}].", param: "$.line_items"))
        }
        var order: [String] = []
        var counts: [String: Int64] = [:]
        for (i, line) in lines.enumerated() {
            guard let id = line["id"]?.stringValue, !id.isEmpty, id.count <= 128 else {
                return .failure(.invalid("invalid", "line_items[\(i)].id is missing.", param: "$.line_items[\(i)].id"))
            }
            if counts[id] == nil { order.append(id) }
            counts[id, default: 0] += 1
        }
        return .success(
            .array(order.map { id in
                if let product = productOfVariant(id) {
                    return ["product_id": .string(product), "variant_id": .string(id), "quantity": .int(counts[id] ?? 1)]
                }
                return ["product_id": .string(id), "quantity": .int(counts[id] ?? 1)]
            }))
    }
}

/// ACP's flat error: `{type, code, message, param?}` with its status.
struct ACPError: Error, Sendable {
    var status: Int
    var type: String
    var code: String
    var message: String
    var param: String?

    static func invalid(_ code: String, _ message: String, param: String? = nil, status: Int = 400) -> ACPError {
        ACPError(status: status, type: "invalid_request", code: code, message: message, param: param)
    }

    var json: JSON {
        var out: [String: JSON] = ["type": .string(type), "code": .string(code), "message": .string(message)]
        if let param { out["param"] = .string(param) }
        return .object(out)
    }
}
