import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// MCP Streamable HTTP at `/mcp`: revision 2025-11-25 (sessions in the store, SSE with
/// resumable event ids) and revision 2026-07-28 (sessionless) side by side; a client picks
/// by what it sends.
public final class MCPEndpoint: @unchecked Sendable {
    package static let sessionVersions = ["2025-11-25", "2025-06-18", "2025-03-26"]
    static let latestSessionVersion = "2025-11-25"

    let service: MCPService
    let store: MCPSessionStore
    package let feed: ChangeFeed
    let allowedOrigins: [String]
    /// Checks the request's credentials (set by the gateway).
    package var authenticate: @Sendable (Request) -> Result<Identity?, AuthenticationError> = { _ in .success(nil) }
    /// Spends from the caller's rate-limit bucket for the action a message names (nil: any
    /// other method, a read); set by the gateway when limits are on.
    package var rateLimit: (@Sendable (_ request: Request, _ action: String?, _ identity: Identity?) -> (any MCPRateLimit)?)?
    /// The merchant's access policy, asked for the action a `tools/call` names (nil: any other
    /// method) with the message's id: a response (a JSON-RPC error the gateway wrote) refuses
    /// the message; nil lets it through.
    package var admit: (@Sendable (_ request: Request, _ action: String?, _ identity: Identity?, _ id: JSON?) -> Response?)?
    /// Notes on a response who called and which tool ran, for the gateway's analytics.
    package var noteCaller: (@Sendable (_ response: inout Response, _ identity: Identity?, _ tool: String?) -> Void)?
    /// The `WWW-Authenticate` of a 401: where to authorize (RFC 9728), the token's error, the
    /// scope the call needs (set by the gateway).
    package var challenge: @Sendable (_ request: Request, _ error: AuthenticationError?, _ scope: String?) -> String = { _, _, _ in
        "Bearer realm=\"storefront\""
    }
    /// The scope a tool needs (nil: anyone may call it). A call without credentials to a tool
    /// that needs one is answered 401 with the challenge, as the MCP authorization specification
    /// requires, so an OAuth client authorizes and retries.
    package var requiredScope: @Sendable (_ tool: String) -> String? = { _ in nil }
    /// The `WWW-Authenticate` of a 403 for an OAuth token that lacks the tool's scope (step-up).
    package var insufficientScope: (@Sendable (_ request: Request, _ scope: String) -> String)?
    let work = DispatchQueue(label: "mcp-work", attributes: .concurrent)
    /// Seconds a session may sit unused before it is gone (404) and swept.
    public var sessionTTL: Int64 = 3600
    /// Live sessions one creator (an agent, or an anonymous client address) may hold; a new
    /// one beyond it ends that creator's least recently used session.
    public var sessionsPerCreator = 1000

    package init(service: MCPService, store: MCPSessionStore, allowedOrigins: [String]) {
        self.service = service
        self.store = store
        self.allowedOrigins = allowedOrigins
        feed = ChangeFeed(
            latest: { try store.latestEventID() },
            topics: { after, upTo in try store.streamIDs(ofEventsAfter: after, upTo: upTo, limit: 1000) })
    }

    /// Work that outlives its connection (a streamed call whose client left): a stop waits for
    /// it, so its response is stored before the store closes.
    let detached = DispatchGroup()

    public func stop(grace: TimeInterval = 10) {
        feed.stop()
        _ = detached.wait(timeout: .now() + grace)
    }

    // MARK: - Checks shared by every method

    /// Browsers send `Origin`; only listed origins may call (DNS-rebinding protection).
    /// Clients that send no `Origin` (agents, SDKs) are not browsers and pass.
    func originRefusal(_ request: Request) -> Response? {
        guard let origin = request.headers["Origin"] else { return nil }
        let allowed = allowedOrigins.contains { pattern in
            if pattern == "*" { return true }
            if pattern.hasSuffix(":*") { return origin == String(pattern.dropLast(2)) || origin.hasPrefix(String(pattern.dropLast(1))) }
            return origin == pattern
        }
        if allowed { return nil }
        return rpcHTTPError(
            403, id: nil,
            RPCError(code: RPCError.invalidRequest, message: "Origin \(origin) is not allowed to use this MCP endpoint."))
    }

    func rpcHTTPError(_ status: Int, id: JSON?, _ error: RPCError, headers: [(String, String)] = []) -> Response {
        var response = Response(status: status, contentType: "application/json", body: rpcError(id: id, error).serialized())
        for (name, value) in headers { response.headers.add(name, value) }
        return response
    }

