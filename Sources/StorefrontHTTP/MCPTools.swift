import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontMCP
import StorefrontStore

/// The action registry as MCP's tool provider: each action is a tool with the same name,
/// schemas and hints; calls go through the registry (scopes, idempotency, schemas, the writer).
struct MCPTools: MCPToolProvider {
    let registry: ActionRegistry
    let tools: [MCPTool]
    private let byName: [String: MCPTool]

    init(registry: ActionRegistry) {
        self.registry = registry
        tools = registry.entries.map { entry in
            MCPTool(
                name: entry.action.name, title: entry.action.title, description: entry.action.description,
                inputSchema: entry.inputSchema, outputSchema: entry.outputSchema, annotations: entry.action.annotations,
                stage: entry.action.stage, isMutating: entry.action.isMutating)
        }
        byName = Dictionary(uniqueKeysWithValues: tools.map { ($0.name, $0) })
    }

    func tool(named name: String) -> MCPTool? { byName[name] }

    func callTool(
        _ name: String, arguments: JSON, context: ActionContext, completion: @escaping @Sendable (ActionOutcome) -> Void
    ) {
        registry.call(name, arguments: arguments, context: context, completion: completion)
    }

    func callToolWaiting(_ name: String, arguments: JSON, context: ActionContext) -> ActionOutcome {
        registry.callWaiting(name, arguments: arguments, context: context)
    }
}
