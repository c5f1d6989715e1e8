"""Idempotency on mutating actions (Stripe/ACP semantics): a replay returns the identical body
with `Idempotent-Replayed: true`; the same key with a different body → 422
`idempotency_conflict`; the same key while the first is still running → 409
`idempotency_in_flight` with `Retry-After` (or, once it finished, a replay); keys are scoped to
the agent and the action and kept at least 24 hours. In no case is a purchase charged twice:
the ledger (read with sqlite3) holds exactly one debit per order."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from gateway_process import modern_meta, modern_post
from shop import (GIFT_PRICE, GIFT_PRODUCT, GIFT_SKU, ledger_rows, ledger_sum, new_key, restart_shop, sql, sql_exec,
                  start_shop)
from support import assert_json_error

ONE = {"items": [{"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 1}]}
TWO = {"items": [{"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 2}]}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("idempotency"), extra=("--threads", "4"))
    yield s
    s.server.kill()


def debits_for(shop, agent, order_id: str) -> list[dict]:
    return [row for row in ledger_rows(shop.store, agent.id, "debit") if row["reference"] == order_id]


def orders_for_checkout(shop, checkout_id: str) -> list[dict]:
    return sql(shop.store, f"SELECT id, total FROM orders WHERE checkout_id = '{checkout_id}'")


def test_a_replayed_complete_checkout_returns_the_identical_body_and_charges_once(shop):
    agent = shop.buyer(funds=100_000)
    checkout = shop.create_checkout(agent)
    key = new_key()
    first = shop.complete(agent, checkout["id"], key=key)
    assert first.status_code == 200, first.text
    assert first.headers.get("Idempotent-Replayed") in (None, "false"), first.headers
    order_id = first.json()["order"]["id"]
    for _ in range(3):
        again = shop.complete(agent, checkout["id"], key=key)
        assert again.status_code == 200
        assert again.headers.get("Idempotent-Replayed") == "true", again.headers
        assert again.content == first.content
    assert len(debits_for(shop, agent, order_id)) == 1
    assert len(orders_for_checkout(shop, checkout["id"])) == 1
    assert shop.wallet(agent)["balance"]["amount"] == 100_000 - GIFT_PRICE == ledger_sum(shop.store, agent.id)


def test_a_replayed_create_checkout_returns_the_same_checkout_not_a_second_one(shop):
    agent = shop.buyer()
    key = new_key()
    first = shop.call(agent, "create_checkout", ONE, key=key)
    again = shop.call(agent, "create_checkout", ONE, key=key)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    assert sql(shop.store, f"SELECT COUNT(*) AS n FROM checkouts WHERE agent_id = '{agent.id}'")[0]["n"] == 1


def test_the_same_key_with_a_different_body_is_422_and_does_nothing(shop):
    agent = shop.buyer(funds=100_000)
    key = new_key()
    assert shop.call(agent, "create_checkout", ONE, key=key).status_code == 200
    assert_json_error(shop.call(agent, "create_checkout", TWO, key=key), 422, code="idempotency_conflict")
    assert sql(shop.store, f"SELECT COUNT(*) AS n FROM checkouts WHERE agent_id = '{agent.id}'")[0]["n"] == 1

    first, second = shop.create_checkout(agent), shop.create_checkout(agent)
    key = new_key()
    assert shop.complete(agent, first["id"], key=key).status_code == 200
    assert_json_error(shop.complete(agent, second["id"], key=key), 422, code="idempotency_conflict")
    r = shop.call(agent, "get_checkout", {"checkout_id": second["id"]})
    assert r.json()["checkout"]["status"] == "ready_for_complete", r.text
    assert len(ledger_rows(shop.store, agent.id, "debit")) == 1


def test_keys_are_scoped_to_the_agent_and_to_the_action(shop):
    alice, bob = shop.buyer(funds=100_000), shop.buyer(funds=100_000)
    key = new_key()
    a = shop.call(alice, "create_checkout", ONE, key=key)
    b = shop.call(bob, "create_checkout", ONE, key=key)
    assert a.status_code == b.status_code == 200
    assert b.headers.get("Idempotent-Replayed") is None, "another agent's key must not replay"
    assert a.json()["checkout"]["id"] != b.json()["checkout"]["id"]
    # the same key on another action of the same agent is a new request too
    cart = shop.call(alice, "create_cart", ONE, key=key)
    assert cart.status_code in (200, 201), cart.text
    assert cart.headers.get("Idempotent-Replayed") is None
    # and completing with it is a fresh request as well
    done = shop.complete(alice, a.json()["checkout"]["id"], key=key)
    assert done.status_code == 200 and done.headers.get("Idempotent-Replayed") is None, done.text


def test_an_error_is_replayed_under_its_key(shop):
    agent = shop.buyer(funds=1000)
    checkout = shop.create_checkout(agent)
    key = new_key()
    first = shop.complete(agent, checkout["id"], key=key)
    assert first.status_code == 402, first.text
    shop.fund(agent, 100_000)
    again = shop.complete(agent, checkout["id"], key=key)
    assert again.status_code == 402 and again.headers.get("Idempotent-Replayed") == "true", (again.status_code, again.headers)
    assert again.json() == first.json()
    fresh = shop.complete(agent, checkout["id"], key=new_key())
    assert fresh.status_code == 200, fresh.text
    assert len(ledger_rows(shop.store, agent.id, "debit")) == 1


def fire_together(shop, n: int, send) -> list[requests.Response]:
    """n threads, each on its own warmed-up keep-alive connection, released by one barrier."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        with requests.Session() as s:
            s.get(shop.url("/status"), timeout=10)
            barrier.wait()
            results[i] = send(s)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_duplicates_get_409_in_flight_or_a_replay_and_are_never_charged_twice(shop):
    agent = shop.buyer(funds=1_000_000)
    in_flight = 0
    for _ in range(10):
        checkout = shop.create_checkout(agent)
        key = new_key()
        responses = fire_together(shop, 16, lambda s: shop.complete(agent, checkout["id"], key=key, session=s))
        executed = [r for r in responses if r.status_code == 200 and r.headers.get("Idempotent-Replayed") != "true"]
        replayed = [r for r in responses if r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true"]
        busy = [r for r in responses if r.status_code == 409]
        assert len(executed) + len(replayed) + len(busy) == 16, [(r.status_code, r.text[:200]) for r in responses]
        assert len(executed) == 1, "exactly one request runs; the others are replays or 409"
        assert all(r.content == executed[0].content for r in replayed)
        for r in busy:
            assert_json_error(r, 409, code="idempotency_in_flight")
            assert r.headers.get("Retry-After", "").isdigit(), r.headers
        in_flight += len(busy)
        order_id = executed[0].json()["order"]["id"]
        assert len(debits_for(shop, agent, order_id)) == 1
        assert len(orders_for_checkout(shop, checkout["id"])) == 1
        # after the dust settles, the key replays
        late = shop.complete(agent, checkout["id"], key=key)
        assert late.headers.get("Idempotent-Replayed") == "true" and late.content == executed[0].content
    assert len(ledger_rows(shop.store, agent.id, "debit")) == 10
    assert shop.wallet(agent)["balance"]["amount"] == 1_000_000 - 10 * GIFT_PRICE == ledger_sum(shop.store, agent.id)
    assert in_flight > 0, "16 simultaneous duplicates x 10 never produced a 409 idempotency_in_flight"


def test_concurrent_completions_of_one_checkout_under_different_keys_make_one_order(shop):
    agent = shop.buyer(funds=1_000_000)
    for _ in range(5):
        checkout = shop.create_checkout(agent)
        responses = fire_together(shop, 16, lambda s: shop.complete(agent, checkout["id"], session=s))
        orders = {r.json()["order"]["id"] for r in responses if r.status_code == 200 and r.json().get("order")}
        assert len(orders) == 1, [(r.status_code, r.text[:200]) for r in responses]
        for r in responses:
            assert r.status_code in (200, 409), (r.status_code, r.text[:300])
        assert len(orders_for_checkout(shop, checkout["id"])) == 1
        assert len(debits_for(shop, agent, orders.pop())) == 1
    assert shop.wallet(agent)["balance"]["amount"] == 1_000_000 - 5 * GIFT_PRICE == ledger_sum(shop.store, agent.id)


def test_concurrent_duplicate_create_checkouts_make_one_checkout(shop):
    agent = shop.buyer()
    key = new_key()
    responses = fire_together(shop, 16, lambda s: shop.call(agent, "create_checkout", ONE, key=key, session=s))
    ok = [r for r in responses if r.status_code == 200]
    assert all(r.status_code in (200, 409) for r in responses), [(r.status_code, r.text[:200]) for r in responses]
    assert {r.json()["checkout"]["id"] for r in ok} and len({r.json()["checkout"]["id"] for r in ok}) == 1
    assert sql(shop.store, f"SELECT COUNT(*) AS n FROM checkouts WHERE agent_id = '{agent.id}'")[0]["n"] == 1


def test_ucp_checkout_sessions_are_idempotent_too(shop):
    agent = shop.buyer(funds=100_000)
    headers = {**agent.auth, "Idempotency-Key": new_key()}
    ucp_one = {"line_items": [{"item": {"id": ONE["items"][0]["variant_id"]}, "quantity": 1}]}
    wallet = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}}
    first = requests.post(shop.url("/checkout-sessions"), json=ucp_one, headers=headers, timeout=10)
    assert first.status_code == 201, first.text
    again = requests.post(shop.url("/checkout-sessions"), json=ucp_one, headers=headers, timeout=10)
    assert again.status_code == 201, (again.status_code, again.text)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.content == first.content
    session_id = first.json()["id"]
    complete_headers = {**agent.auth, "Idempotency-Key": new_key()}
    done = requests.post(shop.url(f"/checkout-sessions/{session_id}/complete"), json=wallet, headers=complete_headers, timeout=10)
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    replay = requests.post(shop.url(f"/checkout-sessions/{session_id}/complete"), json=wallet, headers=complete_headers, timeout=10)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.content == done.content
    got = requests.get(shop.url(f"/checkout-sessions/{session_id}"), headers=agent.auth, timeout=10)
    assert got.status_code == 200 and got.json()["status"] == "completed"
    assert len(ledger_rows(shop.store, agent.id, "debit")) == 1


