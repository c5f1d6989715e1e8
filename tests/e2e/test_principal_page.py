"""The principal's page (`/principal/`, issue 16), in a real Chromium and over plain HTTP:

- the human signs in by the one-time link, grants an OAuth client with a per-purchase limit and an
  approval threshold, and the agent's wallet follows what they set (not the merchant);
- the agent's purchase above the threshold waits; the page shows it; the principal approves it
  there and the order is placed;
- the principal changes the limits, then revokes the agent: its access and refresh tokens stop
  working at once;
- another principal sees none of it and can change none of it; changes need the session's CSRF
  token and this store's origin; a sign-in link works once.
"""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from chromium import browser  # noqa: F401 (the fixture)
from oauth_flow import (Callback, authorize, callback, pkce, register_client, sign_in, sign_in_link,  # noqa: F401 (callback)
                        token_request, wait_for_callback)
from shop import GIFT_PRICE, GIFT_SKU, sql, start_shop

TWO_GIFTS = {"items": [{"product_id": "gift-card", "variant_id": GIFT_SKU, "quantity": 2}]}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("principal-page"))
    yield s
    s.server.kill()


def test_grant_limits_approve_and_revoke_in_chromium(shop, browser, callback):
    base = shop.base_url
    email = "carla@example.com"
    client = register_client(base, name="Travel Agent", redirect_uris=[callback])
    verifier, challenge = pkce()
    authorize_url = requests.Request("GET", f"{base}/oauth/authorize", params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": callback, "state": "xyz",
        "scope": "checkout:write orders:read", "resource": base + "/mcp",
        "code_challenge": challenge, "code_challenge_method": "S256"}).prepare().url

    # sign in by the logged link, then consent with limits
    # the page re-renders its list after each change: an element found a moment ago may be gone
    wait = WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,))
    browser.get(authorize_url)
    wait.until(EC.visibility_of_element_located((By.ID, "sign-in")))
    mark = len(shop.server.stderr)
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "send-link").click()
    wait.until(EC.visibility_of_element_located((By.ID, "sent")))
    link = sign_in_link(shop.server, email, after=mark)
    browser.get(link)
    # loading the link signs no one in: the page says whom it is for, and the button spends it
    wait.until(EC.visibility_of_element_located((By.ID, "use-link")))
    assert browser.find_element(By.ID, "link-email").text == email
    assert requests.get(f"{base}/principal/api/session", cookies={c["name"]: c["value"] for c in browser.get_cookies()},
                        timeout=10).json()["signed_in"] is False
    browser.find_element(By.ID, "use-link").click()
    wait.until(EC.visibility_of_element_located((By.ID, "consent")))
    assert browser.find_element(By.ID, "client-name").text == "Travel Agent"
    assert browser.find_element(By.ID, "signed-in-as").text == f"Signed in as {email}"
    assert "link=" not in browser.current_url  # the spent link leaves the address bar
    listed = {box.get_attribute("value") for box in browser.find_elements(By.CSS_SELECTOR, "input[name=scope]")}
    assert listed == {"checkout:write", "orders:read"}
    browser.find_element(By.ID, "limit-per_transaction").send_keys("100")
    browser.find_element(By.ID, "limit-approval_threshold").send_keys("30")
    before = len(Callback.received)
    browser.find_element(By.ID, "allow").click()
    answer = wait_for_callback(before)
    assert answer["state"] == "xyz" and answer["iss"] == base

    r = token_request(base, grant_type="authorization_code", code=answer["code"], redirect_uri=callback,
                      client_id=client["client_id"], code_verifier=verifier, resource=base + "/mcp")
    assert r.status_code == 200, r.text
    tokens = r.json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    agent_id = sql(shop.store, f"SELECT agent_id FROM oauth_grants WHERE principal = '{email}'")[0]["agent_id"]
    wallet = shop.admin_ok("GET", f"/wallets/{agent_id}")["wallet"]
    assert wallet["windows"]["per_transaction"]["limit"]["amount"] == 10_000
    assert wallet["approval_threshold"]["amount"] == 3_000
    limits_entry = sql(shop.store, f"SELECT principal FROM trail WHERE action = 'wallet.set_limits' AND agent_id = '{agent_id}'")
    assert limits_entry == [{"principal": f"principal:{email}"}]  # the principal set them, not the merchant
    shop.fund(agent_id, 10 * GIFT_PRICE)

    # the agent (over MCP with its token) buys above the threshold: it waits for the principal
    from gateway_process import LegacySession, rpc_request
    session = LegacySession.open(base + "/mcp", headers=auth)

    def call(tool, arguments):
        import uuid
        r = session.post(rpc_request("tools/call", {"name": tool, "arguments": arguments}), {**auth, "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 200, r.text
        return r.json()["result"]

    checkout = call("create_checkout", TWO_GIFTS)["structuredContent"]["checkout"]
    waiting = call("complete_checkout", {"checkout_id": checkout["id"]})
    assert waiting["structuredContent"]["checkout"]["status"] == "pending_approval", waiting

    # the principal's page shows it; approve
    browser.get(f"{base}/principal/")
    shown = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, f"article.agent[data-agent-id='{agent_id}']")))
    assert "Travel Agent" in shown.text and "$50.00" in shown.text, shown.text
    shown.find_element(By.CSS_SELECTOR, "button.approve").click()
    wait.until(lambda d: "Approved: order" in d.find_element(By.ID, "status").text)
    orders = call("list_orders", {})["structuredContent"]["orders"]
    assert len(orders) == 1 and orders[0]["status"] == "confirmed", orders
    # the page re-renders after each change: find the card afresh each time
    card = f"article.agent[data-agent-id='{agent_id}']"
    wait.until(lambda d: orders[0]["id"] in d.find_element(By.CSS_SELECTOR, card).text)

    # change a limit on the page
    field = browser.find_element(By.ID, f"limit-{agent_id}-per_transaction")
    field.clear()
    field.send_keys("40")
    browser.find_element(By.CSS_SELECTOR, card + " button.save-limits").click()
    wait.until(lambda d: "Limits saved" in d.find_element(By.ID, "status").text)
    assert shop.admin_ok("GET", f"/wallets/{agent_id}")["wallet"]["windows"]["per_transaction"]["limit"]["amount"] == 4_000

    # revoke: the token stops working at once, and so does the refresh token
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, card + " button.revoke"))).click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, card).get_attribute("data-status") == "revoked")
    r = session.post(rpc_request("tools/list"), auth)
    assert r.status_code == 401, r.text
    assert requests.post(f"{base}/tools/list_orders", json={}, headers=auth, timeout=10).status_code == 401
    r = token_request(base, grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=client["client_id"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_another_principal_sees_and_changes_nothing(shop):
    owner = sign_in(shop.server, "dana@example.com")
    tokens = authorize(shop.server, owner, limits={"approval_threshold": GIFT_PRICE})
    shop.fund(tokens.agent_id, 10 * GIFT_PRICE)
    r = requests.post(shop.url("/tools/create_checkout"), json=TWO_GIFTS, headers=tokens.auth, timeout=10)
    checkout_id = r.json()["checkout"]["id"]
    r = requests.post(shop.url("/tools/complete_checkout"), json={"checkout_id": checkout_id},
                      headers={**tokens.auth, "Idempotency-Key": "p-1"}, timeout=10)
    approval_id = r.json()["checkout"]["approval"]["id"]
    # the escalation page (UCP's continue_url) leads to the principal's page, which lists the approval
    page = requests.get(shop.url(f"/checkout-sessions/{checkout_id}/continue"), timeout=10).text
    assert 'href="/principal/"' in page
    listed = owner.get("/principal/api/agents").json()["agents"][0]["pending_approvals"]
    assert [a["id"] for a in listed] == [approval_id]

    stranger = sign_in(shop.server, "eve@example.com")
    assert stranger.get("/principal/api/agents").json()["agents"] == []
    assert stranger.post(f"/principal/api/agents/{tokens.agent_id}/revoke", {}).status_code == 404
    assert stranger.post(f"/principal/api/agents/{tokens.agent_id}/limits", {"per_transaction": 1}).status_code == 404
    assert stranger.post(f"/principal/api/approvals/{approval_id}", {"decision": "approve"}).status_code == 404
    # the owner's own changes need the CSRF token and this origin
    r = owner.http.post(shop.url(f"/principal/api/agents/{tokens.agent_id}/revoke"), json={}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_token_invalid"
    r = owner.http.post(shop.url(f"/principal/api/agents/{tokens.agent_id}/revoke"), json={},
                        headers={"X-CSRF-Token": owner.csrf, "Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin"
    assert requests.post(shop.url("/tools/list_orders"), json={}, headers=tokens.auth, timeout=10).status_code == 200
    # limits are checked
    r = owner.post(f"/principal/api/agents/{tokens.agent_id}/limits", {"daily": -5})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_limits"
    r = owner.post(f"/principal/api/agents/{tokens.agent_id}/limits", {"monthly": "lots"})
    assert r.status_code == 400
    r = owner.post(f"/principal/api/agents/{tokens.agent_id}/limits", {"owner": "me"})
    assert r.status_code == 400
    # the owner declines; the held money comes back
    r = owner.post(f"/principal/api/approvals/{approval_id}", {"decision": "deny"})
    assert r.status_code == 200, r.text
    agents = owner.get("/principal/api/agents").json()["agents"]
    assert agents[0]["pending_approvals"] == [] and agents[0]["wallet"]["balance"]["amount"] == 10 * GIFT_PRICE


def test_a_sign_in_link_works_once_and_a_forged_one_not_at_all(shop):
    mark = len(shop.server.stderr)
    assert requests.post(shop.url("/principal/api/sign-in"), json={"email": "fay@example.com"}, timeout=10).status_code == 202
    token = parse_qs(urlsplit(sign_in_link(shop.server, "fay@example.com", after=mark)).query)["link"][0]
    first = requests.post(shop.url("/principal/api/session"), json={"link": token}, timeout=10)
    assert first.status_code == 200 and "HttpOnly" in first.headers["Set-Cookie"] and "SameSite=Lax" in first.headers["Set-Cookie"]
    again = requests.post(shop.url("/principal/api/session"), json={"link": token}, timeout=10)
    assert again.status_code == 403 and again.json()["error"]["code"] == "link_used"
    # another site cannot spend a link for a visitor (a form posts text/plain; a browser names its origin)
    mark = len(shop.server.stderr)
    time.sleep(10.1)  # one link per address every 10 seconds
    assert requests.post(shop.url("/principal/api/sign-in"), json={"email": "fay@example.com"}, timeout=10).status_code == 202
    fresh = parse_qs(urlsplit(sign_in_link(shop.server, "fay@example.com", after=mark)).query)["link"][0]
    r = requests.post(shop.url("/principal/api/session"), data=json.dumps({"link": fresh}), headers={"Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin"
    r = requests.post(shop.url("/principal/api/session"), json={"link": fresh}, headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin"
    assert requests.post(shop.url("/principal/api/session"), json={"link": fresh}, timeout=10).status_code == 200  # still unspent
    payload, signature = token.split(".")
    forged = requests.post(shop.url("/principal/api/session"), json={"link": payload + "." + signature[::-1]}, timeout=10)
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "link_invalid"
    # a second link for the same address right away is paced
    r = requests.post(shop.url("/principal/api/sign-in"), json={"email": "fay@example.com"}, timeout=10)
    assert r.status_code == 429 and r.headers["Retry-After"]
    for bad in ({"email": "not-an-address"}, {"email": "a@b"}, {"email": "<x>@example.com"}, {}, {"email": 5}):
        assert requests.post(shop.url("/principal/api/sign-in"), json=bad, timeout=10).status_code == 400, bad
    # without a session nothing is shown
    r = requests.get(shop.url("/principal/api/agents"), timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "principal_sign_in_required"
