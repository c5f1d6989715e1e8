import JSON
import Store
import StorefrontDomain

/// An A2A task: one mutating action an agent asked for in an A2A message, and what became of it.
/// (Read-only actions are answered with a message and leave no row.)
package struct A2ATask: Sendable {
    package var id: String
    package var agentID: String
    package var contextID: String
    /// The action the message named.
    package var action: String
    /// The A2A task state as the 0.3 JSON-RPC wire spells it: `completed`, `failed`, `input-required`, `canceled`, ...
    package var state: String
    /// The caller's message, as received (0.3 JSON-RPC shape).
    package var message: JSON
    /// The action's result (the artifact), or its error (the status message), or null.
    package var result: JSON
    /// The checkout waiting for the principal, when the task is `input-required`.
    package var checkoutID: String?
    package var createdAt: Int64
    package var updatedAt: Int64

    package init(
        id: String, agentID: String, contextID: String, action: String, state: String, message: JSON, result: JSON,
        checkoutID: String?, createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.agentID = agentID
        self.contextID = contextID
        self.action = action
        self.state = state
        self.message = message
        self.result = result
        self.checkoutID = checkoutID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The SQL of A2A tasks. An agent keeps its newest ``perAgent`` tasks; older ones are deleted as
/// new ones arrive, and the sweep deletes tasks unchanged for the checkout TTL.
package enum A2ATaskStore {
    package static let perAgent = 1_000

    package static func insert(_ task: A2ATask, db: Connection) throws {
        try db.run(
            """
            INSERT INTO a2a_tasks (id, agent_id, context_id, action, state, message, result, checkout_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
            """,
            [.text(task.id), .text(task.agentID), .text(task.contextID), .text(task.action), .text(task.state),
             .text(task.message.compactString), .text(task.result.compactString), SQLValue(task.checkoutID),
             .integer(task.createdAt), .integer(task.updatedAt)])
        // The agent's oldest tasks beyond its allowance make room.
        try db.run(
            """
            DELETE FROM a2a_tasks WHERE agent_id = ? AND seq <= (
                SELECT seq FROM a2a_tasks WHERE agent_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)
            """, [.text(task.agentID), .text(task.agentID), .integer(Int64(perAgent))])
    }

    /// The agent's task `id` (another agent's is not found).
    package static func find(_ id: String, agentID: String, db: Connection) throws -> A2ATask? {
        guard let row = try db.queryOne("SELECT * FROM a2a_tasks WHERE id = ? AND agent_id = ?", [.text(id), .text(agentID)]) else {
            return nil
        }
        let decode = RowDecoder(row, table: "a2a_tasks")
        return A2ATask(
            id: try decode.text("id"), agentID: try decode.text("agent_id"), contextID: try decode.text("context_id"),
            action: try decode.text("action"), state: try decode.text("state"), message: try decode.json("message"),
            result: try decode.json("result"), checkoutID: decode.optionalText("checkout_id"),
            createdAt: try decode.int("created_at"), updatedAt: try decode.int("updated_at"))
    }

    /// Moves a task to `state` with its result, unless it already left `from` (nothing changes then).
    @discardableResult
    package static func transition(_ id: String, from: String, to state: String, result: JSON, at time: Int64, db: Connection) throws
        -> Bool
    {
        try db.run(
            "UPDATE a2a_tasks SET state = ?, result = ?, updated_at = ? WHERE id = ? AND state = ?",
            [.text(state), .text(result.compactString), .integer(time), .text(id), .text(from)]) == 1
    }
}

/// The checkout of each A2A conversation (UCP's A2A binding: one checkout per `contextId`), and
/// the last message applied to it (a retried message runs the same action with the same
/// arguments, so its idempotency record answers, whatever changed since).
package enum A2AContextStore {
    package struct Conversation: Sendable {
        package var checkoutID: String
        package var lastMessageID: String?
        package var lastAction: String?
        package var lastArguments: JSON?
    }

    package static func find(agentID: String, contextID: String, db: Connection) throws -> Conversation? {
        guard let row = try db.queryOne(
            "SELECT * FROM a2a_contexts WHERE agent_id = ? AND context_id = ?", [.text(agentID), .text(contextID)])
        else { return nil }
        let decode = RowDecoder(row, table: "a2a_contexts")
        return Conversation(
            checkoutID: try decode.text("checkout_id"), lastMessageID: decode.optionalText("last_message_id"),
            lastAction: decode.optionalText("last_action"),
            lastArguments: decode.optionalText("last_arguments").flatMap { try? JSON.parse($0) })
    }

    /// Records the conversation's checkout and the message just applied to it.
    package static func record(
        agentID: String, contextID: String, checkoutID: String, messageID: String, action: String, arguments: JSON, db: Connection
    ) throws {
        try db.run(
            """
            INSERT INTO a2a_contexts (agent_id, context_id, checkout_id, created_at, last_message_id, last_action, last_arguments)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (agent_id, context_id) DO UPDATE SET checkout_id = excluded.checkout_id,
                last_message_id = excluded.last_message_id, last_action = excluded.last_action, last_arguments = excluded.last_arguments
            """,
            [.text(agentID), .text(contextID), .text(checkoutID), .integer(unixNow()), .text(messageID), .text(action),
             .text(arguments.compactString)])
    }
}
