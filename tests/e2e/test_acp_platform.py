"""A purchase written as an ACP agent platform would write it, ending where ACP ends it: the
order webhook. The merchant onboards the platform: it issues the platform an agent identity (its
API key is the platform's credential) and names it in `--acp-platforms` with the platform's
webhook URL and shared secret. The platform opens a checkout session, delegates an allowance from
the wallet, completes the session with it, and receives `order_create` — then `order_update` for a shipment and for a refund — each the whole
order (ACP's `Order`, validated with the release's JSON Schema) and signed as ACP's webhook
OpenAPI says: `Merchant-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. Other
agents' orders are not sent there, whatever operator name they registered with.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest
import requests

from shop import GIFT_SKU, restart_shop, start_shop
from test_acp import CHECKOUT, create_session, delegate, pay, valid
from receiver import receiver  # noqa: F401 (the fixture)

SECRET = "whsec_acp_platform_e2e_0123456789"
OPERATOR = "Example Agents Inc."


@pytest.fixture(scope="module")
def onboarded(binary, tmp_path_factory, receiver):
    """The shop, and the agent identity the merchant issued the platform (named in --acp-platforms)."""
    directory = tmp_path_factory.mktemp("acp-platform")
    s = start_shop(directory, extra=("--webhook-retry-base", "0.2"))
    platform_agent = s.register(operator=OPERATOR)
    s.server.kill()
    platforms = directory / "acp-platforms.json"
    platforms.write_text(json.dumps({platform_agent.id: {"webhook_url": receiver.url, "secret": SECRET}}))
    s.extra = ("--acp-platforms", str(platforms), "--webhook-retry-base", "0.2")
    s = restart_shop(s)
    yield s, platform_agent
    s.server.kill()


@pytest.fixture(scope="module")
def shop(onboarded):
    return onboarded[0]


@pytest.fixture(scope="module")
def platform(onboarded):
    return onboarded[1]


def verified(delivery: dict) -> dict:
    header = delivery["headers"]["Merchant-Signature"]
    match = re.fullmatch(r"t=(\d+),v1=([a-f0-9]{64})", header)
    assert match, header
    expected = hmac.new(SECRET.encode(), match.group(1).encode() + b"." + delivery["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, match.group(2)), "the signature does not verify with the platform's secret"
    event = json.loads(delivery["body"])
    assert set(event) == {"type", "data"} and event["type"] in {"order_create", "order_update"}
    valid(CHECKOUT, "Order", event["data"])
    for name in ("type", "id", "checkout_session_id", "permalink_url", "status"):
        assert name in event["data"], name
    return event


def test_an_onboarded_platform_hears_of_its_agents_orders(shop, receiver, platform):
    agent = platform
    shop.fund(agent, 100_000)
    session = create_session(shop, agent, quantity=2)
    token = delegate(shop, agent, session, max_amount=10_000).json()["id"]
    done = pay(shop, agent, session, token).json()
    order_id = done["order"]["id"]

    created = verified(receiver.wait_for(1)[0])
    assert created["type"] == "order_create"
    assert created["data"]["id"] == order_id and created["data"]["checkout_session_id"] == session["id"]
    assert created["data"]["status"] == "confirmed"
    assert created["data"]["line_items"][0]["quantity"] == {"ordered": 2, "current": 2, "fulfilled": 0}

    shop.admin_ok("POST", f"/orders/{order_id}/fulfillment", {"type": "shipped", "carrier": "UPS", "tracking_number": "1Z1"})
    shipped = verified(receiver.wait_for(2)[1])
    assert shipped["type"] == "order_update" and shipped["data"]["status"] == "shipped"
    assert shipped["data"]["fulfillments"][0]["tracking_number"] == "1Z1"
    assert shipped["data"]["line_items"][0]["status"] == "fulfilled"

    r = shop.call(agent, "request_refund", {"order_id": order_id, "amount": 500}, key="refund-1")
    assert r.status_code == 200, r.text
    refunded = verified(receiver.wait_for(3)[2])
    assert refunded["data"]["adjustments"][0]["amount"] == 500
    assert refunded["data"]["adjustments"][0]["currency"] == "usd"

    # Another agent buys too, even one claiming the platform's operator name: nothing more reaches it.
    other = shop.register(operator=OPERATOR)
    shop.fund(other, 100_000)
    other_session = create_session(shop, other)
    assert pay(shop, other, other_session, delegate(shop, other, other_session, max_amount=10_000).json()["id"]).status_code == 200
    shop.admin_ok("POST", f"/orders/{order_id}/fulfillment", {"type": "delivered"})
    events = receiver.wait_for(4)
    last = verified(events[3])
    assert last["data"]["id"] == order_id and last["data"]["status"] == "completed"
    assert all(json.loads(d["body"])["data"]["id"] == order_id for d in receiver.deliveries)


def test_a_platform_file_without_a_secret_is_refused(binary, tmp_path):
    from support import run_cli
    bad = tmp_path / "acp.json"
    bad.write_text(json.dumps({"agt_x": {"webhook_url": "https://platform.example/hooks"}}))
    r = run_cli("serve", "--store", str(tmp_path / "s.db"), "--port", "0", "--acp-platforms", str(bad), timeout=30)
    assert r.returncode != 0 and "secret" in (r.stdout + r.stderr), (r.returncode, r.stdout, r.stderr)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_the_same_purchase_over_acps_mcp_binding(shop, receiver, platform, mode):
    """ACP's MCP binding (`/acp/mcp`, the official MCP SDK): the session is created and completed
    with ACP's tools (`meta` carries the version and idempotency key), the allowance is delegated
    over REST (the binding has no tool for it), and the platform hears of the order."""
    import asyncio
    import uuid

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    agent = platform
    shop.fund(agent, 100_000)
    before = len(receiver.deliveries)

    def meta():
        return {"api_version": "2026-04-17", "idempotency_key": str(uuid.uuid4())}

    async def create():
        transport = streamable_http_client(shop.url("/acp/mcp"), http_client=httpx2.AsyncClient(headers=agent.auth, timeout=30))
        async with Client(transport, mode=mode) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"create_checkout_session", "get_checkout_session", "update_checkout_session",
                             "complete_checkout_session", "cancel_checkout_session"}
            r = await client.call_tool("create_checkout_session", {"meta": meta(), "payload": {
                "line_items": [{"id": GIFT_SKU}], "currency": "usd", "capabilities": {}}})
            assert r.is_error is False, r
            from mcp.shared.exceptions import MCPError
            with pytest.raises(MCPError) as wrong:  # ACP's binding: JSON-RPC -32000, ACP's Error as data
                await client.call_tool("get_checkout_session", {"meta": {"api_version": "2026-01-16"}, "id": "x"})
            assert wrong.value.error.code == -32000 and wrong.value.error.data["code"] == "unsupported_api_version"
            valid(CHECKOUT, "Error", wrong.value.error.data)
            return valid(CHECKOUT, "CheckoutSession", r.structured_content)

    async def complete(session_id, token):
        transport = streamable_http_client(shop.url("/acp/mcp"), http_client=httpx2.AsyncClient(headers=agent.auth, timeout=30))
        async with Client(transport, mode=mode) as client:
            payload = {"payment_data": {"handler_id": "wallet", "instrument": {"type": "wallet",
                                                                                 "credential": {"type": "spt", "token": token}}}}
            r = await client.call_tool("complete_checkout_session", {"meta": meta(), "id": session_id, "payload": payload})
            assert r.is_error is False, r
            return valid(CHECKOUT, "CheckoutSessionWithOrder", r.structured_content)

    session = asyncio.run(create())
    token = delegate(shop, agent, session, max_amount=5_000).json()["id"]
    done = asyncio.run(complete(session["id"], token))
    assert done["status"] == "completed"
    delivery = receiver.wait_for(before + 1)[before]
    event = verified(delivery)
    assert event["type"] == "order_create" and event["data"]["id"] == done["order"]["id"]
