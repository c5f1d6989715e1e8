import Crypto
import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// A2A (protocol 0.3), the two interfaces the agent card offers at `/a2a`: JSON-RPC
/// (`POST /a2a`: `message/send`, `message/stream`, `tasks/get`, `tasks/cancel`,
/// `tasks/resubscribe`) and HTTP+JSON (`/a2a/v1/message:send`, `/a2a/v1/message:stream`,
/// `/a2a/v1/tasks/{id}`, `…:cancel`, `…:subscribe`, `/a2a/v1/card`).
///
/// A message carries a data part `{"action": <skill id>, "arguments": {…}}` and runs that action
/// with the caller's identity, under the same scopes, rate limits and idempotency as REST and
/// MCP (the message id is the idempotency key). A read-only action is answered with a message
/// and keeps nothing; a mutating one becomes a task, kept in the store, so `tasks/get` finds it
/// on any node. A purchase waiting for the principal's approval is a task in `input-required`
/// that completes (or is rejected) when the principal decides; `tasks/cancel` cancels the
/// checkout and releases its hold. A stream is written at once when the action has answered:
/// nothing is held open waiting.
extension Gateway {
    static let a2aPath = "/a2a"

    func addA2ARoutes(to router: inout Router) {
        router.post(Self.a2aPath) { [unowned self] request in self.a2aJSONRPC(request) }
        router.post(Self.a2aPath + "/v1/message:send") { [unowned self] request in self.a2aRESTSend(request, streaming: false) }
        router.post(Self.a2aPath + "/v1/message:stream") { [unowned self] request in self.a2aRESTSend(request, streaming: true) }
        router.get(Self.a2aPath + "/v1/card") { [unowned self] request in self.documents.agentCard.response(for: request) }
        router.get(Self.a2aPath + "/v1/tasks/{id}") { [unowned self] request in self.a2aRESTTask(request) }
        router.post(Self.a2aPath + "/v1/tasks/{id}") { [unowned self] request in self.a2aRESTTask(request) }
        // A2A 1.0's HTTP+JSON: the same paths without /v1, 1.0's shapes.
        router.post(Self.a2aPath + "/message:send") { [unowned self] request in self.a2aRESTSend(request, streaming: false, version: .v1) }
        router.post(Self.a2aPath + "/message:stream") { [unowned self] request in self.a2aRESTSend(request, streaming: true, version: .v1) }
        router.get(Self.a2aPath + "/tasks/{id}") { [unowned self] request in self.a2aRESTTask(request, version: .v1) }
        router.post(Self.a2aPath + "/tasks/{id}") { [unowned self] request in self.a2aRESTTask(request, version: .v1) }
    }

    // MARK: JSON-RPC

