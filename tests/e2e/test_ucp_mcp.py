"""UCP's MCP binding, at the `mcp` service the profile names (`/ucp/mcp`), driven by the official
MCP Python SDK (`mcp`, both transports it speaks): UCP's tools with UCP's arguments (`meta` with
`ucp-agent` and `idempotency-key`, `id`, the `catalog` / `cart` / `checkout` payload) and UCP's
payloads as `structuredContent`, validated with UCP's schemas. The same journey as over REST:
search, lookup, cart, checkout from the cart, complete with the wallet, the order — and a
refusal (the balance) as UCP's error_response result; a protocol refusal (no idempotency key) as
the binding's JSON-RPC error.
"""
from __future__ import annotations

import asyncio
import uuid

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from shop import GIFT_PRICE, GIFT_SKU, start_shop
from ucp_schemas import errors

MODES = [pytest.param("auto", id="2026-07-28"), pytest.param("legacy", id="2025-11-25")]
TOOLS = {"search_catalog", "lookup_catalog", "create_cart", "get_cart", "update_cart", "cancel_cart", "create_checkout",
         "get_checkout", "update_checkout", "complete_checkout", "cancel_checkout", "get_order"}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("ucp-mcp"))
    yield s
    s.server.kill()


def meta(key: bool = False) -> dict:
    out = {}
    if key:
        out["idempotency-key"] = str(uuid.uuid4())
    return out


def session(shop, agent, mode: str):
    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    transport = streamable_http_client(shop.url("/ucp/mcp"), http_client=httpx2.AsyncClient(headers=agent.auth, timeout=30))
    return Client(transport, mode=mode)


def checked(result, ref: str) -> dict:
    assert result.is_error is False, result
    body = result.structured_content
    problems = errors(ref, body, "response", "read") if ref.startswith(("shopping/checkout", "shopping/cart", "shopping/order")) \
        else errors(ref, body)
    assert not problems, (ref, problems)
    return body


@pytest.mark.parametrize("mode", MODES)
def test_a_ucp_journey_over_mcp(shop, mode):
    agent = shop.buyer(funds=100_000)

    async def journey():
        async with session(shop, agent, mode) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert tools == TOOLS
            found = checked(await client.call_tool("search_catalog", {"meta": meta(), "catalog": {"query": "gift card"}}),
                            "shopping/catalog_search.json#/$defs/search_response")
            assert any(p["id"] == "gift-card" for p in found["products"])
            looked = checked(await client.call_tool("lookup_catalog", {"meta": meta(), "catalog": {"ids": [GIFT_SKU]}}),
                             "shopping/catalog_lookup.json#/$defs/lookup_response")
            assert looked["products"][0]["variants"][0]["inputs"] == [{"id": GIFT_SKU, "match": "exact"}]
            cart = checked(await client.call_tool("create_cart", {"meta": meta(True), "cart": {
                "line_items": [{"item": {"id": GIFT_SKU}, "quantity": 2}]}}), "shopping/cart.json")
            checkout = checked(await client.call_tool("create_checkout", {"meta": meta(True), "checkout": {"cart_id": cart["id"]}}),
                               "shopping/checkout.json")
            assert checkout["status"] == "ready_for_complete"
            key = meta(True)
            payment = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}}
            done = checked(await client.call_tool("complete_checkout", {"meta": key, "id": checkout["id"], "checkout": payment}),
                           "shopping/checkout.json")
            again = checked(await client.call_tool("complete_checkout", {"meta": key, "id": checkout["id"], "checkout": payment}),
                            "shopping/checkout.json")
            assert done["status"] == "completed" and again["order"]["id"] == done["order"]["id"]
            order = checked(await client.call_tool("get_order", {"meta": meta(), "id": done["order"]["id"]}), "shopping/order.json")
            assert order["line_items"][0]["quantity"]["total"] == 2
            # A refusal is the business's answer: UCP's error_response as the result.
            poor = checked(await client.call_tool("create_checkout", {"meta": meta(True), "checkout": {
                "line_items": [{"item": {"id": GIFT_SKU}, "quantity": 40}]}}), "shopping/checkout.json")
            refused = await client.call_tool("complete_checkout", {"meta": meta(True), "id": poor["id"], "checkout": payment})
            assert refused.is_error is False
            assert not errors("common/types/error_response.json", refused.structured_content)
            assert refused.structured_content["messages"][0]["code"] == "insufficient_funds"
            # Completing needs an idempotency key: a protocol error, as UCP's binding says (JSON-RPC
            # -32000 with UCP's {code, content} as data).
            with pytest.raises(MCPError) as refused_call:
                await client.call_tool("complete_checkout", {"meta": meta(), "id": poor["id"], "checkout": payment})
            assert refused_call.value.error.code == -32000
            assert refused_call.value.error.data["code"] == "idempotency_key_required"

    asyncio.run(journey())
    from shop import ledger_sum
    assert ledger_sum(shop.store, agent.id) == 100_000 - 2 * GIFT_PRICE


def test_the_profile_names_the_mcp_binding(shop):
    import requests
    profile = requests.get(shop.url("/.well-known/ucp"), timeout=10).json()
    assert not errors("profile.json#/$defs/business_schema", profile)
    mcp = [s for s in profile["ucp"]["services"]["dev.ucp.shopping"] if s["transport"] == "mcp"]
    assert mcp and mcp[0]["endpoint"] == shop.url("/ucp/mcp")
