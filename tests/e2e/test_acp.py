"""ACP (release 2026-04-17), the seller side, judged by ACP's own JSON Schemas (copied with their
licence into fixtures/acp):

- `/.well-known/acp.json` passes `DiscoveryResponse` and names only what is served (checkout,
  delegate_payment);
- the checkout session REST API: create (201) → update (shipping) → delegate_payment (201, an
  allowance from the agent's wallet for this session) → complete with the allowance's token →
  `completed` with the order; every request body sent is valid against ACP's request schema and
  every answer against its response schema (`CheckoutSession`, `CheckoutSessionWithOrder`,
  `DelegatePaymentResponse`, `Error`);
- the headers ACP requires: API-Version, Idempotency-Key (replay, 422 on another body), Timestamp;
- the allowance holds: another session, more than max_amount, expired, spent — each refused;
- the product feed (`/feeds/acp/products.jsonl`): every line an ACP feed `Product`, with live
  stock, and every variant id one `/checkout_sessions` takes;
- concurrency: parallel completes never spend more than the allowances and the wallet's limits
  allow together, and one allowance pays once.
"""
from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shop import GIFT_PRICE, GIFT_SKU, ledger_sum, run_parallel, sql, start_shop

VERSION = "2026-04-17"
FIXTURES = Path(__file__).parent / "fixtures" / "acp"
CHECKOUT = json.loads((FIXTURES / "schema.agentic_checkout.json").read_text())
DELEGATE = json.loads((FIXTURES / "schema.delegate_payment.json").read_text())
FEED = json.loads((FIXTURES / "schema.feed.json").read_text())
REGISTRY = Registry().with_resources(
    (d["$id"], Resource.from_contents(d, default_specification=DRAFT202012)) for d in (CHECKOUT, DELEGATE, FEED))


def problems(bundle: dict, definition: str, instance) -> list[str]:
    validator = Draft202012Validator({"$ref": f"{bundle['$id']}#/$defs/{definition}"}, registry=REGISTRY,
                                     format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(instance)]


def valid(bundle: dict, definition: str, instance) -> dict:
    found = problems(bundle, definition, instance)
    assert not found, (definition, found, json.dumps(instance)[:1500])
    return instance


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("acp"))
    yield s
    s.server.kill()


def headers(agent=None, key: str | None = None, **extra) -> dict:
    out = {"API-Version": VERSION, "Idempotency-Key": key or str(uuid.uuid4()), "Content-Type": "application/json"}
    if agent:
        out.update(agent.auth)
    out.update(extra)
    return out


def post(shop, path: str, body: dict, agent=None, *, key: str | None = None, request_schema: str | None = None,
         **extra) -> requests.Response:
    if request_schema:
        bundle = DELEGATE if request_schema.startswith("Delegate") else CHECKOUT
        valid(bundle, request_schema, body)
    return requests.post(shop.url(path), data=json.dumps(body), headers=headers(agent, key, **extra), timeout=10)


def create_session(shop, agent, quantity: int = 1) -> dict:
    body = {"line_items": [{"id": GIFT_SKU}] * quantity, "currency": "usd", "capabilities": {}}
    r = post(shop, "/checkout_sessions", body, agent, request_schema="CheckoutSessionCreateRequest")
    assert r.status_code == 201, r.text
    return valid(CHECKOUT, "CheckoutSession", r.json())


def delegate(shop, agent, session: dict, max_amount: int, *, expires_in: int = 900, merchant: str | None = None) -> requests.Response:
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=expires_in)).isoformat().replace("+00:00", "Z")
    store_id = merchant or requests.get(shop.url("/.well-known/capabilities.json"), timeout=10).json()["store"]["id"]
    body = {
        "payment_method": {"type": "card", "card_number_type": "network_token", "number": f"wallet:{agent.id}",
                           "display_card_funding_type": "prepaid", "virtual": True, "metadata": {"source": "wallet"}},
        "allowance": {"reason": "one_time", "max_amount": max_amount, "currency": "usd", "checkout_session_id": session["id"],
                      "merchant_id": store_id, "expires_at": expires},
        "risk_signals": [],
        "metadata": {"platform": "e2e"},
    }
    return post(shop, "/agentic_commerce/delegate_payment", body, agent, request_schema="DelegatePaymentRequest")


