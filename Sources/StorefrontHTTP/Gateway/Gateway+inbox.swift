import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

extension Gateway {
    /// `GET /inbox`: Server-Sent Events (resumable with `Last-Event-ID`) for clients that accept
    /// `text/event-stream`, otherwise a JSON page after `?after=ID`.
    func inboxRoute(_ request: Request) -> Response {
        let identity: Identity
        switch authenticate(request) {
        case .failure(let error): return unauthorized(error)
        case .success(nil): return ActionError.authenticationRequired.restResponse
        case .success(let found?): identity = found
        }
        var after: Int64 = 0
        for name in ["after", "last_event_id"] {
            if let text = request.query(name) {
                guard let value = Int64(text), value >= 0 else {
                    return APIError.invalidParameter(name, "\(name) must be a non-negative event id.").response
                }
                after = value
            }
        }
        if let header = request.headers["Last-Event-ID"] {
            guard let value = Int64(header.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                return APIError.invalidParameter("Last-Event-ID", "Last-Event-ID must be an event id.").response
            }
            after = value
        }
        let wantsStream = request.headers["Accept"]?.contains("text/event-stream") == true && request.query("after") == nil
        if wantsStream {
            // A key revoked or rotated while the stream is open stops it at the next event.
            let agents = self.agents, credential = identity.credential
            return inboxStream.stream(agentID: identity.agent.id, after: after) { (try? agents.isActive(credential)) ?? false }
        }
        let limit = request.query("limit").flatMap(Int.init) ?? 50
        guard (1...Inbox.maxPage).contains(limit) else {
            return APIError.invalidParameter("limit", "limit must be from 1 to \(Inbox.maxPage).").response
        }
        do {
            return jsonResponse(
                try inbox.page(
                    agentID: identity.agent.id, after: after, limit: limit, unreadOnly: request.query("unread_only") == "true"))
        } catch {
            return Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Retry.")
        }
    }
}
