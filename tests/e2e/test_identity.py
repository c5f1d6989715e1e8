"""Identity: agents registered with a principal get an API key shown once (stored only as a hash);
revocation and key rotation take effect on the very next request; invite-only stores refuse
self-registration; admin routes need the merchant's admin token; anonymous agents keep Finding
and Evaluating but cannot transact (REST 401, MCP tool error)."""

from __future__ import annotations

import json
import re
import signal
import subprocess

import pytest
import requests

from gateway_process import LegacySession, initialize_message, modern_post, post_json, rpc_notification, rpc_request
import stores
from shop import GIFT_PRODUCT, GIFT_SKU, cli, error_of, new_key, sql, start_shop
from support import assert_json_error, launch

API_KEY = re.compile(r"^sk_agent_[A-Za-z0-9]{10}_[A-Za-z0-9]{40}$")
ONE_GIFT_CARD = {"items": [{"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 1}]}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("identity"))
    yield s
    s.server.kill()


def get_wallet(shop, headers: dict, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).post(shop.url("/tools/get_wallet"), json={}, headers=headers, timeout=10)


def test_registration_returns_an_id_a_wallet_and_an_api_key_that_works(shop):
    r = requests.post(shop.url("/agents/register"), json={
        "principal": "ada@example.com", "display_name": "Ada's shopper", "operator": "Example Labs"}, timeout=10)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert API_KEY.match(doc["api_key"]), doc["api_key"]
    assert doc["id"].startswith("agt_") and doc["principal"] == "ada@example.com"
    assert doc["display_name"] == "Ada's shopper" and doc["operator"] == "Example Labs"
    assert doc["status"] == "active"
    assert doc["wallet"]["agent_id"] == doc["id"]
    assert doc["wallet"]["balance"] == {"amount": 0, "currency": "USD"}

    w = get_wallet(shop, {"Authorization": f"Bearer {doc['api_key']}"})
    assert w.status_code == 200, w.text
    assert w.json()["wallet"]["agent_id"] == doc["id"]


def test_the_api_key_is_shown_once_and_stored_only_as_a_hash(shop):
    agent = shop.register("grace@example.com", open_route=True)
    secret = agent.api_key.split("_")[-1]
    prefix = agent.api_key.split("_")[2]

    # Nowhere to read it again: not in the admin listing, the CLI listing, the wallet or the trail.
    listing = shop.admin("GET", "/agents")
    assert listing.status_code == 200
    assert agent.id in listing.text
    assert secret not in listing.text and agent.api_key not in listing.text
    assert secret not in shop.admin("GET", f"/wallets/{agent.id}").text
    assert secret not in shop.admin("GET", "/trail?limit=1000").text
    out = cli("agents", "list", store=shop.store)
    assert out.returncode == 0, out.stderr
    assert agent.id in out.stdout and secret not in out.stdout

    # In the store: the lookup prefix may be there, the secret (and the whole key) may not.
    dump = stores.dump(shop.store)
    assert agent.id in dump
    assert secret not in dump and agent.api_key not in dump
    hexed = "encode(secret_hash, 'hex')" if stores.POSTGRES else "hex(secret_hash)"
    rows = sql(shop.store, f"SELECT prefix, {hexed} AS h FROM agent_keys WHERE agent_id = '{agent.id}' AND kind = 'api_key'")
    assert len(rows) == 1 and rows[0]["prefix"] and prefix in rows[0]["prefix"], rows
    assert rows[0]["h"] and secret.encode().hex().upper() not in rows[0]["h"].upper()


@pytest.mark.parametrize("authorization, code", [
    ("Bearer sk_agent_AAAAAAAAAA_" + "B" * 40, "invalid_api_key"),
    ("Bearer not-a-key", "invalid_api_key"),
    ("Basic dXNlcjpwYXNz", "invalid_authorization"),
])
def test_a_wrong_api_key_is_refused_never_treated_as_anonymous(shop, authorization, code):
    r = shop.http.post(shop.url("/tools/search_catalog"), json={"query": "tent"}, headers={"Authorization": authorization}, timeout=10)
    assert_json_error(r, 401, code=code, type_="authentication_error")


def test_a_known_prefix_with_a_wrong_secret_is_refused(shop):
    agent = shop.register()
    forged = agent.api_key[: -40] + ("A" if agent.api_key[-40] != "A" else "B") + agent.api_key[-39:]
    assert forged != agent.api_key
    assert_json_error(get_wallet(shop, {"Authorization": f"Bearer {forged}"}), 401, code="invalid_api_key",
                      type_="authentication_error")


def test_revocation_takes_effect_on_the_next_request_even_on_the_same_connection(shop):
    agent = shop.register()
    with requests.Session() as keep_alive:
        assert get_wallet(shop, agent.auth, keep_alive).status_code == 200
        revoked = shop.admin("POST", f"/agents/{agent.id}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert_json_error(get_wallet(shop, agent.auth, keep_alive), 401, code="invalid_api_key", type_="authentication_error")
    # MCP refuses it too (the HTTP layer answers 401 before any tool runs, or the tool errors).
    _, r = modern_post(shop.url("/mcp"), "tools/call", {"name": "get_wallet", "arguments": {}}, headers=agent.auth)
    if r.status_code == 200:
        result = r.json()["result"]
        assert result["isError"] is True, result
    else:
        assert r.status_code == 401, (r.status_code, r.text)
    listed = {a["id"]: a for a in shop.admin_ok("GET", "/agents")["agents"]}
    assert listed[agent.id]["status"] == "revoked"


def test_rotating_the_key_invalidates_the_old_key_and_the_new_one_works(shop):
    agent = shop.register()
    assert get_wallet(shop, agent.auth).status_code == 200
    rotated = shop.admin("POST", f"/agents/{agent.id}/rotate-key")
    assert rotated.status_code == 200, rotated.text
    new_key_value = rotated.json()["api_key"]
    assert API_KEY.match(new_key_value) and new_key_value != agent.api_key
    assert_json_error(get_wallet(shop, agent.auth), 401, code="invalid_api_key", type_="authentication_error")
    r = get_wallet(shop, {"Authorization": f"Bearer {new_key_value}"})
    assert r.status_code == 200 and r.json()["wallet"]["agent_id"] == agent.id


def test_registration_needs_a_principal_and_a_display_name(shop):
    r = requests.post(shop.url("/agents/register"), json={"display_name": "nobody's"}, timeout=10)
    assert_json_error(r, 400, param="principal")
    r = requests.post(shop.url("/agents/register"), json={"principal": "p@example.com"}, timeout=10)
    assert_json_error(r, 400, param="display_name")
    r = requests.post(shop.url("/agents/register"), json={"principal": "p", "display_name": "d", "scopes": ["root"]}, timeout=10)
    assert_json_error(r, 400, param="scopes")


def test_registration_rotation_and_revocation_enter_the_trail_without_secrets(shop):
    agent = shop.register("trail@example.com")
    rotated = shop.admin_ok("POST", f"/agents/{agent.id}/rotate-key")
    shop.admin_ok("POST", f"/agents/{agent.id}/revoke")
    entries = shop.admin_ok("GET", f"/trail?agent_id={agent.id}&limit=100")["entries"]
    actions = [e["action"] for e in entries]
    assert len(actions) >= 3, actions
    assert any("register" in a for a in actions), actions
    assert any("rotate" in a for a in actions), actions
    assert any("revoke" in a for a in actions), actions
    assert all(e["agent_id"] == agent.id for e in entries)
    text = shop.admin("GET", f"/trail?agent_id={agent.id}&limit=100").text
    for secret in (agent.api_key, agent.api_key[-40:], rotated["api_key"], rotated["api_key"][-40:], shop.admin_token):
        assert secret not in text


ADMIN_ROUTES = [
    ("GET", "/agents", None),
    ("POST", "/agents", {"principal": "x@example.com", "display_name": "x"}),
    ("POST", "/agents/{id}/revoke", None),
    ("POST", "/agents/{id}/rotate-key", None),
    ("GET", "/wallets/{id}", None),
    ("POST", "/wallets/{id}/fund", {"amount": 100000}),
    ("POST", "/wallets/{id}/limits", {"daily": 1}),
    ("GET", "/approvals?status=pending", None),
    ("POST", "/approvals/apr_0000/approve", None),
    ("POST", "/approvals/apr_0000/deny", None),
    ("GET", "/trail", None),
    ("GET", "/trail/verify", None),
]


def test_admin_routes_refuse_a_missing_a_wrong_or_an_agents_token_and_change_nothing(shop):
    agent = shop.register()
    before_agents = sql(shop.store, "SELECT COUNT(*) AS n FROM agents")[0]["n"]
    for method, path, body in ADMIN_ROUTES:
        url = shop.url("/admin/api" + path.replace("{id}", agent.id))
        for headers in ({}, {"Authorization": "Bearer sf_admin_" + "x" * 40}, {"Authorization": "Bearer " + shop.admin_token + "x"},
                        {"Authorization": shop.admin_token}, agent.auth):
            r = requests.request(method, url, json=body, headers=headers, timeout=10)
            assert r.status_code in (401, 403), (method, path, headers, r.status_code, r.text[:300])
            error = error_of(r)
            assert error["type"] in ("authentication_error", "permission_error"), error
            assert "sf_admin" not in error["message"]
    # Nothing happened: the agent is active with its key, unfunded, without limits; no agent was added.
    assert get_wallet(shop, agent.auth).status_code == 200
    wallet = shop.wallet(agent)
    assert wallet["balance"]["amount"] == 0
    assert wallet["controls"]["daily"] is None
    assert sql(shop.store, "SELECT COUNT(*) AS n FROM agents")[0]["n"] == before_agents


def test_the_admin_token_is_printed_once_on_first_start_and_works_after_a_restart(binary, tmp_path):
    store = tmp_path / "first-start.db"
    srv = launch(store)
    try:
        lines = [line for line in srv.stdout_lines if "admin token" in line]
        assert len(lines) == 1, srv.stdout
        token = re.search(r"(sf_admin_\S+)", lines[0]).group(1)
        assert requests.get(srv.url("/admin/api/agents"), headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
        # stored hashed only
        dump = stores.dump(store)
        assert token not in dump and token[len("sf_admin_"):] not in dump
    finally:
        code = srv.stop(signal.SIGTERM)
    assert code == 0, srv.stderr
    again = launch(store, port=srv.port)
    try:
        assert "admin token" not in again.stdout and token not in again.stdout, again.stdout
        r = requests.get(again.url("/admin/api/agents"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        again.kill()


def test_invite_only_stores_refuse_self_registration_but_the_merchant_registers_agents(binary, tmp_path):
    invite = start_shop(tmp_path, extra=("--registration", "invite"))
    try:
        r = requests.post(invite.url("/agents/register"), json={"principal": "p@example.com", "display_name": "d"}, timeout=10)
        assert_json_error(r, 403, type_="permission_error")
        assert sql(invite.store, "SELECT COUNT(*) AS n FROM agents")[0]["n"] == 0
        agent = invite.register("merchant-invited@example.com")
        assert get_wallet(invite, agent.auth).status_code == 200
        out = cli("agents", "create", "--principal", "cli@example.com", "--name", "CLI agent", store=invite.store)
        assert out.returncode == 0, out.stderr
        key = json.loads(out.stdout)["api_key"]
        assert get_wallet(invite, {"Authorization": f"Bearer {key}"}).status_code == 200
    finally:
        invite.server.kill()


def test_anonymous_agents_can_find_and_evaluate_but_not_transact(shop):
    assert requests.post(shop.url("/tools/search_catalog"), json={"query": "tent"}, timeout=10).status_code == 200
    assert requests.post(shop.url("/tools/get_product"), json={"id": GIFT_PRODUCT}, timeout=10).status_code == 200
    for tool, body in (("create_cart", ONE_GIFT_CARD), ("create_checkout", ONE_GIFT_CARD), ("get_wallet", {}),
                       ("list_orders", {}), ("complete_checkout", {"checkout_id": "chk_0"})):
        r = requests.post(shop.url(f"/tools/{tool}"), json=body, headers={"Idempotency-Key": new_key()}, timeout=10)
        error = assert_json_error(r, 401, code="authentication_required", type_="authentication_error")
        assert "/agents/register" in error["message"], error
        assert "Bearer" in r.headers.get("WWW-Authenticate", ""), r.headers
    r = requests.post(shop.url("/checkout-sessions"), json={"line_items": [{"item": {"id": GIFT_SKU}, "quantity": 1}]}, timeout=10)
    assert r.status_code == 401, (r.status_code, r.text)
    # MCP answers at the HTTP layer, as its authorization specification requires: 401 with the
    # challenge that sends an OAuth client to the protected resource metadata (test_oauth.py).
    _, r = modern_post(shop.url("/mcp"), "tools/call", {"name": "create_checkout", "arguments": ONE_GIFT_CARD})
    assert r.status_code == 401, r.text
    assert r.json()["error"]["message"].startswith("authentication_required")
    assert "/agents/register" in r.json()["error"]["message"]
    assert 'resource_metadata="' in r.headers["WWW-Authenticate"], r.headers
    assert sql(shop.store, "SELECT COUNT(*) AS n FROM checkouts WHERE agent_id = '' OR agent_id IS NULL")[0]["n"] == 0


def test_revocation_reaches_an_open_mcp_session_and_sessions_never_lend_an_identity(shop):
    agent = shop.register()
    r = post_json(shop.url("/mcp"), initialize_message(), agent.auth)
    assert r.status_code == 200, r.text
    session = LegacySession(shop.url("/mcp"), r.headers["MCP-Session-Id"], r.json()["result"]["protocolVersion"])
    assert session.post(rpc_notification("notifications/initialized"), agent.auth).status_code == 202

    def get_wallet_in_session(headers):
        return session.post(rpc_request("tools/call", {"name": "get_wallet", "arguments": {}}), headers)

    ok = get_wallet_in_session(agent.auth)
    assert ok.status_code == 200 and ok.json()["result"].get("isError") is not True, ok.text
    # The session was opened by the agent: a call without its credentials finds no session (issue 12),
    # so it can neither borrow the agent's identity nor see the session's results. (A tool that acts
    # for a principal is refused before any session is looked up: 401, whatever session it names.)
    anonymous = session.post(rpc_request("tools/call", {"name": "search_catalog", "arguments": {}}), {})
    assert anonymous.status_code == 404, anonymous.text
    anonymous = get_wallet_in_session({})
    assert anonymous.status_code == 401 and "resource_metadata" in anonymous.headers["WWW-Authenticate"], anonymous.text
    shop.admin_ok("POST", f"/agents/{agent.id}/revoke")
    after = get_wallet_in_session(agent.auth)
    if after.status_code == 200:
        assert after.json()["result"]["isError"] is True, after.text
    else:
        assert after.status_code == 401, (after.status_code, after.text)
