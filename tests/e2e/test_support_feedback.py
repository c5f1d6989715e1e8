"""After the purchase: executable support, feedback with published aggregate ratings, referrals.

- `report_issue` answers with a resolution or a ticket and `next_steps` an agent can call: every
  suggested step, called with exactly the arguments it came with, works. `get_support_options`
  says which order actions are available, and it is right about them.
- `leave_feedback` only for a product in one of the agent's own orders; once per order line,
  editable; the aggregate (mean to 2 decimals, count of order lines) — computed here from the
  ratings given — appears in the catalog, `get_product` and the product page's schema.org
  `AggregateRating` JSON-LD.
- `recommend` issues a referral code; another agent's order placed with it carries the code; the
  referrer's own order does not; an unknown code is refused.

Purchases are gift cards (digital) and the baseplate compass (one price, no variants)."""

from __future__ import annotations

import datetime as dt
import re
import statistics

import pytest

from shop import GIFT_PRICE, GIFT_PRODUCT, GIFT_SKU, Agent, Shop, new_key, sql_exec, start_shop
from support import assert_json_error, json_ld_blocks

COMPASS = "baseplate-compass"  # one price, no variants, shipped
CATEGORIES = ["damaged", "missing", "wrong_item", "late", "billing", "account", "other"]
ORDER_STATES = ["confirmed", "partially_refunded", "refunded", "canceled"]
TAGS = ["quality", "value", "fit", "as_described", "shipping", "durability", "easy_to_use", "support"]


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("after-sale"), extra=("--threads", "4"))
    yield s
    s.server.kill()


@pytest.fixture
def fresh_shop(binary, tmp_path):
    """A shop of the test's own: no ratings from other tests."""
    s = start_shop(tmp_path / "fresh", extra=("--threads", "4"))
    yield s
    s.server.kill()


# --- helpers -------------------------------------------------------------------------------------------


def ok(shop: Shop, agent: Agent | None, tool: str, body: dict) -> dict:
    r = shop.call(agent, tool, body)
    assert r.status_code == 200, (tool, body, r.status_code, r.text[:800])
    return r.json()


def order_of(shop: Shop, agent: Agent, items: list[dict], **extra) -> dict:
    r = shop.call(agent, "create_checkout", {"items": items, **extra}, key=new_key())
    assert r.status_code in (200, 201), r.text[:800]
    checkout = r.json()["checkout"]
    r = shop.complete(agent, checkout["id"])
    assert r.status_code == 200, r.text[:800]
    order = r.json()["order"]
    assert order and order["status"] == "confirmed", r.json()
    return order


def gift(quantity: int = 1) -> dict:
    return {"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": quantity}


def compass(quantity: int = 1) -> dict:
    return {"product_id": COMPASS, "quantity": quantity}


def order_in_state(shop: Shop, agent: Agent, state: str) -> dict:
    """A gift-card order (2 cards) brought into `state`."""
    order = order_of(shop, agent, [gift(2)])
    if state == "partially_refunded":
        ok(shop, agent, "request_refund", {"order_id": order["id"], "amount": 1000})
    elif state == "refunded":
        ok(shop, agent, "request_refund", {"order_id": order["id"]})
    elif state == "canceled":
        ok(shop, agent, "cancel_order", {"order_id": order["id"]})
    current = ok(shop, agent, "get_order", {"order_id": order["id"]})["order"]
    assert current["status"] == state, current
    return current


def tool_names(shop: Shop) -> set[str]:
    r = shop.http.get(shop.url("/tools"), timeout=30)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    tools = body["tools"] if isinstance(body, dict) else body
    return {t["name"] for t in tools}


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_support_answer(answer: dict, names: set[str]) -> None:
    assert re.fullmatch(r"tkt_[0-9a-f]+", answer["ticket_id"]), answer
    assert answer["status"] in ("resolved", "open"), answer
    assert isinstance(answer["resolution"], str) and len(answer["resolution"]) > 10, answer
    assert isinstance(answer["next_steps"], list), answer
    for step in answer["next_steps"]:
        assert step["action"] in names, f"the next step {step['action']!r} is not an action of this store"
        assert isinstance(step["description"], str) and step["description"], step
        assert isinstance(step.get("arguments", {}), dict), step
    if answer["status"] == "open":
        due = parse_time(answer["response_due_by"])
        now = dt.datetime.now(dt.timezone.utc)
        assert now < due <= now + dt.timedelta(days=7), answer