    func a2aJSONRPC(_ request: Request) -> Response {
        let envelope: JSON
        do {
            envelope = try JSON.parse(bytes: request.body)
        } catch {
            chargeReads(request)
            return a2aRPCError(.parse("The body is not JSON: \(error)."), id: .null)
        }
        let id = envelope["id"] ?? .null
        guard case .object = envelope, envelope["jsonrpc"]?.stringValue == "2.0", let method = envelope["method"]?.stringValue else {
            chargeReads(request)
            return a2aRPCError(.invalidRequest("Send a JSON-RPC 2.0 request: {\"jsonrpc\": \"2.0\", \"id\", \"method\", \"params\"}."), id: id)
        }
        // Every A2A method is a request: a notification (no id) would run and never be answered,
        // and an id must be a string or a number.
        switch envelope["id"] {
        case .string?, .int?, .double?: break
        default:
            chargeReads(request)
            return a2aRPCError(.invalidRequest("A2A methods are requests: send an id (a string or a number)."), id: .null)
        }
        let params = envelope["params"] ?? [:]
        let reply: @Sendable (Result<A2AReply, A2AError>) -> Response = { [unowned self] result in
            switch result {
            case .failure(let error): return self.a2aRPCError(error, id: id)
            case .success(.http(let response)): return response
            case .success(.value(let value)): return jsonResponse(["jsonrpc": "2.0", "id": id, "result": value])
            case .success(.events(let events)):
                return self.a2aEventStream(events.map { ["jsonrpc": "2.0", "id": id, "result": $0] })
            }
        }
        // A2A 1.0's methods: the same operations, 1.0's shapes (protobuf JSON, errors with reasons).
        let reply1: @Sendable (Result<A2AReply, A2AError>, _ wrap: Bool) -> Response = { [unowned self] result, wrap in
            switch result {
            case .failure(let error): return jsonResponse(["jsonrpc": "2.0", "id": id, "error": error.rpcV1])
            case .success(.http(let response)): return response
            case .success(.value(let value)):
                return jsonResponse(["jsonrpc": "2.0", "id": id, "result": wrap ? A2AWire.v1Wrapped(value) : A2AWire.v1(value)])
            case .success(.events(let events)):
                return self.a2aEventStream(events.map { ["jsonrpc": "2.0", "id": id, "result": A2AWire.v1Wrapped($0)] })
            }
        }
        switch method {
        case "SendMessage", "SendStreamingMessage":
            guard let message = params["message"].flatMap(A2AWire.normalizedMessage) else {
                return reply1(.failure(.invalidParams("params.message must be a message with a messageId and parts.")), true)
            }
            return a2aSend(
                message, configuration: params["configuration"] ?? [:], streaming: method == "SendStreamingMessage", request: request
            ) { reply1($0, true) }
        case "GetTask":
            guard let taskID = params["id"]?.stringValue else { return reply1(.failure(.invalidParams("params.id names the task.")), false) }
            let history = params["historyLength"]?.intValue
            return a2aTask(taskID, request: request) { reply1($0.map { .value(Self.a2aTrimmed($0, history: history)) }, false) }
        case "CancelTask":
            guard let taskID = params["id"]?.stringValue else { return reply1(.failure(.invalidParams("params.id names the task.")), false) }
            return a2aCancel(taskID, request: request) { reply1($0.map { .value($0) }, false) }
        case "SubscribeToTask":
            guard let taskID = params["id"]?.stringValue else { return reply1(.failure(.invalidParams("params.id names the task.")), false) }
            return a2aTask(taskID, request: request) { reply1($0.map { .events(Self.a2aSnapshotEvents($0)) }, true) }
        case "ListTasks", "CreateTaskPushNotificationConfig", "GetTaskPushNotificationConfig", "ListTaskPushNotificationConfigs",
            "DeleteTaskPushNotificationConfig", "GetExtendedAgentCard":
            return reply1(.failure(.unsupported("\(method) is not offered by this agent.")), false)
        case "message/send", "message/stream":
            let streaming = method == "message/stream"
            guard let message = params["message"].flatMap(A2AWire.normalizedMessage) else {
                return reply(.failure(.invalidParams("params.message must be a message with a messageId and parts.")))
            }
            return a2aSend(message, configuration: params["configuration"] ?? [:], streaming: streaming, request: request, reply: reply)
        case "tasks/get":
            guard let taskID = params["id"]?.stringValue else { return reply(.failure(.invalidParams("params.id names the task."))) }
            let history = params["historyLength"]?.intValue
            return a2aTask(taskID, request: request) { reply($0.map { .value(Self.a2aTrimmed($0, history: history)) }) }
        case "tasks/cancel":
            guard let taskID = params["id"]?.stringValue else { return reply(.failure(.invalidParams("params.id names the task."))) }
            return a2aCancel(taskID, request: request) { reply($0.map { .value($0) }) }
        case "tasks/resubscribe":
            guard let taskID = params["id"]?.stringValue else { return reply(.failure(.invalidParams("params.id names the task."))) }
            return a2aTask(taskID, request: request) { reply($0.map { .events(Self.a2aSnapshotEvents($0)) }) }
        case "tasks/pushNotificationConfig/set", "tasks/pushNotificationConfig/get", "tasks/pushNotificationConfig/list",
            "tasks/pushNotificationConfig/delete":
            return reply(.failure(.pushNotSupported()))
        case "agent/getAuthenticatedExtendedCard":
            return A2AError(
                code: -32007, type: "AuthenticatedExtendedCardNotConfiguredError", status: 404,
                message: "This agent has no extended card; /.well-known/agent-card.json is the whole card."
            ).rpcResponse(id: id)
        default:
            chargeReads(request)
            return reply(.failure(.methodNotFound("No method \(method). This agent speaks message/send, message/stream, tasks/get, tasks/cancel and tasks/resubscribe.")))
        }
    }

