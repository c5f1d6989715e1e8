import JSON
import StorefrontDomain
import StorefrontStore

/// A safe action: a named, declared operation with schemas, a journey stage, a scope, MCP
/// annotations and a handler. Agents can do nothing that is not an action.
public struct Action: Sendable {
    public typealias Handler = @Sendable (_ arguments: JSON, _ context: ActionContext) throws -> JSON
    /// A mutating action runs inside the store writer's transaction, next to its idempotency
    /// record and its trail entries, so all of them commit or none does.
    public typealias WriteHandler = @Sendable (_ arguments: JSON, _ context: ActionContext, _ db: StoreConnection) throws -> JSON
    /// A read-only handler that writes its result directly as JSON bytes (from parts serialized
    /// once), for the hottest actions; the registry checks the bytes against the output schema.
    public typealias EncodedHandler = @Sendable (_ arguments: JSON, _ context: ActionContext) throws -> EncodedJSON
    /// Work a mutating action does before its transaction, off the writer (a payment processor's
    /// authorization): its result reaches the write handler as `context.prepared`.
    public typealias PrepareHandler = @Sendable (
        _ arguments: JSON, _ context: ActionContext, _ done: @escaping @Sendable (Result<JSON?, ActionError>) -> Void
    ) -> Void
    /// After the transaction: what was prepared, whether the action's change committed (not a
    /// refusal, a rollback or a replayed answer), and its result when it did.
    public typealias FinishHandler = @Sendable (_ prepared: JSON, _ committed: Bool, _ result: JSON?) -> Void

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
    public var prepare: PrepareHandler?
    /// Whether these arguments need `prepare` at all (cheap, no store read): the wallet's
    /// purchases skip it, and with it the look at the idempotency record that guards it.
    public var prepares: (@Sendable (_ arguments: JSON) -> Bool)?
    public var finish: FinishHandler?
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

