import Crypto
import Foundation
import JSON
import JSONSchema
import StorefrontDomain
import StorefrontStore

/// The single source of truth for what agents can do. MCP `tools/list`, the REST mirror,
/// `openapi.json`, the capability manifest, `llms.txt`, the A2A card's skills and `/agents`
/// are all generated from it.
public final class ActionRegistry: @unchecked Sendable {
    /// An action with its schemas, compiled once. A class: looked up on every call, and handing
    /// it around costs one reference count rather than a copy of every field.
    public final class Entry: Sendable {
        public let action: Action
        public let inputSchema: JSON
        public let outputSchema: JSON
        let inputValidator: JSONSchema
        let outputValidator: JSONSchema

        init(action: Action, inputSchema: JSON, outputSchema: JSON, inputValidator: JSONSchema, outputValidator: JSONSchema) {
            self.action = action
            self.inputSchema = inputSchema
            self.outputSchema = outputSchema
            self.inputValidator = inputValidator
            self.outputValidator = outputValidator
        }
    }

    public let entries: [Entry]
    private let byName: [String: Int]
    /// Check every result against its output schema (a contract test in production).
    public var validatesResults = true
    /// Where mutating actions run: the store and its trail. Set before serving.
    package var writer: (database: StoreDatabase, trail: AuditTrail)?
    private let inFlight = InFlightKeys()
    /// Results of cacheable actions, when caching is on; keyed with ``dataVersion``.
    package var resultCache: ResultCache?
    /// The version of the data cacheable actions read; changes whenever that data does.
    package var dataVersion: @Sendable () -> Int = { 0 }
    /// Digests of read-only results already checked against their output schema.
    private let checked = CheckedResults(capacity: 4096)

