import JSON
import Store
import StorefrontDomain

/// One of an agent's notes (its memory): a key, a JSON value and when it last changed.
package struct AgentNote: Sendable {
    package var key: String
    package var value: JSON
    package var updatedAt: Int64

    package init(key: String, value: JSON, updatedAt: Int64) {
        self.key = key
        self.value = value
        self.updatedAt = updatedAt
    }

    package var json: JSON {
        ["key": .string(key), "value": value, "updated_at": .string(isoTime(updatedAt))]
    }
}

/// The SQL of agents' notes (`memories`).
package enum MemoryStore {
    /// Bytes and count of the agent's notes other than `key`.
    package static func usage(agentID: String, excluding key: String, db: Connection) throws -> (bytes: Int64, count: Int64) {
        let row = try db.queryOne(
            "SELECT coalesce(sum(bytes), 0), count(*) FROM memories WHERE agent_id = ? AND key != ?", [.text(agentID), .text(key)])
        return (row?[0].int ?? 0, row?[1].int ?? 0)
    }

    /// Bytes of all the agent's notes.
    package static func usedBytes(agentID: String, db: Connection) throws -> Int64 {
        try db.queryOne("SELECT coalesce(sum(bytes), 0) FROM memories WHERE agent_id = ?", [.text(agentID)])?[0].int ?? 0
    }

    /// Writes a note (`valueText` is its value serialized, `bytes` what it counts against the quota).
    package static func save(agentID: String, key: String, valueText: String, bytes: Int, at time: Int64, db: Connection) throws {
        try db.run(
            """
            INSERT INTO memories (agent_id, key, value, bytes, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (agent_id, key) DO UPDATE SET value = excluded.value, bytes = excluded.bytes, updated_at = excluded.updated_at
            """,
            [.text(agentID), .text(key), .text(valueText), SQLValue(bytes), .integer(time)])
    }

    package static func find(agentID: String, key: String, db: Connection) throws -> AgentNote? {
        try db.queryOne("SELECT * FROM memories WHERE agent_id = ? AND key = ?", [.text(agentID), .text(key)]).map(note)
    }

    /// Whether the note was there to delete.
    package static func delete(agentID: String, key: String, db: Connection) throws -> Bool {
        try db.run("DELETE FROM memories WHERE agent_id = ? AND key = ?", [.text(agentID), .text(key)]) == 1
    }

    /// The agent's notes whose keys start with `prefix`, by key.
    package static func list(agentID: String, prefix: String, db: Connection) throws -> [AgentNote] {
        try db.query(
            "SELECT * FROM memories WHERE agent_id = ? AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
            [.text(agentID), .text(prefix)]
        ).map(note)
    }

    static func note(_ row: Row) throws -> AgentNote {
        let r = RowDecoder(row, table: "memories")
        return AgentNote(key: try r.text("key"), value: try r.json("value"), updatedAt: try r.int("updated_at"))
    }
}

/// The SQL of support tickets.
package enum SupportTicketStore {
    package static func insert(
        id: String, agentID: String, orderID: String?, category: String, description: String, status: String, resolution: String,
        at time: Int64, db: Connection
    ) throws {
        try db.run(
            """
            INSERT INTO support_tickets (id, agent_id, order_id, category, description, status, resolution, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(id), .text(agentID), SQLValue(orderID), .text(category), .text(description), .text(status), .text(resolution),
             .integer(time)])
    }
}

/// The SQL of feedback: one rating per order line, editable.
package enum FeedbackStore {
    /// When the feedback on this order's product was first left, if it was.
    package static func createdAt(orderID: String, productID: String, db: Connection) throws -> Int64? {
        try db.queryOne(
            "SELECT created_at FROM feedback WHERE order_id = ? AND product_id = ?", [.text(orderID), .text(productID)]
        )?[0].int
    }

    /// Writes (or rewrites) the feedback on one order line.
    package static func save(
        orderID: String, productID: String, agentID: String, rating: Int64, tags: JSON, text: String?, createdAt: Int64,
        updatedAt: Int64, db: Connection
    ) throws {
        try db.run(
            """
            INSERT INTO feedback (order_id, product_id, agent_id, rating, tags, text, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (order_id, product_id) DO UPDATE SET agent_id = excluded.agent_id, rating = excluded.rating,
                tags = excluded.tags, text = excluded.text, created_at = excluded.created_at, updated_at = excluded.updated_at
            """,
            [.text(orderID), .text(productID), .text(agentID), .integer(rating), .text(tags.compactString), SQLValue(text),
             .integer(createdAt), .integer(updatedAt)])
    }

    /// A product's aggregate rating over kept purchases (nil: none yet).
    package static func productRating(_ productID: String, db: Connection) throws -> JSON? {
        let aggregate = try db.queryOne(Ratings.productSQL, [.text(productID)])
        return Ratings.json(average: aggregate?[0].double ?? 0, count: aggregate?[1].int ?? 0)
    }
}

/// The SQL of referral codes: one per agent and product.
package enum ReferralStore {
    /// The agent a referral code belongs to.
    package static func owner(of code: String, db: Connection) throws -> String? {
        try db.queryOne("SELECT agent_id FROM referrals WHERE code = ?", [.text(code)])?[0].string
    }

    /// The agent's code for a product, if it has one.
    package static func code(agentID: String, productID: String, db: Connection) throws -> String? {
        try db.queryOne("SELECT code FROM referrals WHERE agent_id = ? AND product_id = ?", [.text(agentID), .text(productID)])?[0].string
    }

    package static func insert(code: String, agentID: String, productID: String, at time: Int64, db: Connection) throws {
        try db.run(
            "INSERT INTO referrals (code, agent_id, product_id, created_at) VALUES (?, ?, ?, ?)",
            [.text(code), .text(agentID), .text(productID), .integer(time)])
    }
}