def pay(shop, agent, session: dict, token: str, key: str | None = None) -> requests.Response:
    body = {"payment_data": {"handler_id": "wallet", "instrument": {"type": "wallet", "credential": {"type": "spt", "token": token}}}}
    return post(shop, f"/checkout_sessions/{session['id']}/complete", body, agent, key=key,
                request_schema="CheckoutSessionCompleteRequest")


def test_the_discovery_document_passes_acps_schema_and_names_what_is_served(shop):
    r = requests.get(shop.url("/.well-known/acp.json"), timeout=10)
    doc = valid(CHECKOUT, "DiscoveryResponse", r.json())
    assert doc["capabilities"]["services"] == ["checkout", "delegate_payment"]
    assert doc["api_base_url"] == shop.base_url and doc["protocol"]["version"] == VERSION
    assert "public" in r.headers["Cache-Control"]


def test_an_acp_purchase_from_session_to_order_with_a_delegated_allowance(shop):
    agent = shop.buyer(funds=100_000)
    session = create_session(shop, agent, quantity=2)
    assert session["status"] == "ready_for_payment"
    assert session["line_items"][0]["quantity"] == 2 and session["currency"] == "usd"
    handler = session["capabilities"]["payment"]["handlers"][0]
    assert handler["id"] == "wallet" and handler["requires_delegate_payment"] is True
    total = next(t["amount"] for t in session["totals"] if t["type"] == "total")
    assert total == 2 * GIFT_PRICE
    got = requests.get(shop.url(f"/checkout_sessions/{session['id']}"), headers=headers(agent), timeout=10)
    assert valid(CHECKOUT, "CheckoutSession", got.json())["id"] == session["id"]
    r = delegate(shop, agent, session, max_amount=total)
    assert r.status_code == 201, r.text
    token = valid(DELEGATE, "DelegatePaymentResponse", r.json())["id"]
    key = str(uuid.uuid4())
    r = pay(shop, agent, session, token, key)
    assert r.status_code == 200, r.text
    done = valid(CHECKOUT, "CheckoutSessionWithOrder", r.json())
    assert done["status"] == "completed" and done["order"]["checkout_session_id"] == session["id"]
    replay = pay(shop, agent, session, token, key)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["order"]["id"] == done["order"]["id"]
    assert ledger_sum(shop.store, agent.id) == 100_000 - total
    # Canceling a completed session is 405, as ACP says.
    r = post(shop, f"/checkout_sessions/{session['id']}/cancel", {}, agent)
    assert r.status_code == 405, r.text
    valid(CHECKOUT, "Error", r.json())


def test_a_session_on_physical_goods_offers_and_takes_a_shipping_option(shop):
    agent = shop.buyer(funds=100_000)
    body = {"line_items": [{"id": "micro-canister-stove"}], "currency": "usd", "capabilities": {}}
    session = valid(CHECKOUT, "CheckoutSession", post(shop, "/checkout_sessions", body, agent).json())
    assert {o["id"] for o in session["fulfillment_options"]} >= {"standard", "expedited"}
    update = {"selected_fulfillment_options": [{"type": "shipping", "option_id": "expedited", "item_ids": ["li_1"]}]}
    r = post(shop, f"/checkout_sessions/{session['id']}", update, agent, request_schema="CheckoutSessionUpdateRequest")
    updated = valid(CHECKOUT, "CheckoutSession", r.json())
    assert updated["selected_fulfillment_options"][0]["option_id"] == "expedited"
    assert next(t["amount"] for t in updated["totals"] if t["type"] == "fulfillment") == 1895


@pytest.mark.parametrize("change,code,status", [
    ({"API-Version": None}, "missing_api_version", 400),
    ({"API-Version": "2026-01-16"}, "unsupported_api_version", 400),
    ({"Idempotency-Key": None}, "idempotency_key_required", 400),
    ({"Idempotency-Key": "k" * 256}, "invalid_idempotency_key", 400),
    ({"Timestamp": "yesterday"}, "invalid_timestamp", 400),
    ({"Authorization": None}, "unauthorized", 401),
    ({"Authorization": "Bearer sk_agent_forged"}, "unauthorized", 401),
])
def test_the_headers_acp_requires_are_checked(shop, change, code, status):
    agent = shop.buyer(funds=0)
    sent = headers(agent)
    for name, value in change.items():
        if value is None:
            sent.pop(name, None)
        else:
            sent[name] = value
    body = {"line_items": [{"id": GIFT_SKU}], "currency": "usd", "capabilities": {}}
    r = requests.post(shop.url("/checkout_sessions"), data=json.dumps(body), headers=sent, timeout=10)
    assert r.status_code == status and r.json()["code"] == code, r.text
    valid(CHECKOUT, "Error", r.json())


