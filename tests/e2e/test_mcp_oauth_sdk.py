"""The official MCP Python SDK's OAuth client (`OAuthClientProvider`) against the gateway, with
the principal's consent driven in a real Chromium (issue 16).

The SDK browses anonymously, then calls a tool that acts for a principal: the gateway answers
401 with `WWW-Authenticate: Bearer resource_metadata=…, scope=…`; the SDK discovers the protected
resource and the authorization server, registers itself (RFC 7591), and sends the "user" to the
authorization URL. That user is Chromium: the principal's page asks for an email address, the
one-time link is read from the gateway's log, the page shows what the agent asks for, the
principal sets a per-purchase limit and allows. The SDK redeems the code (PKCE) and retries.
A later call that needs another scope gets 403 `insufficient_scope`, and the SDK steps up
through the same page. The agent then buys within the limit the principal set.
"""
from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from chromium import browser  # noqa: F401 (the fixture)
from oauth_flow import Callback, callback, sign_in_link, wait_for_callback  # noqa: F401 (callback: the fixture)
from shop import GIFT_PRICE, GIFT_SKU, sql, start_shop

ONE_GIFT = {"items": [{"product_id": "gift-card", "variant_id": GIFT_SKU, "quantity": 1}]}
TWO_GIFTS = {"items": [{"product_id": "gift-card", "variant_id": GIFT_SKU, "quantity": 2}]}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("mcp-oauth"))
    yield s
    s.server.kill()


class MemoryStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client):
        self.client = client


def consent_in_chromium(browser, shop, url: str, email: str, *, per_purchase: str | None) -> dict:
    """The human side of one authorization: Chromium opens the authorization URL, signs in by
    the logged link when needed, sets the limit, allows; returns what the redirect URI received."""
    before = len(Callback.received)
    browser.get(url)
    wait = WebDriverWait(browser, 15)
    wait.until(lambda d: d.find_element(By.ID, "sign-in").is_displayed() or d.find_element(By.ID, "consent").is_displayed())
    if browser.find_element(By.ID, "sign-in").is_displayed():
        mark = len(shop.server.stderr)
        browser.find_element(By.ID, "email").send_keys(email)
        browser.find_element(By.ID, "send-link").click()
        wait.until(EC.visibility_of_element_located((By.ID, "sent")))
        browser.get(sign_in_link(shop.server, email, after=mark))
        # the page shows whom the link signs in; only the button spends it
        wait.until(EC.visibility_of_element_located((By.ID, "use-link")))
        assert browser.find_element(By.ID, "link-email").text == email
        browser.find_element(By.ID, "use-link").click()
    wait.until(EC.visibility_of_element_located((By.ID, "consent")))
    assert "e2e SDK agent" in browser.find_element(By.ID, "client-name").text
    if per_purchase is not None:
        browser.find_element(By.ID, "limit-per_transaction").send_keys(per_purchase)
    browser.find_element(By.ID, "allow").click()
    return wait_for_callback(before)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_the_sdk_authorizes_through_the_principals_page_and_buys_within_the_limit(shop, browser, callback, mode):
    import httpx2
    from mcp import Client
    from mcp.client.auth import OAuthClientProvider
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    email = f"sdk-{mode}@example.com"
    browser.get(shop.url("/principal/"))
    browser.delete_all_cookies()  # another principal may be signed in from an earlier test
    authorize_urls: list[str] = []
    answers: list[dict] = []

    async def redirect_handler(url: str) -> None:
        authorize_urls.append(url)
        # The limit is set at the first consent; the step-up leaves it as it is.
        answers.append(consent_in_chromium(browser, shop, url, email, per_purchase="30" if len(authorize_urls) == 1 else None))

    async def callback_handler() -> AuthorizationCodeResult:
        answer = answers[-1]
        assert "code" in answer, answer
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    provider = OAuthClientProvider(
        shop.url("/mcp"),
        OAuthClientMetadata(redirect_uris=[callback], client_name="e2e SDK agent", token_endpoint_auth_method="none"),
        MemoryStorage(), redirect_handler, callback_handler)

    async def scenario():
        transport = streamable_http_client(shop.url("/mcp"), http_client=httpx2.AsyncClient(auth=provider, timeout=60))
        async with Client(transport, mode=mode) as client:
            tools = await client.list_tools()  # browsing needs no authorization
            assert "create_checkout" in {t.name for t in tools.tools}
            assert authorize_urls == []
            first = await client.call_tool("create_checkout", ONE_GIFT)
            assert first.is_error is False, first
            assert len(authorize_urls) == 1
            agent_id = sql(shop.store, f"SELECT agent_id FROM oauth_grants WHERE principal = '{email}'")[0]["agent_id"]
            shop.fund(agent_id, 10 * GIFT_PRICE)
            bought = await client.call_tool("complete_checkout", {"checkout_id": first.structured_content["checkout"]["id"]})
            assert bought.is_error is False, bought
            # list_orders needs orders:read, which the first consent did not cover: 403, step-up, retry
            orders = await client.call_tool("list_orders", {})
            assert orders.is_error is False, orders
            assert len(authorize_urls) == 2
            assert [o["id"] for o in orders.structured_content["orders"]] == [bought.structured_content["order"]["id"]]
            # the principal's per-purchase limit (30.00) holds: two cards (50.00) are refused
            second = await client.call_tool("create_checkout", TWO_GIFTS)
            refused = await client.call_tool("complete_checkout", {"checkout_id": second.structured_content["checkout"]["id"]})
            assert refused.is_error is True and refused.structured_content["error"]["code"] == "spend_limit_exceeded", refused
            return agent_id

    agent_id = asyncio.run(scenario())
    first_scope = parse_qs(urlsplit(authorize_urls[0]).query)
    assert first_scope["scope"] == ["checkout:write"] and first_scope["code_challenge_method"] == ["S256"]
    assert first_scope["resource"] == [shop.url("/mcp")]
    assert set(parse_qs(urlsplit(authorize_urls[1]).query)["scope"][0].split()) >= {"checkout:write", "orders:read"}
    assert all(a["iss"] == shop.base_url for a in answers)
    grant = sql(shop.store, f"SELECT client_id, scopes FROM oauth_grants WHERE agent_id = '{agent_id}'")[0]
    assert set(grant["scopes"].split()) >= {"checkout:write", "orders:read"}
    assert shop.admin_ok("GET", f"/wallets/{agent_id}")["wallet"]["windows"]["per_transaction"]["limit"]["amount"] == 3000
