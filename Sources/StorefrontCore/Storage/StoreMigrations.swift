import Store

/// The store's schema, one migration per change. Never edit a released migration; add one.
public enum StoreMigrations {
    public static let all: [Migration] = [
        Migration(
            version: 1, name: "catalog search index",
            sql: """
                CREATE TABLE catalog_products (
                    id TEXT PRIMARY KEY,
                    position INTEGER NOT NULL,
                    category TEXT NOT NULL,
                    price_amount INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    inventory INTEGER NOT NULL
                );
                CREATE INDEX catalog_products_category ON catalog_products (category, position);
                CREATE INDEX catalog_products_price ON catalog_products (price_amount);
                CREATE VIRTUAL TABLE catalog_fts USING fts5(
                    id UNINDEXED, name, description, tags, brand, category, attributes,
                    tokenize = 'porter unicode61 remove_diacritics 2'
                );
                """),
        Migration(
            version: 2, name: "signing keys and settings",
            sql: """
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY,
                    algorithm TEXT NOT NULL,
                    private_key BLOB NOT NULL,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                    retired_at TEXT
                );
                CREATE TABLE settings (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                );
                """),
        Migration(
            version: 3, name: "durable MCP sessions and stream events",
            sql: """
                CREATE TABLE mcp_sessions (
                    id TEXT PRIMARY KEY,
                    protocol_version TEXT NOT NULL,
                    client_info TEXT NOT NULL DEFAULT '{}',
                    client_capabilities TEXT NOT NULL DEFAULT '{}',
                    initialized INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                    ended_at TEXT
                );
                CREATE TABLE mcp_streams (
                    id TEXT PRIMARY KEY,
                    session_id TEXT NOT NULL REFERENCES mcp_sessions (id),
                    request_id TEXT,
                    completed INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                );
                CREATE INDEX mcp_streams_session ON mcp_streams (session_id);
                CREATE TABLE mcp_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    session_id TEXT NOT NULL,
                    stream_id TEXT NOT NULL REFERENCES mcp_streams (id),
                    data TEXT NOT NULL,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                );
                CREATE INDEX mcp_events_stream ON mcp_events (stream_id, id);
                CREATE TABLE mcp_cancellations (
                    session_id TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    reason TEXT,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                    PRIMARY KEY (session_id, request_id)
                );
                """),
    ]
}