    func rpcJSON(_ body: JSON, status: Int = 200, sessionID: String? = nil) -> Response {
        rpcResponse(body.serialized(), status: status, sessionID: sessionID)
    }

    func rpcResponse(_ bytes: [UInt8], status: Int = 200, sessionID: String? = nil) -> Response {
        var response = Response(status: status, contentType: "application/json", body: bytes)
        if let sessionID { response.headers.add("MCP-Session-Id", sessionID) }
        return response
    }

    /// Whether the request's Accept header lists `type` (or `*/*`, or `major/*`) among its media
    /// ranges, ignoring case and parameters (`;q=...`).
    static func accepts(_ request: Request, _ type: String) -> Bool {
        guard var accept = request.headers["Accept"] else { return false }
        return accept.withUTF8 { header in
            var start = 0
            while start <= header.count {
                var end = start
                while end < header.count && header[end] != UInt8(ascii: ",") { end += 1 }
                // The media range: up to `;`, without surrounding blanks.
                var last = start
                while last < end && header[last] != UInt8(ascii: ";") { last += 1 }
                var first = start
                while first < last && (header[first] == 0x20 || header[first] == 0x09) { first += 1 }
                while last > first && (header[last - 1] == 0x20 || header[last - 1] == 0x09) { last -= 1 }
                if matches(UnsafeBufferPointer(rebasing: header[first..<last]), type) { return true }
                start = end + 1
            }
            return false
        }
    }

    /// A media range against a lower-case type: equal ignoring case, `*/*`, or `major/*`.
    private static func matches(_ range: UnsafeBufferPointer<UInt8>, _ type: String) -> Bool {
        if range.count == 3 && range[0] == 0x2A && range[1] == 0x2F && range[2] == 0x2A { return true }
        var type = type
        return type.withUTF8 { wanted in
            // The first `count` bytes of the range, lower-cased, equal the type's.
            func same(_ count: Int) -> Bool {
                for i in 0..<count {
                    let b = range[i]
                    if (b >= 0x41 && b <= 0x5A ? b + 0x20 : b) != wanted[i] { return false }
                }
                return true
            }
            if range.count == wanted.count && same(range.count) { return true }
            // major/*
            guard range.count >= 2, range[range.count - 1] == 0x2A, range[range.count - 2] == 0x2F else { return false }
            let major = range.count - 2
            guard major < wanted.count, wanted[major] == 0x2F, !wanted[..<major].contains(0x2F) else { return false }
            return same(major)
        }
    }

    // MARK: - POST

    /// Lets an allowed browser origin read the answer and its session id.
    func withCORS(_ response: Response, _ request: Request) -> Response {
        guard let origin = request.headers["Origin"] else { return response }
        return response.amended { response in
            response.headers.add("Access-Control-Allow-Origin", origin)
            response.headers.add(
                "Access-Control-Expose-Headers", "MCP-Session-Id, MCP-Protocol-Version, Retry-After, RateLimit, RateLimit-Policy")
            response.headers.add("Vary", "Origin")
        }
    }

    public func post(_ request: Request) -> Response {
        if let refusal = originRefusal(request) { return refusal }
        return withCORS(postAllowed(request), request)
    }

    /// A refused message: HTTP 429 with Retry-After and the RateLimit headers (what MCP
    /// clients' HTTP transports handle), carrying a JSON-RPC error with the message's id and
    /// the refusal's details. The session, if any, is untouched: the next message may pass.
    func rateLimited(_ decision: any MCPRateLimit, id: JSON?) -> Response {
        var data = decision.details.objectValue ?? [:]
        data["code"] = "rate_limited"
        var response = rpcHTTPError(
            429, id: id, RPCError(code: RPCError.rateLimited, message: decision.message, data: .object(data)))
        decision.addHeaders(to: &response)
        return response
    }

