import Store

/// Migration 14: what the store needs to keep only what it must (see `StoreRetention`).
///
/// - MCP sessions remember who created them (`agent_id` for an authenticated creator,
///   `creator` for the cap on live sessions per creator) and when they were last used (for
///   the idle TTL).
/// - Refused attempts are counted per agent, action, error code and hour in
///   `refused_attempts` instead of each adding an entry to the permanent trail.
/// - Indexes let each sweep find what expired without scanning its table.
enum RetentionMigration {
    static let migration = Migration(
        version: 14, name: "bounded state: session owners and idle times, refused attempts, expiry indexes",
        sql: """
            ALTER TABLE mcp_sessions ADD COLUMN agent_id TEXT;
            ALTER TABLE mcp_sessions ADD COLUMN creator TEXT NOT NULL DEFAULT '';
            ALTER TABLE mcp_sessions ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
            UPDATE mcp_sessions SET last_used_at = coalesce(CAST(strftime('%s', created_at) AS INTEGER), 0);
            CREATE INDEX mcp_sessions_last_used ON mcp_sessions (last_used_at);
            CREATE INDEX mcp_sessions_creator ON mcp_sessions (creator, last_used_at);
            CREATE INDEX mcp_events_session ON mcp_events (session_id);
            CREATE INDEX mcp_subscriptions_session ON mcp_subscriptions (session_id);
            CREATE INDEX checkouts_status_updated ON checkouts (status, updated_at);
            CREATE INDEX carts_status_updated ON carts (status, updated_at);
            CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
            CREATE TABLE refused_attempts (
                agent_key TEXT NOT NULL,
                action TEXT NOT NULL,
                error_code TEXT NOT NULL,
                hour INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                first_at INTEGER NOT NULL,
                last_at INTEGER NOT NULL,
                last_amount INTEGER,
                currency TEXT,
                PRIMARY KEY (agent_key, action, error_code, hour)
            ) WITHOUT ROWID;
            CREATE INDEX refused_attempts_hour ON refused_attempts (hour);
            """)
}
