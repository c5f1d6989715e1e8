import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// Sessions are bound to their creator: a session created with an agent's credentials is
/// usable only with that agent's credentials; an anonymous session by whoever holds its id (a
/// 128-bit secret only its creator was given) until an agent first uses it with credentials,
/// which binds it to that agent. To anyone else a session does not exist (404), and so does a
/// session idle for longer than the TTL, before the sweep deletes it.
extension MCPEndpoint {
    /// The session if `identity` may use it now; records the use.
    func usableSession(_ id: String, identity: Identity?) throws -> MCPSession? {
        guard var session = try store.session(id), !session.ended else { return nil }
        let now = unixNow()
        guard session.lastUsedAt + sessionTTL >= now else { return nil }
        if let owner = session.agentID {
            guard owner == identity?.agent.id else { return nil }
        } else if let identity {
            try store.claim(id, agentID: identity.agent.id)
            session.agentID = identity.agent.id
        }
        // One write per session per interval, not per request.
        if now - session.lastUsedAt >= max(1, min(60, sessionTTL / 4)) { store.touch(id) }
        return session
    }

    /// The answer to a session the caller may not use: the same as for one that never existed.
    func sessionNotFound() -> Response {
        rpcHTTPError(404, id: nil, RPCError(code: RPCError.invalidRequest, message: "Session not found or ended."))
    }
}