    private func postAllowed(_ request: Request) -> Response {
        guard Self.accepts(request, "application/json") && Self.accepts(request, "text/event-stream") else {
            return rpcHTTPError(
                406, id: nil,
                RPCError(code: RPCError.invalidRequest, message: "Accept must list both application/json and text/event-stream."))
        }
        let body: JSON
        do {
            body = try JSON.parse(bytes: request.body)
        } catch {
            if let decision = rateLimit?(request, nil, nil), !decision.allowed { return rateLimited(decision, id: nil) }
            return rpcHTTPError(400, id: nil, RPCError(code: RPCError.parseError, message: "Parse error: \(error)"))
        }
        let message: RPCMessage
        do {
            message = try RPCMessage(body)
        } catch let error as RPCError {
            return rpcHTTPError(400, id: body["id"], error)
        } catch {
            return rpcHTTPError(400, id: nil, RPCError(code: RPCError.invalidRequest, message: "Invalid request"))
        }
        let action = message.method == "tools/call" ? message.params["name"]?.stringValue : nil
        let identity: Identity?
        switch authenticate(request) {
        case .success(let found): identity = found
        case .failure(let error):
            if let decision = rateLimit?(request, action, nil), !decision.allowed { return rateLimited(decision, id: message.id) }
            return rpcHTTPError(
                401, id: message.id, RPCError(code: RPCError.invalidRequest, message: "\(error.code): \(error.message)"),
                headers: [("WWW-Authenticate", challenge(request, error, nil))])
        }
        let decision = rateLimit?(request, action, identity)
        if let decision, !decision.allowed { return annotated(rateLimited(decision, id: message.id), identity, message) }
        if let admit, let refusal = admit(request, action, identity, message.id) { return annotated(refusal, identity, message) }
        if let action, let scope = requiredScope(action) {
            guard let identity else {
                return rpcHTTPError(
                    401, id: message.id,
                    RPCError(
                        code: RPCError.invalidRequest,
                        message: "authentication_required: \(action) acts for a principal and needs the scope \(scope). Authorize with OAuth (see WWW-Authenticate) or register at /agents/register and send your API key."),
                    headers: [("WWW-Authenticate", challenge(request, nil, scope))])
            }
            if case .oauthToken = identity.credential, !identity.agent.scopes.contains(scope), let insufficientScope {
                return annotated(
                    rpcHTTPError(
                        403, id: message.id,
                        RPCError(code: RPCError.invalidRequest, message: "insufficient_scope: \(action) needs the scope \(scope); this token has \(identity.agent.scopes.sorted().joined(separator: " "))."),
                        headers: [("WWW-Authenticate", insufficientScope(request, scope))]), identity, message)
            }
        }
        let answered = answer(request, message, identity: identity)
        guard let decision else { return answered }
        return answered.amended { decision.addHeaders(to: &$0) }
    }

    private func answer(_ request: Request, _ message: RPCMessage, identity: Identity?) -> Response {
        if Stateless.applies(to: request, message: message) {
            return annotated(Stateless(endpoint: self).post(request, message: message, identity: identity), identity, message)
        }
        if message.method == "initialize" {
            return initialize(message, owner: MCPSessionOwner(agentID: identity?.agent.id, clientAddress: request.remoteAddress))
        }
        // Every other message of the session transport belongs to a session.
        guard let sessionID = request.headers["MCP-Session-Id"] else {
            return rpcHTTPError(
                400, id: message.id,
                RPCError(code: RPCError.invalidRequest, message: "Missing MCP-Session-Id header: call initialize first."))
        }
        if let version = request.headers["MCP-Protocol-Version"], !Self.sessionVersions.contains(version) {
            return rpcHTTPError(
                400, id: message.id,
                RPCError(
                    code: RPCError.invalidRequest,
                    message: "Unsupported MCP-Protocol-Version \(version); supported: \(Self.sessionVersions.joined(separator: ", "))."))
        }
        return annotated(
            .later { [self] complete in
                work.async {
                    self.withUsableSession(sessionID, identity: identity) { found in
                        // A mutating tools/call answers later, after its commit: no thread of
                        // this queue waits for it meanwhile.
                        let response = self.sessionMessage(message, found, request: request, identity: identity)
                        if case .deferred(let produce) = response.body { produce(complete) } else { complete(response) }
                    }
                }
            }, identity, message)
    }

    /// Notes the caller and the tool for analytics.
    func annotated(_ response: Response, _ identity: Identity?, _ message: RPCMessage) -> Response {
        let action = message.method == "tools/call" ? message.params["name"]?.stringValue : nil
        guard identity != nil || action != nil, let noteCaller else { return response }
        return response.amended { noteCaller(&$0, identity, action) }
    }

