"""One agent cannot read or change another's things, over REST (`/tools/{name}`) and over MCP
(`tools/call` with the agent's bearer key): agent B asking for agent A's order, checkout, cart,
inbox, memory or wallet gets a 404 (or only its own), and A's records are unchanged afterwards.
Before this file no test read another agent's order, so a `get_order` or `cancel_order` that
forgot to check the owner passed the whole suite."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway_process import modern_post
from shop import GIFT_PRODUCT, GIFT_SKU, Agent, Shop, new_key, start_shop


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("isolation"), extra=("--threads", "4"))
    yield s
    s.server.kill()


@dataclass
class Owned:
    agent: Agent
    order: str
    checkout: str
    open_checkout: str
    cart: str
    balance: int


@pytest.fixture(scope="module")
def a(shop) -> Owned:
    agent = shop.buyer(funds=50_000)
    bought = shop.buy(agent, 1)
    assert bought.status_code == 200, bought.text[:500]
    open_checkout = shop.create_checkout(agent, 1)["id"]
    cart = shop.call(agent, "create_cart", {"items": [{"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 1}]},
                     key=new_key())
    assert cart.status_code in (200, 201), cart.text[:500]
    assert shop.call(agent, "remember", {"key": "secret-note", "value": "A's private note"}).status_code == 200
    return Owned(agent=agent, order=bought.json()["order"]["id"], checkout=bought.json()["checkout"]["id"],
                 open_checkout=open_checkout, cart=cart.json()["cart"]["id"],
                 balance=shop.wallet(agent)["balance"]["amount"])


@pytest.fixture(scope="module")
def b(shop) -> Agent:
    return shop.buyer(funds=1_000)


def mcp_call(shop: Shop, agent: Agent, tool: str, arguments: dict) -> dict:
    _, r = modern_post(shop.url("/mcp"), "tools/call", {"name": tool, "arguments": arguments}, headers=agent.auth)
    assert r.status_code == 200, (tool, r.status_code, r.text[:500])
    return r.json()["result"]


ITEMS = [{"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 2}]

# (label, tool, arguments naming one of A's records) — each called as agent B.
FOREIGN = [
    ("get_order", "get_order", lambda a: {"order_id": a.order}),
    ("cancel_order", "cancel_order", lambda a: {"order_id": a.order}),
    ("request_refund", "request_refund", lambda a: {"order_id": a.order}),
    ("leave_feedback", "leave_feedback", lambda a: {"order_id": a.order, "product_id": GIFT_PRODUCT, "rating": 1}),
    ("get_checkout", "get_checkout", lambda a: {"checkout_id": a.open_checkout}),
    ("update_checkout", "update_checkout", lambda a: {"checkout_id": a.open_checkout, "items": ITEMS}),
    ("complete_checkout", "complete_checkout", lambda a: {"checkout_id": a.open_checkout}),
    ("cancel_checkout", "cancel_checkout", lambda a: {"checkout_id": a.open_checkout}),
    ("complete_checkout-completed", "complete_checkout", lambda a: {"checkout_id": a.checkout}),
    ("get_cart", "get_cart", lambda a: {"cart_id": a.cart}),
    ("update_cart", "update_cart", lambda a: {"cart_id": a.cart, "items": ITEMS}),
    ("cancel_cart", "cancel_cart", lambda a: {"cart_id": a.cart}),
]


def assert_a_untouched(shop: Shop, a: Owned) -> None:
    order = shop.call(a.agent, "get_order", {"order_id": a.order})
    assert order.status_code == 200 and order.json()["order"]["status"] == "confirmed", order.text[:500]
    assert shop.wallet(a.agent)["balance"]["amount"] == a.balance
    checkout = shop.call(a.agent, "get_checkout", {"checkout_id": a.open_checkout}).json()["checkout"]
    assert checkout["status"] == "ready_for_complete" and checkout["totals"]["total"]["amount"] == 2500, checkout
    assert shop.call(a.agent, "get_cart", {"cart_id": a.cart}).json()["cart"]["status"] == "active"
    assert shop.call(a.agent, "recall", {"key": "secret-note"}).json()["memory"]["value"] == "A's private note"


@pytest.mark.parametrize("label, tool, arguments", FOREIGN, ids=[f[0] for f in FOREIGN])
def test_rest_another_agents_records_are_404(shop, a, b, label, tool, arguments):
    r = shop.call(b, tool, arguments(a), key=new_key())
    assert r.status_code == 404, (tool, r.status_code, r.text[:500])
    assert "confirmed" not in r.text and "A's private note" not in r.text
    assert_a_untouched(shop, a)


@pytest.mark.parametrize("label, tool, arguments", FOREIGN, ids=[f[0] for f in FOREIGN])
def test_mcp_another_agents_records_are_errors(shop, a, b, label, tool, arguments):
    result = mcp_call(shop, b, tool, arguments(a))
    assert result["isError"] is True, (tool, result)
    text = " ".join(c.get("text", "") for c in result.get("content", []))
    assert "404" in text or "not_found" in text or "No " in text, (tool, text[:500])
    assert_a_untouched(shop, a)


def test_rest_the_wallet_inbox_and_memory_are_each_agents_own(shop, a, b):
    wallet = shop.call(b, "get_wallet", {}).json()["wallet"]
    assert wallet["agent_id"] == b.id and wallet["balance"]["amount"] == 1_000
    inbox = shop.call(b, "get_inbox", {})
    assert inbox.status_code == 200 and a.order not in inbox.text, inbox.text[:500]
    rest_inbox = shop.http.get(shop.url("/inbox"), headers=b.auth, timeout=10)
    assert rest_inbox.status_code == 200 and a.order not in rest_inbox.text
    recall = shop.call(b, "recall", {"key": "secret-note"})
    assert recall.status_code == 404 and "A's private note" not in recall.text, recall.text[:500]
    listing = shop.call(b, "list_memories", {})
    assert "secret-note" not in listing.text
    assert shop.call(b, "forget", {"key": "secret-note"}).status_code in (200, 404)
    assert_a_untouched(shop, a)
    orders = shop.call(b, "list_orders", {}).json()["orders"]
    assert a.order not in [o["id"] for o in orders]


def test_mcp_the_wallet_inbox_and_memory_are_each_agents_own(shop, a, b):
    wallet = mcp_call(shop, b, "get_wallet", {})
    assert wallet["structuredContent"]["wallet"]["agent_id"] == b.id
    inbox = mcp_call(shop, b, "get_inbox", {})
    assert a.order not in str(inbox)
    recall = mcp_call(shop, b, "recall", {"key": "secret-note"})
    assert recall["isError"] is True and "A's private note" not in str(recall)
    assert "secret-note" not in str(mcp_call(shop, b, "list_memories", {}))
    orders = mcp_call(shop, b, "list_orders", {})
    assert a.order not in str(orders)
    assert_a_untouched(shop, a)