    func a2aRPCError(_ error: A2AError, id: JSON) -> Response {
        error.rpcResponse(id: id)
    }

    // MARK: HTTP+JSON

    /// The HTTP+JSON transport's two versions: 0.3 under `/v1`, 1.0 without it.
    enum A2ARestVersion { case v03, v1 }

    func a2aRESTError(_ error: A2AError, _ version: A2ARestVersion) -> Response {
        version == .v1 ? a2aV1Response(error.restV1, status: error.v1Status) : error.restResponse
    }

    /// A 1.0 HTTP+JSON answer (`application/a2a+json`).
    func a2aV1Response(_ body: JSON, status: Int = 200) -> Response {
        var response = jsonResponse(body, status: status)
        response.headers.set("Content-Type", "application/a2a+json")
        return response
    }

    func a2aRESTSend(_ request: Request, streaming: Bool, version: A2ARestVersion = .v03) -> Response {
        let body: JSON
        do {
            body = try JSON.parse(bytes: request.body)
        } catch {
            return a2aRESTError(A2AError.parse("The body is not JSON: \(error)."), version)
        }
        guard let message = (body["message"] ?? body["request"]).flatMap(A2AWire.normalizedMessage) else {
            return a2aRESTError(
                A2AError.invalidParams("Send {\"message\": {\"messageId\", \"role\", \"parts\": [{\"data\": {\"action\", \"arguments\"}}]}}."), version)
        }
        return a2aSend(message, configuration: body["configuration"] ?? [:], streaming: streaming, request: request) { result in
            switch result {
            case .failure(let error): return self.a2aRESTError(error, version)
            case .success(.http(let response)): return response
            case .success(.value(let value)):
                if version == .v1 { return self.a2aV1Response(A2AWire.v1Wrapped(value)) }
                let wrapped: JSON = value["kind"]?.stringValue == "message" ? ["message": A2AWire.rest(value)] : ["task": A2AWire.rest(value)]
                return jsonResponse(wrapped)
            case .success(.events(let events)):
                return self.a2aEventStream(events.map { version == .v1 ? A2AWire.v1Wrapped($0) : A2AWire.restStreamEvent($0) })
            }
        }
    }

    /// `GET /a2a/v1/tasks/{id}`, `POST …/{id}:cancel`, `GET|POST …/{id}:subscribe`.
    func a2aRESTTask(_ request: Request, version: A2ARestVersion = .v03) -> Response {
        let shape: @Sendable (JSON) -> JSON = { version == .v1 ? A2AWire.v1($0) : A2AWire.rest($0) }
        let send: @Sendable (JSON) -> Response = { [unowned self] body in version == .v1 ? a2aV1Response(body) : jsonResponse(body) }
        let segment = request.pathParameters["id"] ?? ""
        let (taskID, verb): (String, String?) = {
            guard let colon = segment.lastIndex(of: ":") else { return (segment, nil) }
            return (String(segment[..<colon]), String(segment[segment.index(after: colon)...]))
        }()
        let history = request.query("historyLength").flatMap { Int64($0) }
        switch (request.method, verb) {
        case ("GET", nil), ("HEAD", nil):
            return a2aTask(taskID, request: request) { result in
                switch result {
                case .success(let task): return send(shape(Self.a2aTrimmed(task, history: history)))
                case .failure(let error): return self.a2aRESTError(error, version)
                }
            }
        case ("POST", "cancel"):
            return a2aCancel(taskID, request: request) { result in
                switch result {
                case .success(let task): return send(shape(task))
                case .failure(let error): return self.a2aRESTError(error, version)
                }
            }
        case ("GET", "subscribe"), ("POST", "subscribe"):
            return a2aTask(taskID, request: request) { result in
                switch result {
                case .success(let task):
                    return self.a2aEventStream(Self.a2aSnapshotEvents(task).map { version == .v1 ? A2AWire.v1Wrapped($0) : A2AWire.restStreamEvent($0) })
                case .failure(let error): return self.a2aRESTError(error, version)
                }
            }
        default:
            return a2aRESTError(
                A2AError.methodNotFound("Use GET /a2a/v1/tasks/{id}, POST /a2a/v1/tasks/{id}:cancel or GET /a2a/v1/tasks/{id}:subscribe."), version)
        }
    }

