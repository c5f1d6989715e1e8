import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// UCP's A2A binding for checkout (`docs/specification/shopping/checkout/a2a.md`), on the same
/// A2A endpoint: a platform that activates the UCP extension (`X-A2A-Extensions` naming
/// `https://ucp.dev/<version>/specification/reference`, with its `UCP-Agent`) keeps one checkout
/// per conversation (`contextId`) and shapes it with data parts — `{"action": "add_to_checkout",
/// "product_id", "quantity"}`, `remove_from_checkout`, `get_checkout`, `cancel_checkout`, and
/// `complete_checkout` with the payment in a data part `a2a.ucp.checkout.payment`. Each answer is a
/// message whose data part `a2a.ucp.checkout` is UCP's checkout (or its error_response). The
/// message id is the idempotency key; the same actions run as everywhere else.
extension Gateway {
    static let ucpA2AExtension = "https://ucp.dev/\(UCP.version)/specification/reference"

    /// The platform activated UCP's extension on this request.
    static func speaksUCP(_ request: Request) -> Bool {
        request.headers["X-A2A-Extensions"]?.split(separator: ",").contains {
            $0.trimmingCharacters(in: .whitespaces) == ucpA2AExtension
        } ?? false
    }

    func ucpA2ASend(
        _ message: JSON, streaming: Bool, request: Request, reply: @escaping @Sendable (Result<A2AReply, A2AError>) -> Response
    ) -> Response {
        let ucp = self.ucp
        if case .refused(let status, let code, let content) = ucp.negotiate(request.headers["UCP-Agent"]) {
            chargeReads(request)
            return reply(.success(.http(UCPAnswer.transport(status: status, code: code, content: content, retryAfter: nil).response())))
        }
        let data = (message["parts"]?.arrayValue ?? []).filter { $0["kind"]?.stringValue == "data" }.compactMap { $0["data"] }
        guard let command = data.first(where: { $0["action"]?.stringValue != nil }), let verb = command["action"]?.stringValue else {
            chargeReads(request)
            return reply(
                .failure(
                    .invalidParams(
                        "With UCP's extension a data part names the checkout action: add_to_checkout, remove_from_checkout, get_checkout, complete_checkout or cancel_checkout.")))
        }
        let identity: Identity
        switch a2aCaller(request) {
        case .refused(let response): return reply(.success(.http(response)))
        case .agent(let found): identity = found
        }
        let contextID = message["contextId"]?.stringValue ?? randomIdentifier(prefix: "ctx_")
        let messageID = message["messageId"]?.stringValue ?? ""
        let conversation: A2AContextStore.Conversation? = (try? database.reading { db in
            try A2AContextStore.find(agentID: identity.agent.id, contextID: contextID, db: db)
        }) ?? nil
        let existing = conversation?.checkoutID
        let context = ActionContext(requestID: request.id, identity: identity, idempotencyKey: Self.a2aIdempotencyKey(messageID))
        // The conversation's checkout, while it can still change.
        var current: JSON?
        if let existing, case .success(let found) = actions.callWaiting("get_checkout", arguments: ["checkout_id": .string(existing)], context: context).result {
            current = found["checkout"]
        }
        let open = current.map { ["incomplete", "ready_for_complete"].contains($0["status"]?.stringValue ?? "") } ?? false

        var action: String
        var arguments: JSON = [:]
        // A retried message: the action and arguments it ran, so its idempotency record answers
        // (the checkout has changed since; recomputing would add the item again).
        if let last = conversation, last.lastMessageID == messageID, let lastAction = last.lastAction,
            let lastArguments = last.lastArguments
        {
            action = lastAction
            arguments = lastArguments
        } else {
            switch verb {
            case "add_to_checkout", "remove_from_checkout":
                guard let itemID = (command["product_id"] ?? command["item_id"] ?? command["id"])?.stringValue else {
                    return reply(.failure(.invalidParams("\(verb) names the item: product_id (a product's or a variant's id).")))
                }
                let quantity = command["quantity"]?.intValue ?? 1
                guard quantity >= 1 else { return reply(.failure(.invalidParams("quantity is at least 1."))) }
                // The items as they stand, by item id, then this change.
                var lines: [(id: String, quantity: Int64)] = []
                if open, let items = current?["line_items"]?.arrayValue {
                    for line in items {
                        let id = line["variant_id"]?.stringValue ?? line["product_id"]?.stringValue ?? ""
                        lines.append((id, line["quantity"]?.intValue ?? 1))
                    }
                }
                if let index = lines.firstIndex(where: { $0.id == itemID }) {
                    lines[index].quantity += verb == "add_to_checkout" ? quantity : -quantity
                    if lines[index].quantity <= 0 { lines.remove(at: index) }
                } else if verb == "add_to_checkout" {
                    lines.append((itemID, quantity))
                }
                guard !lines.isEmpty else {
                    return reply(.failure(.invalidParams("That would leave the checkout empty; cancel_checkout ends it.")))
                }
                let lineItems: JSON = .array(lines.map { ["item": ["id": .string($0.id)], "quantity": .int($0.quantity)] })
                switch ucp.items(lineItems) {
                case .failure(let problem): return reply(.failure(.invalidParams(problem.message)))
                case .success(let items): arguments = ["items": items]
                }
                if open, let id = current?["id"]?.stringValue {
                    action = "update_checkout"
                    arguments = ["items": arguments["items"] ?? [], "checkout_id": .string(id)]
                } else {
                    action = "create_checkout"
                }
            case "get_checkout", "complete_checkout", "cancel_checkout":
                guard let id = existing else {
                    return reply(.failure(.invalidParams("This conversation has no checkout yet: add_to_checkout starts one.")))
                }
                action = verb
                arguments = ["checkout_id": .string(id)]
                if verb == "complete_checkout" {
                    let payment = data.lazy.compactMap { $0["a2a.ucp.checkout.payment"] }.first ?? .null
                    if case .failure(let problem) = ucp.completeArguments(["payment": payment]) {
                        return reply(.failure(.invalidParams("a2a.ucp.checkout.payment: " + problem.message)))
                    }
                }
            default:
                return reply(.failure(.invalidParams("No checkout action \(verb).")))
            }
        }
        let database = database
        let agentID = identity.agent.id
        let messageOf: @Sendable (UCPAnswer) -> Result<A2AReply, A2AError> = { answer in
            switch answer {
            case .transport:
                return .success(.http(answer.response()))
            case .body(let body):
                let reply: JSON = [
                    "kind": "message", "role": "agent", "messageId": .string(randomIdentifier(prefix: "msg_")),
                    "contextId": .string(contextID), "parts": [["kind": "data", "data": ["a2a.ucp.checkout": body]]],
                ]
                return .success(streaming ? .events([reply]) : .value(reply))
            }
        }
        // The conversation's checkout and this message are kept before the answer goes out.
        let ranAction = action, ranArguments = arguments
        let remember: @Sendable (ActionOutcome, @escaping @Sendable (Response?) -> Void) -> Void = { outcome, done in
            guard case .success(let result) = outcome.result, let id = result["checkout"]?["id"]?.stringValue else { return done(nil) }
            database.writing({ db in
                try A2AContextStore.record(
                    agentID: agentID, contextID: contextID, checkoutID: id, messageID: messageID, action: ranAction, arguments: ranArguments,
                    db: db)
            }) { _ in done(nil) }
        }
        return runAction(action, arguments: arguments, request: request, idempotencyKey: context.idempotencyKey, beforeAnswer: remember) {
            outcome in
            reply(messageOf(ucp.answer(outcome) { ucp.checkout($0["checkout"] ?? [:]) }))
        }
    }
}
