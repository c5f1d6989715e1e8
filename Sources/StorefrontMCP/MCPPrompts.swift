import JSON
import StorefrontDomain

/// Prompts that walk an agent through the store's actions.
struct MCPPrompt: Sendable {
    struct Argument: Sendable {
        let name: String
        let description: String
        let required: Bool
    }

    let name: String
    let title: String
    let description: String
    let arguments: [Argument]
    let render: @Sendable ([String: String], String) -> String

    var listing: JSON {
        [
            "name": .string(name), "title": .string(title), "description": .string(description),
            "arguments": .array(arguments.map {
                ["name": .string($0.name), "description": .string($0.description), "required": .bool($0.required)]
            }),
        ]
    }
}

enum MCPPrompts {
    static let all: [MCPPrompt] = [
        MCPPrompt(
            name: "guided_purchase", title: "Guided purchase",
            description: "Find, compare and price the right product for a need and a budget, step by step.",
            arguments: [
                .init(name: "need", description: "What the buyer needs, in their words.", required: true),
                .init(name: "budget", description: "The most to spend, e.g. \"400 USD\".", required: false),
                .init(name: "quantity", description: "How many.", required: false),
            ],
            render: { args, store in
                let budget = args["budget"].map { " The budget is \($0); convert it to minor units for max_price." } ?? ""
                let quantity = args["quantity"].map { " The buyer wants \($0)." } ?? ""
                return """
                    Help me buy from \(store): \(args["need"] ?? "").\(budget)\(quantity)
                    1. Call search_catalog with the key words (and max_price, in_stock: true) to find candidates.
                    2. Call compare_products on the two to four best candidates and explain the differences that matter for the need.
                    3. For the choice, call get_product to pick a variant, then get_quote with the quantity to get the exact total in minor units (volume discounts apply automatically).
                    4. Call get_policies with topic "returns" and "shipping" and state the refund window and delivery time.
                    Report the product, variant, total and terms, and ask for confirmation before anything is bought.
                    """
            }),
        MCPPrompt(
            name: "check_terms", title: "Check the store's terms",
            description: "Summarise what matters before buying: refund window, returns, shipping costs and times, support.",
            arguments: [.init(name: "product_id", description: "A product the terms should be checked for.", required: false)],
            render: { args, store in
                let product = args["product_id"].map { " for the product \($0) (call get_product first; digital goods have their own refund terms)" } ?? ""
                return """
                    Before I buy from \(store), check its terms\(product): call get_policies, then tell me the refund window in days, \
                    who pays return shipping, each shipping option with its price and delivery days, and how to reach support.
                    """
            }),
    ]
}
