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
        Migration(
            version: 4, name: "agents, keys, wallets, ledger, carts, checkouts, orders, approvals, idempotency, trail",
            sql: """
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY,
                    principal TEXT NOT NULL,
                    display_name TEXT NOT NULL,
                    operator TEXT NOT NULL DEFAULT '',
                    scopes TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'active',
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                    revoked_at TEXT
                );
                CREATE TABLE agent_keys (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    agent_id TEXT NOT NULL REFERENCES agents (id),
                    kind TEXT NOT NULL,
                    prefix TEXT UNIQUE,
                    secret_hash BLOB,
                    thumbprint TEXT UNIQUE,
                    public_jwk TEXT,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                    revoked_at TEXT
                );
                CREATE INDEX agent_keys_agent ON agent_keys (agent_id);
                CREATE TABLE signature_nonces (
                    nonce TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE TABLE wallets (
                    agent_id TEXT PRIMARY KEY REFERENCES agents (id),
                    currency TEXT NOT NULL,
                    per_transaction INTEGER,
                    daily INTEGER,
                    weekly INTEGER,
                    monthly INTEGER,
                    all_time INTEGER,
                    approval_threshold INTEGER,
                    allowed_categories TEXT,
                    blocked_categories TEXT,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                );
                CREATE TABLE ledger (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    agent_id TEXT NOT NULL REFERENCES agents (id),
                    kind TEXT NOT NULL,
                    amount INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    reference TEXT,
                    note TEXT,
                    at INTEGER NOT NULL
                );
                CREATE INDEX ledger_agent ON ledger (agent_id, at);
                CREATE TABLE inventory (
                    sku TEXT PRIMARY KEY,
                    product_id TEXT NOT NULL,
                    available INTEGER NOT NULL
                );
                CREATE TABLE carts (
                    id TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    items TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE checkouts (
                    id TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL,
                    cart_id TEXT,
                    status TEXT NOT NULL,
                    items TEXT NOT NULL,
                    quote TEXT NOT NULL,
                    total INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    order_id TEXT,
                    approval_id TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX checkouts_agent ON checkouts (agent_id);
                CREATE TABLE orders (
                    id TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL,
                    checkout_id TEXT NOT NULL UNIQUE,
                    status TEXT NOT NULL,
                    items TEXT NOT NULL,
                    total INTEGER NOT NULL,
                    refunded INTEGER NOT NULL DEFAULT 0,
                    currency TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX orders_agent ON orders (agent_id, created_at);
                CREATE TABLE approvals (
                    id TEXT PRIMARY KEY,
                    checkout_id TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    amount INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL,
                    reason TEXT,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    decided_at INTEGER
                );
                CREATE TABLE idempotency_keys (
                    agent_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request_digest TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    response TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (agent_id, action, key)
                );
                CREATE TABLE trail (
                    seq INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    agent_id TEXT,
                    principal TEXT,
                    action TEXT NOT NULL,
                    target TEXT,
                    request_id TEXT,
                    idempotency_key TEXT,
                    input_digest TEXT,
                    outcome TEXT NOT NULL,
                    error_code TEXT,
                    amount INTEGER,
                    currency TEXT,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE TABLE trail_checkpoints (
                    seq INTEGER PRIMARY KEY,
                    hash TEXT NOT NULL,
                    kid TEXT NOT NULL,
                    signature TEXT NOT NULL,
                    at TEXT NOT NULL
                );
                """),
        Migration(
            version: 5, name: "inbox, memory, feedback, referrals, support tickets, webhook outbox",
            sql: """
                CREATE TABLE inbox_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    agent_id TEXT NOT NULL,
                    type TEXT NOT NULL,
                    data TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    read_at INTEGER
                );
                CREATE INDEX inbox_events_agent ON inbox_events (agent_id, id);
                CREATE TABLE memories (
                    agent_id TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (agent_id, key)
                );
                CREATE TABLE feedback (
                    order_id TEXT NOT NULL,
                    product_id TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    rating INTEGER NOT NULL,
                    tags TEXT NOT NULL,
                    text TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (order_id, product_id)
                );
                CREATE INDEX feedback_product ON feedback (product_id);
                CREATE TABLE referrals (
                    code TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL,
                    product_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                ALTER TABLE checkouts ADD COLUMN referral_code TEXT;
                ALTER TABLE orders ADD COLUMN referral_code TEXT;
                CREATE TABLE support_tickets (
                    id TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL,
                    order_id TEXT,
                    category TEXT NOT NULL,
                    description TEXT NOT NULL,
                    status TEXT NOT NULL,
                    resolution TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE webhook_outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL,
                    url TEXT NOT NULL,
                    order_id TEXT,
                    type TEXT NOT NULL,
                    body TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT,
                    created_at INTEGER NOT NULL,
                    delivered_at INTEGER,
                    UNIQUE (event_id, url)
                );
                CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);
                """),
        Migration(
            version: 6, name: "agent analytics: events and per-minute rollups",
            sql: """
                CREATE TABLE analytics_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_ms INTEGER NOT NULL,
                    minute INTEGER NOT NULL,
                    visitor TEXT NOT NULL,
                    agent_id TEXT,
                    principal TEXT,
                    family TEXT NOT NULL,
                    operator TEXT,
                    category TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    route TEXT NOT NULL,
                    method TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    latency_us INTEGER NOT NULL,
                    bytes_out INTEGER NOT NULL,
                    amount INTEGER,
                    currency TEXT,
                    referral_code TEXT
                );
                CREATE INDEX analytics_events_minute ON analytics_events (minute);
                CREATE TABLE analytics_minutes (
                    minute INTEGER NOT NULL,
                    family TEXT NOT NULL,
                    category TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    route TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    requests INTEGER NOT NULL,
                    latency_sum INTEGER NOT NULL,
                    bytes_out INTEGER NOT NULL,
                    revenue INTEGER NOT NULL,
                    h0 INTEGER NOT NULL DEFAULT 0,
                    h1 INTEGER NOT NULL DEFAULT 0,
                    h2 INTEGER NOT NULL DEFAULT 0,
                    h3 INTEGER NOT NULL DEFAULT 0,
                    h4 INTEGER NOT NULL DEFAULT 0,
                    h5 INTEGER NOT NULL DEFAULT 0,
                    h6 INTEGER NOT NULL DEFAULT 0,
                    h7 INTEGER NOT NULL DEFAULT 0,
                    h8 INTEGER NOT NULL DEFAULT 0,
                    h9 INTEGER NOT NULL DEFAULT 0,
                    h10 INTEGER NOT NULL DEFAULT 0,
                    h11 INTEGER NOT NULL DEFAULT 0,
                    h12 INTEGER NOT NULL DEFAULT 0,
                    h13 INTEGER NOT NULL DEFAULT 0,
                    h14 INTEGER NOT NULL DEFAULT 0,
                    h15 INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (minute, family, category, stage, route, status)
                );
                """),
        Migration(
            version: 7, name: "journey audit reports",
            sql: """
                CREATE TABLE audit_reports (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    target TEXT NOT NULL,
                    audited_at TEXT NOT NULL,
                    score REAL NOT NULL,
                    level TEXT NOT NULL,
                    report TEXT NOT NULL
                );
                """),
        Migration(
            version: 8, name: "MCP resource subscriptions",
            sql: """
                CREATE TABLE mcp_subscriptions (
                    session_id TEXT NOT NULL REFERENCES mcp_sessions (id),
                    uri TEXT NOT NULL,
                    agent_id TEXT,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                    PRIMARY KEY (session_id, uri)
                );
                CREATE INDEX mcp_subscriptions_agent ON mcp_subscriptions (agent_id, uri);
                """),
        Migration(
            version: 9, name: "ledger totals per agent and UTC calendar period, kept by triggers",
            sql: """
                -- Balance and spending per agent: all time, and per UTC day, ISO week (from Monday)
                -- and month. The ledger stays the truth: triggers keep these sums in the same
                -- transaction as every insert, update or delete of a ledger row, so a wallet is
                -- read in a few lookups instead of a scan of the agent's whole ledger.
                CREATE TABLE ledger_totals (
                    agent_id TEXT NOT NULL,
                    period TEXT NOT NULL,
                    start INTEGER NOT NULL,
                    amount INTEGER NOT NULL,
                    spend INTEGER NOT NULL,
                    PRIMARY KEY (agent_id, period, start)
                ) WITHOUT ROWID;
                \(LedgerTotals.backfill)
                CREATE TRIGGER ledger_totals_insert AFTER INSERT ON ledger BEGIN
                    \(LedgerTotals.upsert("NEW", adding: true))
                END;
                CREATE TRIGGER ledger_totals_delete AFTER DELETE ON ledger BEGIN
                    \(LedgerTotals.upsert("OLD", adding: false))
                END;
                CREATE TRIGGER ledger_totals_update AFTER UPDATE OF agent_id, kind, amount, at ON ledger BEGIN
                    \(LedgerTotals.upsert("OLD", adding: false))
                    \(LedgerTotals.upsert("NEW", adding: true))
                END;
                """),
        Migration(
            version: 10, name: "analytics events may stand for several identical requests",
            sql: """
                -- Under load, identical requests in the same second (same visitor, route, status,
                -- stage, …; never a purchase) are written as one row with their count. latency_us
                -- is then their mean, bytes_out their sum.
                ALTER TABLE analytics_events ADD COLUMN requests INTEGER NOT NULL DEFAULT 1;
                """),
        Migration(
            version: 11, name: "stock by product",
            sql: """
                -- Searches filtered by stock sum a product's SKUs.
                CREATE INDEX inventory_product ON inventory (product_id, available);
                """),
        Migration(
            version: 12, name: "the trail as a Merkle tree, with signed heads",
            sql: """
                -- Every perfect subtree of the trail's RFC 6962 tree: node = level << 48 | index.
                -- Filled from the entries on first start (TrailTree.ensureComplete).
                CREATE TABLE trail_nodes (
                    node INTEGER PRIMARY KEY,
                    hash BLOB NOT NULL
                );
                -- The debit entry of each order, which its receipt names.
                ALTER TABLE orders ADD COLUMN trail_seq INTEGER;
                -- Heads signed at checkpoints and clean stops (receipts carry their own).
                CREATE TABLE trail_heads (
                    tree_size INTEGER PRIMARY KEY,
                    root_hash TEXT NOT NULL,
                    timestamp TEXT NOT NULL,
                    kid TEXT NOT NULL,
                    signature TEXT NOT NULL
                );
                """),
        Migration(
            version: 13, name: "admin dashboard sessions",
            sql: """
                -- The dashboard signs in with the admin token once and then holds an HttpOnly
                -- cookie. Only the SHA-256 of the cookie's value is kept, with the hash of the
                -- admin token it was issued under (a new admin token ends older sessions).
                CREATE TABLE admin_sessions (
                    id_sha256 TEXT PRIMARY KEY,
                    token_sha256 TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);
                """),
        RetentionMigration.migration,
        Migration(
            version: 15, name: "analytics visitors by minute",
            sql: """
                -- Who was seen, once per minute and stage however many requests they sent: the
                -- dashboard's distinct counts (visitors, agents, the funnel) read this, so a
                -- client that floods the gateway adds a row a minute, not a row a request.
                -- Kept as long as raw events.
                CREATE TABLE analytics_visitors (
                    minute INTEGER NOT NULL,
                    stage TEXT NOT NULL,
                    visitor TEXT NOT NULL,
                    agent_id TEXT,
                    PRIMARY KEY (minute, stage, visitor)
                ) WITHOUT ROWID;
                INSERT OR IGNORE INTO analytics_visitors (minute, stage, visitor, agent_id)
                    SELECT minute, stage, visitor, agent_id FROM analytics_events;
                """),
        Migration(
            version: 16, name: "sales figures from an index",
            sql: """
                -- Orders, revenue and refunds of a range (the dashboard's summary, /metrics) are
                -- read from this covering index, a few bytes an order, not from the order rows
                -- with their items.
                CREATE INDEX orders_sales ON orders (created_at, total, refunded);
                """),
        Migration(
            version: 17, name: "agent quotas from indexes",
            sql: """
                -- Each create_cart, create_checkout and open_ticket counts the agent's open rows
                -- (AgentQuota); with an index on the agent alone that read every row the agent
                -- ever made, so an agent's checkouts slowed with each order it had placed.
                CREATE INDEX checkouts_agent_status ON checkouts (agent_id, status);
                DROP INDEX checkouts_agent;
                CREATE INDEX carts_agent_status ON carts (agent_id, status);
                CREATE INDEX support_tickets_agent ON support_tickets (agent_id, created_at);
                """),
        Migration(
            version: 18, name: "A2A tasks",
            sql: """
                -- A task per mutating action an agent asked for over A2A (read-only ones answer
                -- with a message and keep nothing). An agent keeps its newest 1,000; the sweep
                -- deletes tasks unchanged for the checkout TTL.
                CREATE TABLE a2a_tasks (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    agent_id TEXT NOT NULL,
                    context_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    state TEXT NOT NULL,
                    message TEXT NOT NULL,
                    result TEXT NOT NULL,
                    checkout_id TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX a2a_tasks_agent ON a2a_tasks (agent_id, seq);
                CREATE INDEX a2a_tasks_updated ON a2a_tasks (updated_at);
                """),
        Migration(
            version: 19, name: "UCP orders: fulfillment events, platform webhooks",
            sql: """
                -- What happened to an order after it was placed (shipped, delivered, ...), as the
                -- merchant records it; UCP's order shows them, append-only.
                CREATE TABLE order_fulfillment_events (
                    id TEXT PRIMARY KEY,
                    order_id TEXT NOT NULL,
                    type TEXT NOT NULL,
                    line_items TEXT NOT NULL,
                    tracking_number TEXT,
                    tracking_url TEXT,
                    carrier TEXT,
                    description TEXT,
                    occurred_at INTEGER NOT NULL
                );
                CREATE INDEX order_fulfillment_events_order ON order_fulfillment_events (order_id, occurred_at);
                -- The UCP platform a checkout was made through, and where it hears of the order
                -- (its profile's order webhook_url; only merchant-approved platforms).
                CREATE TABLE ucp_order_webhooks (
                    checkout_id TEXT PRIMARY KEY,
                    platform TEXT NOT NULL,
                    url TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                -- A delivery is the merchant's event (HMAC) or a UCP platform's order (RFC 9421).
                ALTER TABLE webhook_outbox ADD COLUMN scheme TEXT NOT NULL DEFAULT 'storefront';
                """),
        Migration(
            version: 20, name: "ACP delegated payment allowances",
            sql: """
                -- An allowance delegated from an agent's wallet for one checkout session (ACP's
                -- delegate_payment): at most max_amount, in currency, until expires_at, once.
                -- Spent in the purchase's own transaction; kept as the record of what was allowed.
                CREATE TABLE delegated_allowances (
                    id TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL,
                    checkout_id TEXT NOT NULL,
                    max_amount INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    merchant_id TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    metadata TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    used_at INTEGER,
                    order_id TEXT
                );
                CREATE INDEX delegated_allowances_agent ON delegated_allowances (agent_id, used_at, expires_at);
                """),
        Migration(
            version: 21, name: "UCP checkouts of A2A contexts",
            sql: """
                -- UCP's A2A binding keeps one checkout per conversation (A2A contextId) of an agent.
                CREATE TABLE a2a_contexts (
                    agent_id TEXT NOT NULL,
                    context_id TEXT NOT NULL,
                    checkout_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_message_id TEXT,
                    last_action TEXT,
                    last_arguments TEXT,
                    PRIMARY KEY (agent_id, context_id)
                );
                """),
        Migration(
            version: 22, name: "OAuth clients, grants, codes and tokens; principal sessions",
            sql: """
                -- Clients registered by RFC 7591 (a client metadata document is fetched, not stored).
                CREATE TABLE oauth_clients (
                    client_id TEXT PRIMARY KEY,
                    client_name TEXT NOT NULL,
                    redirect_uris TEXT NOT NULL,
                    metadata TEXT NOT NULL,
                    registered_by TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_used_at INTEGER
                );
                CREATE INDEX oauth_clients_unused ON oauth_clients (last_used_at, created_at);
                CREATE INDEX oauth_clients_registrant ON oauth_clients (registered_by, last_used_at);
                -- What a principal granted a client: the agent acting for them through it, and its scopes.
                CREATE TABLE oauth_grants (
                    principal TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (principal, client_id)
                );
                CREATE INDEX oauth_grants_agent ON oauth_grants (agent_id);
                -- Authorization codes and tokens by their SHA-256 only.
                CREATE TABLE oauth_codes (
                    code_sha256 TEXT PRIMARY KEY,
                    family TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    redirect_uri TEXT NOT NULL,
                    code_challenge TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER
                );
                CREATE TABLE oauth_tokens (
                    token_sha256 TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    family TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER,
                    revoked_at INTEGER
                );
                CREATE INDEX oauth_tokens_family ON oauth_tokens (family);
                CREATE INDEX oauth_tokens_agent ON oauth_tokens (agent_id);
                CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);
                -- The principal's page: sessions by SHA-256, and the one-time sign-in links used.
                CREATE TABLE principal_sessions (
                    id_sha256 TEXT PRIMARY KEY,
                    principal TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE TABLE principal_links_used (
                    nonce TEXT PRIMARY KEY,
                    expires_at INTEGER NOT NULL
                );
                -- The principal's passkeys (WebAuthn): the credential's id, its ES256 public key as a JWK,
                -- and the authenticator's signature counter.
                CREATE TABLE principal_passkeys (
                    credential_id TEXT PRIMARY KEY,
                    principal TEXT NOT NULL,
                    public_key TEXT NOT NULL,
                    sign_count INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_used_at INTEGER
                );
                CREATE INDEX principal_passkeys_principal ON principal_passkeys (principal);
                """),
        Migration(
            version: 23, name: "analytics: verified or claimed; operators' published address ranges",
            sql: """
                -- Whether a request proved who it is (a credential, a key directory, the operator's
                -- published addresses) or only claimed it (its User-Agent).
                ALTER TABLE analytics_events ADD COLUMN verification TEXT NOT NULL DEFAULT 'claimed';
                UPDATE analytics_events SET verification = 'verified' WHERE agent_id IS NOT NULL;
                -- The rollups gain it in their key: SQLite rebuilds the table.
                CREATE TABLE analytics_minutes_v23 (
                    minute INTEGER NOT NULL,
                    family TEXT NOT NULL,
                    category TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    route TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    verification TEXT NOT NULL DEFAULT 'claimed',
                    requests INTEGER NOT NULL,
                    latency_sum INTEGER NOT NULL,
                    bytes_out INTEGER NOT NULL,
                    revenue INTEGER NOT NULL,
                    h0 INTEGER NOT NULL DEFAULT 0,
                    h1 INTEGER NOT NULL DEFAULT 0,
                    h2 INTEGER NOT NULL DEFAULT 0,
                    h3 INTEGER NOT NULL DEFAULT 0,
                    h4 INTEGER NOT NULL DEFAULT 0,
                    h5 INTEGER NOT NULL DEFAULT 0,
                    h6 INTEGER NOT NULL DEFAULT 0,
                    h7 INTEGER NOT NULL DEFAULT 0,
                    h8 INTEGER NOT NULL DEFAULT 0,
                    h9 INTEGER NOT NULL DEFAULT 0,
                    h10 INTEGER NOT NULL DEFAULT 0,
                    h11 INTEGER NOT NULL DEFAULT 0,
                    h12 INTEGER NOT NULL DEFAULT 0,
                    h13 INTEGER NOT NULL DEFAULT 0,
                    h14 INTEGER NOT NULL DEFAULT 0,
                    h15 INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (minute, family, category, stage, route, status, verification)
                );
                INSERT INTO analytics_minutes_v23 (minute, family, category, stage, route, status, verification, requests,
                    latency_sum, bytes_out, revenue, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15)
                    SELECT minute, family, category, stage, route, status,
                    CASE WHEN family = 'registered agent' THEN 'verified' ELSE 'claimed' END, requests, latency_sum, bytes_out, revenue, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15
                    FROM analytics_minutes;
                DROP TABLE analytics_minutes;
                ALTER TABLE analytics_minutes_v23 RENAME TO analytics_minutes;
                -- The address ranges operators publish for their agents (storefront agents refresh-ranges).
                CREATE TABLE operator_ranges (
                    family TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    source TEXT NOT NULL,
                    published_at TEXT,
                    fetched_at INTEGER NOT NULL,
                    PRIMARY KEY (family, prefix)
                );
                """),
        Migration(
            version: 24, name: "access policy per operator and stage; what it did",
            sql: """
                -- The merchant's access policy for agents' operators (one document; robots.txt, /agents and
                -- llms.txt are written from it and the gateway enforces it).
                CREATE TABLE access_policy (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    document TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                -- What the policy did, per day, family and outcome: robots.txt violations (a fetch of a path
                -- robots.txt disallows for that agent), refusals for want of verification or payment, and
                -- charged requests with what they earned. Kept as long as the rollups.
                CREATE TABLE policy_outcomes (
                    day TEXT NOT NULL,
                    family TEXT NOT NULL,
                    operator TEXT NOT NULL,
                    verification TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    requests INTEGER NOT NULL,
                    amount INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    PRIMARY KEY (day, family, verification, outcome, currency)
                );
                """),
        Migration(
            version: 25, name: "the catalog in the store: products, variants, categories, watchers; search ranked by position",
            sql: """
                -- Each product as declared (source), where it came from (origin: manifest, admin, or a feed's
                -- name) and the import run that last wrote it (so a full re-import removes what it no longer has).
                -- Until now a copy rebuilt at every start from catalog.json: emptied, imported again at the next start.
                DELETE FROM catalog_products;
                ALTER TABLE catalog_products ADD COLUMN source TEXT NOT NULL DEFAULT '{}';
                ALTER TABLE catalog_products ADD COLUMN origin TEXT NOT NULL DEFAULT 'manifest';
                ALTER TABLE catalog_products ADD COLUMN import_run INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE catalog_products ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
                CREATE UNIQUE INDEX catalog_products_position ON catalog_products (position);
                -- What a search reads of each match (filters, facets, the id) without reading the row.
                CREATE INDEX catalog_products_search ON catalog_products (position, category, price_amount, inventory, id);
                CREATE INDEX catalog_products_origin ON catalog_products (origin, import_run);
                CREATE TABLE catalog_variants (
                    id TEXT PRIMARY KEY,
                    product_id TEXT NOT NULL
                );
                CREATE INDEX catalog_variants_product ON catalog_variants (product_id);
                CREATE TABLE catalog_categories (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    description TEXT NOT NULL,
                    position INTEGER NOT NULL
                );
                -- One row: the catalog's version (every change adds one; nodes follow it) and what
                -- manifests/catalog.json was when it was last imported (size, modification time, digest).
                CREATE TABLE catalog_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    version INTEGER NOT NULL,
                    manifest_stamp TEXT,
                    updated_at INTEGER NOT NULL
                );
                INSERT INTO catalog_state (id, version, manifest_stamp, updated_at) VALUES (1, 1, NULL, 0);
                -- Agents told of a product's changes (price_changed, back_in_stock, discontinued): its buyers
                -- and those who asked to watch it.
                CREATE TABLE product_watchers (
                    product_id TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (product_id, agent_id)
                );
                CREATE INDEX product_watchers_agent ON product_watchers (agent_id);
                -- Words, with the catalog position as rowid: a search walks matches in position order and
                -- stops at the page's end instead of scoring every match. Contentless: the text is in source.
                DROP TABLE catalog_fts;
                CREATE VIRTUAL TABLE catalog_search USING fts5(
                    name, category, labels, description, attributes,
                    content = '', tokenize = 'porter unicode61 remove_diacritics 2'
                );
                """),
    ]
}