    // MARK: Operations

    /// What an operation answers: a result (task or message), stream events, or an HTTP
    /// response of the gateway's own (401, 429).
    enum A2AReply: Sendable {
        case value(JSON)
        case events([JSON])
        case http(Response)
    }

    /// The action a message asks for: its first data part's `action` and `arguments`.
    static func a2aActionCall(_ message: JSON, skills: [String]) -> Result<(String, JSON), A2AError> {
        let parts = message["parts"]?.arrayValue ?? []
        guard let data = parts.first(where: { $0["kind"]?.stringValue == "data" })?["data"], case .object = data else {
            return .failure(
                A2AError(
                    code: -32005, type: "ContentTypeNotSupportedError", status: 415,
                    message: "This agent reads a data part {\"action\": <skill id>, \"arguments\": {…}}; the card's skills are the actions.",
                    data: ["skills": .array(skills.map(JSON.string))]))
        }
        guard let action = data["action"]?.stringValue else {
            return .failure(.invalidParams("The data part names no action: send {\"action\": <skill id>, \"arguments\": {…}}."))
        }
        guard skills.contains(action) else {
            return .failure(.invalidParams("No skill \(action).", data: ["skills": .array(skills.map(JSON.string))]))
        }
        let arguments = data["arguments"] ?? [:]
        guard case .object = arguments else { return .failure(.invalidParams("arguments must be a JSON object.")) }
        return .success((action, arguments))
    }

    func a2aSend(
        _ message: JSON, configuration: JSON, streaming: Bool, request: Request,
        reply: @escaping @Sendable (Result<A2AReply, A2AError>) -> Response
    ) -> Response {
        if Self.speaksUCP(request) { return ucpA2ASend(message, streaming: streaming, request: request, reply: reply) }
        if message["taskId"] != nil {
            return reply(
                .failure(
                    .unsupported(
                        "Each message here starts its own task; a task waiting for its principal moves on its own (poll tasks/get, or tasks/cancel it).")))
        }
        let action: String, arguments: JSON
        switch Self.a2aActionCall(message, skills: actions.names) {
        case .failure(let error):
            chargeReads(request)
            return reply(.failure(error))
        case .success(let call): (action, arguments) = call
        }
        let identity: Identity?
        switch authenticate(request) {
        case .success(let found): identity = found
        case .failure(let error):
            if let decision = chargeAction(action, identity: nil, request: request), !decision.allowed {
                return reply(.success(.http(refusal(decision, identity: nil, action: action))))
            }
            return reply(.success(.http(unauthorized(error))))
        }
        let decision = chargeAction(action, identity: identity, request: request)
        if let decision, !decision.allowed { return reply(.success(.http(refusal(decision, identity: identity, action: action)))) }
        let messageID = message["messageId"]?.stringValue ?? ""
        let taskID = identity.map { Self.a2aTaskID(agentID: $0.agent.id, messageID: messageID) }
        let contextID = message["contextId"]?.stringValue ?? taskID.map { "ctx_" + $0.dropFirst(5) } ?? randomIdentifier(prefix: "ctx_")
        var fields = message.objectValue ?? [:]
        fields["contextId"] = .string(contextID)
        if let taskID { fields["taskId"] = .string(taskID) }
        let received = JSON.object(fields)
        let context = ActionContext(requestID: request.id, identity: identity, idempotencyKey: Self.a2aIdempotencyKey(messageID))
        let entry = actions.entry(action)
        let registry = actions
        let finish: @Sendable (Result<A2AReply, A2AError>) -> Response = { result in
            var response = reply(result)
            response.noteCaller(identity, action: action)
            decision?.addHeaders(to: &response)
            return response
        }
        guard entry?.action.isMutating == true else {
            // A read: answered with a message; nothing is kept.
            let outcome = registry.callWaiting(action, arguments: arguments, context: context)
            if case .failure(let error) = outcome.result, error.status == 401 { return finish(.success(.http(error.restResponse))) }
            let answer = Self.a2aAgentMessage(outcome.result, contextID: contextID, taskID: nil)
            return finish(.success(streaming ? .events([answer]) : .value(answer)))
        }
        guard let identity, let taskID else {
            return finish(
                .success(
                    .http(
                        ActionError(
                            status: 401, kind: .authentication, code: "authentication_required",
                            message: "\(action) acts for an agent: send Authorization: Bearer <api key> (POST /agents/register issues one)."
                        ).restResponse)))
        }
        let database = database
        return .later { complete in
            registry.call(action, arguments: arguments, context: context) { outcome in
                // Who may ask is the transport's answer (401, a missing scope, 429); what the
                // store decided (a limit, the stock, the balance) is the task's.
                if case .failure(let error) = outcome.result,
                    error.status == 401 || error.status == 429 || error.code == "missing_scope" || error.code == "idempotency_conflict"
                        || error.code == "idempotency_in_flight"
                {
                    var response = error.restResponse
                    if let retry = outcome.retryAfter { response.headers.add("Retry-After", String(retry)) }
                    return complete(finish(.success(.http(response))))
                }
                let now = unixNow()
                let task = Self.a2aNewTask(
                    id: taskID, agentID: identity.agent.id, contextID: contextID, action: action, message: received,
                    outcome: outcome.result, at: now)
                // A retried message finds the task its first delivery made (and answers with it).
                database.writing({ db -> A2ATask? in
                    try A2ATaskStore.insert(task, db: db)
                    return try A2ATaskStore.find(taskID, agentID: identity.agent.id, db: db)
                }) { stored in
                    var kept = task
                    switch stored {
                    case .success(let found?): kept = found
                    case .success(nil): break
                    case .failure(let error):
                        // The action ran and its answer stands; only a later tasks/get will miss it.
                        FileHandle.standardError.write(Data("a2a: task \(taskID) was not kept: \(error)\n".utf8))
                    }
                    let json = Self.a2aTaskJSON(kept)
                    complete(finish(.success(streaming ? .events(Self.a2aRunEvents(json)) : .value(json))))
                }
            }
        }
    }

