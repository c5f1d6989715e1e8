import JSON

/// The single source of truth for what agents can do. MCP `tools/list`, the REST mirror,
/// `openapi.json`, the capability manifest, `llms.txt`, the A2A card's skills and `/agents`
/// are all generated from it.
public final class ActionRegistry: @unchecked Sendable {
    public struct Entry: Sendable {
        public let action: Action
        public let inputSchema: JSON
        public let outputSchema: JSON
        let inputValidator: JSONSchema
        let outputValidator: JSONSchema
    }

    public let entries: [Entry]
    private let byName: [String: Int]
    /// Check every result against its output schema (a contract test in production).
    public var validatesResults = true

    /// Compiles every action's schemas; a missing or broken schema file stops the start.
    public init(actions: [Action], schemas: SchemaLibrary) throws {
        var entries: [Entry] = []
        for action in actions {
            entries.append(
                Entry(
                    action: action,
                    inputSchema: try schemas.bundled(action.inputSchemaFile),
                    outputSchema: try schemas.bundled(action.outputSchemaFile),
                    inputValidator: try schemas.bundledSchema(action.inputSchemaFile),
                    outputValidator: try schemas.bundledSchema(action.outputSchemaFile)))
        }
        self.entries = entries
        byName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.action.name, $0) })
    }

    public func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    public var names: [String] { entries.map(\.action.name) }

    /// Validates the arguments, runs the handler, and checks the result against the output schema.
    public func call(_ name: String, arguments: JSON, context: ActionContext) -> Result<JSON, ActionError> {
        guard let entry = entry(name) else {
            return .failure(
                ActionError(
                    status: 404, kind: .invalidRequest, code: "unknown_action",
                    message: "No action \(name). Actions: \(names.joined(separator: ", ")).", param: "name"))
        }
        let violations = entry.inputValidator.validate(arguments)
        if let first = violations.first {
            return .failure(
                .invalid(
                    "invalid_arguments",
                    "Argument \(first.instancePointer.isEmpty ? "(root)" : first.instancePointer): \(first.message)",
                    param: first.instancePointer,
                    details: .array(violations.prefix(10).map { v in
                        ["pointer": .string(v.instancePointer), "keyword": .string(v.keyword), "message": .string(v.message)]
                    })))
        }
        context.progress?(1, 3, "arguments valid")
        do {
            let result = try entry.action.handler(arguments, context)
            context.progress?(2, 3, "result ready")
            if validatesResults, let bad = entry.outputValidator.validate(result).first {
                return .failure(
                    ActionError(
                        status: 500, kind: .processing, code: "invalid_result",
                        message: "The store produced a result that breaks its own schema at \(bad.instancePointer): \(bad.message). This is a bug in the store; it has been refused rather than sent."))
            }
            context.progress?(3, 3, "result checked against the output schema")
            return .success(result)
        } catch let error as ActionError {
            return .failure(error)
        } catch let error as APIError {
            return .failure(ActionError(status: error.status, kind: error.kind, code: error.code, message: error.message, param: error.param))
        } catch {
            return .failure(
                ActionError(status: 500, kind: .processing, code: "action_failed", message: "\(name) failed; try again."))
        }
    }
}
