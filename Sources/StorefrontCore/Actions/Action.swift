import JSON

/// Hints for MCP clients about what an action does (MCP `ToolAnnotations`).
public struct ActionAnnotations: Sendable {
    public var readOnly: Bool
    public var destructive: Bool
    public var idempotent: Bool
    public var openWorld: Bool

    public static let readOnly = ActionAnnotations(readOnly: true, destructive: false, idempotent: true, openWorld: false)

    public var json: JSON {
        [
            "readOnlyHint": .bool(readOnly), "destructiveHint": .bool(destructive),
            "idempotentHint": .bool(idempotent), "openWorldHint": .bool(openWorld),
        ]
    }
}

/// Who is calling and how; handed to every action's handler.
public struct ActionContext: Sendable {
    public var requestID: String
    /// The authenticated agent, once identity exists; nil for anonymous callers.
    public var agentID: String?
    /// Reports progress to the caller (MCP `notifications/progress`) when it asked for it.
    public var progress: (@Sendable (_ done: Double, _ total: Double?, _ message: String?) -> Void)?

    public init(requestID: String, agentID: String? = nil, progress: (@Sendable (Double, Double?, String?) -> Void)? = nil) {
        self.requestID = requestID
        self.agentID = agentID
        self.progress = progress
    }
}

/// A safe action: a named, declared operation with schemas, a journey stage, a scope, MCP
/// annotations and a handler. Agents can do nothing that is not an action.
public struct Action: Sendable {
    public typealias Handler = @Sendable (_ arguments: JSON, _ context: ActionContext) throws -> JSON

    public var name: String
    public var title: String
    public var description: String
    public var stage: JourneyStage
    /// The scope an agent needs; nil means anyone, including anonymous agents.
    public var scope: String?
    public var annotations: ActionAnnotations
    public var handler: Handler

    public var inputSchemaFile: String { "actions/\(name).input.schema.json" }
    public var outputSchemaFile: String { "actions/\(name).output.schema.json" }

    public init(
        name: String, title: String, description: String, stage: JourneyStage, scope: String? = nil,
        annotations: ActionAnnotations = .readOnly, handler: @escaping Handler
    ) {
        self.name = name
        self.title = title
        self.description = description
        self.stage = stage
        self.scope = scope
        self.annotations = annotations
        self.handler = handler
    }
}

/// Why an action refused or failed, in the shape of the project's errors.
public struct ActionError: Error, Sendable {
    public var status: Int
    public var kind: APIError.Kind
    public var code: String
    public var message: String
    public var param: String?
    public var details: JSON?

    public init(status: Int, kind: APIError.Kind, code: String, message: String, param: String? = nil, details: JSON? = nil) {
        self.status = status
        self.kind = kind
        self.code = code
        self.message = message
        self.param = param
        self.details = details
    }

    public static func invalid(_ code: String, _ message: String, param: String? = nil, details: JSON? = nil) -> ActionError {
        ActionError(status: 400, kind: .invalidRequest, code: code, message: message, param: param, details: details)
    }

    public static func notFound(_ message: String, param: String? = nil) -> ActionError {
        ActionError(status: 404, kind: .invalidRequest, code: "not_found", message: message, param: param)
    }

    public var json: JSON {
        var error: [String: JSON] = ["type": .string(kind.rawValue), "code": .string(code), "message": .string(message)]
        if let param { error["param"] = .string(param) }
        if let details { error["details"] = details }
        return ["error": .object(error)]
    }
}
