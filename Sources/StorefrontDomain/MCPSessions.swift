import JSON

/// A session of the 2025-11-25 transport as the store keeps it.
public struct MCPSession: Sendable {
    public var id: String
    public var protocolVersion: String
    public var initialized: Bool
    public var ended: Bool
    /// The agent that created the session; nil for an anonymous session, whose id is the
    /// secret only its creator holds.
    public var agentID: String? = nil
    /// Unix seconds of the session's last use (for the idle TTL).
    public var lastUsedAt: Int64 = 0

    public init(
        id: String, protocolVersion: String, initialized: Bool, ended: Bool, agentID: String? = nil, lastUsedAt: Int64 = 0
    ) {
        self.id = id
        self.protocolVersion = protocolVersion
        self.initialized = initialized
        self.ended = ended
        self.agentID = agentID
        self.lastUsedAt = lastUsedAt
    }
}

/// One SSE event of a session's stream.
public struct MCPEvent: Sendable, Equatable {
    public var id: Int64
    public var streamID: String
    public var data: String

    public init(id: Int64, streamID: String, data: String) {
        self.id = id
        self.streamID = streamID
        self.data = data
    }
}

/// Where MCP sessions, their streams and every event sent on them live: rows in the store, so
/// any gateway process on the same store serves any session and a reconnecting client gets
/// exactly what it missed. SQLite implements it; PostgreSQL would implement the same protocol.
public protocol MCPSessionStore: Sendable {
    /// Creates a session owned by `owner`; beyond `maxPerCreator` live sessions of the same
    /// creator, its least recently used ones are ended and deleted.
    func createSession(
        protocolVersion: String, clientInfo: JSON, capabilities: JSON, owner: MCPSessionOwner, maxPerCreator: Int
    ) throws -> MCPSession
    func session(_ id: String) throws -> MCPSession?
    /// Records a use of the session (for the idle TTL) without waiting for it to be written:
    /// a lost one only makes the next request record it again.
    func touch(_ id: String)
    /// Binds an anonymous session to the first agent that uses it with credentials, and reports
    /// (after the commit, without a thread waiting) whether the session is now that agent's:
    /// false when another agent claimed it first.
    func claim(_ id: String, agentID: String, completion: @escaping @Sendable (Result<Bool, Error>) -> Void)
    func markInitialized(_ id: String) throws
    func endSession(_ id: String) throws -> Bool
    func createStream(sessionID: String, requestID: String?) throws -> String
    /// The same, reported after the commit without a thread waiting for it.
    func createStream(sessionID: String, requestID: String?, completion: @escaping @Sendable (Result<String, Error>) -> Void)
    /// Appends an event and reports its id (unique across every session) after the commit,
    /// without a thread waiting for it. Appends queued one after another are written, and
    /// reported, in that order.
    func appendEvent(
        sessionID: String, streamID: String, data: String, completes: Bool,
        completion: @escaping @Sendable (Result<Int64, Error>) -> Void)
    /// The stream an event belongs to, if the event is the session's.
    func stream(ofEvent eventID: Int64, sessionID: String) throws -> (streamID: String, completed: Bool)?
    /// At most `limit` events of a stream after an id, in order.
    func events(streamID: String, after eventID: Int64, limit: Int) throws -> [MCPEvent]
    func isCompleted(streamID: String) throws -> Bool
    func latestEventID() throws -> Int64
    /// The streams that events with ids in `after+1 ... upTo` belong to; nil when more than `limit`.
    func streamIDs(ofEventsAfter after: Int64, upTo: Int64, limit: Int) throws -> Set<String>?
    func recordCancellation(sessionID: String, requestID: String, reason: String?) throws
    func isCancelled(sessionID: String, requestID: String) throws -> Bool
    func setSubscription(sessionID: String, uri: String, agentID: String, on: Bool) throws
}

/// Who created an MCP session: the agent (sessions created with credentials are usable only
/// with that agent's credentials) and the key its live-session cap counts under (the agent,
/// or for anonymous sessions the client's address).
public struct MCPSessionOwner: Sendable, Equatable {
    public var agentID: String?
    public var creator: String

    public init(agentID: String?, clientAddress: String) {
        self.agentID = agentID
        creator = agentID.map { "agent:" + $0 } ?? "address:" + clientAddress
    }
}