    /// Compiles every action's schemas; a missing or broken schema file stops the start.
    public init(actions: [Action], schemas: SchemaLibrary) throws {
        var entries: [Entry] = []
        for action in actions {
            entries.append(
                Entry(
                    action: action,
                    inputSchema: try schemas.bundled(action.inputSchemaFile),
                    outputSchema: try schemas.bundled(action.outputSchemaFile),
                    inputValidator: try schemas.bundledSchema(action.inputSchemaFile),
                    outputValidator: try schemas.bundledSchema(action.outputSchemaFile)))
        }
        self.entries = entries
        byName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.action.name, $0) })
    }

    public func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    public var names: [String] { entries.map(\.action.name) }

    /// Runs an action and waits for it (mutating actions return after their commit).
    public func call(_ name: String, arguments: JSON, context: ActionContext) -> Result<JSON, ActionError> {
        callWaiting(name, arguments: arguments, context: context).result
    }

    public func callWaiting(_ name: String, arguments: JSON, context: ActionContext) -> ActionOutcome {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: ActionOutcome!
        call(name, arguments: arguments, context: context) {
            outcome = $0
            done.signal()
        }
        done.wait()
        return outcome
    }

    /// Validates the caller and the arguments, runs the handler, checks the result against the
    /// output schema, and reports. Mutating actions report after their transaction commits.
    public func call(
        _ name: String, arguments: JSON, context: ActionContext, completion report: @escaping @Sendable (ActionOutcome) -> Void
    ) {
        var completion = report
        guard let entry = entry(name) else {
            return completion(
                ActionOutcome(
                    result: .failure(
                        ActionError(
                            status: 404, kind: .invalidRequest, code: "unknown_action",
                            message: "No action \(name). Actions: \(names.joined(separator: ", ")).", param: "name"))))
        }
        if let scope = entry.action.scope {
            guard let identity = context.identity else {
                return completion(ActionOutcome(result: .failure(.authenticationRequired)))
            }
            guard identity.agent.scopes.contains(scope) else {
                return completion(
                    ActionOutcome(
                        result: .failure(
                            ActionError(
                                status: 403, kind: .permission, code: "missing_scope",
                                message: "\(name) needs the scope \(scope); this agent has \(identity.agent.scopes.sorted().joined(separator: ", ")). The merchant grants scopes."))))
            }
        }
        // A cached result answers arguments that already passed the input schema: the key is their
        // canonical form (RFC 8785), and validity does not depend on key order or number spelling.
        var cacheKey: ResultKey?
        if entry.action.cacheable, let resultCache {
            let key = ResultKey(action: name, arguments: arguments.canonicalized(), version: dataVersion())
            if let hit = resultCache[key] {
                context.progress?(1, 3, "arguments valid")
                context.progress?(2, 3, "result from the cache")
                context.progress?(3, 3, "result checked against the output schema")
                return completion(ActionOutcome(encoded: hit))
            }
            cacheKey = key
        }
        // The quick pass first; messages only for arguments that fail.
        let violations = entry.inputValidator.isValid(arguments) ? [] : entry.inputValidator.validate(arguments)
        if let first = violations.first {
            return completion(
                ActionOutcome(
                    result: .failure(
                        .invalid(
                            "invalid_arguments",
                            "Argument \(first.instancePointer.isEmpty ? "(root)" : first.instancePointer): \(first.message)",
                            param: first.instancePointer,
                            details: .array(violations.prefix(10).map { v in
                                ["pointer": .string(v.instancePointer), "keyword": .string(v.keyword), "message": .string(v.message)]
                            })))))
        }
        context.progress?(1, 3, "arguments valid")
        if let cacheKey, let resultCache {
            completion = { outcome in
                if let encoded = outcome.encodedSuccess { resultCache.insert(cacheKey, encoded) }
                report(outcome)
            }
        }
        if let write = entry.action.writeHandler {
            return callMutating(entry, write: write, arguments: arguments, context: context, completion: completion)
        }
        do {
            // Serialized once: the answer reuses these bytes, and their digest remembers that an
            // identical result already passed the schema (validity depends only on the value).
            // The hottest actions write bytes directly; a value is parsed only when it is checked.
            var value: JSON?
            let encoded: EncodedJSON
            if let encodedHandler = entry.action.encodedHandler {
                encoded = try encodedHandler(arguments, context)
            } else {
                let result = try entry.action.handler(arguments, context)
                value = result
                encoded = result.encoded
            }
            context.progress?(2, 3, "result ready")
            if let error = checkOnce(entry, encoded, value: {
                if value == nil { value = encoded.value }
                return value!
            }) {
                return completion(ActionOutcome(result: .failure(error)))
            }
            context.progress?(3, 3, "result checked against the output schema")
            completion(value.map { ActionOutcome(result: .success($0), encoded: encoded) } ?? ActionOutcome(encoded: encoded))
        } catch {
            completion(ActionOutcome(result: .failure(Self.actionError(error, name))))
        }
    }

    /// Checks a read-only result against its output schema unless an identical one already passed.
    private func checkOnce(_ entry: Entry, _ encoded: EncodedJSON, value: () -> JSON) -> ActionError? {
        guard validatesResults else { return nil }
        let digest = CheckedResults.key(action: entry.action.name, encoded.bytes)
        if checked.contains(digest) { return nil }
        if let error = checkResult(entry, value()) { return error }
        checked.insert(digest)
        return nil
    }

    private func checkResult(_ entry: Entry, _ result: JSON) -> ActionError? {
        resultViolation(entry, result).map {
            ActionError(
                status: 500, kind: .processing, code: "invalid_result",
                message: "The store produced a result that breaks its own schema \($0). This is a bug in the store; it has been refused rather than sent.")
        }
    }

    /// Where and how a result breaks its action's output schema, or nil.
    private func resultViolation(_ entry: Entry, _ result: JSON) -> String? {
        // The quick check (first failure, no messages) on the hot path; the full report only for a bad result.
        guard validatesResults, !entry.outputValidator.isValid(result),
            let bad = entry.outputValidator.validate(result).first
        else { return nil }
        return "at \(bad.instancePointer.isEmpty ? "(root)" : bad.instancePointer): \(bad.message)"
    }

    static func actionError(_ error: Error, _ name: String) -> ActionError {
        switch error {
        case let error as ActionError: return error
        case let error as APIError:
            return ActionError(status: error.status, kind: error.kind, code: error.code, message: error.message, param: error.param)
        default:
            return ActionError(status: 500, kind: .processing, code: "action_failed", message: "\(name) failed; try again.")
        }
    }

    // MARK: - Mutating actions: one transaction with their idempotency record and trail

    private func callMutating(
        _ entry: Entry, write: @escaping Action.WriteHandler, arguments: JSON, context: ActionContext,
        completion: @escaping @Sendable (ActionOutcome) -> Void
    ) {
        guard let writer else {
            return completion(
                ActionOutcome(
                    result: .failure(
                        ActionError(status: 503, kind: .unavailable, code: "store_unavailable", message: "The store is not ready."))))
        }
        let name = entry.action.name
        let agent = context.identity?.agent
        let key = context.idempotencyKey
        if let key, key.isEmpty || key.count > 255 || !key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) {
            return completion(
                ActionOutcome(
                    result: .failure(
                        .invalid(
                            "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                            param: "Idempotency-Key"))))
        }
        let scopeKey = key.map { "\(agent?.id ?? "-")\u{1F}\(name)\u{1F}\($0)" }
        if let scopeKey, !inFlight.claim(scopeKey) {
            return completion(
                ActionOutcome(
                    result: .failure(
                        ActionError(
                            status: 409, kind: .invalidRequest, code: "idempotency_in_flight",
                            message: "A request with this Idempotency-Key is still being processed; retry after it finishes.")),
                    retryAfter: 1))
        }
        guard let prepare = entry.action.prepare, entry.action.prepares?(arguments) ?? true else {
            return transact(entry, writer: writer, write: write, arguments: arguments, context: context, scopeKey: scopeKey, completion: completion)
        }
        // A request answered before needs nothing prepared: its stored answer is replayed.
        if let key, (try? writer.database.reading({ db in
            try IdempotencyStore.find(agentID: agent?.id ?? "-", action: name, key: key, db: db)
        })) ?? nil != nil {
            return transact(entry, writer: writer, write: write, arguments: arguments, context: context, scopeKey: scopeKey, completion: completion)
        }
        let inFlight = self.inFlight
        prepare(arguments, context) { [self] prepared in
            switch prepared {
            case .failure(let error):
                if let scopeKey { inFlight.release(scopeKey) }
                completion(ActionOutcome(result: .failure(error)))
            case .success(let value):
                var context = context
                context.prepared = value
                transact(entry, writer: writer, write: write, arguments: arguments, context: context, scopeKey: scopeKey) { outcome in
                    if let value, let finish = entry.action.finish {
                        var committed = false, result: JSON?
                        if case .success(let answer) = outcome.result, !outcome.replayed { (committed, result) = (true, answer) }
                        finish(value, committed, result)
                    }
                    completion(outcome)
                }
            }
        }
    }

    /// The action's transaction: its idempotency record, its change and its trail entry, at once.
    private func transact(
        _ entry: Entry, writer: (database: StoreDatabase, trail: AuditTrail), write: @escaping Action.WriteHandler, arguments: JSON,
        context: ActionContext, scopeKey: String?, completion: @escaping @Sendable (ActionOutcome) -> Void
    ) {
        let name = entry.action.name
        let agent = context.identity?.agent
        let key = context.idempotencyKey
        let digest = TrailEntry.digest(arguments)
        let inFlight = self.inFlight
        let trail = writer.trail
        writer.database.writing(
            { db -> ActionOutcome in
                if let key, let record = try IdempotencyStore.find(agentID: agent?.id ?? "-", action: name, key: key, db: db) {
                    guard record.requestDigest == digest else {
                        return ActionOutcome(
                            result: .failure(
                                ActionError(
                                    status: 422, kind: .invalidRequest, code: "idempotency_conflict",
                                    message: "This Idempotency-Key was used with different arguments; use a new key for a new request.")))
                    }
                    let stored = record.response
                    let status = record.status
                    if status == 200 { return ActionOutcome(result: .success(stored), replayed: true) }
                    let error = stored["error"]
                    return ActionOutcome(
                        result: .failure(
                            ActionError(
                                status: status, kind: APIError.Kind(rawValue: error?["type"]?.stringValue ?? "") ?? .invalidRequest,
                                code: error?["code"]?.stringValue ?? "error", message: error?["message"]?.stringValue ?? "",
                                param: error?["param"]?.stringValue, details: error?["details"])),
                        replayed: true)
                }
                var outcome: ActionOutcome
                try db.beginSavepoint("action")
                do {
                    let result = try write(arguments, context, db)
                    // Deferred too: an error of the action's deferred writes is thrown by the
                    // trail append below, still inside this do, so the action is rolled back.
                    try db.releaseSavepoint("action")
                    try trail.append(
                        TrailEntry(
                            agentID: agent?.id, principal: agent?.principal, action: name, target: result.trailTarget,
                            requestID: context.requestID, idempotencyKey: key, input: arguments, outcome: "ok"), in: db)
                    outcome = ActionOutcome(result: .success(result))
                } catch {
                    try db.rollbackSavepoint("action")
                    let failure = Self.actionError(error, name)
                    let amount = failure.details?["attempted"]?["amount"]?.intValue
                    let currency = failure.details?["attempted"]?["currency"]?.stringValue
                    // Counted always; in the permanent trail only the first of its kind per hour.
                    if try RefusedAttempts.count(
                        agentID: agent?.id, action: name, errorCode: failure.code, amount: amount, currency: currency, db: db)
                    {
                        try trail.append(
                            TrailEntry(
                                agentID: agent?.id, principal: agent?.principal, action: name,
                                target: failure.details?["target"]?.stringValue, requestID: context.requestID,
                                idempotencyKey: key, input: arguments, outcome: "refused", errorCode: failure.code,
                                amount: amount, currency: currency), in: db)
                    }
                    outcome = ActionOutcome(result: .failure(failure))
                }
                if let key {
                    let (status, body): (Int, EncodedJSON)
                    switch outcome.result {
                    case .success(let result):
                        // Serialized once: stored here and sent as these bytes.
                        let encoded = result.encoded
                        outcome = ActionOutcome(result: .success(result), encoded: encoded)
                        (status, body) = (200, encoded)
                    case .failure(let error): (status, body) = (error.status, error.json.encoded)
                    }
                    // Server faults are not remembered: a retry may succeed.
                    if status < 500 {
                        try IdempotencyStore.insert(
                            agentID: agent?.id ?? "-", action: name, key: key, requestDigest: digest, status: status,
                            responseText: body.string, at: unixNow(), db: db)
                    }
                }
                return outcome
            },
            completion: { result in
                if let scopeKey { inFlight.release(scopeKey) }
                switch result {
                case .success(let outcome):
                    // The output-schema check runs here, after the commit and off the writer
                    // thread (it was a sixth of a purchase's time on the writer). A result that
                    // breaks its schema is a bug in the store: the answer is withheld, the
                    // change stands (it is in the trail and readable with the get_ actions).
                    if case .success(let value) = outcome.result, let violation = self.resultViolation(entry, value) {
                        let error = ActionError(
                            status: 500, kind: .processing, code: "invalid_result",
                            message: "The store committed \(name), but its result breaks the store's own schema \(violation). This is a bug in the store: the answer was withheld; the change stands and can be read back.")
                        return completion(ActionOutcome(result: .failure(error), replayed: outcome.replayed))
                    }
                    if case .success = outcome.result { context.progress?(3, 3, "committed") }
                    completion(outcome)
                case .failure:
                    completion(
                        ActionOutcome(
                            result: .failure(
                                ActionError(
                                    status: 503, kind: .unavailable, code: "store_unavailable",
                                    message: "The store could not commit \(name); nothing was changed. Retry with the same Idempotency-Key."))))
                }
            })
    }
}

/// SHA-256 digests of results (with their action's name) that passed their output schema, so an
/// identical result is not walked again.
struct CheckedResults: Sendable {
    private let memo: BoundedMemo<SHA256Digest, Bool>

    init(capacity: Int) {
        memo = BoundedMemo(capacity: capacity)
    }

    static func key(action: String, _ bytes: [UInt8]) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(data: Array(action.utf8))
        hasher.update(data: [0])
        hasher.update(data: bytes)
        return hasher.finalize()
    }

    func contains(_ digest: SHA256Digest) -> Bool { memo[digest] != nil }
    func insert(_ digest: SHA256Digest) { memo.insert(digest, true) }
}

/// Idempotency keys whose first request is still being processed in this process.
final class InFlightKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: Set<String> = []

    func claim(_ key: String) -> Bool { lock.withLock { keys.insert(key).inserted } }
    func release(_ key: String) { _ = lock.withLock { keys.remove(key) } }
}

extension JSON {
    /// The id of the object an action's result is about, for the trail.
    var trailTarget: String? {
        for key in ["order", "checkout", "cart"] {
            if let id = self[key]?["id"]?.stringValue { return id }
        }
        return self["id"]?.stringValue
    }
}
