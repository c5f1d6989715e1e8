"""MCP Streamable HTTP at /mcp, rule by rule, with raw HTTP (requests and http.client).

Revision 2025-11-25: Accept, sessions (MCP-Session-Id issued at initialize, 400 without, 404
unknown or ended, DELETE), MCP-Protocol-Version, Origin, JSON-RPC faults (-32700, -32600,
-32601, -32602), 202 for notifications and client responses, tools/list pagination, tools/call,
resources, templates, prompts, ping, SSE answers for calls with a progressToken, GET streams.

Revision 2026-07-28 on the same endpoint: no session, per-request `_meta`, `Mcp-Method` /
`Mcp-Name` / `MCP-Protocol-Version` headers checked against the body (-32020), -32022 for an
unsupported version, 404 + -32601 for an unknown method, `resultType`, `ttlMs` / `cacheScope`.
"""

from __future__ import annotations

import base64
import json
import socket

import pytest
import requests

from gateway_process import (
    ACCEPT_BOTH, CAPABILITIES_KEY, LEGACY, MODERN, SESSION_VERSIONS, VERSION_KEY, Gateway, LegacySession, SSEStream,
    assert_complete_progress_stream, initialize_message, modern_post, modern_result, post_json,
    rpc_notification, rpc_request, walk_tool_pages,
)

# The read-only actions of issue 3; the registry may hold more (transacting actions of later issues).
TOOL_NAMES = ["search_catalog", "lookup_catalog", "get_product", "get_pricing", "get_policies",
              "compare_products", "get_quote"]
RESOURCE_URIS = ["storefront://store", "storefront://catalog", "storefront://pricing", "storefront://policies",
                 "storefront://capabilities"]


@pytest.fixture(scope="module")
def mcp_url(base_url) -> str:
    return base_url + "/mcp"


@pytest.fixture
def session(mcp_url) -> LegacySession:
    s = LegacySession.open(mcp_url)
    yield s
    s.delete()


