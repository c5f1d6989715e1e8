"""The official MCP Python SDK (`mcp==2.3.0`) as the client of /mcp.

`Client(url)` in its default `auto` mode probes `server/discover` and speaks 2026-07-28 here;
`Client(url, mode="legacy")` does the 2025-11-25 initialize handshake and session. Each test runs
in both modes: list every tool across pages, call every read-only action and check
`structured_content` against the tool's `outputSchema` with jsonschema (Draft 2020-12 + formats),
invalid arguments come back as `is_error` with the JSON Pointer, resources, templates, prompts.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from mcp import Client

# The read-only actions of issue 3; the registry may hold more (transacting actions of later issues).
TOOL_NAMES = {"search_catalog", "lookup_catalog", "get_product", "get_pricing", "get_policies",
              "compare_products", "get_quote"}

MODES = [pytest.param("auto", "2026-07-28", id="auto"), pytest.param("legacy", "2025-11-25", id="legacy")]

# Valid arguments for every read-only action (several per action where the shape differs).
VALID_CALLS = [
    ("search_catalog", {}),
    ("search_catalog", {"query": "tent", "limit": 3}),
    ("search_catalog", {"category": "footwear", "in_stock": True, "min_price": 5000, "max_price": 20000}),
    ("lookup_catalog", {"ids": ["headlamp-400", "ridgeline-2p-tent-sage", "no-such-product"]}),
    ("get_product", {"id": "alpine-down-bag-15f"}),
    ("get_product", {"id": "granite-mid-hiking-boot-10"}),
    ("get_product", {"id": "trail-maps-pro"}),
    ("get_pricing", {}),
    ("get_pricing", {"product_id": "trail-maps-pro"}),
    ("get_pricing", {"product_id": "route-planner-api"}),
    ("get_policies", {}),
    ("get_policies", {"topic": "returns"}),
    ("get_policies", {"topic": "sla"}),
    ("compare_products", {"ids": ["ridgeline-2p-tent", "ridgeline-3p-tent", "featherlite-1p-tent"]}),
    ("get_quote", {"items": [{"product_id": "sun-hoodie", "variant_id": "sun-hoodie-m", "quantity": 6}],
                   "plans": [{"plan_id": "trail-maps-pro-monthly"}],
                   "usage": [{"price_id": "route-planner-requests", "quantity": 12000}]}),
]

INVALID_CALLS = [
    ("search_catalog", {"limit": 0}, "/limit"),
    ("search_catalog", {"limit": 101}, "/limit"),
    ("search_catalog", {"in_stock": "yes"}, "/in_stock"),
    ("search_catalog", {"unknown_option": 1}, "/unknown_option"),
    ("lookup_catalog", {"ids": []}, "/ids"),
    ("get_product", {"id": ["headlamp-400"]}, "/id"),
    ("get_pricing", {"product_id": 7}, "/product_id"),
    ("get_policies", {"topic": "weather"}, "/topic"),
    ("compare_products", {"ids": ["headlamp-400", "headlamp-400"]}, "/ids"),
    ("get_quote", {"items": [{"product_id": "headlamp-400", "variant_id": "headlamp-400-black",
                              "quantity": 0}]}, "/items/0/quantity"),
    ("get_quote", {"usage": [{"price_id": "route-planner-requests", "quantity": -1}]}, "/usage/0/quantity"),
]


def run(coroutine):
    return asyncio.run(coroutine)


async def all_tools(client):
    tools, cursor, pages = [], None, 0
    while True:
        page = await client.list_tools(cursor=cursor)
        pages += 1
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            return tools, pages
        assert pages < 10, "tools/list never stops paginating"


def output_validator(tool) -> Draft202012Validator:
    Draft202012Validator.check_schema(tool.output_schema)
    return Draft202012Validator(tool.output_schema, format_checker=FormatChecker())


@pytest.fixture(scope="module")
def mcp_url(base_url) -> str:
    return base_url + "/mcp"


@pytest.mark.parametrize("mode,version", MODES)
def test_client_connects_and_agrees_on_the_protocol_version(mcp_url, mode, version):
    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            assert client.protocol_version == version
            assert client.server_info is not None and client.server_info.name == "storefront"
            assert client.instructions and "search_catalog" in client.instructions
            capabilities = client.server_capabilities
            assert capabilities.tools is not None
            assert capabilities.resources is not None
            assert capabilities.prompts is not None

    run(scenario())


def test_default_client_mode_is_auto_and_picks_2026_07_28(mcp_url):
    async def scenario():
        async with Client(mcp_url) as client:
            assert client.protocol_version == "2026-07-28"

    run(scenario())


@pytest.mark.parametrize("mode,version", MODES)
def test_all_tools_are_listed_across_pages_including_the_seven_read_only_actions(mcp_url, http, base_url, mode,
                                                                                  version):
    registry = [tool["name"] for tool in http.get(base_url + "/tools").json()["tools"]]

    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            tools, pages = await all_tools(client)
            names = [tool.name for tool in tools]
            assert len(names) == len(set(names)), names
            assert names == registry, "tools/list and GET /tools come from one registry"
            assert TOOL_NAMES <= set(names)
            assert pages == -(-len(names) // 5), "5 tools per page"
            for tool in tools:
                assert tool.description and tool.input_schema["type"] == "object"
                assert tool.output_schema is not None, f"{tool.name} declares no outputSchema"
                Draft202012Validator.check_schema(tool.input_schema)
                Draft202012Validator.check_schema(tool.output_schema)
                assert tool.annotations is not None, tool.name
                if tool.name in TOOL_NAMES:
                    assert tool.annotations.read_only_hint is True, tool.name
                    assert tool.annotations.destructive_hint is False, tool.name

    run(scenario())


@pytest.mark.parametrize("mode,version", MODES)
def test_every_read_only_action_returns_structured_content_matching_its_output_schema(mcp_url, mode, version):
    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            tools = {tool.name: tool for tool in (await all_tools(client))[0]}
            called = set()
            for name, arguments in VALID_CALLS:
                tool = tools[name]
                Draft202012Validator(tool.input_schema).validate(arguments)  # the test's own arguments are valid
                result = await client.call_tool(name, arguments)
                assert result.is_error is False, (name, arguments, result.content)
                assert isinstance(result.structured_content, dict), (name, result)
                errors = sorted(output_validator(tool).iter_errors(result.structured_content), key=str)
                assert not errors, (name, arguments, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]])
                text = [c for c in result.content if c.type == "text"]
                assert text and json.loads(text[0].text) == result.structured_content, name
                called.add(name)
            assert called == TOOL_NAMES

    run(scenario())


@pytest.mark.parametrize("mode,version", MODES)
def test_tool_results_carry_the_data_asked_for(mcp_url, mode, version):
    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            product = (await client.call_tool("get_product", {"id": "ridgeline-2p-tent-clay"})).structured_content
            assert product["product"]["id"] == "ridgeline-2p-tent"
            lookup = (await client.call_tool("lookup_catalog", {"ids": ["headlamp-400", "nope"]})).structured_content
            assert [p["id"] for p in lookup["products"]] == ["headlamp-400"]
            assert lookup["not_found"] == ["nope"]
            quote = (await client.call_tool("get_quote", {"usage": [{"price_id": "route-planner-requests",
                                                                      "quantity": 12000}]})).structured_content
            assert quote["total"] == {"amount": 9000 * 2 + 2000 * 1, "currency": "USD"}

    run(scenario())


@pytest.mark.parametrize("mode,version", MODES)
@pytest.mark.parametrize("name,arguments,pointer", INVALID_CALLS, ids=[f"{n}{p}" for n, _, p in INVALID_CALLS])
def test_invalid_arguments_come_back_as_is_error_with_the_json_pointer(mcp_url, mode, version, name, arguments,
                                                                      pointer):
    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            await all_tools(client)
            result = await client.call_tool(name, arguments)
            assert result.is_error is True, (name, arguments, result)
            error = result.structured_content["error"]
            assert error["param"] == pointer, error
            assert error["type"] == "invalid_request"
            assert any(d["pointer"] == pointer for d in error["details"]), error
            assert pointer in result.content[0].text

    run(scenario())


@pytest.mark.parametrize("mode,version", MODES)
def test_unknown_product_is_a_tool_error_not_a_protocol_error(mcp_url, mode, version):
    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            result = await client.call_tool("get_product", {"id": "no-such-thing"})
            assert result.is_error is True
            assert result.structured_content["error"]["code"] == "not_found"
            assert result.structured_content["error"]["param"] == "/id"

    run(scenario())


@pytest.mark.parametrize("mode,version", MODES)
def test_resources_are_listed_and_readable(mcp_url, mode, version):
    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            listed = await client.list_resources()
            uris = sorted(str(r.uri) for r in listed.resources)
            assert uris == sorted(["storefront://store", "storefront://catalog", "storefront://pricing",
                                   "storefront://policies", "storefront://capabilities", "storefront://inbox"])
            # The inbox belongs to an agent (test_mcp_inbox.py reads it with a key).
            for uri in [u for u in uris if u != "storefront://inbox"]:
                read = await client.read_resource(uri)
                assert len(read.contents) == 1 and str(read.contents[0].uri) == uri
                assert read.contents[0].mime_type == "application/json"
                json.loads(read.contents[0].text)
            store = json.loads((await client.read_resource("storefront://store")).contents[0].text)
            assert store["name"] == "Cedar & Pine Outfitters"

    run(scenario())


@pytest.mark.parametrize("mode,version", MODES)
def test_resource_template_reads_a_product(mcp_url, mode, version):
    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            templates = (await client.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["storefront://products/{id}"]
            read = await client.read_resource("storefront://products/merino-hiking-socks")
            product = json.loads(read.contents[0].text)
            assert product["id"] == "merino-hiking-socks"
            assert len(product["variants"]) == 4

    run(scenario())


@pytest.mark.parametrize("mode,version", MODES)
def test_prompts_are_listed_and_guided_purchase_uses_its_arguments(mcp_url, mode, version):
    async def scenario():
        async with Client(mcp_url, mode=mode) as client:
            prompts = {p.name: p for p in (await client.list_prompts()).prompts}
            assert "guided_purchase" in prompts
            need = next(a for a in prompts["guided_purchase"].arguments if a.name == "need")
            assert need.required is True
            result = await client.get_prompt("guided_purchase", {"need": "rain jacket for Scotland",
                                                                 "budget": "250 USD"})
            texts = [m.content.text for m in result.messages if m.content.type == "text"]
            assert any("rain jacket for Scotland" in t for t in texts), texts
            assert any("search_catalog" in t for t in texts)

    run(scenario())


@pytest.mark.filterwarnings("ignore:ping is removed")
def test_legacy_client_can_ping(mcp_url):
    async def scenario():
        async with Client(mcp_url, mode="legacy") as client:
            await client.send_ping()

    run(scenario())


def test_legacy_progress_callback_receives_the_three_progress_notifications(mcp_url):
    async def scenario():
        seen = []

        async def on_progress(progress, total, message):
            seen.append((progress, total))

        async with Client(mcp_url, mode="legacy") as client:
            result = await client.call_tool("get_policies", {"topic": "shipping"}, progress_callback=on_progress)
            assert result.is_error is False
        assert seen == [(1, 3), (2, 3), (3, 3)], seen

    run(scenario())


def test_an_agent_buys_over_the_sdk_with_a_progress_callback_and_the_store_goes_on(binary, tmp_path):
    """A purchase through the SDK's legacy (session) client with a progress callback: the callback
    sees the commit, the result is the order, and writes go on afterwards (a progress token on a
    mutating call once froze every later write of the gateway). The 2026-07-28 transport answers
    with JSON and sends no progress notifications, so only the session client is tried."""
    mode, version = "legacy", "2025-11-25"
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from shop import GIFT_PRICE, start_shop

    shop = start_shop(tmp_path / "sdk-buyer")
    try:
        agent = shop.buyer(funds=10 * GIFT_PRICE)
        checkout_id = shop.create_checkout(agent)["id"]

        async def scenario():
            seen = []

            async def on_progress(progress, total, message):
                seen.append((progress, total, message))

            transport = streamable_http_client(shop.url("/mcp"), http_client=httpx2.AsyncClient(headers=agent.auth, timeout=30))
            async with Client(transport, mode=mode) as client:
                assert client.protocol_version == version
                result = await client.call_tool("complete_checkout", {"checkout_id": checkout_id}, progress_callback=on_progress)
                return result, seen

        result, seen = run(scenario())
        assert result.is_error is False, result
        assert result.structured_content["order"]["status"] == "confirmed"
        assert seen[-1] == (3, 3, "committed"), seen
        # Writes go on: another purchase over REST, at once.
        assert shop.complete(agent, shop.create_checkout(agent)["id"]).status_code == 200
    finally:
        shop.server.stop()