    /// The caller's task, brought up to date: a purchase that waited for its principal is
    /// completed, rejected or canceled once they decided (and kept so).
    func a2aTask(_ id: String, request: Request, reply: @escaping @Sendable (Result<JSON, A2AError>) -> Response) -> Response {
        let identity: Identity
        switch a2aCaller(request) {
        case .refused(let response): return response
        case .agent(let found): identity = found
        }
        let task: A2ATask
        do {
            guard let found = try database.reading({ db in try A2ATaskStore.find(id, agentID: identity.agent.id, db: db) }) else {
                return reply(.failure(.taskNotFound(id)))
            }
            task = found
        } catch {
            return reply(.failure(.internalError("The task could not be read; retry.")))
        }
        guard task.state == "input-required", let checkoutID = task.checkoutID else { return reply(.success(Self.a2aTaskJSON(task))) }
        let context = ActionContext(requestID: request.id, identity: identity)
        let checkout = actions.callWaiting("get_checkout", arguments: ["checkout_id": .string(checkoutID)], context: context).result
        guard case .success(let found) = checkout, let state = found["checkout"] else {
            return reply(.success(Self.a2aTaskJSON(task)))
        }
        var updated = task
        switch state["status"]?.stringValue {
        case "completed":
            var result: [String: JSON] = ["checkout": state]
            if let orderID = state["order_id"]?.stringValue,
                case .success(let order) = actions.callWaiting("get_order", arguments: ["order_id": .string(orderID)], context: context).result
            {
                result["order"] = order["order"] ?? .null
            }
            updated.state = "completed"
            updated.result = .object(result)
        case "canceled":
            let decided = state["approval"]?["status"]?.stringValue
            updated.state = decided == "denied" ? "rejected" : decided == "expired" ? "failed" : "canceled"
            updated.result = ["checkout": state]
        default:
            return reply(.success(Self.a2aTaskJSON(task)))
        }
        updated.updatedAt = unixNow()
        let next = updated
        return .later { complete in
            self.database.writing({ db in
                try A2ATaskStore.transition(next.id, from: "input-required", to: next.state, result: next.result, at: next.updatedAt, db: db)
            }) { _ in complete(reply(.success(Self.a2aTaskJSON(next)))) }
        }
    }

