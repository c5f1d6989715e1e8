import Foundation
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontMCP

/// UCP's MCP binding (the `mcp` service of `/.well-known/ucp`, at `/ucp/mcp`): UCP's tools with
/// UCP's arguments (`meta` with `ucp-agent` and `idempotency-key`, `id`, and the `checkout`,
/// `cart` or `catalog` payload) and UCP's payloads as `structuredContent`, run by the same actions
/// as the REST binding and Storefront's own tools. A business error is a result (UCP's
/// `error_response`); credentials, a missing resource or idempotency refusals are tool errors.
struct UCPMCPTools: MCPToolProvider, @unchecked Sendable {
    unowned let gateway: Gateway
    let tools: [MCPTool]

    /// Each tool: the payload member it takes (nil: none), whether it needs an `id`, the action.
    static let operations: [(name: String, payload: String?, id: Bool, action: String, title: String, mutating: Bool)] = [
        ("search_catalog", "catalog", false, "search_catalog", "Search the catalog", false),
        ("lookup_catalog", "catalog", false, "lookup_catalog", "Look up products by id", false),
        ("create_cart", "cart", false, "create_cart", "Create a cart", true),
        ("get_cart", nil, true, "get_cart", "Get a cart", false),
        ("update_cart", "cart", true, "update_cart", "Update a cart", true),
        ("cancel_cart", nil, true, "cancel_cart", "Cancel a cart", true),
        ("create_checkout", "checkout", false, "create_checkout", "Start a checkout", true),
        ("get_checkout", nil, true, "get_checkout", "Get a checkout", false),
        ("update_checkout", "checkout", true, "update_checkout", "Update a checkout", true),
        ("complete_checkout", "checkout", true, "complete_checkout", "Complete a checkout (pay from the wallet)", true),
        ("cancel_checkout", nil, true, "cancel_checkout", "Cancel a checkout", true),
        ("get_order", nil, true, "get_order", "Get an order", false),
    ]

    init(gateway: Gateway) {
        self.gateway = gateway
        tools = Self.operations.map { op in
            var properties: [String: JSON] = [
                "meta": [
                    "type": "object",
                    "description": "Request metadata: ucp-agent {profile} (the platform's profile URL) and idempotency-key (required to complete or cancel).",
                    "properties": [
                        "ucp-agent": ["type": "object", "properties": ["profile": ["type": "string", "format": "uri"]]],
                        "idempotency-key": ["type": "string", "maxLength": 255],
                    ],
                ]
            ]
            var required: [JSON] = ["meta"]
            if op.id {
                properties["id"] = ["type": "string", "maxLength": 64]
                required.append("id")
            }
            if let payload = op.payload {
                properties[payload] = ["type": "object", "description": .string("UCP's \(payload) request (see the profile's schemas).")]
                required.append(.string(payload))
            }
            return MCPTool(
                name: op.name, title: op.title,
                description: "UCP \(op.name) (dev.ucp.shopping, \(UCP.version)): UCP's request and response shapes.",
                inputSchema: ["type": "object", "properties": .object(properties), "required": .array(required)],
                outputSchema: ["type": "object"],
                annotations: op.mutating
                    ? ActionAnnotations(readOnly: false, destructive: op.name.hasPrefix("cancel"), idempotent: true, openWorld: false)
                    : ActionAnnotations(readOnly: true, destructive: false, idempotent: true, openWorld: false),
                stage: op.payload == "catalog" ? .evaluating : op.name == "get_order" ? .using : .transacting, isMutating: op.mutating)
        }
    }

    func tool(named name: String) -> MCPTool? { tools.first { $0.name == name } }

    func callTool(_ name: String, arguments: JSON, context: ActionContext, completion: @escaping @Sendable (ActionOutcome) -> Void) {
        guard let op = Self.operations.first(where: { $0.name == name }) else {
            return completion(UCPAnswer.transport(status: 404, code: "unknown_tool", content: "No UCP tool \(name).", retryAfter: nil).outcome)
        }
        let ucp = gateway.ucp
        let meta = arguments["meta"] ?? [:]
        // The platform, as the header names it on REST.
        let header = meta["ucp-agent"]?["profile"]?.stringValue.map { "profile=\"\($0)\"" }
        switch ucp.negotiate(header) {
        case .refused(let status, let code, let content):
            return completion(UCPAnswer.transport(status: status, code: code, content: content, retryAfter: nil).outcome)
        case .incompatible(let content):
            return completion(UCPAnswer.body(ucp.errorBody(code: "capabilities_incompatible", content: content, severity: "unrecoverable")).outcome)
        case .agreed:
            // Over MCP no request signature reaches the tool, so no platform is bound to the
            // checkout: a platform hears of orders made through REST, where it signs its requests.
            break
        }
        var context = context
        if let key = meta["idempotency-key"]?.stringValue { context.idempotencyKey = key }
        let id = arguments["id"]?.stringValue ?? ""
        let payload = op.payload.flatMap { arguments[$0] } ?? [:]
        if op.mutating, name == "complete_checkout" || name.hasPrefix("cancel"), context.idempotencyKey == nil {
            return completion(
                UCPAnswer.transport(status: 400, code: "idempotency_key_required", content: "meta.idempotency-key is required for \(name).", retryAfter: nil)
                    .outcome)
        }
        // Lookups and orders are answered without an action call of their own.
        if name == "lookup_catalog" { return completion(gateway.ucpLookupAnswer(payload).outcome) }
        if name == "get_order" {
            guard let agent = context.identity?.agent else {
                return completion(UCPAnswer.transport(status: 401, code: "authentication_required", content: "Send the agent's credentials.", retryAfter: nil).outcome)
            }
            return completion(gateway.ucpOrderAnswer(id, agentID: agent.id).outcome)
        }
        let mapped: Result<JSON, UCPProblem>
        switch name {
        case "search_catalog": mapped = Gateway.ucpSearchArguments(payload)
        case "create_cart", "update_cart": mapped = ucp.items(payload["line_items"]).map { ["items": $0] }
        case "create_checkout": mapped = ucp.createArguments(payload)
        case "update_checkout": mapped = ucp.items(payload["line_items"]).map { ["items": $0] }
        case "complete_checkout": mapped = ucp.completeArguments(payload)
        default: mapped = .success([:])
        }
        var actionArguments: JSON
        switch mapped {
        case .failure(let problem):
            return completion(UCPAnswer.transport(status: 400, code: "invalid_request", content: problem.message, retryAfter: nil).outcome)
        case .success(let value): actionArguments = value
        }
        if op.id, case .object(var fields) = actionArguments {
            fields[op.payload == "cart" || name.hasSuffix("_cart") ? "cart_id" : "checkout_id"] = .string(id)
            actionArguments = .object(fields)
        }
        let gateway = gateway
        gateway.actions.call(op.action, arguments: actionArguments, context: context) { outcome in
            let answer: UCPAnswer
            switch name {
            case "search_catalog": answer = gateway.ucpSearchAnswer(outcome)
            case let cart where cart.hasSuffix("_cart"): answer = ucp.answer(outcome) { gateway.ucpCart($0["cart"] ?? [:]) }
            default: answer = ucp.answer(outcome) { ucp.checkout($0["checkout"] ?? [:]) }
            }
            var result = answer.outcome
            result.replayed = outcome.replayed
            completion(result)
        }
    }
}
