"""Crash recovery: the gateway is killed with SIGKILL at random moments while 8 connections buy
(create_checkout + complete_checkout) as fast as they can — 12 short trials on one store. After
each restart: every purchase whose response the client received is there; nothing is
half-applied (each completed checkout has exactly one order and one debit of its total, each
pending approval exactly one hold, no debit or order without its checkout); ledger sums match
balances and fundings; inventory + sold + reserved = initial; no limit was exceeded; the trail
records every debit and `storefront trail verify` passes. Retrying the requests that never got
an answer, with the same Idempotency-Key, completes each purchase exactly once."""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from dataclasses import dataclass, field

import requests

from shop import (GIFT_INITIAL_STOCK, GIFT_PRICE, GIFT_PRODUCT, GIFT_SKU, Agent, cli, ledger_sum, new_key, restart_shop, sql,
                  start_shop)
from support import free_port

TRIALS = 12
CONNECTIONS = 8
FUNDS = 5_000_000
DAILY_CAP = 12 * GIFT_PRICE
THRESHOLD = GIFT_PRICE + 1  # for the approvals agent: one card completes, two wait


@dataclass
class Log:
    created: list = field(default_factory=list)       # (agent, checkout body) answered
    completed: list = field(default_factory=list)     # (agent, checkout_id, key, status, body) answered
    unanswered: list = field(default_factory=list)    # (agent, checkout_id, key) sent, no answer
    lock: threading.Lock = field(default_factory=threading.Lock)


def shopper(shop, agents: list[tuple[Agent, int]], stop: threading.Event, log: Log, seed: int) -> None:
    rng = random.Random(seed)
    with requests.Session() as s:
        while not stop.is_set():
            agent, quantity = rng.choice(agents)
            item = {"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": quantity}
            try:
                r = shop.call(agent, "create_checkout", {"items": [item]}, key=new_key(), session=s, timeout=5)
            except requests.RequestException:
                return
            if r.status_code != 200:
                continue
            checkout = r.json()["checkout"]
            with log.lock:
                log.created.append((agent, checkout))
            key = new_key()
            try:
                r = shop.complete(agent, checkout["id"], key=key, session=s)
            except requests.RequestException:
                with log.lock:
                    log.unanswered.append((agent, checkout["id"], key))
                return
            with log.lock:
                log.completed.append((agent, checkout["id"], key, r.status_code, r.json()))


def check_store(shop, agents: list[Agent], log: Log) -> None:
    store = shop.store
    checkouts = {c["id"]: c for c in sql(store, "SELECT id, agent_id, status, items, total, order_id, approval_id FROM checkouts")}
    orders = {o["id"]: o for o in sql(store, "SELECT id, agent_id, checkout_id, status, items, total FROM orders")}
    ledger = sql(store, "SELECT id, agent_id, kind, amount, reference FROM ledger")

    # 1. Every answer the client received is in the store.
    for agent, checkout in log.created:
        assert checkout["id"] in checkouts, f"checkout {checkout['id']} was answered but is gone"
    for agent, checkout_id, _key, status, body in log.completed:
        if status == 200 and body["checkout"]["status"] == "completed":
            order_id = body["order"]["id"]
            assert order_id in orders, f"order {order_id} was answered but is gone"
            assert checkouts[checkout_id]["status"] == "completed" and checkouts[checkout_id]["order_id"] == order_id
        elif status == 200:
            assert body["checkout"]["status"] == "pending_approval", body
            assert checkouts[checkout_id]["status"] == "pending_approval"

    # 2. Nothing half-applied.
    debits = [row for row in ledger if row["kind"] == "debit"]
    holds = [row for row in ledger if row["kind"] == "hold"]
    releases = [row for row in ledger if row["kind"] == "release"]
    debits_by_ref: dict[str, list] = {}
    for row in debits:
        debits_by_ref.setdefault(row["reference"], []).append(row)
    orders_by_checkout: dict[str, list] = {}
    for order in orders.values():
        orders_by_checkout.setdefault(order["checkout_id"], []).append(order)
    for checkout in checkouts.values():
        mine = orders_by_checkout.get(checkout["id"], [])
        if checkout["status"] == "completed":
            assert len(mine) == 1, f"completed checkout {checkout['id']} has {len(mine)} orders"
            order = mine[0]
            assert checkout["order_id"] == order["id"]
            assert [d["amount"] for d in debits_by_ref.get(order["id"], [])] == [-order["total"]], \
                f"order {order['id']} must have exactly one debit of its total"
            assert order["total"] == checkout["total"]
        else:
            assert not mine, f"checkout {checkout['id']} is {checkout['status']} yet has an order"
        if checkout["status"] == "pending_approval":
            mine_holds = [h for h in holds if h["reference"] == checkout["id"]]
            mine_releases = [h for h in releases if h["reference"] == checkout["id"]]
            assert [h["amount"] for h in mine_holds] == [-checkout["total"]] and not mine_releases, checkout["id"]
    assert set(debits_by_ref) == set(orders), "a debit without an order, or an order without a debit"

    # 3. Ledger sums match balances; money is conserved.
    for agent in agents:
        funded = sum(r["amount"] for r in ledger if r["agent_id"] == agent.id and r["kind"] == "fund")
        spent = sum(o["total"] for o in orders.values() if o["agent_id"] == agent.id)
        held = sum(c["total"] for c in checkouts.values() if c["agent_id"] == agent.id and c["status"] == "pending_approval")
        balance = shop.wallet(agent)["balance"]["amount"]
        assert balance == ledger_sum(store, agent.id) == funded - spent - held, (agent.id, balance, funded, spent, held)

    # 4. Inventory: available + sold + reserved (pending approvals) = initial.
    def quantity(items: str) -> int:
        parsed = json.loads(items)
        lines = parsed["line_items"] if isinstance(parsed, dict) else parsed  # orders keep the quote, checkouts the lines
        return sum(line["quantity"] for line in lines if line.get("variant_id") == GIFT_SKU)
    sold = sum(quantity(o["items"]) for o in orders.values())
    reserved = sum(quantity(c["items"]) for c in checkouts.values() if c["status"] == "pending_approval")
    available = sql(store, f"SELECT available FROM inventory WHERE sku = '{GIFT_SKU}'")[0]["available"]
    assert available + sold + reserved == GIFT_INITIAL_STOCK, (available, sold, reserved)

    # 5. The trail records every debit, and the chain verifies.
    traced = {row["target"] for row in sql(store, "SELECT target FROM trail WHERE action = 'wallet.debit'")}
    assert traced == set(orders), "every debit (and only those) has its trail entry"
    out = cli("trail", "verify", store=store)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "trail intact" in out.stdout


