"""Money checks at their exact boundaries, so an off-by-one mutant of any of them fails a test:
a balance equal to the total pays and one minor unit short is 402; a limit exactly reached passes
and exceeded by one minor unit is 403; a purchase at the approval threshold completes and one unit
above it waits for approval. (The concurrency tests leave wallets hundreds of units short; these
leave them one.)

Purchases are `$25 Gift Card`s: 2,500 minor units each, no shipping."""

from __future__ import annotations

import pytest

from shop import GIFT_PRICE, Shop, away_from_utc_midnight, start_shop


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("boundaries"), extra=("--threads", "4"))
    yield s
    s.server.kill()


def pay(shop: Shop, agent, quantity: int = 1):
    r = shop.buy(agent, quantity)
    return r.status_code, r.json()


def balance(shop: Shop, agent) -> int:
    return shop.wallet(agent)["balance"]["amount"]


def test_a_balance_exactly_equal_to_the_total_pays(shop):
    agent = shop.buyer(funds=GIFT_PRICE)
    status, body = pay(shop, agent)
    assert status == 200 and body["checkout"]["status"] == "completed", body
    assert balance(shop, agent) == 0


def test_one_minor_unit_short_is_402_with_one_unit_missing(shop):
    agent = shop.buyer(funds=GIFT_PRICE - 1)
    status, body = pay(shop, agent)
    assert status == 402, body
    assert body["error"]["code"] == "insufficient_funds"
    assert body["error"]["details"]["missing"]["amount"] == 1
    assert balance(shop, agent) == GIFT_PRICE - 1, "nothing was debited"


def test_short_by_one_after_earlier_purchases_is_402_too(shop):
    agent = shop.buyer(funds=3 * GIFT_PRICE - 1)
    assert pay(shop, agent)[0] == 200
    assert pay(shop, agent)[0] == 200
    status, body = pay(shop, agent)
    assert status == 402 and body["error"]["details"]["missing"]["amount"] == 1, body


WINDOWS = ["per_transaction", "daily", "weekly", "monthly", "all_time"]


@pytest.mark.parametrize("window", WINDOWS)
def test_a_limit_exactly_reached_passes(shop, window):
    away_from_utc_midnight()
    agent = shop.buyer(funds=100_000, **{window: 2 * GIFT_PRICE})
    status, body = pay(shop, agent, 2)
    assert status == 200 and body["checkout"]["status"] == "completed", body


@pytest.mark.parametrize("window", WINDOWS)
def test_a_limit_exceeded_by_one_minor_unit_is_refused(shop, window):
    away_from_utc_midnight()
    agent = shop.buyer(funds=100_000, **{window: 2 * GIFT_PRICE - 1})
    status, body = pay(shop, agent, 2)
    assert status == 403, body
    assert body["error"]["code"] == "spend_limit_exceeded" and body["error"]["param"] == window, body
    assert balance(shop, agent) == 100_000


@pytest.mark.parametrize("window", ["daily", "weekly", "monthly", "all_time"])
def test_a_window_filled_exactly_by_earlier_purchases_refuses_the_next_one(shop, window):
    away_from_utc_midnight()
    agent = shop.buyer(funds=100_000, **{window: 2 * GIFT_PRICE})
    assert pay(shop, agent)[0] == 200
    assert pay(shop, agent)[0] == 200, "the second purchase reaches the limit exactly"
    status, body = pay(shop, agent)
    assert status == 403 and body["error"]["param"] == window, body
    assert body["error"]["details"]["remaining"]["amount"] == 0


def test_a_purchase_at_the_approval_threshold_completes_and_one_unit_above_waits(shop):
    at = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE)
    status, body = pay(shop, at)
    assert status == 200 and body["checkout"]["status"] == "completed", body

    above = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE - 1)
    status, body = pay(shop, above)
    assert status in (200, 202) and body["checkout"]["status"] == "pending_approval", body
    assert body["order"] is None


def test_refusals_name_exact_amounts(shop):
    agent = shop.buyer(funds=100_000, daily=3 * GIFT_PRICE)
    assert pay(shop, agent)[0] == 200
    status, body = pay(shop, agent, 2)
    assert status == 200, ("2,500 + 5,000 is exactly the daily limit", body)
    status, body = pay(shop, agent)
    details = error_of_body(body)["details"]
    assert details["spent"]["amount"] == 3 * GIFT_PRICE and details["remaining"]["amount"] == 0, details


def error_of_body(body: dict) -> dict:
    assert "error" in body, body
    return body["error"]