def test_the_same_idempotency_key_with_another_body_is_422(shop):
    agent = shop.buyer(funds=0)
    key = str(uuid.uuid4())
    first = post(shop, "/checkout_sessions", {"line_items": [{"id": GIFT_SKU}], "currency": "usd", "capabilities": {}}, agent, key=key)
    assert first.status_code == 201
    again = post(shop, "/checkout_sessions", {"line_items": [{"id": GIFT_SKU}] * 2, "currency": "usd", "capabilities": {}}, agent,
                 key=key)
    assert again.status_code == 422 and again.json()["code"] == "idempotency_conflict", again.text
    valid(CHECKOUT, "Error", again.json())


def test_the_allowance_bounds_the_purchase(shop):
    agent = shop.buyer(funds=100_000)
    session = create_session(shop, agent, quantity=2)
    other = create_session(shop, agent)
    # Too little allowed.
    small = delegate(shop, agent, session, max_amount=GIFT_PRICE).json()["id"]
    r = pay(shop, agent, session, small)
    assert r.status_code == 403 and r.json()["code"] == "allowance_exceeded", r.text
    valid(CHECKOUT, "Error", r.json())
    # An allowance for another session.
    r = pay(shop, agent, other, delegate(shop, agent, session, max_amount=10 * GIFT_PRICE).json()["id"])
    assert r.status_code == 400 and r.json()["code"] == "payment_token_mismatch", r.text
    # Unknown, or someone else's.
    stranger = shop.buyer(funds=100_000)
    theirs = create_session(shop, stranger)
    r = pay(shop, stranger, theirs, small)
    assert r.status_code == 400 and r.json()["code"] == "invalid_payment_token", r.text
    # Spent allowances pay once.
    token = delegate(shop, agent, other, max_amount=GIFT_PRICE).json()["id"]
    assert pay(shop, agent, other, token).status_code == 200
    assert ledger_sum(shop.store, agent.id) == 100_000 - GIFT_PRICE


@pytest.mark.parametrize("change,param", [
    ({"number": "wallet:agt_someone_else"}, "payment_method"),
    ({"merchant_id": "another-store"}, "merchant_id"),
    ({"expires_in": -60}, "expires_at"),
    ({"expires_in": 60 * 86400}, "expires_at"),
])
def test_a_delegation_the_wallet_cannot_give_is_refused(shop, change, param):
    agent = shop.buyer(funds=100_000)
    session = create_session(shop, agent)
    if "number" in change:
        expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
        body = {"payment_method": {"type": "card", "card_number_type": "network_token", "number": change["number"],
                                   "display_card_funding_type": "prepaid", "metadata": {}},
                "allowance": {"reason": "one_time", "max_amount": 100, "currency": "usd", "checkout_session_id": session["id"],
                              "merchant_id": "x", "expires_at": expires}, "risk_signals": [], "metadata": {}}
        r = post(shop, "/agentic_commerce/delegate_payment", body, agent)
    else:
        r = delegate(shop, agent, session, 1000, expires_in=change.get("expires_in", 900), merchant=change.get("merchant_id"))
    assert r.status_code == 400, r.text
    error = valid(DELEGATE, "Error", r.json())
    assert error["code"] == "invalid_card" and param in error["message"] + error.get("param", ""), error