def rating_of(shop: Shop, product_id: str) -> dict | None:
    r = shop.http.get(shop.url(f"/catalog/{product_id}"), timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json().get("rating")


def summary_rating(shop: Shop, product_id: str, query: str) -> dict | None:
    r = shop.http.get(shop.url("/catalog"), params={"q": query, "limit": 50}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    found = [p for p in r.json()["products"] if p["id"] == product_id]
    assert found, f"{product_id} is not among the results for {query!r}"
    return found[0].get("rating")


def product_json_ld(shop: Shop, product_id: str) -> dict:
    r = shop.http.get(shop.url(f"/products/{product_id}"), headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), r.status_code
    products = [b for b in json_ld_blocks(r.text) if isinstance(b, dict) and b.get("@type") == "Product"]
    assert len(products) == 1, json_ld_blocks(r.text)
    return products[0]


def expected_rating(ratings: list[int]) -> dict:
    return {"average": round(statistics.mean(ratings), 2), "count": len(ratings)}


# --- support: every suggested step works -----------------------------------------------------------------


@pytest.mark.parametrize("category", ["damaged", "missing", "wrong_item"])
def test_damaged_missing_or_wrong_item_within_the_window_resolves_with_a_refund_step_that_works(shop, category):
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    order = order_of(shop, agent, [gift(2)])
    balance_before = shop.wallet(agent)["balance"]["amount"]

    answer = ok(shop, agent, "report_issue", {"order_id": order["id"], "category": category, "description": "The card code does not work"})
    assert_support_answer(answer, tool_names(shop))
    assert answer["status"] == "resolved", answer
    assert "response_due_by" not in answer
    [step] = [s for s in answer["next_steps"] if s["action"] == "request_refund"]
    assert step["arguments"]["order_id"] == order["id"]

    result = ok(shop, agent, step["action"], step["arguments"])  # exactly what was suggested
    assert result["order"]["status"] == "refunded", result
    assert result["refund"]["amount"] == order["totals"]["total"]["amount"]
    assert shop.wallet(agent)["balance"]["amount"] == balance_before + order["totals"]["total"]["amount"]

    inbox = ok(shop, agent, "get_inbox", {})["events"]
    tickets = [e for e in inbox if e["type"] == "support.ticket"]
    assert [t["data"]["ticket_id"] for t in tickets] == [answer["ticket_id"]]
    assert tickets[0]["data"]["status"] == "resolved"
    assert inbox[-1]["type"] == "order.refunded"


def test_late_confirmed_order_resolves_with_a_cancel_step_that_works(shop):
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    order = order_of(shop, agent, [gift(1), compass(1)])
    answer = ok(shop, agent, "report_issue", {"order_id": order["id"], "category": "late", "description": "Still not delivered after a day"})
    assert_support_answer(answer, tool_names(shop))
    assert answer["status"] == "resolved", answer
    [cancel] = [s for s in answer["next_steps"] if s["action"] == "cancel_order"]
    result = ok(shop, agent, "cancel_order", cancel["arguments"])
    assert result["order"]["status"] == "canceled"
    assert result["refund"]["amount"] == order["totals"]["total"]["amount"]
    for step in answer["next_steps"]:
        if step["action"] != "cancel_order":
            ok(shop, agent, step["action"], step.get("arguments", {}))


@pytest.mark.parametrize("category", ["billing", "account", "other"])
def test_problems_that_need_a_person_open_a_ticket_with_a_due_time_and_steps_that_work(shop, category):
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    order = order_of(shop, agent, [gift(1)])
    options = ok(shop, agent, "get_support_options", {})
    for body in ({"order_id": order["id"]}, {}):
        answer = ok(shop, agent, "report_issue", {**body, "category": category, "description": "Something is not right here"})
        assert_support_answer(answer, tool_names(shop))
        assert answer["status"] == "open", answer
        assert answer["ticket_id"] in answer["resolution"]
        due = parse_time(answer["response_due_by"])
        hours = options["first_response_hours"]
        expected = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=hours)
        assert abs((due - expected).total_seconds()) < 120, (answer, hours)
        for step in answer["next_steps"]:
            ok(shop, agent, step["action"], step.get("arguments", {}))


@pytest.mark.parametrize("state", ORDER_STATES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_suggested_next_step_works_when_called_with_its_arguments(shop, category, state):
    """Whatever the problem and whatever the order's state, the answer never suggests a call that
    would fail."""
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    order = order_in_state(shop, agent, state)
    answer = ok(shop, agent, "report_issue", {"order_id": order["id"], "category": category, "description": f"{category} problem here"})
    assert_support_answer(answer, tool_names(shop))
    for step in answer["next_steps"]:
        r = shop.call(agent, step["action"], step.get("arguments", {}), key=new_key())
        assert r.status_code == 200, (
            f"report_issue({category}) on a {state} order suggested {step['action']}({step.get('arguments', {})}), "
            f"which answers {r.status_code}: {r.text[:400]}")


@pytest.mark.parametrize("state", ORDER_STATES)
def test_support_options_say_truthfully_whether_cancel_and_refund_are_available(shop, state):
    agent = shop.buyer(funds=20 * GIFT_PRICE)
    first, second = order_in_state(shop, agent, state), order_in_state(shop, agent, state)
    options = ok(shop, agent, "get_support_options", {"order_id": first["id"]})
    available = {a["action"]: a.get("available") for a in options["actions"]}
    assert available["report_issue"] is True and available["get_order"] is True
    for action, order in (("cancel_order", first), ("request_refund", second)):
        assert isinstance(available[action], bool), options
        r = shop.call(agent, action, {"order_id": order["id"]}, key=new_key())
        assert (r.status_code == 200) == available[action], (
            f"{action} on a {state} order: get_support_options said available={available[action]}, the call answered "
            f"{r.status_code} {r.text[:300]}")


def test_after_the_refund_window_a_damaged_item_opens_a_ticket_instead_of_suggesting_a_refund(shop):
    """The order is moved 31 days into the past (the refund window is 30 days) in the store file."""
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    order = order_of(shop, agent, [gift(1)])
    sql_exec(shop.store, f"UPDATE orders SET created_at = created_at - 31 * 86400 WHERE id = '{order['id']}';")
    answer = ok(shop, agent, "report_issue", {"order_id": order["id"], "category": "damaged", "description": "cracked screen"})
    assert_support_answer(answer, tool_names(shop))
    assert answer["status"] == "open", answer
    assert "request_refund" not in [step["action"] for step in answer["next_steps"]], answer
    for step in answer["next_steps"]:
        ok(shop, agent, step["action"], step.get("arguments", {}))
    options = ok(shop, agent, "get_support_options", {"order_id": order["id"]})
    assert {a["action"]: a.get("available") for a in options["actions"]}["request_refund"] is False
    assert_json_error(shop.call(agent, "request_refund", {"order_id": order["id"]}, key=new_key()), 409, code="refund_window_closed")


def test_support_options_list_channels_hours_and_response_time(shop):
    options = ok(shop, None, "get_support_options", {})
    assert options["channels"] and all("type" in c for c in options["channels"]), options
    assert isinstance(options["hours"], str) and options["hours"]
    assert isinstance(options["first_response_hours"], int) and options["first_response_hours"] > 0
    names = tool_names(shop)
    for action in options["actions"]:
        assert action["action"] in names and action["when"], action
    # Without an identity the agent is told it cannot report yet.
    assert {a["action"]: a.get("available") for a in options["actions"]}["report_issue"] is False


def test_support_for_someone_elses_or_an_unknown_order_is_404(shop):
    owner, other = shop.buyer(funds=10 * GIFT_PRICE), shop.buyer(funds=10 * GIFT_PRICE)
    order = order_of(shop, owner, [gift(1)])
    for agent, order_id in ((other, order["id"]), (owner, "ord_does_not_exist")):
        assert_json_error(shop.call(agent, "report_issue", {"order_id": order_id, "category": "damaged", "description": "broken on arrival"}),
                          404, param="/order_id")
        assert_json_error(shop.call(agent, "get_support_options", {"order_id": order_id}), 404, param="/order_id")
    assert [e["type"] for e in ok(shop, other, "get_inbox", {})["events"]] == ["wallet.funded"]
    assert ok(shop, owner, "get_order", {"order_id": order["id"]})["order"]["status"] == "confirmed"


def test_report_issue_checks_its_arguments_and_needs_an_identity(shop):
    agent = shop.buyer(funds=GIFT_PRICE)
    assert_json_error(shop.call(agent, "report_issue", {"category": "melted", "description": "it melted away"}), 400, param="/category")
    assert_json_error(shop.call(agent, "report_issue", {"category": "other", "description": "bad"}), 400, param="/description")
    assert_json_error(shop.call(agent, "report_issue", {"category": "other"}), 400)
    assert_json_error(shop.call(None, "report_issue", {"category": "other", "description": "who am I?"}), 401, type_="authentication_error")


# --- feedback: only after a purchase, once per line, editable ------------------------------------------------


def test_feedback_is_only_for_products_in_the_agents_own_orders(fresh_shop):
    shop = fresh_shop
    buyer, stranger = shop.buyer(funds=10 * GIFT_PRICE), shop.buyer(funds=10 * GIFT_PRICE)
    order = order_of(shop, buyer, [gift(1)])

    # A product that is not in the order.
    error = assert_json_error(
        shop.call(buyer, "leave_feedback", {"order_id": order["id"], "product_id": COMPASS, "rating": 5}),
        403, code="not_purchased", type_="permission_error", param="/product_id")
    assert COMPASS in error["message"]
    # Someone else's order, an unknown order.
    assert_json_error(shop.call(stranger, "leave_feedback", {"order_id": order["id"], "product_id": GIFT_PRODUCT, "rating": 1}),
                      404, param="/order_id")
    assert_json_error(shop.call(stranger, "leave_feedback", {"order_id": "ord_nope", "product_id": GIFT_PRODUCT, "rating": 1}),
                      404, param="/order_id")
    # No identity.
    assert_json_error(shop.call(None, "leave_feedback", {"order_id": order["id"], "product_id": GIFT_PRODUCT, "rating": 1}),
                      401, type_="authentication_error")
    # None of these counted.
    assert rating_of(shop, COMPASS) is None and rating_of(shop, GIFT_PRODUCT) is None
    assert "aggregateRating" not in product_json_ld(shop, GIFT_PRODUCT)

    # The buyer can rate what it bought.
    result = ok(shop, buyer, "leave_feedback", {"order_id": order["id"], "product_id": GIFT_PRODUCT, "rating": 4, "tags": ["value"]})
    assert result["edited"] is False
    assert result["product_rating"] == {"average": 4, "count": 1}


@pytest.mark.parametrize("body, pointer", [
    ({"rating": 0}, "/rating"),
    ({"rating": 6}, "/rating"),
    ({"rating": 3.5}, "/rating"),
    ({"rating": "5"}, "/rating"),
    ({"rating": 4, "tags": ["cheap"]}, "/tags/0"),
    ({"rating": 4, "tags": ["value", "value"]}, "/tags"),
    ({"rating": 4, "text": "x" * 2001}, "/text"),
    ({}, None),
])
def test_feedback_arguments_out_of_range_are_400(shop, body, pointer):
    agent = shop.buyer(funds=GIFT_PRICE)
    order = order_of(shop, agent, [gift(1)])
    r = shop.call(agent, "leave_feedback", {"order_id": order["id"], "product_id": GIFT_PRODUCT, **body})
    assert_json_error(r, 400)
    if pointer:
        assert pointer in r.text, r.text[:500]


def test_feedback_is_once_per_order_line_and_a_second_call_edits_it(fresh_shop):
    shop = fresh_shop
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    order = order_of(shop, agent, [gift(1), compass(1)])   # two lines

    first = ok(shop, agent, "leave_feedback", {"order_id": order["id"], "product_id": COMPASS, "rating": 2,
                                               "tags": ["quality", "durability"], "text": "Needle was sluggish."})
    assert first["edited"] is False
    assert first["feedback"]["rating"] == 2 and first["feedback"]["tags"] == ["quality", "durability"]
    assert first["product_rating"] == {"average": 2, "count": 1}

    edited = ok(shop, agent, "leave_feedback", {"order_id": order["id"], "product_id": COMPASS, "rating": 5,
                                                "tags": ["as_described"], "text": "An update fixed it."})
    assert edited["edited"] is True
    assert edited["feedback"]["rating"] == 5 and edited["feedback"]["tags"] == ["as_described"]
    assert edited["feedback"]["text"] == "An update fixed it."
    assert edited["feedback"]["created_at"] == first["feedback"]["created_at"]
    assert edited["product_rating"] == {"average": 5, "count": 1}, "the edit replaces the rating, it does not add one"

    # The other line of the same order is rated separately.
    other_line = ok(shop, agent, "leave_feedback", {"order_id": order["id"], "product_id": GIFT_PRODUCT, "rating": 3,
                                                    "tags": TAGS})
    assert other_line["edited"] is False and other_line["product_rating"] == {"average": 3, "count": 1}
    assert rating_of(shop, COMPASS) == {"average": 5, "count": 1}
    assert rating_of(shop, GIFT_PRODUCT) == {"average": 3, "count": 1}


def test_aggregate_ratings_over_several_agents_are_published_in_catalog_get_product_and_json_ld(fresh_shop):
    shop = fresh_shop
    agents = [shop.buyer(funds=10 * GIFT_PRICE) for _ in range(5)]
    # (agent index, rating): agent 0 bought twice, so it rates two order lines.
    plan = [(0, 5), (1, 4), (2, 4), (3, 2), (4, 5), (0, 3)]
    ratings: list[int] = []
    lines = []
    for index, rating in plan:
        agent = agents[index]
        order = order_of(shop, agent, [compass(1)])
        result = ok(shop, agent, "leave_feedback", {"order_id": order["id"], "product_id": COMPASS, "rating": rating, "tags": ["value"]})
        ratings.append(rating)
        lines.append((agent, order["id"]))
        assert result["product_rating"] == expected_rating(ratings), (ratings, result)

    # Agent 1 changes its mind: 4 -> 1.
    agent, order_id = lines[1]
    ratings[1] = 1
    result = ok(shop, agent, "leave_feedback", {"order_id": order_id, "product_id": COMPASS, "rating": 1})
    assert result["edited"] is True
    expected = expected_rating(ratings)           # mean of [5, 1, 4, 2, 5, 3] = 3.33, 6 lines
    assert expected == {"average": 3.33, "count": 6}
    assert result["product_rating"] == expected

    # Everywhere the product is described.
    assert rating_of(shop, COMPASS) == expected
    assert summary_rating(shop, COMPASS, "compass") == expected
    assert ok(shop, agents[0], "get_product", {"id": COMPASS})["product"]["rating"] == expected
    ld = product_json_ld(shop, COMPASS)
    aggregate = ld["aggregateRating"]
    assert aggregate["@type"] == "AggregateRating"
    assert float(aggregate["ratingValue"]) == pytest.approx(expected["average"])
    assert int(aggregate["reviewCount"]) == 6
    assert float(aggregate["bestRating"]) == 5 and float(aggregate["worstRating"]) == 1
    assert float(aggregate["worstRating"]) <= float(aggregate["ratingValue"]) <= float(aggregate["bestRating"])

    # A product nobody rated has no rating anywhere.
    assert rating_of(shop, GIFT_PRODUCT) is None
    assert "aggregateRating" not in product_json_ld(shop, GIFT_PRODUCT)


def test_product_page_json_ld_with_a_rating_is_valid_schema_org(fresh_shop):
    shop = fresh_shop
    for rating in (5, 4):
        agent = shop.buyer(funds=10 * GIFT_PRICE)
        order = order_of(shop, agent, [gift(1)])
        ok(shop, agent, "leave_feedback", {"order_id": order["id"], "product_id": GIFT_PRODUCT, "rating": rating})
    r = shop.http.get(shop.url(f"/products/{GIFT_PRODUCT}"), headers={"Accept": "text/html"}, timeout=30)
    blocks = json_ld_blocks(r.text)  # raises if a block is not JSON
    [product] = [b for b in blocks if b.get("@type") == "Product"]
    assert product["@context"] in ("https://schema.org", "https://schema.org/", "http://schema.org")
    aggregate = product["aggregateRating"]
    assert set(aggregate) >= {"@type", "ratingValue", "reviewCount", "bestRating", "worstRating"}, aggregate
    assert aggregate["@type"] == "AggregateRating"
    assert isinstance(aggregate["ratingValue"], (int, float, str)) and float(aggregate["ratingValue"]) == 4.5
    assert isinstance(aggregate["reviewCount"], int) and aggregate["reviewCount"] == 2
    assert aggregate["bestRating"] == 5 and aggregate["worstRating"] == 1
    # The aggregate is about this product: no item of its own, or this very product.
    assert aggregate.get("itemReviewed", {"@id": product.get("@id")}).get("@id") == product.get("@id")


def test_a_new_rating_changes_the_etag_so_cached_copies_are_refreshed(fresh_shop):
    shop = fresh_shop
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    order = order_of(shop, agent, [compass(1)])
    pages = [(f"/catalog/{COMPASS}", {}), (f"/products/{COMPASS}", {"Accept": "text/html"}), ("/catalog?q=compass", {})]
    etags = {}
    for path, headers in pages:
        r = shop.http.get(shop.url(path), headers=headers, timeout=30)
        assert r.status_code == 200 and r.headers.get("ETag"), (path, r.headers)
        etags[path] = r.headers["ETag"]
    ok(shop, agent, "leave_feedback", {"order_id": order["id"], "product_id": COMPASS, "rating": 3})
    for path, headers in pages:
        r = shop.http.get(shop.url(path), headers={**headers, "If-None-Match": etags[path]}, timeout=30)
        assert r.status_code == 200, f"{path} answered {r.status_code} to the ETag from before the rating"
        assert r.headers["ETag"] != etags[path]


# --- referrals ---------------------------------------------------------------------------------------------------


def test_an_order_placed_with_a_referral_code_is_attributed_to_it(shop):
    referrer, friend = shop.buyer(funds=10 * GIFT_PRICE), shop.buyer(funds=10 * GIFT_PRICE)
    rec = ok(shop, referrer, "recommend", {"product_id": COMPASS})
    code = rec["referral_code"]
    assert rec["product_id"] == COMPASS
    assert re.fullmatch(r"[A-Za-z0-9_-]{6,64}", code), code
    assert rec["url"].startswith(shop.base_url + f"/products/{COMPASS}") and code in rec["url"], rec
    assert shop.http.get(rec["url"], headers={"Accept": "text/html"}, timeout=30).status_code == 200
    # Asking again gives the same code.
    assert ok(shop, referrer, "recommend", {"product_id": COMPASS})["referral_code"] == code

    order = order_of(shop, friend, [compass(1)], referral_code=code)
    assert order["referral_code"] == code
    assert ok(shop, friend, "get_order", {"order_id": order["id"]})["order"]["referral_code"] == code
    listed = [o for o in ok(shop, friend, "list_orders", {})["orders"] if o["id"] == order["id"]]
    assert listed and listed[0]["referral_code"] == code
    # An order without a code carries none.
    assert order_of(shop, friend, [compass(1)])["referral_code"] is None


def test_an_agent_does_not_earn_a_referral_on_its_own_purchase(shop):
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    code = ok(shop, agent, "recommend", {"product_id": COMPASS})["referral_code"]
    order = order_of(shop, agent, [compass(1)], referral_code=code)
    assert order["referral_code"] is None


def test_referral_codes_are_per_agent_and_product(shop):
    a, b = shop.register(), shop.register()
    codes = {ok(shop, agent, "recommend", {"product_id": product})["referral_code"]
             for agent in (a, b) for product in (COMPASS, GIFT_PRODUCT)}
    assert len(codes) == 4, codes


def test_an_unknown_referral_code_is_400_and_creates_nothing(shop):
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    r = shop.call(agent, "create_checkout", {"items": [compass(1)], "referral_code": "ref_nonexistent"}, key=new_key())
    assert_json_error(r, 400, code="unknown_referral_code", param="/referral_code")
    assert ok(shop, agent, "list_orders", {})["orders"] == []


def test_recommend_needs_a_known_product_and_an_identity(shop):
    agent = shop.register()
    assert_json_error(shop.call(agent, "recommend", {"product_id": "no-such-product"}), 404, param="/product_id")
    assert_json_error(shop.call(None, "recommend", {"product_id": COMPASS}), 401, type_="authentication_error")