    /// The caller's idempotency key for a tools/call: in `_meta` or as an argument.
    static func idempotencyKey(_ params: JSON) -> String? {
        let meta = params["_meta"]
        return meta?["idempotencyKey"]?.stringValue ?? meta?["idempotency_key"]?.stringValue
            ?? meta?["dev.storefront/idempotencyKey"]?.stringValue ?? params["arguments"]?["idempotency_key"]?.stringValue
    }

    static func context(_ request: Request, _ message: RPCMessage, _ identity: Identity?) -> ActionContext {
        ActionContext(requestID: request.id, identity: identity, idempotencyKey: idempotencyKey(message.params))
    }

    private func sessionMessage(
        _ message: RPCMessage, _ found: Result<MCPSession?, Error>, request: Request, identity: Identity?
    ) -> Response {
        let session: MCPSession
        switch found {
        case .success(let usable?): session = usable
        case .success(nil):
            return rpcHTTPError(
                404, id: message.id,
                RPCError(code: RPCError.invalidRequest, message: "Session not found or ended; initialize a new one."))
        case .failure:
            return rpcHTTPError(503, id: message.id, RPCError(code: RPCError.internalError, message: "The store is unavailable."))
        }
        switch message.kind {
        case .response:
            return Response(status: 202)
        case .notification:
            switch message.method {
            case "notifications/initialized": try? store.markInitialized(session.id)
            case "notifications/cancelled":
                if let requestID = RPCMessage.idText(message.params["requestId"]) {
                    try? store.recordCancellation(
                        sessionID: session.id, requestID: requestID, reason: message.params["reason"]?.stringValue)
                }
            default: break
            }
            return Response(status: 202)
        case .request:
            let method = message.method ?? ""
            if let token = message.params["_meta"]?["progressToken"], method == "tools/call" {
                return streamedCall(message, session: session, progressToken: token, request: request, identity: identity)
            }
            if method == "resources/subscribe" || method == "resources/unsubscribe" {
                return subscription(message, session: session, identity: identity)
            }
            let context = Self.context(request, message, identity)
            if method == "tools/call" {
                return .later { [self] complete in
                    service.callTool(message.params, context: context) { result in
                        switch result {
                        case .success(let body): complete(self.rpcResponse(body.response(id: message.id)))
                        case .failure(let error): complete(self.rpcJSON(rpcError(id: message.id, error)))
                        }
                    }
                }
            }
            switch service.call(method, params: message.params, context: context) {
            case .success(let result): return rpcResponse(result.response(id: message.id))
            case .failure(let error): return rpcJSON(rpcError(id: message.id, error))
            }
        }
    }

    /// resources/subscribe and /unsubscribe: the caller's inbox, notified on the session's
    /// server-to-client stream (GET /mcp) when an event arrives.
    private func subscription(_ message: RPCMessage, session: MCPSession, identity: Identity?) -> Response {
        guard let uri = message.params["uri"]?.stringValue else {
            return rpcJSON(rpcError(id: message.id, RPCError(code: RPCError.invalidParams, message: "params.uri is required.")))
        }
        guard uri == AgentInbox.resourceURI else {
            return rpcJSON(
                rpcError(
                    id: message.id,
                    RPCError(code: RPCError.invalidParams, message: "Only \(AgentInbox.resourceURI) changes; other resources are fixed until a restart.")))
        }
        guard let identity else {
            return rpcJSON(
                rpcError(id: message.id, RPCError(code: RPCError.invalidParams, message: "Send your API key to subscribe to your inbox.")))
        }
        do {
            try store.setSubscription(
                sessionID: session.id, uri: uri, agentID: identity.agent.id, on: message.method == "resources/subscribe")
            return rpcJSON(rpcResult(id: message.id, [:]))
        } catch {
            return rpcHTTPError(503, id: message.id, RPCError(code: RPCError.internalError, message: "The store is unavailable."))
        }
    }

