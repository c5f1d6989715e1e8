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
    /// Continues with the session if `identity` may use it now (nil: it may not, or there is
    /// none), after recording the use. Claiming an anonymous session is a write: the request goes
    /// on from its commit, on this endpoint's queue, with no thread waiting for it meanwhile.
    func withUsableSession(
        _ id: String, identity: Identity?, _ next: @escaping @Sendable (Result<MCPSession?, Error>) -> Void
    ) {
        let session: MCPSession
        do {
            guard let found = try store.session(id), !found.ended else { return next(.success(nil)) }
            session = found
        } catch {
            return next(.failure(error))
        }
        let now = unixNow()
        guard session.lastUsedAt + sessionTTL >= now else { return next(.success(nil)) }
        // One write per session per interval, not per request.
        let touch: @Sendable () -> Void = { [store, sessionTTL] in
            if now - session.lastUsedAt >= max(1, min(60, sessionTTL / 4)) { store.touch(id) }
        }
        if let owner = session.agentID {
            guard owner == identity?.agent.id else { return next(.success(nil)) }
            touch()
            return next(.success(session))
        }
        guard let identity else {
            touch()
            return next(.success(session))
        }
        store.claim(id, agentID: identity.agent.id) { [work] claimed in
            work.async {
                switch claimed {
                case .failure(let error): next(.failure(error))
                case .success(false): next(.success(nil))  // another agent's since
                case .success(true):
                    var mine = session
                    mine.agentID = identity.agent.id
                    touch()
                    next(.success(mine))
                }
            }
        }
    }

    /// The answer to a session the caller may not use: the same as for one that never existed.
    func sessionNotFound() -> Response {
        rpcHTTPError(404, id: nil, RPCError(code: RPCError.invalidRequest, message: "Session not found or ended."))
    }
}