    /// Cancels a task waiting for its principal: its checkout is canceled (the hold released).
    func a2aCancel(_ id: String, request: Request, reply: @escaping @Sendable (Result<JSON, A2AError>) -> Response) -> Response {
        let identity: Identity
        switch a2aCaller(request) {
        case .refused(let response): return response
        case .agent(let found): identity = found
        }
        let found: A2ATask?
        do {
            found = try database.reading { db in try A2ATaskStore.find(id, agentID: identity.agent.id, db: db) }
        } catch {
            return reply(.failure(.internalError("The task could not be read; retry.")))
        }
        guard let task = found else { return reply(.failure(.taskNotFound(id))) }
        guard task.state == "input-required", let checkoutID = task.checkoutID else {
            return reply(.failure(.notCancelable(id, state: task.state)))
        }
        let context = ActionContext(requestID: request.id, identity: identity, idempotencyKey: "a2a-cancel:" + id)
        let registry = actions, database = database
        return .later { complete in
            registry.call("cancel_checkout", arguments: ["checkout_id": .string(checkoutID)], context: context) { outcome in
                guard case .success(let result) = outcome.result else {
                    if case .failure(let error) = outcome.result, error.code == "invalid_state" {
                        // Decided meanwhile: the principal's decision stands.
                        return complete(reply(.failure(.notCancelable(id, state: "decided"))))
                    }
                    return complete(reply(.failure(.internalError("The checkout could not be canceled; retry."))))
                }
                var canceled = task
                canceled.state = "canceled"
                canceled.result = result
                canceled.updatedAt = unixNow()
                let done = canceled
                database.writing({ db in
                    try A2ATaskStore.transition(id, from: "input-required", to: "canceled", result: result, at: done.updatedAt, db: db)
                }) { _ in complete(reply(.success(Self.a2aTaskJSON(done)))) }
            }
        }
    }

    /// The agent a task operation is for: tasks belong to agents (401 without credentials).
    func a2aCaller(_ request: Request) -> A2ACaller {
        if let limiter = rateLimiter, let decision = chargeRoute(request, .reads, limiter: limiter), !decision.allowed {
            return .refused(refusal(decision, identity: nil, action: nil))
        }
        switch authenticate(request) {
        case .failure(let error): return .refused(unauthorized(error))
        case .success(nil):
            return .refused(
                ActionError(
                    status: 401, kind: .authentication, code: "authentication_required",
                    message: "Tasks belong to the agent that started them: send its Authorization: Bearer <api key>."
                ).restResponse)
        case .success(let identity?): return .agent(identity)
        }
    }

    enum A2ACaller {
        case agent(Identity)
        case refused(Response)
    }

    func chargeReads(_ request: Request) {
        if let limiter = rateLimiter { _ = chargeRoute(request, .reads, limiter: limiter) }
    }

    // MARK: Shapes

    /// The idempotency key of a message: its id, hashed (any string a client chooses is a valid key).
    static func a2aIdempotencyKey(_ messageID: String) -> String {
        "a2a:" + hexString(SHA256.hash(data: Data(messageID.utf8))).prefix(40)
    }

    /// A task's id: the same for the same agent and message id, so a retried message finds the
    /// task its first delivery made (and the action's idempotency record replays its answer).
    static func a2aTaskID(agentID: String, messageID: String) -> String {
        "task_" + hexString(SHA256.hash(data: Data((agentID + "\u{0}" + messageID).utf8))).prefix(32)
    }

    static func a2aNewTask(
        id: String, agentID: String, contextID: String, action: String, message: JSON, outcome: Result<JSON, ActionError>, at now: Int64
    ) -> A2ATask {
        var state = "completed"
        var checkoutID: String?
        let result: JSON
        switch outcome {
        case .success(let value):
            result = value
            if value["checkout"]?["status"]?.stringValue == "pending_approval" {
                state = "input-required"
                checkoutID = value["checkout"]?["id"]?.stringValue
            }
        case .failure(let error):
            state = error.status == 402 || error.status == 403 ? "rejected" : "failed"
            result = error.json
        }
        return A2ATask(
            id: id, agentID: agentID, contextID: contextID, action: action, state: state, message: message, result: result,
            checkoutID: checkoutID, createdAt: now, updatedAt: now)
    }