    private func initialize(_ message: RPCMessage, owner: MCPSessionOwner) -> Response {
        guard message.kind == .request else {
            return rpcHTTPError(400, id: nil, RPCError(code: RPCError.invalidRequest, message: "initialize must be a request."))
        }
        let requested = message.params["protocolVersion"]?.stringValue ?? ""
        let version = Self.sessionVersions.contains(requested) ? requested : Self.latestSessionVersion
        let clientInfo = message.params["clientInfo"] ?? [:]
        let capabilities = message.params["capabilities"] ?? [:]
        return .later { [self] complete in
            work.async {
                do {
                    let session = try self.store.createSession(
                        protocolVersion: version, clientInfo: clientInfo, capabilities: capabilities, owner: owner,
                        maxPerCreator: self.sessionsPerCreator)
                    let result: JSON = [
                        "protocolVersion": .string(version),
                        "capabilities": self.service.capabilities,
                        "serverInfo": self.service.serverInfo,
                        "instructions": .string(self.service.instructions),
                    ]
                    complete(self.rpcJSON(rpcResult(id: message.id, result), sessionID: session.id))
                } catch {
                    complete(
                        self.rpcHTTPError(
                            503, id: message.id, RPCError(code: RPCError.internalError, message: "The store is unavailable.")))
                }
            }
        }
    }

    // MARK: - SSE

    static func sseEvent(id: Int64, data: String) -> String {
        "id: \(id)\nevent: message\ndata: \(data)\n\n"
    }

    static func sseHeaders(sessionID: String?) -> HTTPHeaders {
        var headers = HTTPHeaders([
            ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache, no-transform"), ("X-Accel-Buffering", "no"),
        ])
        if let sessionID { headers.add("MCP-Session-Id", sessionID) }
        return headers
    }

    /// A tools/call whose client asked for progress: answered as an SSE stream whose every
    /// event is written to the store before it is sent, so a dropped client can resume.
    private func streamedCall(
        _ message: RPCMessage, session: MCPSession, progressToken: JSON, request: Request, identity: Identity?
    ) -> Response {
        .later { [self] complete in
            store.createStream(sessionID: session.id, requestID: message.idText) { [self] created in
                guard case .success(let streamID) = created else {
                    return complete(
                        rpcHTTPError(503, id: message.id, RPCError(code: RPCError.internalError, message: "The store is unavailable.")))
                }
                complete(Response(status: 200, headers: Self.sseHeaders(sessionID: session.id), body: .stream(
                    runStreamedCall(message, session: session, streamID: streamID, progressToken: progressToken, request: request,
                                    identity: identity))))
            }
        }
    }

    /// Runs a streamed call: each event is written to the store, then sent, in the order the
    /// events happen. No thread waits for a write: the appends are queued on the writer one
    /// after another from one serial queue, the writer reports them in that order, and each
    /// report writes its event to the stream. (Waiting there would be worse than slow: progress
    /// is reported on the store's reporting thread, and a write waited for there waits for itself.)
    private func runStreamedCall(
        _ message: RPCMessage, session: MCPSession, streamID: String, progressToken: JSON, request: Request, identity: Identity?
    ) -> ResponseStream {
        let stream = ResponseStream()
        stream.owner = identity.map { .agent($0.agent.id) } ?? .anonymous
        let events = DispatchQueue(label: "mcp-stream-events")
        let append: @Sendable (String, Bool, (@Sendable () -> Void)?) -> Void = { [self] data, completes, then in
            events.async { [self] in
                store.appendEvent(sessionID: session.id, streamID: streamID, data: data, completes: completes) { [self] written in
                    // (An empty event that completes the stream marks a cancelled call: stored, not sent.)
                    if case .success(let id) = written, !(data.isEmpty && completes) {
                        // The first event has an id and no message, so the client can resume even
                        // if the connection drops before anything else is sent.
                        stream.write(data.isEmpty ? "id: \(id)\ndata: \n\n" : Self.sseEvent(id: id, data: data))
                        if !data.isEmpty { feed.published(id, topic: streamID) }
                    }
                    then?()
                }
            }
        }
        detached.enter()
        append("", false, nil)
        var context = Self.context(request, message, identity)
        context.progress = { done, total, text in
            var params: [String: JSON] = ["progressToken": progressToken, "progress": .double(done)]
            if let total { params["total"] = .double(total) }
            if let text { params["message"] = .string(text) }
            let notification: JSON = ["jsonrpc": "2.0", "method": "notifications/progress", "params": .object(params)]
            append(notification.compactString, false, nil)
        }
        let finished: @Sendable () -> Void = { [self] in
            stream.finish()
            detached.leave()
        }
        // The call reports after its commit; no thread waits for it meanwhile.
        work.async { [self, context] in
            service.callTool(message.params, context: context) { [self] outcome in
                events.async { [self] in
                    if let requestID = message.idText, (try? store.isCancelled(sessionID: session.id, requestID: requestID)) == true {
                        // Cancelled: no response is sent; the stream just ends.
                        return append("", true, finished)
                    }
                    switch outcome {
                    case .success(let result): append(String(decoding: result.response(id: message.id), as: UTF8.self), true, finished)
                    case .failure(let error): append(rpcError(id: message.id, error).compactString, true, finished)
                    }
                }
            }
        }
        return stream
    }