def test_sigkill_during_a_purchase_load_loses_nothing_answered_and_half_applies_nothing(binary, tmp_path):
    rng = random.Random()
    shop = start_shop(tmp_path, extra=("--threads", "4", "--checkpoint-every", "25"))
    try:
        plain = [shop.buyer(funds=FUNDS) for _ in range(3)]
        capped = shop.buyer(funds=FUNDS, daily=DAILY_CAP)
        approvals = shop.buyer(funds=FUNDS, approval_threshold=THRESHOLD)
        agents = plain + [capped, approvals]
        mix = [(a, 1) for a in plain] + [(capped, 1), (approvals, 1), (approvals, 2), (plain[0], 3)]
        log = Log()
        kills = []
        for trial in range(TRIALS):
            if trial:
                shop = restart_shop(shop, port=free_port())
                check_store(shop, agents, log)
            stop = threading.Event()
            threads = [threading.Thread(target=shopper, args=(shop, mix, stop, log, rng.random()), daemon=True)
                       for _ in range(CONNECTIONS)]
            for t in threads:
                t.start()
            delay = rng.uniform(0.15, 0.9)
            time.sleep(delay)
            shop.server.send(signal.SIGKILL)
            code = shop.server.process.wait(timeout=10)
            kills.append((delay, code, len(log.completed)))
            assert code == -signal.SIGKILL, f"trial {trial}: the gateway exited with {code} before the kill"
            stop.set()
            for t in threads:
                t.join(15)
            shop.server.join_readers()

        shop = restart_shop(shop, port=free_port())
        check_store(shop, agents, log)
        completed = [c for c in log.completed if c[3] == 200]
        assert len(completed) >= TRIALS, f"the load barely ran: {kills}"

        # The daily cap held through every crash.
        assert -sum(r["amount"] for r in sql(shop.store, f"SELECT amount FROM ledger WHERE agent_id = '{capped.id}' "
                                                           "AND kind = 'debit'")) <= DAILY_CAP

        # Retry every request that never got an answer, with its key: each purchase happens exactly once.
        for agent, checkout_id, key in log.unanswered:
            r = shop.complete(agent, checkout_id, key=key)
            assert r.status_code in (200, 402, 403), (r.status_code, r.text[:300])
            if r.status_code == 200:
                status = r.json()["checkout"]["status"]
                assert status in ("completed", "pending_approval"), status
            again = shop.complete(agent, checkout_id, key=key)
            assert again.headers.get("Idempotent-Replayed") == "true" and again.content == r.content
        check_store(shop, agents, log)
    finally:
        shop.server.kill()