def rpc_error(response: requests.Response, status: int, code: int, *, id_=...) -> dict:
    """A JSON-RPC error answered with HTTP `status`; returns the error object."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert body.get("jsonrpc") == "2.0", body
    assert "result" not in body, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    if id_ is not ...:
        assert body.get("id") == id_, body
    return body["error"]


def assert_202_empty(response: requests.Response) -> None:
    assert response.status_code == 202, (response.status_code, response.text[:300])
    assert response.content == b"", response.content[:300]


# =============================== revision 2025-11-25 ============================================


# --- initialize and the session id --------------------------------------------------------------


def test_initialize_answers_version_server_info_instructions_capabilities_and_a_session_id(mcp_url):
    message = initialize_message(LEGACY)
    r = post_json(mcp_url, message)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    session_id = r.headers.get("MCP-Session-Id")
    assert session_id, r.headers
    # The spec: visible ASCII only (0x21 to 0x7E), and unguessable.
    assert all(0x21 <= ord(c) <= 0x7E for c in session_id), session_id
    assert len(session_id) >= 16, session_id
    body = r.json()
    assert body["id"] == message["id"] and body["jsonrpc"] == "2.0"
    result = body["result"]
    assert result["protocolVersion"] == LEGACY
    assert result["serverInfo"]["name"] and result["serverInfo"]["version"]
    assert isinstance(result["instructions"], str) and len(result["instructions"]) > 40
    assert {"tools", "resources", "prompts"} <= set(result["capabilities"]), result["capabilities"]


def test_every_initialize_gets_a_new_session_id(mcp_url):
    ids = {post_json(mcp_url, initialize_message()).headers["MCP-Session-Id"] for _ in range(5)}
    assert len(ids) == 5, ids


@pytest.mark.parametrize("version", SESSION_VERSIONS)
def test_initialize_agrees_to_each_supported_session_version(mcp_url, version):
    r = post_json(mcp_url, initialize_message(version))
    assert r.status_code == 200, r.text
    assert r.json()["result"]["protocolVersion"] == version


def test_initialize_with_an_unknown_version_offers_a_supported_one(mcp_url):
    r = post_json(mcp_url, initialize_message("2024-11-05"))
    assert r.status_code == 200, r.text
    assert r.json()["result"]["protocolVersion"] in SESSION_VERSIONS


# --- Accept ---------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "application/json", "text/event-stream", "text/html"])
def test_post_whose_accept_does_not_list_json_and_event_stream_is_406(mcp_url, accept):
    headers = {"Content-Type": "application/json", "Accept": accept}  # None: no Accept header at all
    r = requests.post(mcp_url, data=json.dumps(initialize_message()), headers=headers, timeout=10)
    assert r.status_code == 406, (r.status_code, r.text[:300])
    assert "MCP-Session-Id" not in r.headers


# --- sessions: required, unknown, ended --------------------------------------------------------


@pytest.mark.parametrize("method", ["ping", "tools/list", "resources/list", "prompts/list"])
def test_request_without_session_id_is_400(mcp_url, method):
    message = rpc_request(method)
    r = post_json(mcp_url, message, {"MCP-Protocol-Version": LEGACY})
    rpc_error(r, 400, -32600, id_=message["id"])


def test_notification_without_session_id_is_400(mcp_url):
    r = post_json(mcp_url, rpc_notification("notifications/initialized"), {"MCP-Protocol-Version": LEGACY})
    assert r.status_code == 400, (r.status_code, r.text[:300])


@pytest.mark.parametrize("session_id", ["mcp_00000000000000000000000000000000", "nope", "x" * 200])
def test_request_with_unknown_session_id_is_404(mcp_url, session_id):
    message = rpc_request("ping")
    r = post_json(mcp_url, message, {"MCP-Session-Id": session_id, "MCP-Protocol-Version": LEGACY})
    rpc_error(r, 404, -32600, id_=message["id"])


def test_delete_ends_the_session_and_later_requests_are_404(mcp_url):
    session = LegacySession.open(mcp_url)
    assert session.call("ping") == {}
    r = session.delete()
    assert r.status_code == 204, (r.status_code, r.text)
    rpc_error(session.post(rpc_request("ping")), 404, -32600)
    rpc_error(session.post(rpc_request("tools/list")), 404, -32600)
    assert session.post(rpc_notification("notifications/initialized")).status_code == 404
    r = requests.get(mcp_url, headers={"Accept": "text/event-stream", **session.headers}, timeout=10)
    assert r.status_code == 404, (r.status_code, r.text[:300])
    assert session.delete().status_code == 404, "a session can be ended only once"


def test_delete_without_session_id_is_400(mcp_url):
    r = requests.delete(mcp_url, timeout=10)
    assert r.status_code == 400, (r.status_code, r.text[:300])


def test_delete_of_an_unknown_session_is_404(mcp_url):
    r = requests.delete(mcp_url, headers={"MCP-Session-Id": "mcp_unknown_session"}, timeout=10)
    assert r.status_code == 404, (r.status_code, r.text[:300])


def test_ending_one_session_leaves_the_others_working(mcp_url):
    a, b = LegacySession.open(mcp_url), LegacySession.open(mcp_url)
    assert a.delete().status_code == 204
    assert b.call("ping") == {}
    b.delete()


# --- MCP-Protocol-Version -------------------------------------------------------------------


@pytest.mark.parametrize("version", SESSION_VERSIONS)
def test_each_supported_protocol_version_header_is_accepted(session, version):
    r = session.post(rpc_request("ping"), {"MCP-Protocol-Version": version})
    assert r.status_code == 200, r.text


def test_missing_protocol_version_header_is_accepted_as_the_default(session):
    r = post_json(session.mcp_url, rpc_request("ping"), {"MCP-Session-Id": session.session_id})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("version", ["1999-01-01", "2024-11-05", "2025-11-26", "latest", "2026-07-28"])
def test_unsupported_protocol_version_header_in_a_session_is_400(session, version):
    message = rpc_request("ping")
    r = session.post(message, {"MCP-Protocol-Version": version})
    rpc_error(r, 400, -32600, id_=message["id"])


# --- Origin -------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost.evil.example", "null",
                                    "http://127.0.0.2:80", "https://localhost"])
def test_post_from_a_foreign_origin_is_403_and_opens_no_session(mcp_url, origin):
    r = post_json(mcp_url, initialize_message(), {"Origin": origin})
    assert r.status_code == 403, (origin, r.status_code, r.text[:300])
    assert "MCP-Session-Id" not in r.headers


def test_get_and_delete_from_a_foreign_origin_are_403(session):
    headers = {**session.headers, "Origin": "https://evil.example"}
    r = requests.get(session.mcp_url, headers={**headers, "Accept": "text/event-stream"}, timeout=10)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    r = requests.delete(session.mcp_url, headers=headers, timeout=10)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert session.call("ping") == {}, "a refused DELETE must not end the session"


def test_local_origins_and_the_servers_own_origin_are_allowed(mcp_url, base_url):
    for origin in ("http://localhost:3000", "http://127.0.0.1:5173", "http://localhost", base_url):
        r = post_json(mcp_url, initialize_message(), {"Origin": origin})
        assert r.status_code == 200, (origin, r.status_code, r.text[:300])


def test_allowed_origin_option_adds_to_the_allow_list(start_server):
    srv = start_server(extra=("--allowed-origin", "https://agents.example", "--allowed-origin", "https://b.example"))
    url = srv.url("/mcp")
    for origin in ("https://agents.example", "https://b.example", "http://localhost:8080"):
        r = post_json(url, initialize_message(), {"Origin": origin})
        assert r.status_code == 200, (origin, r.status_code, r.text[:300])
    for origin in ("https://other.example", "http://agents.example", "https://agents.example:8443"):
        r = post_json(url, initialize_message(), {"Origin": origin})
        assert r.status_code == 403, (origin, r.status_code, r.text[:300])


def test_allowed_origin_with_a_port_wildcard_allows_any_port_of_that_origin(start_server):
    srv = start_server(extra=("--allowed-origin", "http://agents.test:*"))
    url = srv.url("/mcp")
    for origin in ("http://agents.test:9000", "http://agents.test:1"):
        assert post_json(url, initialize_message(), {"Origin": origin}).status_code == 200, origin
    for origin in ("https://agents.test:9000", "http://sub.agents.test:9000", "http://agents.testx:9000"):
        assert post_json(url, initialize_message(), {"Origin": origin}).status_code == 403, origin


def test_public_url_origin_is_always_allowed(start_server):
    srv = start_server(extra=("--public-url", "https://shop.example"))
    url = srv.url("/mcp")
    assert post_json(url, initialize_message(), {"Origin": "https://shop.example"}).status_code == 200
    assert post_json(url, initialize_message(), {"Origin": "https://shop.example.evil"}).status_code == 403


def test_configured_origin_is_not_allowed_on_a_server_without_it(mcp_url):
    r = post_json(mcp_url, initialize_message(), {"Origin": "https://agents.example"})
    assert r.status_code == 403


# --- JSON-RPC faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"jsonrpc":', b"{", b"not json", b'{"jsonrpc":"2.0","id":1,"method":"ping",}',
                                  b"\xff\xfe", b""])
def test_malformed_json_is_400_parse_error(session, body):
    r = session.post(body)
    rpc_error(r, 400, -32700, id_=None)


@pytest.mark.parametrize("body", [
    '"hello"',
    "42",
    '{"jsonrpc":"2.0","id":1}',
    '{"jsonrpc":"1.0","id":1,"method":"ping"}',
    '{"id":1,"method":"ping"}',
    '{"jsonrpc":"2.0","id":1,"method":5}',
    '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}',
    '[{"jsonrpc":"2.0","id":1,"method":"ping"}]',
])
def test_invalid_json_rpc_message_is_400_invalid_request(session, body):
    r = session.post(body)
    rpc_error(r, 400, -32600)


@pytest.mark.parametrize("method", ["foo/bar", "tools/delete", "initialized", "resources/subscribe_all"])
def test_unknown_method_is_method_not_found(session, method):
    message = rpc_request(method)
    r = session.post(message)
    assert r.status_code in (200, 404), (r.status_code, r.text[:300])
    rpc_error(r, r.status_code, -32601, id_=message["id"])


def test_request_ids_may_be_strings(session):
    message = rpc_request("ping", id_="req-\u00e9-1")
    r = session.post(message)
    assert r.status_code == 200
    assert r.json() == {"jsonrpc": "2.0", "id": "req-\u00e9-1", "result": {}}


# --- 202 for notifications and client responses ------------------------------------------------


@pytest.mark.parametrize("message", [
    rpc_notification("notifications/initialized"),
    rpc_notification("notifications/cancelled", {"requestId": 12345, "reason": "changed my mind"}),
    rpc_notification("notifications/roots/list_changed"),
    rpc_notification("notifications/some_future_thing", {"x": 1}),
    {"jsonrpc": "2.0", "id": 77, "result": {}},
    {"jsonrpc": "2.0", "id": "s-1", "error": {"code": -32601, "message": "no sampling here"}},
], ids=["initialized", "cancelled", "roots-changed", "unknown-notification", "client-result", "client-error"])
def test_notifications_and_client_responses_are_202_with_no_body(session, message):
    assert_202_empty(session.post(message))
    assert session.call("ping") == {}


def test_cancelling_a_request_leaves_the_session_usable(session):
    stream = session.open_streamed_call("search_catalog", {"query": "tent"}, token="c1")
    events = stream.read_to_end()
    stream.close()
    assert_202_empty(session.post(rpc_notification("notifications/cancelled", {"requestId": stream.request_id})))
    assert session.call("tools/call", {"name": "get_policies", "arguments": {"topic": "returns"}})["isError"] is False
    assert events[-1].message["id"] == stream.request_id


# --- ping, tools ---------------------------------------------------------------------------------


def test_ping_answers_an_empty_result(session):
    assert session.call("ping") == {}


def assert_paged_five_at_a_time(pages: list[list[dict]], rest_names: list[str]) -> None:
    assert all(len(page) == 5 for page in pages[:-1]), [len(p) for p in pages]
    assert 1 <= len(pages[-1]) <= 5, [len(p) for p in pages]
    names = [t["name"] for page in pages for t in page]
    assert len(names) == len(set(names)), f"a tool listed twice: {names}"
    assert set(TOOL_NAMES) <= set(names), names
    # The registry is the single source: the REST listing names the same actions, in the same order.
    assert names == rest_names


def test_tools_list_paginates_five_per_page_with_next_cursor(session, http, base_url):
    pages = walk_tool_pages(lambda cursor: session.call("tools/list", {"cursor": cursor} if cursor else None))
    assert len(pages) >= 2
    assert_paged_five_at_a_time(pages, [t["name"] for t in http.get(base_url + "/tools").json()["tools"]])


def test_tools_list_pages_are_the_same_on_every_call(session):
    a = session.call("tools/list")
    b = session.call("tools/list")
    assert a == b


@pytest.mark.parametrize("cursor", ["bogus", "", "dG9vbHM6OTk5", "dG9vbHM6LTE"])
def test_tools_list_with_an_invalid_cursor_is_invalid_params(session, cursor):
    message = rpc_request("tools/list", {"cursor": cursor})
    r = session.post(message)
    assert r.status_code in (200, 400), (r.status_code, r.text[:300])
    rpc_error(r, r.status_code, -32602, id_=message["id"])


def test_every_tool_declares_schemas_and_annotations(session):
    pages = walk_tool_pages(lambda cursor: session.call("tools/list", {"cursor": cursor} if cursor else None))
    for tool in (t for page in pages for t in page):
        assert tool["description"], tool["name"]
        assert tool["inputSchema"]["type"] == "object", tool["name"]
        assert tool["outputSchema"]["type"] == "object", tool["name"]
        text = json.dumps(tool["inputSchema"]) + json.dumps(tool["outputSchema"])
        assert "common.schema.json" not in text, f"{tool['name']}: schemas must be self-contained"
        annotations = tool["annotations"]
        for hint in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"):
            assert isinstance(annotations.get(hint), bool), (tool["name"], hint)
        if tool["name"] in TOOL_NAMES:
            assert annotations["readOnlyHint"] is True, tool["name"]
            assert annotations["destructiveHint"] is False, tool["name"]
            assert annotations["idempotentHint"] is True, tool["name"]


def test_tools_call_returns_text_content_and_the_same_structured_content(session):
    result = session.call("tools/call", {"name": "get_product", "arguments": {"id": "headlamp-400"}})
    assert result["isError"] is False
    assert result["structuredContent"]["product"]["id"] == "headlamp-400"
    texts = [c for c in result["content"] if c["type"] == "text"]
    assert texts, result["content"]
    assert json.loads(texts[0]["text"]) == result["structuredContent"]


def test_tools_call_without_arguments_means_empty_arguments(session):
    result = session.call("tools/call", {"name": "get_pricing"})
    assert result["isError"] is False
    assert result["structuredContent"]["currency"] == "USD"


def test_tools_call_agrees_with_the_rest_mirror(session, http, base_url):
    for name, arguments in [("get_product", {"id": "alpine-down-bag-15f"}),
                            ("lookup_catalog", {"ids": ["headlamp-400", "nope"]}),
                            ("compare_products", {"ids": ["ridgeline-2p-tent", "ridgeline-3p-tent"]}),
                            ("search_catalog", {"query": "tent", "limit": 3})]:
        result = session.call("tools/call", {"name": name, "arguments": arguments})
        rest = http.post(base_url + f"/tools/{name}", json=arguments)
        assert rest.status_code == 200
        assert result["structuredContent"] == rest.json(), name


@pytest.mark.parametrize("name,arguments,pointer", [
    ("search_catalog", {"limit": 0}, "/limit"),
    ("search_catalog", {"limit": "5"}, "/limit"),
    ("search_catalog", {"colour": "red"}, "/colour"),
    ("get_product", {"id": 5}, "/id"),
    ("get_policies", {"topic": "weather"}, "/topic"),
    ("compare_products", {"ids": ["headlamp-400"]}, "/ids"),
    ("get_quote", {"items": [{"product_id": "headlamp-400", "variant_id": "headlamp-400-black", "quantity": 0}]},
     "/items/0/quantity"),
])
def test_tools_call_with_invalid_arguments_is_a_tool_error_naming_the_pointer(session, name, arguments, pointer):
    result = session.call("tools/call", {"name": name, "arguments": arguments})
    assert result["isError"] is True, result
    error = result["structuredContent"]["error"]
    assert error["param"] == pointer, error
    assert error["type"] == "invalid_request" and error["code"] == "invalid_arguments", error
    assert any(detail["pointer"] == pointer and detail["keyword"] for detail in error["details"]), error
    assert pointer in result["content"][0]["text"], result["content"]


def test_tools_call_of_an_unknown_tool_is_invalid_params(session):
    message = rpc_request("tools/call", {"name": "delete_everything", "arguments": {}})
    r = session.post(message)
    error = rpc_error(r, r.status_code, -32602, id_=message["id"])
    assert r.status_code in (200, 400)
    assert "delete_everything" in error["message"]


def test_tools_call_without_a_name_is_invalid_params(session):
    r = session.post(rpc_request("tools/call", {"arguments": {}}))
    rpc_error(r, r.status_code, -32602)


# --- resources, templates, prompts -------------------------------------------------------------


def test_resources_list_names_the_store_documents(session):
    resources = session.call("resources/list")["resources"]
    # Plus the caller's inbox (read with an agent's key: test_mcp_inbox.py).
    assert sorted(r["uri"] for r in resources) == sorted(RESOURCE_URIS + ["storefront://inbox"])
    for resource in resources:
        assert resource["name"] and resource["mimeType"] == "application/json", resource


@pytest.mark.parametrize("uri", RESOURCE_URIS)
def test_resources_read_returns_json_text_for_each_resource(session, uri):
    contents = session.call("resources/read", {"uri": uri})["contents"]
    assert len(contents) == 1
    assert contents[0]["uri"] == uri
    assert contents[0]["mimeType"] == "application/json"
    assert isinstance(json.loads(contents[0]["text"]), dict)


def test_catalog_and_pricing_resources_agree_with_the_manifests(session, catalog_manifest):
    catalog = json.loads(session.call("resources/read", {"uri": "storefront://catalog"})["contents"][0]["text"])
    ids = sorted(p["id"] for p in catalog["products"])
    assert ids == sorted(p["id"] for p in catalog_manifest["products"])
    pricing = json.loads(session.call("resources/read", {"uri": "storefront://pricing"})["contents"][0]["text"])
    assert pricing["currency"] == "USD"


def test_resource_templates_list_has_the_product_template(session):
    templates = session.call("resources/templates/list")["resourceTemplates"]
    assert [t["uriTemplate"] for t in templates] == ["storefront://products/{id}"]


def test_product_template_reads_one_product(session):
    uri = "storefront://products/ridgeline-2p-tent"
    contents = session.call("resources/read", {"uri": uri})["contents"]
    assert contents[0]["uri"] == uri
    product = json.loads(contents[0]["text"])
    assert product["id"] == "ridgeline-2p-tent"
    assert [v["id"] for v in product["variants"]] == ["ridgeline-2p-tent-sage", "ridgeline-2p-tent-clay"]


@pytest.mark.parametrize("uri", ["storefront://nope", "storefront://products/nope", "https://example.com/",
                                 "storefront://products/"])
def test_reading_an_unknown_resource_is_resource_not_found(session, uri):
    r = session.post(rpc_request("resources/read", {"uri": uri}))
    rpc_error(r, r.status_code, -32002)


def test_prompts_list_has_guided_purchase_needing_a_need(session):
    prompts = {p["name"]: p for p in session.call("prompts/list")["prompts"]}
    assert "guided_purchase" in prompts
    arguments = {a["name"]: a for a in prompts["guided_purchase"]["arguments"]}
    assert arguments["need"]["required"] is True


def test_prompts_get_fills_the_need_into_the_messages(session):
    result = session.call("prompts/get", {"name": "guided_purchase",
                                          "arguments": {"need": "a two-person tent", "budget": "400 USD"}})
    texts = [m["content"]["text"] for m in result["messages"] if m["content"]["type"] == "text"]
    assert any("a two-person tent" in t for t in texts), texts
    assert all(m["role"] in ("user", "assistant") for m in result["messages"])


def test_prompts_get_without_its_required_argument_is_invalid_params(session):
    r = session.post(rpc_request("prompts/get", {"name": "guided_purchase", "arguments": {}}))
    rpc_error(r, r.status_code, -32602)


def test_prompts_get_of_an_unknown_prompt_is_invalid_params(session):
    r = session.post(rpc_request("prompts/get", {"name": "nope"}))
    rpc_error(r, r.status_code, -32602)


# --- SSE: a call with a progressToken ----------------------------------------------------------


def test_call_with_progress_token_is_answered_as_an_event_stream(session):
    with session.open_streamed_call("get_product", {"id": "headlamp-400"}, token="tok-1") as stream:
        assert stream.status == 200
        assert stream.content_type.startswith("text/event-stream"), stream.content_type
        events = stream.read_to_end()
    assert_complete_progress_stream(events, stream.request_id, "tok-1")
    result = events[-1].message["result"]
    assert result["isError"] is False and result["structuredContent"]["product"]["id"] == "headlamp-400"


def test_integer_progress_tokens_are_echoed_as_integers(session):
    with session.open_streamed_call("get_pricing", {}, token=42) as stream:
        events = stream.read_to_end()
    assert_complete_progress_stream(events, stream.request_id, 42)


def test_streamed_call_with_invalid_arguments_ends_with_a_tool_error(session):
    with session.open_streamed_call("search_catalog", {"limit": 0}, token="t") as stream:
        events = stream.read_to_end()
    final = events[-1].message
    assert final["id"] == stream.request_id
    assert final["result"]["isError"] is True
    assert final["result"]["structuredContent"]["error"]["param"] == "/limit"


def test_event_ids_are_unique_across_the_streams_of_a_session(session):
    seen: list[int] = []
    for n in range(4):
        with session.open_streamed_call("get_policies", {}, token=f"t{n}") as stream:
            seen += [e.int_id for e in stream.read_to_end()]
    assert len(seen) == len(set(seen)) == 20, seen
    assert seen == sorted(seen), seen


# --- GET /mcp ---------------------------------------------------------------------------------


def test_get_without_last_event_id_opens_the_server_to_client_stream(session):
    stream = SSEStream.open(session.mcp_url, "GET", None, {"Accept": "text/event-stream", **session.headers},
                            timeout=1.5)
    try:
        assert stream.status == 200
        assert stream.content_type.startswith("text/event-stream")
        with pytest.raises((socket.timeout, TimeoutError)):
            stream.next_event()  # open, and nothing to say yet
    finally:
        stream.drop()
    assert session.call("ping") == {}


def test_server_to_client_stream_sends_keep_alive_comments(session):
    """The open GET stream carries an SSE comment at least every 15 s (waits up to 20 s)."""
    stream = SSEStream.open(session.mcp_url, "GET", None, {"Accept": "text/event-stream", **session.headers},
                            timeout=20)
    try:
        assert stream.status == 200
        try:
            line = stream.response.readline().decode()
        except (socket.timeout, TimeoutError):
            pytest.fail("no keep-alive comment (nor anything else) on the open GET /mcp stream within 20 s")
        assert line.startswith(":"), f"expected an SSE comment, got {line!r}"
    finally:
        stream.drop()


def test_get_that_does_not_accept_event_stream_is_406(session):
    r = requests.get(session.mcp_url, headers={"Accept": "application/json", **session.headers}, timeout=10)
    assert r.status_code == 406, (r.status_code, r.text[:300])


def test_get_without_session_id_is_400(mcp_url):
    r = requests.get(mcp_url, headers={"Accept": "text/event-stream"}, timeout=10)
    assert r.status_code == 400, (r.status_code, r.text[:300])


def test_get_with_unknown_session_id_is_404(mcp_url):
    r = requests.get(mcp_url, headers={"Accept": "text/event-stream", "MCP-Session-Id": "mcp_nope"}, timeout=10)
    assert r.status_code == 404, (r.status_code, r.text[:300])


def test_last_event_id_of_another_session_replays_nothing(mcp_url):
    alice, mallory = LegacySession.open(mcp_url), LegacySession.open(mcp_url)
    with alice.open_streamed_call("get_product", {"id": "gps-handheld-66"}, token="a") as stream:
        events = stream.read_to_end()
    r = requests.get(mcp_url, headers={"Accept": "text/event-stream", "Last-Event-ID": events[0].id,
                                       **mallory.headers}, timeout=5)
    assert r.status_code in (400, 404), (r.status_code, r.text[:300])
    assert "gps-handheld-66" not in r.text
    alice.delete()
    mallory.delete()


@pytest.mark.parametrize("last_event_id", ["999999999", "abc", "-1", ""])
def test_last_event_id_that_is_not_an_event_of_the_session_is_refused(session, last_event_id):
    r = requests.get(session.mcp_url, headers={"Accept": "text/event-stream", "Last-Event-ID": last_event_id,
                                               **session.headers}, timeout=5)
    assert r.status_code in (400, 404), (r.status_code, r.text[:300])


def test_other_http_methods_on_mcp_are_405(mcp_url):
    for method in ("PUT", "PATCH"):
        r = requests.request(method, mcp_url, data="{}", headers={"Accept": ACCEPT_BOTH}, timeout=10)
        assert r.status_code == 405, (method, r.status_code)
        allowed = {m.strip() for m in r.headers["Allow"].split(",")}
        assert {"GET", "POST", "DELETE"} <= allowed


# =============================== revision 2026-07-28 ============================================


def modern_error(response: requests.Response, status: int, code: int) -> dict:
    return rpc_error(response, status, code)


def test_server_discover_lists_versions_capabilities_and_instructions(mcp_url):
    result = modern_result(mcp_url, "server/discover")
    assert MODERN in result["supportedVersions"]
    assert {"tools", "resources", "prompts"} <= set(result["capabilities"])
    assert isinstance(result["instructions"], str) and result["instructions"]
    assert result["resultType"] == "complete"


def test_modern_requests_need_no_session_and_get_none(mcp_url):
    _, r = modern_post(mcp_url, "tools/list")
    assert r.status_code == 200
    assert "MCP-Session-Id" not in r.headers


@pytest.mark.parametrize("method,params", [
    ("server/discover", {}),
    ("tools/list", {}),
    ("resources/list", {}),
    ("resources/templates/list", {}),
    ("prompts/list", {}),
    ("resources/read", {"uri": "storefront://policies"}),
])
def test_list_and_read_results_are_complete_and_carry_cache_hints(mcp_url, method, params):
    result = modern_result(mcp_url, method, params)
    assert result["resultType"] == "complete"
    assert isinstance(result["ttlMs"], int) and result["ttlMs"] >= 0, result.get("ttlMs")
    assert result["cacheScope"] in ("public", "private"), result.get("cacheScope")


@pytest.mark.parametrize("method,params", [
    ("tools/call", {"name": "get_policies", "arguments": {"topic": "shipping"}}),
    ("tools/call", {"name": "get_product", "arguments": {"id": "nope"}}),
    ("prompts/get", {"name": "guided_purchase", "arguments": {"need": "boots"}}),
])
def test_every_modern_result_has_result_type_complete(mcp_url, method, params):
    assert modern_result(mcp_url, method, params)["resultType"] == "complete"


def test_modern_tools_list_paginates_with_next_cursor(mcp_url, http, base_url):
    pages = walk_tool_pages(lambda cursor: modern_result(mcp_url, "tools/list", {"cursor": cursor} if cursor else {}))
    assert_paged_five_at_a_time(pages, [t["name"] for t in http.get(base_url + "/tools").json()["tools"]])


def test_modern_tools_call_invalid_arguments_is_a_tool_error_with_the_pointer(mcp_url):
    result = modern_result(mcp_url, "tools/call", {"name": "get_quote", "arguments": {"plans": [{"plan_id": 7}]}})
    assert result["isError"] is True
    assert result["structuredContent"]["error"]["param"] == "/plans/0/plan_id"


def test_modern_prompts_get_and_resources_read(mcp_url):
    prompt = modern_result(mcp_url, "prompts/get", {"name": "guided_purchase", "arguments": {"need": "a stove"}})
    assert any("a stove" in m["content"]["text"] for m in prompt["messages"])
    read = modern_result(mcp_url, "resources/read", {"uri": "storefront://products/micro-canister-stove"})
    assert json.loads(read["contents"][0]["text"])["id"] == "micro-canister-stove"


# --- header / body agreement (-32020) --------------------------------------------------------


@pytest.mark.parametrize("method,params,headers", [
    ("tools/list", {}, {"Mcp-Method": "prompts/list"}),
    ("tools/list", {}, {"Mcp-Method": None}),
    ("tools/list", {}, {"Mcp-Method": "TOOLS/LIST"}),
    ("tools/call", {"name": "get_product", "arguments": {"id": "headlamp-400"}}, {"Mcp-Name": "get_quote"}),
    ("tools/call", {"name": "get_product", "arguments": {"id": "headlamp-400"}}, {"Mcp-Name": None}),
    ("prompts/get", {"name": "guided_purchase", "arguments": {"need": "x"}}, {"Mcp-Name": "check_terms"}),
    ("prompts/get", {"name": "guided_purchase", "arguments": {"need": "x"}}, {"Mcp-Name": None}),
    ("resources/read", {"uri": "storefront://store"}, {"Mcp-Name": "storefront://catalog"}),
    ("resources/read", {"uri": "storefront://store"}, {"Mcp-Name": None}),
    ("tools/list", {}, {"MCP-Protocol-Version": "2025-11-25"}),
    ("tools/list", {}, {"MCP-Protocol-Version": None}),
], ids=["method-differs", "method-missing", "method-case", "tool-name-differs", "tool-name-missing",
        "prompt-name-differs", "prompt-name-missing", "uri-differs", "uri-missing", "version-differs",
        "version-missing"])
def test_header_that_disagrees_with_the_body_is_400_header_mismatch(mcp_url, method, params, headers):
    _, r = modern_post(mcp_url, method, params, headers=headers)
    modern_error(r, 400, -32020)


def test_mcp_name_may_be_sent_base64_encoded(mcp_url):
    uri = "storefront://products/ridgeline-2p-tent"
    encoded = "=?base64?" + base64.b64encode(uri.encode()).decode() + "?="
    _, r = modern_post(mcp_url, "resources/read", {"uri": uri}, headers={"Mcp-Name": encoded})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json()["result"]["contents"][0]["uri"] == uri


def test_non_ascii_mcp_name_in_base64_that_matches_is_not_a_mismatch(mcp_url):
    uri = "storefront://products/zelt-\u00fcber"
    encoded = "=?base64?" + base64.b64encode(uri.encode()).decode() + "?="
    _, r = modern_post(mcp_url, "resources/read", {"uri": uri}, headers={"Mcp-Name": encoded})
    body = r.json()
    assert body.get("error", {}).get("code") != -32020, body
    assert body["error"]["code"] == -32002, body


# --- versions, methods, envelope ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["2099-01-01", "2026-07-29", "2025-11-25"])
def test_unsupported_version_in_meta_is_400_with_supported_and_requested(mcp_url, version):
    _, r = modern_post(mcp_url, "tools/list", version=version)
    error = modern_error(r, 400, -32022)
    assert MODERN in error["data"]["supported"], error
    assert error["data"]["requested"] == version, error


def test_unknown_modern_method_is_404_method_not_found(mcp_url):
    message, r = modern_post(mcp_url, "tools/delete")
    modern_error(r, 404, -32601)
    assert r.json()["id"] == message["id"]


def test_initialize_is_not_a_modern_method(mcp_url):
    _, r = modern_post(mcp_url, "initialize", {"protocolVersion": MODERN, "capabilities": {}})
    modern_error(r, 404, -32601)


def test_meta_without_client_capabilities_is_invalid_params(mcp_url):
    meta = {VERSION_KEY: MODERN}
    _, r = modern_post(mcp_url, "tools/list", meta=meta)
    modern_error(r, 400, -32602)


def test_meta_without_client_info_is_accepted(mcp_url):
    _, r = modern_post(mcp_url, "tools/list", meta={VERSION_KEY: MODERN, CAPABILITIES_KEY: {}})
    assert r.status_code == 200, (r.status_code, r.text[:300])


def test_modern_malformed_json_is_400_parse_error(mcp_url):
    r = post_json(mcp_url, b'{"jsonrpc":"2.0",', {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"})
    rpc_error(r, 400, -32700, id_=None)


def test_modern_notification_is_202(mcp_url):
    _, r = modern_post(mcp_url, "notifications/cancelled", {"requestId": 5}, notification=True)
    assert_202_empty(r)


def test_modern_request_from_a_foreign_origin_is_403(mcp_url):
    _, r = modern_post(mcp_url, "tools/list", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_modern_post_still_requires_accept_of_both_types(mcp_url):
    _, r = modern_post(mcp_url, "tools/list", headers={"Accept": "application/json"})
    assert r.status_code == 406


# --- both revisions side by side ----------------------------------------------------------------


def test_a_legacy_session_and_modern_requests_interleave_on_one_endpoint(session, mcp_url):
    for _ in range(3):
        assert session.call("ping") == {}
        assert modern_result(mcp_url, "tools/list")["resultType"] == "complete"
        legacy = session.call("tools/call", {"name": "get_product", "arguments": {"id": "wool-beanie"}})
        modern = modern_result(mcp_url, "tools/call", {"name": "get_product", "arguments": {"id": "wool-beanie"}})
        assert legacy["structuredContent"] == modern["structuredContent"]
        assert "resultType" not in legacy or legacy["resultType"] == "complete"


def test_a_default_gateway_lists_every_tool_on_the_first_page(tmp_path, http):
    """Clients that never follow nextCursor (and newcomers reading one page) see every tool."""
    gateway = Gateway(store=tmp_path / "store.db").start()
    try:
        session = LegacySession.open(gateway.mcp_url)
        listed = session.call("tools/list")
        rest = [t["name"] for t in http.get(gateway.base_url + "/tools").json()["tools"]]
        assert len(rest) > 5
        assert [t["name"] for t in listed["tools"]] == rest
        assert "nextCursor" not in listed
    finally:
        gateway.stop()
