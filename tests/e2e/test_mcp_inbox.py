"""The inbox as an MCP resource: read it, subscribe, and hear notifications/resources/updated on
the session's server-to-client stream (issue 5)."""

import json

from gateway_process import LegacySession, SSEStream, post_json, rpc_request
from shop import start_shop


def authed_session(shop, agent) -> LegacySession:
    mcp = shop.url("/mcp")
    auth = {"Authorization": f"Bearer {agent.api_key}"}
    r = post_json(mcp, rpc_request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                                   "clientInfo": {"name": "e2e", "version": "1"}}), auth)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["result"]["capabilities"]["resources"]["subscribe"] is True
    session = LegacySession(mcp, r.headers["MCP-Session-Id"])
    session.auth = auth
    return session


def call(session, method, params=None):
    r = session.post(rpc_request(method, params), headers=session.auth)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def test_a_subscribed_session_hears_of_new_inbox_events_and_reads_them(tmp_path):
    shop = start_shop(tmp_path / "mcp-inbox")
    try:
        agent = shop.register()
        session = authed_session(shop, agent)
        listed = call(session, "resources/list")["result"]["resources"]
        assert "storefront://inbox" in [r["uri"] for r in listed]
        with SSEStream.open(session.mcp_url, "GET", None, {"Accept": "text/event-stream", **session.headers,
                                                          **session.auth}, timeout=10) as stream:
            assert stream.status == 200
            assert call(session, "resources/subscribe", {"uri": "storefront://inbox"})["result"] == {}
            shop.admin_ok("POST", f"/wallets/{agent.id}/fund", {"amount": 2500})
            event = stream.next_event()
            while event is not None and not event.data:
                event = stream.next_event()
            assert event is not None, "no notification on the server-to-client stream"
            message = json.loads(event.data)
            assert message == {"jsonrpc": "2.0", "method": "notifications/resources/updated",
                               "params": {"uri": "storefront://inbox"}}, message
        contents = call(session, "resources/read", {"uri": "storefront://inbox"})["result"]["contents"]
        page = json.loads(contents[0]["text"])
        assert [e["type"] for e in page["events"]] == ["wallet.funded"], page
    finally:
        shop.server.stop()


def test_the_inbox_resource_needs_an_identity_and_other_resources_cannot_be_subscribed(tmp_path):
    shop = start_shop(tmp_path / "mcp-inbox-anon")
    try:
        agent = shop.register()
        anonymous = LegacySession.open(shop.url("/mcp"))
        r = anonymous.post(rpc_request("resources/read", {"uri": "storefront://inbox"}))
        assert r.json()["error"]["code"] == -32602, r.text[:300]
        session = authed_session(shop, agent)
        refused = call(session, "resources/subscribe", {"uri": "storefront://pricing"})
        assert refused["error"]["code"] == -32602, refused
    finally:
        shop.server.stop()