def test_parallel_completes_never_spend_more_than_allowances_and_limits_allow(shop):
    # Eight sessions, each with an allowance for itself; the wallet's daily limit allows three.
    agent = shop.buyer(funds=100_000, daily=3 * GIFT_PRICE)
    sessions = [create_session(shop, agent) for _ in range(8)]
    tokens = [delegate(shop, agent, s, max_amount=GIFT_PRICE).json()["id"] for s in sessions]
    jobs = list(zip(sessions, tokens)) * 2  # every session twice, with different idempotency keys
    results = run_parallel(jobs, lambda _session, job: pay(shop, agent, job[0], job[1]), connections=16)
    paid = [r for r in results if r.status_code == 200]
    # A session paid already answers with its order again: three orders, however many 200s.
    orders = {r.json()["order"]["id"] for r in paid}
    assert len(orders) == 3 and len({r.json()["id"] for r in paid}) == 3, [(r.status_code, r.text[:120]) for r in results]
    for r in results:
        if r.status_code != 200:
            valid(CHECKOUT, "Error", r.json())
            assert r.json()["code"] in {"spend_limit_exceeded", "payment_token_used", "invalid_state"}, r.text
    assert ledger_sum(shop.store, agent.id) == 100_000 - 3 * GIFT_PRICE
    spent = sql(shop.store, f"SELECT count(*) AS n FROM delegated_allowances WHERE agent_id = '{agent.id}' AND used_at IS NOT NULL")
    assert spent[0]["n"] == 3


def test_the_product_feed_is_acps_with_live_stock_and_checkout_ids(shop, catalog_manifest):
    r = requests.get(shop.url("/feeds/acp/products.jsonl"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/jsonl")
    products = [valid(FEED, "Product", json.loads(line)) for line in r.text.splitlines()]
    assert len(products) == len(catalog_manifest["products"])
    valid(FEED, "FeedMetadata", requests.get(shop.url("/feeds/acp/metadata.json"), timeout=10).json())
    variants = {v["id"]: v for p in products for v in p["variants"]}
    assert variants["summit-4-season-tent"]["availability"] == {"available": False, "status": "out_of_stock"}
    tent = variants["ridgeline-2p-tent-sage"]
    assert tent["price"] == {"amount": 34900, "currency": "USD"} and {"name": "color", "value": "Sage"} in tent["variant_options"]
    # Live: buying the last three boots of size 12 takes them from limited stock to none.
    boot = "granite-mid-hiking-boot-12"
    assert variants[boot]["availability"] == {"available": True, "status": "limited_stock"}
    agent = shop.buyer(funds=100_000)
    r = shop.call(agent, "create_checkout",
                  {"items": [{"product_id": "granite-mid-hiking-boot", "variant_id": boot, "quantity": 3}]}, key=str(uuid.uuid4()))
    assert shop.complete(agent, r.json()["checkout"]["id"]).status_code == 200
    deadline = time.monotonic() + 5
    while True:  # the stock cache follows a commit at once, another process's within a second
        after = {v["id"]: v for line in requests.get(shop.url("/feeds/acp/products.jsonl"), timeout=10).text.splitlines()
                 for v in json.loads(line)["variants"]}
        if after[boot]["availability"]["available"] is False or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert after[boot]["availability"] == {"available": False, "status": "out_of_stock"}
    # Every variant id is a line item id a checkout session takes.
    for variant_id in list(variants)[:12]:
        body = {"line_items": [{"id": variant_id}], "currency": "usd", "capabilities": {}}
        r = post(shop, "/checkout_sessions", body, agent)
        assert r.status_code == 201, (variant_id, r.text)


def test_an_allowance_held_for_the_principal_names_the_order_or_is_released(shop):
    for decision in ("approve", "deny"):
        agent = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE)
        session = create_session(shop, agent, quantity=2)
        token = delegate(shop, agent, session, max_amount=10_000).json()["id"]
        held = pay(shop, agent, session, token)
        assert held.status_code == 200 and held.json()["status"] == "pending_approval", held.text
        row = sql(shop.store, f"SELECT used_at, order_id FROM delegated_allowances WHERE id = '{token}'")[0]
        assert row["used_at"] is not None and row["order_id"] == ""
        approval = next(a for a in shop.admin_ok("GET", "/approvals")["approvals"] if a["checkout_id"] == session["id"])
        shop.admin_ok("POST", f"/approvals/{approval['id']}/{decision}")
        row = sql(shop.store, f"SELECT used_at, order_id FROM delegated_allowances WHERE id = '{token}'")[0]
        if decision == "approve":
            assert row["order_id"].startswith("ord_")
        else:
            assert row["used_at"] is None and row["order_id"] is None
