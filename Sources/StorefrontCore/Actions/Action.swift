import JSON
import Store
import StorefrontDomain

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
    /// The authenticated caller; nil for anonymous agents.
    public var identity: Identity?
    /// The caller's idempotency key for a mutating action (header on REST, `_meta` on MCP).
    public var idempotencyKey: String?
    public var agentID: String? { identity?.agent.id }
    /// Reports progress to the caller (MCP `notifications/progress`) when it asked for it.
    public var progress: (@Sendable (_ done: Double, _ total: Double?, _ message: String?) -> Void)?

    public init(
        requestID: String, identity: Identity? = nil, idempotencyKey: String? = nil,
        progress: (@Sendable (Double, Double?, String?) -> Void)? = nil
    ) {
        self.requestID = requestID
        self.identity = identity
        self.idempotencyKey = idempotencyKey
        self.progress = progress
    }

    /// The authenticated agent, or the error that tells an anonymous caller how to register.
    public func requireAgent() throws -> Agent {
        guard let agent = identity?.agent else { throw ActionError.authenticationRequired }
        return agent
    }
}

/// A safe action: a named, declared operation with schemas, a journey stage, a scope, MCP
/// annotations and a handler. Agents can do nothing that is not an action.
public struct Action: Sendable {
    public typealias Handler = @Sendable (_ arguments: JSON, _ context: ActionContext) throws -> JSON
    /// A mutating action runs inside the store writer's transaction, next to its idempotency
    /// record and its trail entries, so all of them commit or none does.
    public typealias WriteHandler = @Sendable (_ arguments: JSON, _ context: ActionContext, _ db: Connection) throws -> JSON
    /// A read-only handler that writes its result directly as JSON bytes (from parts serialized
    /// once), for the hottest actions; the registry checks the bytes against the output schema.
    public typealias EncodedHandler = @Sendable (_ arguments: JSON, _ context: ActionContext) throws -> EncodedJSON

    public var name: String
    public var title: String
    public var description: String
    public var stage: JourneyStage
    /// The scope an agent needs; nil means anyone, including anonymous agents.
    public var scope: String?
    public var annotations: ActionAnnotations
    public var handler: Handler
    public var writeHandler: WriteHandler?
    public var encodedHandler: EncodedHandler?
    /// The result is a function of the arguments and the store's catalog data (its version):
    /// the registry may answer a repeated call from its result cache.
    public var cacheable = false
    public var isMutating: Bool { writeHandler != nil }

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

    /// A mutating action.
    /// A read-only action whose handler writes JSON bytes; `handler` parses them for callers
    /// that want a value.
    public init(
        name: String, title: String, description: String, stage: JourneyStage, scope: String? = nil,
        encoded: @escaping EncodedHandler
    ) {
        self.init(name: name, title: title, description: description, stage: stage, scope: scope) { arguments, context in
            try encoded(arguments, context).value
        }
        encodedHandler = encoded
    }

    public init(
        name: String, title: String, description: String, stage: JourneyStage, scope: String,
        annotations: ActionAnnotations, write: @escaping WriteHandler
    ) {
        self.init(name: name, title: title, description: description, stage: stage, scope: scope, annotations: annotations) { _, _ in
            [:]
        }
        writeHandler = write
    }
}

