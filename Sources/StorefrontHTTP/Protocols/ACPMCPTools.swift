import Foundation
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontMCP
import StorefrontStore

/// ACP's MCP binding (`openrpc.agentic_checkout.json` of release 2026-04-17) at `/acp/mcp`: the
/// five checkout-session tools with ACP's arguments (`meta` carrying what REST sends as headers:
/// `api_version`, `idempotency_key`, `request_id`; `id`; `payload`, the REST body) and ACP's
/// session as `structuredContent`, run by the same actions as the REST binding. A refusal is a
/// tool error whose structured content is ACP's flat `Error`. (The binding has no
/// delegate_payment tool: allowances are delegated over REST.)
struct ACPMCPTools: MCPToolProvider, @unchecked Sendable {
    unowned let gateway: Gateway
    let tools: [MCPTool]

    static let operations: [(name: String, action: String, id: Bool, payload: Bool, title: String, mutating: Bool)] = [
        ("create_checkout_session", "create_checkout", false, true, "Create a checkout session", true),
        ("get_checkout_session", "get_checkout", true, false, "Get a checkout session", false),
        ("update_checkout_session", "update_checkout", true, true, "Update a checkout session", true),
        ("complete_checkout_session", "complete_checkout", true, true, "Complete a checkout session (pay with a delegated allowance)", true),
        ("cancel_checkout_session", "cancel_checkout", true, false, "Cancel a checkout session", true),
    ]

    init(gateway: Gateway) {
        self.gateway = gateway
        tools = Self.operations.map { op in
            var properties: [String: JSON] = [
                "meta": [
                    "type": "object", "required": ["api_version"],
                    "description": "What REST sends as headers: api_version (2026-04-17), idempotency_key (every change), request_id.",
                    "properties": [
                        "api_version": ["type": "string"], "idempotency_key": ["type": "string", "minLength": 1, "maxLength": 255],
                        "request_id": ["type": "string"],
                    ],
                ]
            ]
            var required: [JSON] = ["meta"]
            if op.id {
                properties["id"] = ["type": "string", "maxLength": 64]
                required.append("id")
            }
            if op.payload {
                properties["payload"] = ["type": "object", "description": "The request body REST takes for this operation."]
                required.append("payload")
            } else if op.name == "cancel_checkout_session" {
                properties["payload"] = ["type": "object"]
            }
            return MCPTool(
                name: op.name, title: op.title, description: "ACP \(op.name) (\(ACP.version)): ACP's request and session shapes.",
                inputSchema: ["type": "object", "properties": .object(properties), "required": .array(required)],
                outputSchema: ["type": "object"],
                annotations: op.mutating
                    ? ActionAnnotations(readOnly: false, destructive: op.name.hasPrefix("cancel"), idempotent: true, openWorld: false)
                    : ActionAnnotations(readOnly: true, destructive: false, idempotent: true, openWorld: false),
                stage: .transacting, isMutating: op.mutating)
        }
    }

    func tool(named name: String) -> MCPTool? { tools.first { $0.name == name } }

    static func failure(_ error: ACPError) -> ActionOutcome {
        let kind: APIError.Kind = error.status == 401 ? .authentication : error.status == 429 ? .rateLimited : .invalidRequest
        var refusal = ActionError(status: error.status, kind: kind, code: error.code, message: error.message, param: error.param)
        // ACP's MCP binding: a JSON-RPC error -32000 carrying ACP's Error as data.
        refusal.details = ["jsonrpc_error": ["code": -32000, "data": error.json]]
        return ActionOutcome(result: .failure(refusal))
    }

    func callTool(_ name: String, arguments: JSON, context: ActionContext, completion: @escaping @Sendable (ActionOutcome) -> Void) {
        guard let op = Self.operations.first(where: { $0.name == name }) else {
            return completion(Self.failure(.invalid("unknown_tool", "No ACP tool \(name).", status: 404)))
        }
        let acp = gateway.acp
        let meta = arguments["meta"] ?? [:]
        guard let version = meta["api_version"]?.stringValue else {
            return completion(Self.failure(.invalid("missing_api_version", "meta.api_version is required (\(ACP.version)).")))
        }
        guard version == ACP.version else {
            return completion(Self.failure(.invalid("unsupported_api_version", "This store speaks ACP \(ACP.version), not \(version).")))
        }
        var context = context
        if let key = meta["idempotency_key"]?.stringValue { context.idempotencyKey = key }
        if op.mutating, context.idempotencyKey == nil {
            return completion(Self.failure(.invalid("idempotency_key_required", "meta.idempotency_key is required for \(name).")))
        }
        guard context.identity != nil else {
            return completion(Self.failure(ACPError(status: 401, type: "invalid_request", code: "unauthorized", message: "Send the agent's Authorization: Bearer <api key>.")))
        }
        let payload = arguments["payload"] ?? [:]
        let mapped: Result<JSON, ACPError>
        switch op.action {
        case "create_checkout": mapped = acp.createArguments(payload, gateway.productOfVariant)
        case "update_checkout": mapped = acp.updateArguments(payload, gateway.productOfVariant)
        case "complete_checkout": mapped = acp.completeArguments(payload)
        default: mapped = .success([:])
        }
        var actionArguments: JSON
        switch mapped {
        case .failure(let error): return completion(Self.failure(error))
        case .success(let value): actionArguments = value
        }
        if op.id, case .object(var fields) = actionArguments {
            fields["checkout_id"] = .string(arguments["id"]?.stringValue ?? "")
            actionArguments = .object(fields)
        }
        // An onboarded platform's agent: its checkout's order is sent to the platform's webhook.
        let agentID = context.identity?.agent.id ?? ""
        let webhook = op.action == "create_checkout" ? gateway.configuration.acpPlatforms[agentID]?["webhook_url"]?.stringValue : nil
        let database = gateway.database
        gateway.actions.call(op.action, arguments: actionArguments, context: context) { outcome in
            switch outcome.result {
            case .success(let result):
                var answer = ActionOutcome(result: .success(acp.session(result["checkout"] ?? [:], order: result["order"])))
                answer.replayed = outcome.replayed
                if let webhook, let checkoutID = result["checkout"]?["id"]?.stringValue {
                    let done = answer
                    database.writing({ db in
                        try UCPOrders.rememberPlatform(checkoutID: checkoutID, platform: "acp:" + agentID, url: webhook, db: db)
                    }) { _ in completion(done) }
                    return
                }
                completion(answer)
            case .failure(let error):
                var answer = Self.failure(Gateway.acpError(for: error, action: op.action))
                answer.retryAfter = outcome.retryAfter
                completion(answer)
            }
        }
    }
}
