"""Bounded state and sessions bound to their creator (issue 12, items 2, 3 and 6), tried as a
hostile client would: every field and collection an outsider can grow is capped, what is not a
record of a real change expires, an unread stream does not hold its backlog in memory, and an
MCP session is usable only by whoever created it.

Each test fails on the gateway before issue 12: oversized registrations were stored, sessions,
checkouts, idempotency records and raw analytics never expired (the options did not exist),
every refusal was a permanent trail entry, every unread inbox stream buffered its whole backlog,
anyone holding a session id could replay and end it, and a private inbox read was marked
`cacheScope: public`."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import requests

import stores
from gateway_process import LegacySession, SSEStream, initialize_message, modern_post, post_json, rpc_request
from shop import GIFT_PRODUCT, GIFT_SKU, Shop, cli, new_key, run_parallel, start_shop

SWEEP = ("--sweep-interval", "0.5")


def rows(store: Path, query: str, params: tuple = ()) -> list[tuple]:
    """One read of the store (on SQLite a WAL reader; the gateway keeps serving)."""
    connection = stores.connect(store, readonly=True)
    try:
        return [tuple(r) for r in connection.execute(query, params).fetchall()]
    finally:
        connection.close()


def write(store: Path, script: str) -> None:
    stores.execute(store, script)


def wait_until(condition, timeout: float = 8.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Shop:
    shop = start_shop(tmp_path_factory.mktemp("hostile-state"), extra=SWEEP)
    yield shop
    shop.server.stop()


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory) -> Shop:
    """A gateway whose sessions, abandoned checkouts and idempotency records live 2 seconds."""
    shop = start_shop(
        tmp_path_factory.mktemp("hostile-state-ttl"),
        extra=(*SWEEP, "--mcp-session-ttl", "2", "--checkout-ttl", "2", "--idempotency-ttl", "2"))
    yield shop
    shop.server.stop()


# --- 3. size caps on every stored field ------------------------------------------------------------


@pytest.mark.parametrize("field, value, code", [
    ("operator", "o" * 300_000, "field_too_long"),
    ("operator", "o" * 201, "field_too_long"),
    ("principal", "p" * 201, "field_too_long"),
    ("display_name", "d" * 5_000, "field_too_long"),
    ("public_key", {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                    "padding": "k" * 300_000}, "field_too_long"),
    ("public_key", {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                    "note": "small but not a JWK member"}, "invalid_public_key"),
], ids=["huge-operator", "operator-one-over", "long-principal", "long-display-name", "huge-public-key", "public-key-extra-member"])
def test_oversized_registration_fields_are_refused_naming_the_field_and_nothing_is_stored(shop, field, value, code):
    before = rows(shop.store, "SELECT count(*), coalesce(sum(length(operator)), 0) FROM agents")[0]
    keys_before = rows(shop.store, "SELECT count(*) FROM agent_keys")[0][0]
    body = {"principal": "hostile@example.com", "display_name": "hostile", field: value}
    r = requests.post(shop.url("/agents/register"), json=body, timeout=30)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    error = r.json()["error"]
    assert error["code"] == code and error["param"] == field, error
    if code == "field_too_long":
        assert "at most" in error["message"] and field in error["message"], error
    assert rows(shop.store, "SELECT count(*), coalesce(sum(length(operator)), 0) FROM agents")[0] == before
    assert rows(shop.store, "SELECT count(*) FROM agent_keys")[0][0] == keys_before


def test_text_fields_of_exactly_the_cap_are_accepted_and_stored_whole(shop):
    body = {"principal": "p" * 200, "display_name": "d" * 200, "operator": "o" * 200}
    r = requests.post(shop.url("/agents/register"), json=body, timeout=30)
    assert r.status_code == 201, (r.status_code, r.text[:300])
    stored = rows(shop.store, "SELECT length(principal), length(display_name), length(operator) FROM agents WHERE id = ?",
                  (r.json()["id"],))
    assert stored == [(200, 200, 200)], stored


def test_a_public_key_is_stored_as_its_three_members_only(shop):
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "mine"}
    r = requests.post(shop.url("/agents/register"), json={"principal": "p@example.com", "display_name": "k",
                                                           "public_key": jwk}, timeout=30)
    assert r.status_code == 201, r.text[:300]
    stored = rows(shop.store, "SELECT public_jwk FROM agent_keys WHERE agent_id = ? AND kind = 'jwk'", (r.json()["id"],))
    assert json.loads(stored[0][0]) == {k: jwk[k] for k in ("kty", "crv", "x")}


# --- 3. caps on every collection an agent can grow --------------------------------------------------


def test_an_agent_cannot_grow_its_carts_or_notes_without_bound(shop):
    agent = shop.register()
    session = requests.Session()
    item = {"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 1}
    for n in range(100):
        r = shop.call(agent, "create_cart", {"items": [item]}, session=session)
        assert r.status_code in (200, 201), (n, r.status_code, r.text[:300])
    r = shop.call(agent, "create_cart", {"items": [item]}, session=session)
    assert r.status_code == 409, (r.status_code, r.text[:300])
    error = r.json()["error"]
    assert error["code"] == "quota_exceeded" and error["details"]["limit"] == 100, error
    assert rows(shop.store, "SELECT count(*) FROM carts WHERE agent_id = ?", (agent.id,))[0][0] == 100
    for n in range(200):
        r = shop.call(agent, "remember", {"key": f"k{n}", "value": n}, session=session)
        assert r.status_code == 200, (n, r.status_code, r.text[:300])
    r = shop.call(agent, "remember", {"key": "one-too-many", "value": 1}, session=session)
    assert r.status_code == 409 and r.json()["error"]["code"] == "memory_full", r.text[:300]
    assert rows(shop.store, "SELECT count(*) FROM memories WHERE agent_id = ?", (agent.id,))[0][0] == 200


# --- 3. MCP sessions expire after an idle TTL, swept with their events -------------------------------


def test_an_idle_mcp_session_expires_and_is_swept_with_its_events(short_lived):
    mcp = short_lived.url("/mcp")
    session = LegacySession.open(mcp)
    with session.open_streamed_call("search_catalog", {"query": "tent"}) as stream:
        assert stream.status == 200
        events = stream.read_to_end()
    assert events, "the streamed call sent nothing"
    sid = session.session_id
    assert rows(short_lived.store, "SELECT count(*) FROM mcp_events WHERE session_id = ?", (sid,))[0][0] >= 2
    # Used within the TTL, it lives on.
    time.sleep(1.2)
    assert session.call("ping") == {}
    # Unused for longer than the TTL (whole seconds): gone for its holder, then swept with its
    # streams and events.
    time.sleep(3.6)
    assert session.post(rpc_request("ping")).status_code == 404
    wait_until(lambda: rows(short_lived.store, "SELECT count(*) FROM mcp_sessions WHERE id = ?", (sid,))[0][0] == 0,
               what="the session to be swept")
    for table in ("mcp_events", "mcp_streams", "mcp_subscriptions", "mcp_cancellations"):
        assert rows(short_lived.store, f"SELECT count(*) FROM {table} WHERE session_id = ?", (sid,))[0][0] == 0, table


def test_a_session_idle_one_second_past_the_ttl_is_gone_before_any_sweep(tmp_path):
    """The TTL check itself, at its boundary (the sweep, which would hide it, does not run)."""
    shop = start_shop(tmp_path / "session-ttl", extra=("--mcp-session-ttl", "100", "--sweep-interval", "3600"))
    try:
        agent = shop.register()
        r = post_json(shop.url("/mcp"), initialize_message(), agent.auth)
        assert r.status_code == 200, r.text[:300]
        sid = r.headers["MCP-Session-Id"]
        session = LegacySession(shop.url("/mcp"), sid)

        def ping_after_idle(seconds: int) -> int:
            # Early in a whole second, so that the gateway's clock still reads the same second.
            while time.time() % 1 > 0.2:
                time.sleep(0.02)
            now = int(time.time())
            write(shop.store, f"UPDATE mcp_sessions SET last_used_at = {now - seconds} WHERE id = '{sid}';")
            return session.post(rpc_request("ping"), agent.auth).status_code

        assert ping_after_idle(100) == 200, "idle exactly the TTL: still live"
        assert ping_after_idle(101) == 404, "idle one second longer than the TTL: gone"
        assert rows(shop.store, "SELECT count(*) FROM mcp_sessions WHERE id = ?", (sid,))[0][0] == 1, \
            "not swept yet: the 404 is the TTL check's"
    finally:
        shop.server.stop()


def test_a_creator_holds_a_bounded_number_of_live_sessions(tmp_path):
    shop = start_shop(tmp_path / "session-cap", extra=("--mcp-sessions-per-creator", "3"))
    try:
        agent = shop.register()
        ids = []
        for _ in range(5):
            r = post_json(shop.url("/mcp"), initialize_message(), agent.auth)
            assert r.status_code == 200, r.text[:300]
            ids.append(r.headers["MCP-Session-Id"])
        live = rows(shop.store, "SELECT count(*) FROM mcp_sessions WHERE agent_id = ? AND ended_at IS NULL", (agent.id,))
        assert live[0][0] == 3
        oldest = LegacySession(shop.url("/mcp"), ids[0])
        assert oldest.post(rpc_request("ping"), agent.auth).status_code == 404, "the least recently used session ended"
        newest = LegacySession(shop.url("/mcp"), ids[-1])
        assert newest.post(rpc_request("ping"), agent.auth).status_code == 200
    finally:
        shop.server.stop()


# --- 3. abandoned checkouts and idempotency records expire -------------------------------------------


def test_abandoned_checkouts_and_idempotency_records_expire_and_completed_ones_stay(short_lived):
    shop = short_lived
    agent = shop.buyer(funds=100_000)
    abandoned = shop.create_checkout(agent)
    key = new_key()
    r = shop.call(agent, "get_wallet", {}, key=key)
    assert r.status_code == 200
    kept = shop.buy(agent)
    assert kept.status_code == 200, kept.text[:300]
    order_id = kept.json()["order"]["id"] if "order" in kept.json() else kept.json()["checkout"]["order_id"]
    assert rows(shop.store, "SELECT count(*) FROM checkouts WHERE id = ?", (abandoned["id"],))[0][0] == 1
    assert rows(shop.store, "SELECT count(*) FROM idempotency_keys WHERE agent_id = ?", (agent.id,))[0][0] >= 1
    wait_until(lambda: rows(shop.store, "SELECT count(*) FROM checkouts WHERE id = ?", (abandoned["id"],))[0][0] == 0,
               what="the abandoned checkout to expire")
    wait_until(lambda: rows(shop.store, "SELECT count(*) FROM idempotency_keys WHERE agent_id = ?", (agent.id,))[0][0] == 0,
               what="the idempotency records to expire")
    assert rows(shop.store, "SELECT count(*) FROM orders WHERE id = ?", (order_id,))[0][0] == 1
    assert rows(shop.store, "SELECT count(*) FROM checkouts WHERE agent_id = ? AND status = 'completed'",
                (agent.id,))[0][0] == 1
    r = shop.call(agent, "get_checkout", {"checkout_id": abandoned["id"]})
    assert r.status_code == 404, r.text[:300]


# --- 3. refused attempts do not each add a permanent trail entry -------------------------------------


def test_refused_attempts_are_counted_not_each_appended_to_the_trail(shop):
    agent = shop.register()  # no funds: every completion is refused
    checkout = shop.create_checkout(agent)
    session = requests.Session()
    trail_before = rows(shop.store, "SELECT count(*) FROM trail")[0][0]
    for _ in range(40):
        r = shop.complete(agent, checkout["id"], session=session)
        assert r.status_code == 402, (r.status_code, r.text[:300])
    refused = rows(shop.store, "SELECT count(*) FROM trail WHERE agent_id = ? AND outcome != 'ok'", (agent.id,))[0][0]
    assert 1 <= refused <= 2, f"{refused} trail entries for 40 identical refusals"
    assert rows(shop.store, "SELECT count(*) FROM trail")[0][0] - trail_before <= 2
    counted = rows(shop.store, "SELECT sum(attempts) FROM refused_attempts WHERE agent_key = ? AND action = 'complete_checkout'",
                   (agent.id,))[0][0]
    assert counted == 40
    out = requests.get(shop.url("/admin/api/trail/verify"), headers=shop.admin_auth, timeout=30).json()
    assert out["intact"] is True, out


# --- 3. analytics keeps raw events for a retention period; rollups stay -------------------------------


def test_raw_analytics_events_older_than_the_retention_are_dropped_and_rollups_stay(tmp_path):
    shop = start_shop(tmp_path / "analytics-retention", extra=(*SWEEP, "--analytics-retention-days", "1"))
    try:
        old_minute = int(time.time() // 60) - 3 * 24 * 60
        write(shop.store, "\n".join(
            f"INSERT INTO analytics_events (at_ms, minute, visitor, family, category, stage, route, method, status, "
            f"latency_us, bytes_out) VALUES ({old_minute * 60_000 + n}, {old_minute}, 'v-old', 'old-family', 'bot', "
            f"'Finding', '/old', 'GET', 200, 10, 10);" for n in range(50)) + "\n"
            f"INSERT INTO analytics_minutes (minute, family, category, stage, route, status, requests, latency_sum, "
            f"bytes_out, revenue) VALUES ({old_minute}, 'old-family', 'bot', 'Finding', '/old', 200, 50, 500, 500, 0);\n"
            f"INSERT INTO analytics_visitors (minute, stage, visitor) VALUES ({old_minute}, 'Finding', 'v-old');")
        for _ in range(5):
            assert requests.get(shop.url("/agents"), timeout=10).status_code == 200
        wait_until(lambda: rows(shop.store, "SELECT count(*) FROM analytics_events WHERE minute = ?", (old_minute,))[0][0] == 0,
                   what="old raw events to be dropped")
        wait_until(lambda: rows(shop.store, "SELECT count(*) FROM analytics_visitors WHERE minute = ?", (old_minute,))[0][0] == 0,
                   what="old visitors to be dropped with them")
        wait_until(lambda: rows(shop.store, "SELECT count(*) FROM analytics_events WHERE route = '/agents'")[0][0] >= 1,
                   what="recent events to be written")
        assert rows(shop.store, "SELECT count(*) FROM analytics_events WHERE minute > ?", (old_minute,))[0][0] >= 1
        assert rows(shop.store, "SELECT requests FROM analytics_minutes WHERE minute = ?", (old_minute,)) == [(50,)]
    finally:
        shop.server.stop()


def test_a_flood_from_one_client_is_one_visitor_row_a_minute_so_the_dashboards_counts_stay_cheap(tmp_path):
    """bench/attack.py: the merchant's summary went 2 → 18 ms after a 10 s flood, because visitors
    were counted over every raw event. They are counted from one row per visitor, minute and stage."""
    shop = start_shop(tmp_path / "visitors")
    try:
        codes = run_parallel(range(600), lambda s, _: s.get(shop.url("/pricing"), timeout=10).status_code, connections=8)
        assert set(codes) == {200}
        minute_now = int(time.time() // 60)
        wait_until(lambda: rows(shop.store, "SELECT coalesce(sum(requests), 0) FROM analytics_events WHERE route = '/pricing'")[0][0] == 600,
                   what="the flood's events to be written")
        visitors = rows(shop.store, "SELECT minute, visitor FROM analytics_visitors WHERE stage = "
                                    "(SELECT stage FROM analytics_events WHERE route = '/pricing' LIMIT 1)")
        assert 1 <= len(visitors) <= 2 and all(m in (minute_now - 1, minute_now) for m, _ in visitors), visitors
        summary = shop.admin_ok("GET", "/analytics/summary")
        assert summary["unique_visitors"] == len({v for _, v in rows(shop.store, "SELECT minute, visitor FROM analytics_visitors WHERE stage != 'merchant'")}), summary
    finally:
        shop.server.stop()


# --- 2. an unread stream does not hold its backlog in memory ------------------------------------------


def open_unread_stream(port: int, api_key: str) -> socket.socket:
    """GET /inbox as SSE with a tiny receive buffer, and read nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall((f"GET /inbox HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                  f"Authorization: Bearer {api_key}\r\n\r\n").encode())
    return sock


def test_unread_inbox_streams_over_a_large_backlog_do_not_buffer_it(shop):
    agent = shop.register()
    events, padding = 5_000, "x" * 1_000
    data, now = ("json_build_object('n', i, 'pad', '{p}')::text", "extract(epoch FROM now())::bigint") if stores.POSTGRES \
        else ("json_object('n', i, 'pad', '{p}')", "strftime('%s', 'now')")
    write(shop.store, f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {events})
        INSERT INTO inbox_events (agent_id, type, data, created_at)
        SELECT '{agent.id}', 'wallet.funded', {data.format(p=padding)}, {now} FROM n;
    """)
    backlog_kib = events * len(padding) // 1024
    pid = shop.server.process.pid
    # Warm up: one stream read to the end shows the whole backlog is delivered, in order.
    with SSEStream.open(shop.url("/inbox"), "GET", None, {"Accept": "text/event-stream", **agent.auth},
                        timeout=20) as stream:
        assert stream.status == 200
        got = stream.read_events(events)
        assert [json.loads(e.data)["data"]["n"] for e in got] == list(range(1, events + 1))
    time.sleep(0.5)
    before = rss_kib(pid)
    streams = 10
    sockets = [open_unread_stream(shop.server.port, agent.api_key) for _ in range(streams)]
    try:
        time.sleep(2.0)
        growth = rss_kib(pid) - before
        # Buffered whole, each stream would hold more than its backlog (10 × 4.9 MB); paged, a few
        # pages each plus the read connections' caches: 6.1–9.6 MB measured over twelve runs
        # (before and after 2026-12-06), so the bound is half the buffered figure, not a fifth.
        assert growth < streams * backlog_kib // 2, f"RSS grew {growth} KiB for {streams} unread streams " \
                                                    f"over a {backlog_kib} KiB backlog"
    finally:
        for s in sockets:
            s.close()


# --- 6. MCP sessions are bound to their creator --------------------------------------------------------


def test_another_agent_or_anonymous_caller_cannot_replay_or_end_a_session(shop):
    owner, other = shop.buyer(funds=100_000), shop.register()
    mcp = shop.url("/mcp")
    r = post_json(mcp, initialize_message(), owner.auth)
    assert r.status_code == 200
    session = LegacySession(mcp, r.headers["MCP-Session-Id"])
    assert session.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, owner.auth).status_code == 202
    message = rpc_request("tools/call", {"name": "get_wallet", "arguments": {}, "_meta": {"progressToken": "p"}})
    with SSEStream.open(mcp, "POST", json.dumps(message).encode(),
                        {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
                         **session.headers, **owner.auth}) as stream:
        events = stream.read_to_end()
    first = events[0].id
    assert any(owner.id in e.data for e in events), "the owner's wallet is in the stream"

    def resume(headers: dict) -> int:
        with SSEStream.open(mcp, "GET", None, {"Accept": "text/event-stream", "Last-Event-ID": first,
                                               **session.headers, **headers}, timeout=10) as s:
            if s.status == 200:
                body = s.read_to_end()
                assert all(owner.id not in e.data for e in body) or headers == owner.auth
            return s.status

    assert resume({}) == 404, "anonymous replay of another agent's session"
    assert resume(other.auth) == 404, "another agent's replay"
    assert session.post(rpc_request("ping"), other.auth).status_code == 404
    assert session.post(rpc_request("ping")).status_code == 404
    assert requests.delete(mcp, headers=session.headers, timeout=10).status_code == 404
    assert requests.delete(mcp, headers={**session.headers, **other.auth}, timeout=10).status_code == 404
    # Still the owner's, and it still works.
    assert session.post(rpc_request("ping"), owner.auth).status_code == 200
    assert resume(owner.auth) == 200
    assert requests.delete(mcp, headers={**session.headers, **owner.auth}, timeout=10).status_code == 204


def test_an_anonymous_session_is_claimed_by_the_first_agent_that_uses_it(shop):
    agent = shop.register()
    session = LegacySession.open(shop.url("/mcp"))
    assert session.call("ping") == {}, "an anonymous session works for whoever holds its id"
    assert session.post(rpc_request("ping"), agent.auth).status_code == 200
    assert session.post(rpc_request("ping")).status_code == 404, "once an agent used it, it is that agent's"


def test_a_private_inbox_read_through_stateless_mcp_is_not_cached_as_public(shop):
    agent = shop.register()
    _, r = modern_post(shop.url("/mcp"), "resources/read", {"uri": "storefront://inbox"}, headers=agent.auth)
    assert r.status_code == 200, r.text[:300]
    result = r.json()["result"]
    assert result.get("cacheScope") != "public", result
    _, public = modern_post(shop.url("/mcp"), "resources/read", {"uri": "storefront://pricing"})
    assert public.json()["result"]["cacheScope"] == "public"


# --- 3. compaction --------------------------------------------------------------------------------------


def test_store_compact_sweeps_and_vacuums_while_the_gateway_serves(shop):
    out = cli("store", "compact", store=shop.store)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["bytes_after"] > 0 and set(report["swept"]) >= {"mcp_sessions", "checkouts", "idempotency_records",
                                                                   "analytics_events"}, report
    assert requests.get(shop.url("/status"), timeout=10).json()["store"]["healthy"] is True
