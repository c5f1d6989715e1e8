"""The result cache of read-only catalog actions never answers with data older than the store's.

The gateway keeps the results of search_catalog, lookup_catalog, get_product, get_pricing,
get_policies and compare_products (not get_quote: a quote says when it was made) by action,
canonical arguments and the version of the
data they read (ratings: the catalog itself is fixed while serving). These tests warm the cache,
change the data, and ask again:

- feedback left through this gateway shows in the very next call, over REST and over MCP;
- feedback left through a second gateway process on the same store file shows within the
  documented bound (ratings are re-read at most a second apart), never later;
- the cache changes nothing in what is answered: the same bytes with and without
  `--no-result-cache`, for every cacheable action and for arguments that differ only in key order.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from shop import Agent, Shop, new_key, start_shop
from support import launch

COMPASS = "baseplate-compass"
STATELESS = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": STATELESS, "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "e2e-result-cache", "version": "1"}}
CACHEABLE_CALLS = [
    ("search_catalog", {"query": "compass"}),
    ("search_catalog", {"category": "navigation", "limit": 3}),
    ("lookup_catalog", {"ids": [COMPASS, "gift-card"]}),
    ("get_product", {"id": COMPASS}),
    ("get_pricing", {}),
    ("get_policies", {"topic": "returns"}),
    ("compare_products", {"ids": [COMPASS, "gift-card"]}),
]


def mcp_call(base_url: str, tool: str, arguments: dict) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments, "_meta": META}}
    r = requests.post(base_url + "/mcp", data=json.dumps(body), timeout=30, headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": STATELESS, "Mcp-Method": "tools/call", "Mcp-Name": tool})
    assert r.status_code == 200, r.text[:500]
    result = r.json()["result"]
    assert result["isError"] is False, result
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    return result["structuredContent"]


def rest_call(base_url: str, tool: str, arguments: dict) -> requests.Response:
    r = requests.post(f"{base_url}/tools/{tool}", json=arguments, timeout=30)
    assert r.status_code == 200, (tool, r.status_code, r.text[:500])
    return r


def compass_rating(base_url: str) -> tuple[dict | None, dict | None, dict | None]:
    """The compass's rating as search (REST), get_product (MCP) and search (MCP) report it."""
    searched = rest_call(base_url, "search_catalog", {"query": "compass"}).json()["products"]
    by_search = next(p for p in searched if p["id"] == COMPASS)["rating"]
    by_product = mcp_call(base_url, "get_product", {"id": COMPASS})["product"]["rating"]
    by_mcp_search = next(p for p in mcp_call(base_url, "search_catalog", {"query": "compass"})["products"]
                         if p["id"] == COMPASS)["rating"]
    return by_search, by_product, by_mcp_search


def buy_and_rate(shop: Shop, agent: Agent, rating: int) -> None:
    r = shop.call(agent, "create_checkout", {"items": [{"product_id": COMPASS, "quantity": 1}]}, key=new_key())
    assert r.status_code in (200, 201), r.text[:500]
    r = shop.complete(agent, r.json()["checkout"]["id"])
    assert r.status_code == 200, r.text[:500]
    order = r.json()["order"]
    r = shop.call(agent, "leave_feedback", {"order_id": order["id"], "product_id": COMPASS, "rating": rating})
    assert r.status_code == 200, r.text[:500]


@pytest.fixture
def shop(binary, tmp_path):
    s = start_shop(tmp_path / "cache")
    yield s
    s.server.kill()


def test_feedback_shows_in_the_next_call_over_rest_and_mcp(shop):
    # Warm the cache: every form of the question, twice.
    for _ in range(2):
        assert compass_rating(shop.base_url) == (None, None, None)
    buyer = shop.buyer()
    buy_and_rate(shop, buyer, 4)
    assert compass_rating(shop.base_url) == ({"average": 4, "count": 1},) * 3
    buy_and_rate(shop, shop.buyer(), 1)
    assert compass_rating(shop.base_url) == ({"average": 2.5, "count": 2},) * 3


def test_a_second_gateway_on_the_store_sees_feedback_within_a_second_or_two(shop, tmp_path):
    other = launch(shop.store, extra=("--admin-token-file", str(shop.token_file)))
    try:
        for _ in range(2):
            assert compass_rating(other.base_url) == (None, None, None)
        buy_and_rate(shop, shop.buyer(), 5)
        written = time.monotonic()
        seen = None
        while time.monotonic() - written < 5:
            ratings = compass_rating(other.base_url)
            if ratings == ({"average": 5, "count": 1},) * 3:
                seen = time.monotonic() - written
                break
            # Meanwhile each answer is the old data or the new, never anything else (the three
            # calls are made at different instants, so they may straddle the change).
            assert all(r in (None, {"average": 5, "count": 1}) for r in ratings), ratings
            time.sleep(0.05)
        assert seen is not None, "the second gateway never showed the new rating"
        # Ratings are re-read at most a second apart; allow for a slow machine.
        assert seen < 2.5, f"the second gateway took {seen:.2f} s to show the new rating"
    finally:
        other.kill()


def test_the_cache_changes_no_byte_of_any_answer(shop, tmp_path):
    plain = launch(shop.store, extra=("--admin-token-file", str(shop.token_file), "--no-result-cache",
                                      "--public-url", shop.base_url))
    try:
        for tool, arguments in CACHEABLE_CALLS:
            first = rest_call(shop.base_url, tool, arguments).content
            again = rest_call(shop.base_url, tool, arguments).content
            uncached = rest_call(plain.base_url, tool, arguments).content
            assert first == again == uncached, tool
            # The same arguments in another key order are the same question.
            reordered = dict(reversed(list(arguments.items())))
            assert rest_call(shop.base_url, tool, reordered).content == first, tool
            assert mcp_call(shop.base_url, tool, arguments) == json.loads(first), tool
        # Different arguments are a different answer, not a cached one.
        a = rest_call(shop.base_url, "search_catalog", {"query": "compass", "limit": 1}).json()
        b = rest_call(shop.base_url, "search_catalog", {"query": "compass", "limit": 2}).json()
        assert len(a["products"]) == 1 and len(b["products"]) == min(2, b["total"])
    finally:
        plain.kill()
