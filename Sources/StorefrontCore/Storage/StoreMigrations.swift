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
    ]
}
