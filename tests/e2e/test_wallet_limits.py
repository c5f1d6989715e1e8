"""Wallets and spend controls under concurrency: 500 purchase attempts from 16 parallel
connections against wallets whose controls allow exactly K purchases each → exactly K succeed per
wallet, the balance and the ledger agree to the cent, and every refusal names the limit it hit
(with the amounts it was judged on). The same for the daily, weekly, monthly and all-time limits,
for the balance itself (402 with the amount missing) and for the approval threshold (purchases
above it wait in pending_approval with a hold, never complete)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from shop import (GIFT_PRICE, Agent, Shop, away_from_utc_midnight, ledger_rows, ledger_sum, new_key, run_parallel, sql,
                  sql_exec, start_shop)
from support import assert_json_error, launch

ATTEMPTS = 500
CONNECTIONS = 16


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("wallets"), extra=("--threads", "4"))
    yield s
    s.server.kill()


@dataclass
class Attempt:
    agent: Agent
    checkout_id: str
    amount: int
    status: int = 0
    body: dict | None = None


def race(shop, plan: list[tuple[Agent, int]]) -> list[Attempt]:
    """Creates one checkout per (agent, quantity) in the plan (in parallel), then fires every
    complete_checkout at once from CONNECTIONS keep-alive connections."""
    def create(session, job):
        agent, quantity = job
        checkout = shop.create_checkout(agent, quantity, session=session)
        return Attempt(agent, checkout["id"], checkout["totals"]["total"]["amount"])

    attempts = run_parallel(plan, create, connections=CONNECTIONS)
    away_from_utc_midnight()

    def complete(session, attempt: Attempt):
        r = shop.complete(attempt.agent, attempt.checkout_id, session=session)
        attempt.status, attempt.body = r.status_code, r.json()
        return attempt

    return run_parallel(attempts, complete, connections=CONNECTIONS)


def interleaved(agents: list[Agent], quantities=(1,)) -> list[tuple[Agent, int]]:
    """ATTEMPTS attempts spread round-robin over the agents (and over the quantities)."""
    return [(agents[i % len(agents)], quantities[(i // len(agents)) % len(quantities)]) for i in range(ATTEMPTS)]


def completed(attempts: list[Attempt], agent: Agent) -> list[Attempt]:
    mine = [a for a in attempts if a.agent.id == agent.id and a.status == 200]
    for a in mine:
        assert a.body["checkout"]["status"] == "completed", a.body
        assert a.body["order"]["id"] == a.body["checkout"]["order_id"], a.body
    return mine


def assert_books_balance(shop, agent: Agent, *, funded: int, debited: int, held: int = 0) -> dict:
    """Wallet balance (API) == ledger sum (sqlite3) == funded - debits - holds, to the cent;
    one debit per order; orders total what was debited."""
    wallet = shop.wallet(agent)
    assert wallet["balance"]["amount"] == funded - debited - held, wallet["balance"]
    assert ledger_sum(shop.store, agent.id) == wallet["balance"]["amount"]
    debits = ledger_rows(shop.store, agent.id, "debit")
    assert -sum(d["amount"] for d in debits) == debited
    orders = sql(shop.store, f"SELECT id, total FROM orders WHERE agent_id = '{agent.id}'")
    assert sum(o["total"] for o in orders) == debited
    assert sorted(d["reference"] for d in debits) == sorted(o["id"] for o in orders), "one debit per order, no more"
    return wallet


# --- the K-limits ------------------------------------------------------------------------------

# (K, slack): the limit is K purchases' worth plus `slack` minor units (0: exactly K purchases).
WALLETS = [(3, 1234), (5, 0), (8, 2499), (13, 1)]


@pytest.mark.parametrize("window", ["daily", "weekly", "monthly", "all_time"])
def test_concurrent_purchases_never_exceed_a_spend_limit_and_every_refusal_names_it(shop, window):
    agents = []
    for k, slack in WALLETS:
        agents.append(shop.buyer(funds=10_000_000, **{window: k * GIFT_PRICE + slack}))
    attempts = race(shop, interleaved(agents))
    assert len(attempts) == ATTEMPTS
    assert {a.amount for a in attempts} == {GIFT_PRICE}

    for agent, (k, slack) in zip(agents, WALLETS):
        limit = k * GIFT_PRICE + slack
        wins = completed(attempts, agent)
        refusals = [a for a in attempts if a.agent.id == agent.id and a.status != 200]
        assert len(wins) == k, f"{window} limit allows exactly {k} purchases; {len(wins)} completed"
        for refusal in refusals:
            assert refusal.status == 403, (refusal.status, refusal.body)
            error = refusal.body["error"]
            assert error["code"] == "spend_limit_exceeded" and error["type"] == "permission_error", error
            assert error["param"] == window, error
            details = error["details"]
            assert details["limit"] == window, details
            assert details["limit_amount"]["amount"] == limit, details
            # The check saw every earlier debit: refused only once the window was full.
            assert details["spent"]["amount"] == k * GIFT_PRICE, details
            assert details["remaining"]["amount"] == slack, details
            assert details["attempted"]["amount"] == GIFT_PRICE, details
        wallet = assert_books_balance(shop, agent, funded=10_000_000, debited=k * GIFT_PRICE)
        assert wallet["windows"][window]["spent"]["amount"] == k * GIFT_PRICE
        assert wallet["windows"][window]["remaining"]["amount"] == slack
        # Every refused attempt is counted with its error code; the permanent trail keeps the first
        # of its kind each hour (issue 12: refusals change nothing, so they must not grow it).
        denied = sql(shop.store, f"SELECT COUNT(*) AS n FROM trail WHERE agent_id = '{agent.id}' "
                                 "AND error_code = 'spend_limit_exceeded'")[0]["n"]
        assert 1 <= denied <= 2, denied
        counted = sql(shop.store, f"SELECT SUM(attempts) AS n FROM refused_attempts WHERE agent_key = '{agent.id}' "
                                  "AND error_code = 'spend_limit_exceeded'")[0]["n"]
        assert counted == len(refusals)
        # Refused checkouts are still open (not completed, no order).
        for refusal in refusals[:5]:
            r = shop.call(agent, "get_checkout", {"checkout_id": refusal.checkout_id})
            assert r.status_code == 200 and r.json()["checkout"]["status"] != "completed", r.text
            assert r.json()["checkout"].get("order_id") is None


def test_concurrent_purchases_never_overdraw_the_balance_and_402_names_the_amount_missing(shop):
    plan_k = [(3, 1234), (6, 0), (10, 2000)]
    agents = [shop.buyer(funds=k * GIFT_PRICE + slack) for k, slack in plan_k]
    attempts = race(shop, interleaved(agents))
    for agent, (k, slack) in zip(agents, plan_k):
        wins = completed(attempts, agent)
        assert len(wins) == k
        for refusal in (a for a in attempts if a.agent.id == agent.id and a.status != 200):
            assert refusal.status == 402, (refusal.status, refusal.body)
            error = refusal.body["error"]
            assert error["type"] == "payment_required" and error["code"] == "insufficient_funds", error
            details = error["details"]
            assert details["missing"] == {"amount": GIFT_PRICE - slack, "currency": "USD"}, details
            assert details["balance"]["amount"] == slack, details
            assert agent.id in details["fund_with"] and "fund" in details["fund_with"], details
            assert "wallets fund" in error["message"], error
        wallet = assert_books_balance(shop, agent, funded=k * GIFT_PRICE + slack, debited=k * GIFT_PRICE)
        assert wallet["balance"]["amount"] == slack


def test_purchases_above_the_approval_threshold_wait_for_approval_and_never_complete(shop):
    threshold = GIFT_PRICE + 500  # one card completes, two cards wait
    funds = 10_000_000
    agents = [shop.buyer(funds=funds, approval_threshold=threshold) for _ in range(4)]
    attempts = race(shop, interleaved(agents, quantities=(1, 2, 1, 2, 1)))
    pending_ids = set()
    for agent in agents:
        mine = [a for a in attempts if a.agent.id == agent.id]
        small = [a for a in mine if a.amount <= threshold]
        large = [a for a in mine if a.amount > threshold]
        assert small and large
        for a in small:
            assert a.status == 200 and a.body["checkout"]["status"] == "completed", (a.status, a.body)
        for a in large:
            assert a.status in (200, 202), (a.status, a.body)
            checkout = a.body["checkout"]
            assert checkout["status"] == "pending_approval", checkout
            assert checkout.get("order_id") is None and not a.body.get("order"), a.body
            assert checkout["approval"]["status"] == "pending", checkout
            assert checkout["approval"]["amount"]["amount"] == a.amount
            pending_ids.add(checkout["approval"]["id"])
        debited = sum(a.amount for a in small)
        held = sum(a.amount for a in large)
        assert_books_balance(shop, agent, funded=funds, debited=debited, held=held)
        holds = ledger_rows(shop.store, agent.id, "hold")
        assert sorted(-h["amount"] for h in holds) == sorted(a.amount for a in large)
        assert sql(shop.store, f"SELECT COUNT(*) AS n FROM orders WHERE agent_id = '{agent.id}'")[0]["n"] == len(small)
    listed = shop.admin_ok("GET", "/approvals?status=pending")["approvals"]
    mine = {a["id"] for a in listed if a["agent_id"] in {ag.id for ag in agents}}
    assert mine == pending_ids


def test_a_purchase_exactly_at_the_approval_threshold_completes(shop):
    agent = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE)
    r = shop.buy(agent, 1)
    assert r.status_code == 200 and r.json()["checkout"]["status"] == "completed", r.text
    r = shop.buy(agent, 2)
    assert r.json()["checkout"]["status"] == "pending_approval", r.text


def test_the_per_transaction_limit_refuses_a_single_large_purchase_only(shop):
    agent = shop.buyer(funds=100_000, per_transaction=2 * GIFT_PRICE)
    for _ in range(3):
        assert shop.buy(agent, 2).status_code == 200
    error = assert_json_error(shop.buy(agent, 3), 403, code="spend_limit_exceeded", type_="permission_error")
    assert error["details"]["limit"] == "per_transaction"
    assert error["details"]["limit_amount"]["amount"] == 2 * GIFT_PRICE
    assert error["details"]["attempted"]["amount"] == 3 * GIFT_PRICE
    assert_books_balance(shop, agent, funded=100_000, debited=6 * GIFT_PRICE)


def test_the_tightest_of_several_limits_is_the_one_named(shop):
    agent = shop.buyer(funds=100_000, daily=10 * GIFT_PRICE, monthly=2 * GIFT_PRICE, all_time=50 * GIFT_PRICE)
    assert shop.buy(agent).status_code == 200
    assert shop.buy(agent).status_code == 200
    error = assert_json_error(shop.buy(agent), 403, code="spend_limit_exceeded", type_="permission_error")
    assert error["details"]["limit"] == "monthly", error


def test_blocked_and_not_allowed_categories_are_refused_with_403(shop):
    blocked = shop.buyer(funds=1_000_000, blocked_categories=["digital"])
    error = assert_json_error(shop.buy(blocked), 403, type_="permission_error")
    assert error["code"] == "category_blocked" and error["details"]["category"] == "digital", error
    only_tents = shop.buyer(funds=1_000_000, allowed_categories=["tents"])
    error = assert_json_error(shop.buy(only_tents), 403, type_="permission_error")
    assert error["code"] == "category_not_allowed" and error["details"]["category"] == "digital", error
    # an allowed category still buys (a tent ships: the total is what the checkout says)
    checkout = shop.create_checkout(only_tents, 1, product="ultralight-tarp-shelter", sku=None)
    r = shop.complete(only_tents, checkout["id"])
    assert r.status_code == 200, r.text
    assert_books_balance(shop, only_tents, funded=1_000_000, debited=checkout["totals"]["total"]["amount"])
    for agent in (blocked,):
        assert_books_balance(shop, agent, funded=1_000_000, debited=0)


def test_get_wallet_shows_the_balance_the_limits_and_what_remains_in_each_window(shop):
    agent = shop.buyer(funds=50_000, daily=20_000, weekly=30_000, monthly=40_000, all_time=45_000, per_transaction=10_000,
                       approval_threshold=9_000)
    assert shop.buy(agent, 2).status_code == 200
    r = shop.call(agent, "get_wallet", {})
    assert r.status_code == 200
    wallet = r.json()["wallet"]
    assert wallet["balance"] == {"amount": 45_000, "currency": "USD"}
    for window, limit in (("daily", 20_000), ("weekly", 30_000), ("monthly", 40_000), ("all_time", 45_000)):
        w = wallet["windows"][window]
        assert w["limit"]["amount"] == limit and w["spent"]["amount"] == 5_000 and w["remaining"]["amount"] == limit - 5_000, (window, w)
    assert wallet["windows"]["per_transaction"]["limit"]["amount"] == 10_000
    assert wallet["approval_threshold"]["amount"] == 9_000
    assert wallet["windows"]["daily"]["resets_at"].endswith("T00:00:00Z")
    assert wallet["windows"]["monthly"]["resets_at"][8:] == "01T00:00:00Z"


def test_a_sold_out_item_opens_an_incomplete_checkout_that_cannot_complete(shop):
    agent = shop.buyer(funds=1_000_000)
    r = shop.call(agent, "create_checkout", {"items": [{"product_id": "summit-4-season-tent", "quantity": 1}]}, key=new_key())
    assert r.status_code in (200, 201), r.text
    checkout = r.json()["checkout"]
    assert checkout["status"] == "incomplete", checkout
    assert any(m.get("code") == "out_of_stock" for m in checkout["messages"]), checkout["messages"]
    r = shop.complete(agent, checkout["id"])
    assert r.status_code == 409, r.text
    assert_books_balance(shop, agent, funded=1_000_000, debited=0)


def test_the_last_items_in_stock_go_to_exactly_as_many_concurrent_buyers_and_the_rest_get_out_of_stock(shop):
    product = "featherlite-1p-tent"
    stock = sql(shop.store, f"SELECT available FROM inventory WHERE sku = '{product}'")[0]["available"]
    assert stock > 0
    agents = [shop.buyer(funds=1_000_000) for _ in range(4)]
    plan = [(agents[i % 4], 1) for i in range(stock * 3)]

    def create(session, job):
        agent, quantity = job
        checkout = shop.create_checkout(agent, quantity, product=product, sku=None, session=session)
        return Attempt(agent, checkout["id"], checkout["totals"]["total"]["amount"])

    attempts = run_parallel(plan, create, connections=CONNECTIONS)

    def complete(session, attempt):
        r = shop.complete(attempt.agent, attempt.checkout_id, session=session)
        attempt.status, attempt.body = r.status_code, r.json()
        return attempt

    attempts = run_parallel(attempts, complete, connections=CONNECTIONS)
    wins = [a for a in attempts if a.status == 200]
    assert len(wins) == stock
    for a in attempts:
        if a.status != 200:
            assert a.status == 409 and a.body["error"]["code"] == "out_of_stock", (a.status, a.body)
            assert a.body["error"]["details"]["available"] == 0, a.body
    assert sql(shop.store, f"SELECT available FROM inventory WHERE sku = '{product}'")[0]["available"] == 0
    for agent in agents:
        debited = sum(a.amount for a in wins if a.agent.id == agent.id)
        assert_books_balance(shop, agent, funded=1_000_000, debited=debited)


def test_two_gateways_on_one_store_file_still_never_exceed_a_limit(shop):
    """A second gateway process on the same store: the limit check and the debit are atomic in
    the store, not only within one process."""
    second = launch(shop.store, extra=("--admin-token-file", str(shop.token_file), "--threads", "4"))
    try:
        other = Shop(server=second, admin_token=shop.admin_token, token_file=shop.token_file)
        agents = [shop.buyer(funds=10_000_000, daily=k * GIFT_PRICE + slack) for k, slack in WALLETS]
        plan = interleaved(agents)
        attempts = run_parallel(plan, lambda s, job: Attempt(job[0], shop.create_checkout(job[0], job[1], session=s)["id"],
                                                              GIFT_PRICE), connections=CONNECTIONS)
        away_from_utc_midnight()

        def complete(session, indexed):
            i, attempt = indexed
            r = (shop if i % 2 else other).complete(attempt.agent, attempt.checkout_id, session=session)
            attempt.status, attempt.body = r.status_code, r.json()
            return attempt

        attempts = run_parallel(list(enumerate(attempts)), complete, connections=CONNECTIONS)
        for agent, (k, slack) in zip(agents, WALLETS):
            assert len(completed(attempts, agent)) == k
            for refusal in (a for a in attempts if a.agent.id == agent.id and a.status != 200):
                assert refusal.status == 403 and refusal.body["error"]["details"]["limit"] == "daily", refusal.body
            assert_books_balance(shop, agent, funded=10_000_000, debited=k * GIFT_PRICE)
    finally:
        second.kill()


def test_refunds_credit_the_wallet_and_concurrent_refunds_never_exceed_the_order(shop):
    agent = shop.buyer(funds=100_000)
    order = shop.buy(agent, 2).json()["order"]
    partial = shop.call(agent, "request_refund", {"order_id": order["id"], "amount": 1000}, key=new_key())
    assert partial.status_code == 200 and partial.json()["order"]["refunded"]["amount"] == 1000, partial.text
    assert_json_error(shop.call(agent, "request_refund", {"order_id": order["id"], "amount": 4001}, key=new_key()), 400,
                      code="refund_too_large")
    # 16 connections each ask for the rest at once: exactly one is paid.
    results = run_parallel(range(16), lambda s, _: shop.call(agent, "request_refund", {"order_id": order["id"]},
                                                             key=new_key(), session=s), connections=16)
    assert sum(r.status_code == 200 for r in results) == 1, [(r.status_code, r.text[:120]) for r in results]
    refunds = ledger_rows(shop.store, agent.id, "refund")
    assert sorted(r["amount"] for r in refunds) == [1000, 4000]
    assert shop.wallet(agent)["balance"]["amount"] == 100_000 == ledger_sum(shop.store, agent.id)
    assert sql(shop.store, f"SELECT refunded FROM orders WHERE id = '{order['id']}'")[0]["refunded"] == 5000
    stranger = shop.buyer()
    r = shop.call(stranger, "request_refund", {"order_id": order["id"]}, key=new_key())
    assert r.status_code == 404, r.text


def window_start(window: str, now: dt.datetime) -> dt.datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "daily":
        return day
    if window == "weekly":
        return day - dt.timedelta(days=day.isoweekday() - 1)  # ISO week: Monday
    return day.replace(day=1)


@pytest.mark.parametrize("window", ["daily", "weekly", "monthly"])
def test_limit_windows_are_utc_calendar_periods(shop, window):
    """A debit one second before the window's UTC start no longer counts; one at the start does."""
    away_from_utc_midnight(60)
    now = dt.datetime.now(dt.timezone.utc)
    start = int(window_start(window, now).timestamp())
    agent = shop.buyer(funds=100_000, **{window: 3 * GIFT_PRICE})
    assert shop.buy(agent).status_code == 200
    debit = ledger_rows(shop.store, agent.id, "debit")[0]["id"]

    sql_exec(shop.store, f"UPDATE ledger SET at = {start - 1} WHERE id = {debit};")
    w = shop.wallet(agent)["windows"][window]
    assert w["spent"]["amount"] == 0 and w["remaining"]["amount"] == 3 * GIFT_PRICE, (window, w)
    assert shop.wallet(agent)["windows"]["all_time"]["spent"]["amount"] == GIFT_PRICE

    sql_exec(shop.store, f"UPDATE ledger SET at = {start} WHERE id = {debit};")
    w = shop.wallet(agent)["windows"][window]
    assert w["spent"]["amount"] == GIFT_PRICE, (window, w)

    ends = {"daily": window_start("daily", now) + dt.timedelta(days=1),
            "weekly": window_start("weekly", now) + dt.timedelta(days=7),
            "monthly": (window_start("monthly", now) + dt.timedelta(days=32)).replace(day=1)}
    assert w["resets_at"] == ends[window].strftime("%Y-%m-%dT%H:%M:%SZ"), (window, w)

    # The window's check uses the same arithmetic: three more purchases fit, a fourth does not.
    sql_exec(shop.store, f"UPDATE ledger SET at = {start - 1} WHERE id = {debit};")
    for _ in range(3):
        assert shop.buy(agent).status_code == 200
    error = assert_json_error(shop.buy(agent), 403, code="spend_limit_exceeded", type_="permission_error")
    assert error["details"]["limit"] == window and error["details"]["spent"]["amount"] == 3 * GIFT_PRICE, error
