"""The merchant's tools, on the command line (`storefront agents|wallets|approvals|trail`, working
on the same store file while a gateway serves it) and through the admin API: registering,
revoking and rotating agents, funding wallets, setting and clearing limits, approving and
denying purchases above the approval threshold, and approvals that expire (short
`--approval-ttl`) releasing their hold and their stock."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import stores
from shop import GIFT_PRICE, GIFT_SKU, cli, cli_json, ed25519_jwk, ledger_rows, ledger_sum, run_parallel, sql, start_shop
from support import BINARY, assert_json_error, rfc7638_thumbprint

THRESHOLD = GIFT_PRICE + 1  # one gift card completes; two wait for the principal


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("admin"), extra=("--threads", "4"))
    yield s
    s.server.kill()


def stock(shop) -> int:
    return sql(shop.store, f"SELECT available FROM inventory WHERE sku = '{GIFT_SKU}'")[0]["available"]


def agent_wallet(shop, api_key: str) -> dict:
    r = requests.post(shop.url("/tools/get_wallet"), json={}, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["wallet"]


# --- agents -----------------------------------------------------------------------------------------


def test_cli_creates_an_agent_whose_key_works_on_the_running_gateway(shop, tmp_path):
    private_key = Ed25519PrivateKey.generate()
    jwk_file = tmp_path / "agent.jwk"
    jwk_file.write_text(json.dumps(ed25519_jwk(private_key)))
    doc = cli_json("agents", "create", "--principal", "ops@example.com", "--display-name", "Ops bot", "--operator", "Example AI",
                   "--public-key", str(jwk_file), store=shop.store)
    assert doc["principal"] == "ops@example.com" and doc["display_name"] == "Ops bot" and doc["operator"] == "Example AI"
    assert doc["key_id"] == rfc7638_thumbprint(ed25519_jwk(private_key))
    assert agent_wallet(shop, doc["api_key"])["agent_id"] == doc["id"]
    listing = cli("agents", "list", store=shop.store)
    assert listing.returncode == 0 and doc["id"] in listing.stdout and "ops@example.com" in listing.stdout
    assert doc["api_key"] not in listing.stdout
    api = {a["id"]: a for a in shop.admin_ok("GET", "/agents")["agents"]}
    assert api[doc["id"]]["principal"] == "ops@example.com"


def test_cli_revocation_takes_effect_on_the_running_gateways_next_request(shop):
    doc = cli_json("agents", "create", "--principal", "p@example.com", "--name", "to revoke", store=shop.store)
    with requests.Session() as s:
        headers = {"Authorization": f"Bearer {doc['api_key']}"}
        assert s.post(shop.url("/tools/get_wallet"), json={}, headers=headers, timeout=10).status_code == 200
        out = cli("agents", "revoke", doc["id"], store=shop.store)
        assert out.returncode == 0, out.stderr
        r = s.post(shop.url("/tools/get_wallet"), json={}, headers=headers, timeout=10)
        assert_json_error(r, 401, code="invalid_api_key", type_="authentication_error")
    assert "revoked" in cli("agents", "list", store=shop.store).stdout


def test_cli_rotate_key_prints_a_new_key_and_the_old_one_stops_working(shop):
    doc = cli_json("agents", "create", "--principal", "p@example.com", "--name", "to rotate", store=shop.store)
    out = cli("agents", "rotate-key", doc["id"], store=shop.store)
    assert out.returncode == 0, out.stderr
    keys = re.findall(r"sk_agent_[A-Za-z0-9]{10}_[A-Za-z0-9]{40}", out.stdout)
    assert len(keys) == 1 and keys[0] != doc["api_key"], out.stdout
    r = requests.post(shop.url("/tools/get_wallet"), json={}, headers={"Authorization": f"Bearer {doc['api_key']}"}, timeout=10)
    assert r.status_code == 401
    assert agent_wallet(shop, keys[0])["agent_id"] == doc["id"]


def test_cli_refuses_unknown_agents_with_a_nonzero_exit(shop):
    for args in (("agents", "revoke", "agt_nope"), ("wallets", "fund", "agt_nope", "100"), ("approvals", "approve", "apr_nope")):
        out = cli(*args, store=shop.store)
        assert out.returncode != 0, (args, out.stdout)
        assert out.stderr.strip(), args


# --- wallets ----------------------------------------------------------------------------------------


def test_cli_funds_a_wallet_and_sets_and_clears_limits(shop):
    agent = shop.register()
    out = cli("wallets", "fund", agent.id, "12345", "--note", "welcome", store=shop.store)
    assert out.returncode == 0, out.stderr
    assert agent_wallet(shop, agent.api_key)["balance"] == {"amount": 12345, "currency": "USD"}
    assert [(r["kind"], r["amount"]) for r in ledger_rows(shop.store, agent.id)] == [("fund", 12345)]

    out = cli("wallets", "limits", agent.id, "--daily", "5000", "--monthly", "20000", "--approval-threshold", "10000",
              "--blocked-categories", "tents,footwear", store=shop.store)
    assert out.returncode == 0, out.stderr
    wallet = agent_wallet(shop, agent.api_key)
    assert wallet["controls"]["daily"] == 5000 and wallet["controls"]["monthly"] == 20000
    assert wallet["controls"]["approval_threshold"] == 10000
    assert sorted(wallet["controls"]["blocked_categories"]) == ["footwear", "tents"]
    assert wallet["windows"]["daily"]["remaining"]["amount"] == 5000

    out = cli("wallets", "limits", agent.id, "--daily", "none", "--approval-threshold", "none", store=shop.store)
    assert out.returncode == 0, out.stderr
    wallet = agent_wallet(shop, agent.api_key)
    assert wallet["controls"]["daily"] is None and wallet["controls"]["approval_threshold"] is None
    assert wallet["controls"]["monthly"] == 20000, "limits not named stay as they were"

    shown = cli_json("wallets", "show", agent.id, store=shop.store)
    assert shown["balance"]["amount"] == 12345 and shown["controls"]["monthly"] == 20000


def test_admin_api_funds_and_sets_limits_and_refuses_nonsense(shop):
    agent = shop.register()
    assert shop.fund(agent, 5000, note="first")["balance"]["amount"] == 5000
    assert shop.fund(agent, 2500)["balance"]["amount"] == 7500
    wallet = shop.set_limits(agent, per_transaction=4000, weekly=9000, all_time=50000, allowed_categories=["digital"],
                             blocked_categories=[])
    assert wallet["controls"]["per_transaction"] == 4000 and wallet["controls"]["allowed_categories"] == ["digital"]
    assert shop.set_limits(agent, allowed_categories=None)["controls"]["allowed_categories"] is None
    for body in ({"amount": 0}, {"amount": -100}, {"amount": "100"}, {}):
        r = shop.admin("POST", f"/wallets/{agent.id}/fund", body)
        assert r.status_code == 400, (body, r.status_code, r.text)
    for body in ({"daily": -1}, {"daily": "lots"}):
        r = shop.admin("POST", f"/wallets/{agent.id}/limits", body)
        assert r.status_code == 400, (body, r.status_code, r.text)
    assert shop.admin("POST", "/wallets/agt_nope/fund", {"amount": 100}).status_code == 404
    assert shop.wallet(agent)["balance"]["amount"] == 7500 == ledger_sum(shop.store, agent.id)
    funds = shop.admin_ok("GET", f"/trail?agent_id={agent.id}&action=wallet.fund")["entries"]
    assert [e["amount"] for e in funds] == [5000, 2500]


# --- approvals ----------------------------------------------------------------------------------------


def pending_purchase(shop, agent) -> dict:
    r = shop.buy(agent, 2)
    assert r.status_code in (200, 202), r.text
    checkout = r.json()["checkout"]
    assert checkout["status"] == "pending_approval", checkout
    return checkout


def test_admin_api_approval_completes_the_purchase(shop):
    agent = shop.buyer(funds=100_000, approval_threshold=THRESHOLD)
    checkout = pending_purchase(shop, agent)
    approval_id = checkout["approval"]["id"]
    assert shop.wallet(agent)["balance"]["amount"] == 100_000 - 2 * GIFT_PRICE, "the pending purchase holds its amount"
    listed = shop.admin_ok("GET", "/approvals?status=pending")["approvals"]
    mine = [a for a in listed if a["id"] == approval_id]
    assert len(mine) == 1 and mine[0]["checkout_id"] == checkout["id"] and mine[0]["principal"] == agent.principal
    assert mine[0]["amount"]["amount"] == 2 * GIFT_PRICE
    # The principal sees what is being bought, line by line, not only the total.
    lines = mine[0]["line_items"]
    assert [(l["product_id"], l["quantity"]) for l in lines] == [(i["product_id"], i["quantity"]) for i in checkout["line_items"]]
    assert sum(l["total"]["amount"] for l in lines) <= mine[0]["amount"]["amount"]
    assert all(l["name"] for l in lines) and mine[0]["agent_name"]

    decided = shop.admin_ok("POST", f"/approvals/{approval_id}/approve")
    assert decided["checkout"]["status"] == "completed"
    r = shop.call(agent, "get_checkout", {"checkout_id": checkout["id"]})
    assert r.json()["checkout"]["status"] == "completed" and r.json()["checkout"]["order_id"]
    order = shop.call(agent, "get_order", {"order_id": r.json()["checkout"]["order_id"]})
    assert order.status_code == 200, order.text
    assert [row["kind"] for row in ledger_rows(shop.store, agent.id)] == ["fund", "hold", "release", "debit"]
    assert shop.wallet(agent)["balance"]["amount"] == 100_000 - 2 * GIFT_PRICE == ledger_sum(shop.store, agent.id)
    assert_json_error(shop.admin("POST", f"/approvals/{approval_id}/deny"), 409, code="approval_not_pending")
    assert approval_id not in {a["id"] for a in shop.admin_ok("GET", "/approvals?status=pending")["approvals"]}


def test_admin_api_denial_releases_the_hold_and_the_stock(shop):
    agent = shop.buyer(funds=100_000, approval_threshold=THRESHOLD)
    before = stock(shop)
    checkout = pending_purchase(shop, agent)
    assert stock(shop) == before - 2, "a pending purchase reserves its stock"
    decided = shop.admin("POST", f"/approvals/{checkout['approval']['id']}/deny")
    assert decided.status_code == 200, decided.text
    r = shop.call(agent, "get_checkout", {"checkout_id": checkout["id"]})
    assert r.json()["checkout"]["status"] not in ("completed", "pending_approval"), r.json()["checkout"]["status"]
    assert r.json()["checkout"]["approval"]["status"] == "denied"
    assert stock(shop) == before
    assert [row["kind"] for row in ledger_rows(shop.store, agent.id)] == ["fund", "hold", "release"]
    assert shop.wallet(agent)["balance"]["amount"] == 100_000 == ledger_sum(shop.store, agent.id)
    assert sql(shop.store, f"SELECT COUNT(*) AS n FROM orders WHERE agent_id = '{agent.id}'")[0]["n"] == 0
    assert_json_error(shop.admin("POST", f"/approvals/{checkout['approval']['id']}/approve"), 409, code="approval_not_pending")


def test_cli_lists_approves_and_denies_pending_purchases(shop):
    agent = shop.buyer(funds=100_000, approval_threshold=THRESHOLD)
    to_approve, to_deny = pending_purchase(shop, agent), pending_purchase(shop, agent)
    listed = cli_json("approvals", "list", store=shop.store)
    ids = {a["id"] for a in listed}
    assert {to_approve["approval"]["id"], to_deny["approval"]["id"]} <= ids
    out = cli("approvals", "approve", to_approve["approval"]["id"], store=shop.store)
    assert out.returncode == 0, out.stderr
    out = cli("approvals", "deny", to_deny["approval"]["id"], store=shop.store)
    assert out.returncode == 0, out.stderr
    assert shop.call(agent, "get_checkout", {"checkout_id": to_approve["id"]}).json()["checkout"]["status"] == "completed"
    assert shop.call(agent, "get_checkout", {"checkout_id": to_deny["id"]}).json()["checkout"]["status"] != "completed"
    statuses = {a["id"]: a["status"] for a in cli_json("approvals", "list", "--status", "all", store=shop.store)}
    assert statuses[to_approve["approval"]["id"]] == "approved" and statuses[to_deny["approval"]["id"]] == "denied"
    pending = {a["id"] for a in cli_json("approvals", "list", store=shop.store)}
    assert not pending & {to_approve["approval"]["id"], to_deny["approval"]["id"]}
    assert shop.wallet(agent)["balance"]["amount"] == 100_000 - 2 * GIFT_PRICE == ledger_sum(shop.store, agent.id)
    again = cli("approvals", "approve", to_deny["approval"]["id"], store=shop.store)
    assert again.returncode != 0


def test_an_expired_approval_releases_its_hold_and_stock(binary, tmp_path):
    shop = start_shop(tmp_path, extra=("--approval-ttl", "1", "--sweep-interval", "0.2"))
    try:
        agent = shop.buyer(funds=100_000, approval_threshold=THRESHOLD)
        before = stock(shop)
        checkout = pending_purchase(shop, agent)
        approval_id = checkout["approval"]["id"]
        assert stock(shop) == before - 2 and shop.wallet(agent)["balance"]["amount"] == 100_000 - 2 * GIFT_PRICE
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = sql(shop.store, f"SELECT status FROM approvals WHERE id = '{approval_id}'")[0]["status"]
            if status != "pending":
                break
            time.sleep(0.2)
        assert status == "expired", status
        assert stock(shop) == before
        assert shop.wallet(agent)["balance"]["amount"] == 100_000 == ledger_sum(shop.store, agent.id)
        assert [row["kind"] for row in ledger_rows(shop.store, agent.id)] == ["fund", "hold", "release"]
        got = shop.call(agent, "get_checkout", {"checkout_id": checkout["id"]}).json()["checkout"]
        assert got["status"] not in ("completed", "pending_approval") and got["approval"]["status"] == "expired", got
        assert_json_error(shop.admin("POST", f"/approvals/{approval_id}/approve"), 409, code="approval_not_pending")
        assert sql(shop.store, f"SELECT COUNT(*) AS n FROM orders WHERE agent_id = '{agent.id}'")[0]["n"] == 0
        out = cli("trail", "verify", store=shop.store)
        assert out.returncode == 0, out.stderr
    finally:
        shop.server.kill()


# --- trail ----------------------------------------------------------------------------------------------


def test_admin_trail_filters_by_agent_action_and_pages_with_after(shop):
    agent = shop.buyer(funds=50_000)
    shop.buy(agent)
    mine = shop.admin_ok("GET", f"/trail?agent_id={agent.id}&limit=1000")["entries"]
    assert mine and all(e["agent_id"] == agent.id for e in mine)
    assert {"agent.register", "wallet.fund", "create_checkout", "complete_checkout", "wallet.debit"} <= {e["action"] for e in mine}
    funds = shop.admin_ok("GET", f"/trail?agent_id={agent.id}&action=wallet.fund")["entries"]
    assert [e["amount"] for e in funds] == [50_000]
    page = shop.admin_ok("GET", f"/trail?after={mine[0]['seq']}&limit=2")["entries"]
    assert [e["seq"] for e in page] == [mine[0]["seq"] + 1, mine[0]["seq"] + 2]
    assert shop.admin_ok("GET", "/trail/verify")["intact"] is True


def test_cli_writes_while_the_gateway_buys_keep_the_books_and_the_trail_intact(shop):
    buyers = [shop.buyer(funds=10_000_000) for _ in range(4)]
    stop = threading.Event()
    failures: list = []

    def buy_loop(agent):
        with requests.Session() as s:
            while not stop.is_set():
                r = shop.buy(agent, session=s)
                if r.status_code != 200:
                    failures.append(r.text)
                # A steady buyer, well inside the default checkout limit (600 a minute per agent):
                # this test is about the books under concurrent writers, not about rate limits.
                stop.wait(0.15)

    threads = [threading.Thread(target=buy_loop, args=(b,)) for b in buyers]
    for t in threads:
        t.start()
    try:
        for i in range(8):
            out = cli("wallets", "fund", buyers[i % 4].id, "1000", store=shop.store)
            assert out.returncode == 0, out.stderr
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not failures, failures[:3]
    for agent in buyers:
        orders = sql(shop.store, f"SELECT COALESCE(SUM(total), 0) AS s FROM orders WHERE agent_id = '{agent.id}'")[0]["s"]
        assert shop.wallet(agent)["balance"]["amount"] == 10_000_000 + 2 * 1000 - orders == ledger_sum(shop.store, agent.id)
    out = cli("trail", "verify", store=shop.store)
    assert out.returncode == 0, out.stdout + out.stderr


def test_concurrent_decisions_on_one_approval_apply_exactly_one(shop):
    agent = shop.buyer(funds=100_000, approval_threshold=THRESHOLD)
    for _ in range(3):
        checkout = pending_purchase(shop, agent)
        decisions = ["approve", "deny"] * 8
        results = run_parallel(decisions, lambda s, d: s.post(
            shop.url(f"/admin/api/approvals/{checkout['approval']['id']}/{d}"), headers=shop.admin_auth, timeout=30), connections=16)
        winners = [(d, r) for d, r in zip(decisions, results) if r.status_code == 200]
        assert len(winners) == 1, [(d, r.status_code) for d, r in zip(decisions, results)]
        for d, r in zip(decisions, results):
            if r.status_code != 200:
                assert_json_error(r, 409, code="approval_not_pending")
        status = shop.call(agent, "get_checkout", {"checkout_id": checkout["id"]}).json()["checkout"]["status"]
        assert (status == "completed") == (winners[0][0] == "approve"), (winners[0][0], status)
    orders = sql(shop.store, f"SELECT COALESCE(SUM(total), 0) AS s, COUNT(*) AS n FROM orders WHERE agent_id = '{agent.id}'")[0]
    assert len(ledger_rows(shop.store, agent.id, "debit")) == orders["n"]
    assert shop.wallet(agent)["balance"]["amount"] == 100_000 - orders["s"] == ledger_sum(shop.store, agent.id)


def test_the_admin_api_lists_approvals_by_status_like_the_cli(shop):
    agent = shop.buyer(funds=100_000, approval_threshold=THRESHOLD)
    decided, waiting = pending_purchase(shop, agent), pending_purchase(shop, agent)
    shop.admin_ok("POST", f"/approvals/{decided['approval']['id']}/deny")
    ids = {decided["approval"]["id"], waiting["approval"]["id"]}

    def listed(query: str) -> dict:
        return {a["id"]: a["status"] for a in shop.admin_ok("GET", "/approvals" + query)["approvals"] if a["id"] in ids}

    assert listed("?status=pending") == {waiting["approval"]["id"]: "pending"}
    assert listed("?status=denied") == {decided["approval"]["id"]: "denied"}
    assert listed("") == {waiting["approval"]["id"]: "pending", decided["approval"]["id"]: "denied"}
    cli_all = {a["id"]: a["status"] for a in cli_json("approvals", "list", "--status", "all", store=shop.store) if a["id"] in ids}
    assert cli_all == listed("")
    assert listed("?status=all") == cli_all, "GET /admin/api/approvals?status=all must list every approval, as the CLI does"


# --- any folder -----------------------------------------------------------------------------------


def test_admin_commands_work_from_any_folder_given_only_the_store(shop, tmp_path):
    """The gateway records where it served the manifests from; an admin command needs only --store."""
    import subprocess

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    agent = shop.buyer(funds=1_000)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BINARY), *stores.store_args(args)], cwd=elsewhere, capture_output=True, text=True, timeout=60)

    listed = run("agents", "list", "--store", str(shop.store))
    assert listed.returncode == 0, listed.stderr
    assert any(line.startswith(f"{agent.id}  active") for line in listed.stdout.splitlines()), listed.stdout
    funded = run("wallets", "fund", agent.id, "250", "--store", str(shop.store))
    assert funded.returncode == 0, funded.stderr
    assert shop.wallet(agent)["balance"]["amount"] == 1_250
    assert run("trail", "verify", "--store", str(shop.store)).returncode == 0

    # A store that was never served names no manifests: a plain message, not a stack of errors.
    never = run("agents", "list", "--store", str(elsewhere / "none.db"))
    assert never.returncode != 0 and "No store at" in never.stderr, never.stderr


def test_an_admin_command_leaves_the_running_gateways_catalog_alone(shop, tmp_path):
    """Issue 14: the CLI used to build the whole HTTP gateway to fund a wallet, which re-indexed
    the catalog of whatever --manifests it was given into the shared store: a merchant who ran an
    admin command beside another copy of the manifests changed what agents found. Admin commands
    now open the store's services alone (no catalog index, no threads, no socket)."""
    import shutil

    from support import MANIFESTS

    other = tmp_path / "other-manifests"
    shutil.copytree(MANIFESTS, other)
    catalog = json.loads((other / "catalog.json").read_text())
    catalog["products"][0]["name"] = "Zanzibar Quokka Special"
    (other / "catalog.json").write_text(json.dumps(catalog))
    agent = shop.buyer(funds=1_000)

    def found(query: str) -> int:
        r = requests.get(shop.url("/catalog"), params={"q": query}, timeout=10)
        assert r.status_code == 200, r.text[:300]
        return len(r.json()["products"])

    before = found("tent")
    assert before > 0 and found("quokka") == 0
    out = cli("wallets", "fund", agent.id, "250", "--manifests", str(other), store=shop.store)
    assert out.returncode == 0, out.stderr
    assert shop.wallet(agent)["balance"]["amount"] == 1_250
    listed = cli("agents", "list", "--manifests", str(other), store=shop.store)
    assert listed.returncode == 0 and agent.id in listed.stdout, listed.stderr
    assert found("quokka") == 0 and found("tent") == before
    # The store's own index, which every gateway on this store searches, was not rewritten.
    matches = ("document @@ to_tsquery('simple', 'quokka')" if stores.POSTGRES else "catalog_search MATCH 'quokka'")
    assert sql(shop.store, f"SELECT count(*) AS n FROM catalog_search WHERE {matches}")[0]["n"] == 0
    assert "quokka" not in json.dumps(sql(shop.store, "SELECT source FROM catalog_products"))