    // MARK: - GET: resume a stream, or open the server-to-client stream

    public func get(_ request: Request) -> Response {
        if let refusal = originRefusal(request) { return refusal }
        guard Self.accepts(request, "text/event-stream") else {
            return rpcHTTPError(
                406, id: nil, RPCError(code: RPCError.invalidRequest, message: "GET /mcp needs Accept: text/event-stream."))
        }
        guard let sessionID = request.headers["MCP-Session-Id"] else {
            return rpcHTTPError(
                400, id: nil, RPCError(code: RPCError.invalidRequest, message: "Missing MCP-Session-Id header."))
        }
        let identity: Identity?
        switch authenticate(request) {
        case .success(let found): identity = found
        case .failure: return sessionNotFound()
        }
        return .later { [self] complete in
            work.async {
                self.withUsableSession(sessionID, identity: identity) { found in
                    complete(self.openStream(found, lastEventID: request.headers["Last-Event-ID"], identity: identity))
                }
            }
        }
    }

    private func openStream(_ found: Result<MCPSession?, Error>, lastEventID: String?, identity: Identity?) -> Response {
        do {
            guard let session = try found.get() else {
                return rpcHTTPError(
                    404, id: nil, RPCError(code: RPCError.invalidRequest, message: "Session not found or ended."))
            }
            let streamID: String
            var after: Int64 = 0
            if let lastEventID {
                guard let eventID = Int64(lastEventID.trimmingCharacters(in: .whitespaces)),
                    let found = try store.stream(ofEvent: eventID, sessionID: session.id)
                else {
                    return rpcHTTPError(
                        400, id: nil,
                        RPCError(code: RPCError.invalidRequest, message: "Last-Event-ID \(lastEventID) is not an event of this session."))
                }
                streamID = found.streamID
                after = eventID
            } else {
                streamID = try store.createStream(sessionID: session.id, requestID: nil)
            }
            let store = self.store
            let tail = SSETail(
                after: after, feed: feed, topic: streamID,
                fetch: { cursor in
                    try store.events(streamID: streamID, after: cursor, limit: SSETail.pageSize).map { event in
                        (event.id, event.data.isEmpty ? "id: \(event.id)\ndata: \n\n" : MCPEndpoint.sseEvent(id: event.id, data: event.data))
                    }
                },
                isComplete: { try store.isCompleted(streamID: streamID) })
            // Streams are counted by who holds them: an agent whose credentials check out, or anonymous.
            tail.stream.owner = identity.map { .agent($0.agent.id) } ?? .anonymous
            tail.start()
            return Response(status: 200, headers: Self.sseHeaders(sessionID: session.id), body: .stream(tail.stream))
        } catch {
            return rpcHTTPError(503, id: nil, RPCError(code: RPCError.internalError, message: "The store is unavailable."))
        }
    }

    // MARK: - DELETE

    public func delete(_ request: Request) -> Response {
        if let refusal = originRefusal(request) { return refusal }
        guard let sessionID = request.headers["MCP-Session-Id"] else {
            return rpcHTTPError(400, id: nil, RPCError(code: RPCError.invalidRequest, message: "Missing MCP-Session-Id header."))
        }
        let identity: Identity?
        switch authenticate(request) {
        case .success(let found): identity = found
        case .failure: return sessionNotFound()
        }
        return .later { [self] complete in
            work.async {
                // Only whoever may use the session may end it.
                self.withUsableSession(sessionID, identity: identity) { found in
                    let usable = ((try? found.get()) ?? nil) != nil
                    let ended = usable && ((try? self.store.endSession(sessionID)) ?? false)
                    complete(
                        ended
                            ? Response(status: 204)
                            : self.rpcHTTPError(
                                404, id: nil, RPCError(code: RPCError.invalidRequest, message: "Session not found or already ended.")))
                }
            }
        }
    }
}

extension RPCMessage {
    static func idText(_ id: JSON?) -> String? {
        switch id {
        case .string(let s): return "s:" + s
        case .int(let i): return "i:" + String(i)
        default: return nil
        }
    }
}