def test_mcp_tool_calls_are_idempotent_by_meta_key(shop):
    agent = shop.buyer(funds=100_000)
    checkout = shop.create_checkout(agent)
    key = new_key()
    params = {"name": "complete_checkout", "arguments": {"checkout_id": checkout["id"]}}
    meta = modern_meta(idempotencyKey=key)
    _, first = modern_post(shop.url("/mcp"), "tools/call", params, meta=meta, headers=agent.auth)
    _, again = modern_post(shop.url("/mcp"), "tools/call", params, meta=meta, headers=agent.auth)
    assert first.status_code == again.status_code == 200
    a, b = first.json()["result"], again.json()["result"]
    assert a.get("isError") is not True, a
    assert a["structuredContent"] == b["structuredContent"]
    # the MCP key and the REST key are the same key space for the agent and action
    rest = shop.complete(agent, checkout["id"], key=key)
    assert rest.headers.get("Idempotent-Replayed") == "true", rest.headers
    assert rest.json() == a["structuredContent"]
    other = shop.create_checkout(agent)
    _, conflict = modern_post(shop.url("/mcp"), "tools/call", {"name": "complete_checkout",
                              "arguments": {"checkout_id": other["id"]}}, meta=meta, headers=agent.auth)
    result = conflict.json()["result"]
    assert result["isError"] is True and result["structuredContent"]["error"]["code"] == "idempotency_conflict", result
    assert len(ledger_rows(shop.store, agent.id, "debit")) == 1