/// The SQL of migration 9: which periods `ledger_totals` keeps and how a ledger row changes them.
enum LedgerTotals {
    /// Each period and the SQL for the start of the period a row (`NEW`, `OLD`, `ledger`) falls in.
    static let periods: [(name: String, start: @Sendable (String) -> String)] = [
        ("all", { _ in "0" }),
        ("day", { r in "\(r).at - \(r).at % 86400" }),
        ("week", { r in "(\(r).at / 86400 - (\(r).at / 86400 + 3) % 7) * 86400" }),
        ("month", { r in "CAST(strftime('%s', \(r).at, 'unixepoch', 'start of month') AS INTEGER)" }),
    ]

    /// What a row counts against spend limits: debits and holds, less released holds.
    static func spend(_ r: String) -> String {
        "CASE WHEN \(r).kind IN ('debit', 'hold', 'release') THEN -\(r).amount ELSE 0 END"
    }

    /// Fills an empty `ledger_totals` from the ledger.
    static let backfill = periods.map { period, start in
        """
        INSERT INTO ledger_totals (agent_id, period, start, amount, spend)
            SELECT agent_id, '\(period)', \(start("ledger")), sum(amount), sum(\(spend("ledger")))
            FROM ledger GROUP BY agent_id\(period == "all" ? "" : ", " + start("ledger"));
        """
    }.joined(separator: "\n")

    /// Adds (or takes away) row `r` to the totals of each of its periods.
    static func upsert(_ r: String, adding: Bool) -> String {
        let sign = adding ? "" : "-"
        let rows = periods.map { period, start in
            "(\(r).agent_id, '\(period)', \(start(r)), \(sign)\(r).amount, \(sign)(\(spend(r))))"
        }
        return """
            INSERT INTO ledger_totals (agent_id, period, start, amount, spend) VALUES \(rows.joined(separator: ", "))
                ON CONFLICT (agent_id, period, start) DO UPDATE SET
                amount = amount + excluded.amount, spend = spend + excluded.spend;
            """
    }
}
