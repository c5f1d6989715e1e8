import HTTPServer
import JSON
import StorefrontDomain
import StorefrontStore

/// An agent's inbox followed live as Server-Sent Events that resume with `Last-Event-ID`: one
/// change feed polls the store for new events (or is woken by other nodes' commits) and wakes
/// the streams of the agents they are for.
final class InboxStream: Sendable {
    let inbox: Inbox
    let feed: ChangeFeed

    init(inbox: Inbox) {
        self.inbox = inbox
        feed = ChangeFeed(
            pollInterval: 0.2,
            latest: { try inbox.latestEventID() },
            // The agents the new events are for (a stream listens to its agent's inbox).
            topics: { after, upTo in try inbox.agents(ofEventsAfter: after, upTo: upTo, limit: 1000) })
    }

    /// The live stream of an agent's events after `after`.
    func stream(agentID: String, after: Int64, stillAllowed: (@Sendable () -> Bool)? = nil) -> Response {
        let inbox = self.inbox
        let tail = SSETail(after: after, feed: feed, topic: agentID) { cursor in
            try inbox.events(agentID: agentID, after: cursor, limit: SSETail.pageSize).map { event in
                (event.id, "id: \(event.id)\nevent: \(event.type)\ndata: \(event.json.compactString)\n\n")
            }
        }
        tail.stillAllowed = stillAllowed
        tail.stream.owner = .agent(agentID)
        tail.start()
        return Response(
            status: 200,
            headers: HTTPHeaders([
                ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache, no-transform"), ("X-Accel-Buffering", "no"),
            ]),
            body: .stream(tail.stream))
    }
}