def test_keys_are_kept_across_a_restart_and_for_24_hours_then_swept(binary, tmp_path):
    shop = start_shop(tmp_path, extra=("--sweep-interval", "0.3"))
    try:
        agent = shop.buyer(funds=100_000)
        checkout = shop.create_checkout(agent)
        key = new_key()
        first = shop.complete(agent, checkout["id"], key=key)
        assert first.status_code == 200
        shop.server.stop()
        shop = restart_shop(shop)
        again = shop.complete(agent, checkout["id"], key=key)
        assert again.headers.get("Idempotent-Replayed") == "true" and again.content == first.content
        # Age the key to 23 hours and let a few sweeps run: it must survive them (kept 24 hours).
        sql_exec(shop.store, f"UPDATE idempotency_keys SET created_at = created_at - 23 * 3600 WHERE key = '{key}';")
        time.sleep(1.5)
        aged = shop.complete(agent, checkout["id"], key=key)
        assert aged.headers.get("Idempotent-Replayed") == "true", "a key 23 hours old was forgotten"
        assert aged.content == first.content
        # Past --idempotency-ttl (24 h by default, issue 12) the record is swept; a retry then is a new
        # request, and the completed checkout still cannot be charged twice.
        sql_exec(shop.store, f"UPDATE idempotency_keys SET created_at = created_at - 2 * 3600 WHERE key = '{key}';")
        deadline = time.monotonic() + 10
        while sql(shop.store, f"SELECT COUNT(*) AS n FROM idempotency_keys WHERE key = '{key}'")[0]["n"]:
            assert time.monotonic() < deadline, "a key 25 hours old was kept"
            time.sleep(0.2)
        late = shop.complete(agent, checkout["id"], key=key)
        assert late.headers.get("Idempotent-Replayed") != "true"
        assert len(ledger_rows(shop.store, agent.id, "debit")) == 1
    finally:
        shop.server.kill()