    /// A task in the JSON-RPC shape.
    static func a2aTaskJSON(_ task: A2ATask) -> JSON {
        var status: [String: JSON] = ["state": .string(task.state), "timestamp": .string(isoTime(task.updatedAt))]
        var artifacts: [JSON] = []
        switch task.state {
        case "completed":
            artifacts = [["artifactId": .string(task.id + "-result"), "name": "result", "parts": [["kind": "data", "data": task.result]]]]
        case "input-required":
            let checkout = task.result["checkout"] ?? .null
            let amount = Money(json: checkout["approval"]?["amount"])?.displayString ?? ""
            status["message"] = agentMessage(
                text: "Waiting for the principal to approve checkout \(checkout["id"]?.stringValue ?? "") (\(amount)); the money is held meanwhile. Poll tasks/get, or tasks/cancel to release the hold.",
                data: task.result, contextID: task.contextID, taskID: task.id)
        default:
            let text = task.result["error"]?["message"]?.stringValue ?? "The task is \(task.state)."
            status["message"] = agentMessage(text: text, data: task.result, contextID: task.contextID, taskID: task.id)
        }
        var out: [String: JSON] = [
            "kind": "task", "id": .string(task.id), "contextId": .string(task.contextID), "status": .object(status),
            "history": [task.message], "metadata": ["action": .string(task.action)],
        ]
        if !artifacts.isEmpty { out["artifacts"] = .array(artifacts) }
        return .object(out)
    }

    static func agentMessage(text: String?, data: JSON, contextID: String, taskID: String?) -> JSON {
        var parts: [JSON] = []
        if let text { parts.append(["kind": "text", "text": .string(text)]) }
        parts.append(["kind": "data", "data": data])
        var message: [String: JSON] = [
            "kind": "message", "role": "agent", "messageId": .string(randomIdentifier(prefix: "msg_")),
            "contextId": .string(contextID), "parts": .array(parts),
        ]
        if let taskID { message["taskId"] = .string(taskID) }
        return .object(message)
    }

    /// The answer to a read: its result, or its error with a sentence saying what went wrong.
    static func a2aAgentMessage(_ result: Result<JSON, ActionError>, contextID: String, taskID: String?) -> JSON {
        switch result {
        case .success(let value): return agentMessage(text: nil, data: value, contextID: contextID, taskID: taskID)
        case .failure(let error): return agentMessage(text: error.message, data: error.json, contextID: contextID, taskID: taskID)
        }
    }

    static func a2aTrimmed(_ task: JSON, history: Int64?) -> JSON {
        guard let history, case .object(var fields) = task, let items = fields["history"]?.arrayValue else { return task }
        fields["history"] = .array(Array(items.suffix(Int(max(0, history)))))
        return .object(fields)
    }

    /// A run's stream: the task as it started, its result, and its final status.
    static func a2aRunEvents(_ task: JSON) -> [JSON] {
        let id = task["id"] ?? "", context = task["contextId"] ?? ""
        var started = task
        if case .object(var fields) = started {
            fields["status"] = ["state": "working", "timestamp": task["status"]?["timestamp"] ?? .null]
            fields["artifacts"] = nil
            started = .object(fields)
        }
        var events: [JSON] = [started]
        for artifact in task["artifacts"]?.arrayValue ?? [] {
            events.append(["kind": "artifact-update", "taskId": id, "contextId": context, "artifact": artifact, "append": false, "lastChunk": true])
        }
        events.append(["kind": "status-update", "taskId": id, "contextId": context, "status": task["status"] ?? [:], "final": true])
        return events
    }

    /// A resubscription's stream: the task as it stands, then its status as final (a task
    /// waiting for its principal is not held open; poll tasks/get).
    static func a2aSnapshotEvents(_ task: JSON) -> [JSON] {
        [task, ["kind": "status-update", "taskId": task["id"] ?? "", "contextId": task["contextId"] ?? "", "status": task["status"] ?? [:], "final": true]]
    }

    /// Server-Sent Events, written at once and closed.
    func a2aEventStream(_ events: [JSON]) -> Response {
        var text = ""
        for event in events { text += "data: " + event.compactString + "\n\n" }
        var response = Response(status: 200, contentType: "text/event-stream", body: Array(text.utf8))
        response.headers.add("Cache-Control", "no-store")
        return response
    }
}

extension A2AError {
    func rpcResponse(id: JSON) -> Response {
        jsonResponse(["jsonrpc": "2.0", "id": id, "error": rpc])
    }

    var restResponse: Response {
        jsonResponse(rest, status: status)
    }
}
