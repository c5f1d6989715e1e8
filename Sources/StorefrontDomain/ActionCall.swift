import JSON

/// Hints for MCP clients about what an action does (MCP `ToolAnnotations`).
public struct ActionAnnotations: Sendable {
    public var readOnly: Bool
    public var destructive: Bool
    public var idempotent: Bool
    public var openWorld: Bool

    public init(readOnly: Bool, destructive: Bool, idempotent: Bool, openWorld: Bool) {
        self.readOnly = readOnly
        self.destructive = destructive
        self.idempotent = idempotent
        self.openWorld = openWorld
    }

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
    /// What the action prepared before its transaction (a payment authorization), if anything.
    public var prepared: JSON?

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

/// What an action call produced: a result or an error, and whether it is the stored answer
/// to an earlier request with the same idempotency key.
public struct ActionOutcome: Sendable {
    private var stored: Result<JSON, ActionError>?
    /// The successful result serialized once (read-only actions), for answers to reuse.
    public var encoded: EncodedJSON?
    public var replayed: Bool = false
    /// Seconds the caller should wait before retrying (for `idempotency_in_flight`).
    public var retryAfter: Int?

    public init(result: Result<JSON, ActionError>, encoded: EncodedJSON? = nil, replayed: Bool = false, retryAfter: Int? = nil) {
        stored = result
        self.encoded = encoded
        self.replayed = replayed
        self.retryAfter = retryAfter
    }

    /// A success known only as bytes; its value is parsed if someone asks for it.
    public init(encoded: EncodedJSON) {
        self.encoded = encoded
    }

    /// The serialized result when the action succeeded and has one (without parsing it).
    public var encodedSuccess: EncodedJSON? {
        if case .failure? = stored { return nil }
        return encoded
    }

    public var result: Result<JSON, ActionError> {
        get { stored ?? .success(encoded?.value ?? .null) }
        set { stored = newValue }
    }
}
