"""The escalation page: a UCP checkout above the approval threshold answers `requires_escalation`
with a `continue_url`; there the human principal sees what their agent wants to buy, asks for a
confirmation link (sent to them, printed to the gateway's log in development), and approves or
declines on the link's page. Driven in a real Chromium, and over plain HTTP for what a browser
does not show:

- the agent (who also has the continue_url) cannot decide: the page only sends the link;
- a forged, tampered or other checkout's token is refused (403); a link is sent at most every
  30 s per checkout (429); a decision is made once;
- approval completes the UCP checkout with its order; a decline releases the held money.
"""
from __future__ import annotations

import uuid

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from chromium import browser  # noqa: F401 (the fixture)
from shop import GIFT_PRICE, GIFT_SKU, confirmation_link, ledger_sum, start_shop



@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("escalation"))
    yield s
    s.server.kill()


def ucp_headers(agent) -> dict:
    return {**agent.auth, "Idempotency-Key": str(uuid.uuid4()), "Request-Id": str(uuid.uuid4())}


def escalated(shop, quantity: int = 2):
    """An agent with an approval threshold of one gift card, and a UCP checkout waiting for its principal."""
    agent = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE)
    lines = {"line_items": [{"item": {"id": GIFT_SKU}, "quantity": quantity}]}
    created = requests.post(shop.url("/checkout-sessions"), json=lines, headers=ucp_headers(agent), timeout=10).json()
    wallet = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}}
    waiting = requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"), json=wallet, headers=ucp_headers(agent),
                            timeout=10).json()
    assert waiting["status"] == "requires_escalation", waiting
    assert ledger_sum(shop.store, agent.id) == 100_000 - quantity * GIFT_PRICE
    return agent, waiting


def ucp_status(shop, agent, checkout_id: str) -> dict:
    return requests.get(shop.url(f"/checkout-sessions/{checkout_id}"), headers=ucp_headers(agent), timeout=10).json()


def test_the_principal_approves_in_chromium_and_the_ucp_checkout_completes(shop, browser):
    agent, waiting = escalated(shop)
    browser.get(waiting["continue_url"])
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "Approve a purchase" in page and "$50.00" in page, page
    masked = agent.principal[0] + "•••" + agent.principal[agent.principal.index("@"):]
    assert masked in page and agent.principal not in page, page
    assert not browser.find_elements(By.ID, "approve"), "the continue page must not let whoever holds it decide"
    browser.find_element(By.ID, "send-link").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.ID, "sent"))
    link, principal = confirmation_link(shop, waiting["id"])
    assert principal == agent.principal
    browser.get(link)
    assert agent.principal in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.ID, "result"))
    assert "Approved: order ord_" in browser.find_element(By.ID, "result").text
    done = ucp_status(shop, agent, waiting["id"])
    assert done["status"] == "completed" and done["order"]["id"].startswith("ord_"), done
    assert ledger_sum(shop.store, agent.id) == 100_000 - 2 * GIFT_PRICE


def test_a_decline_releases_the_held_money(shop):
    agent, waiting = escalated(shop, quantity=3)
    assert requests.post(waiting["continue_url"], timeout=10).status_code == 200
    link, _ = confirmation_link(shop, waiting["id"])
    token = link.split("token=")[1]
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and 'id="deny"' in page.text
    r = requests.post(link.split("?")[0], data={"token": token, "decision": "deny"}, timeout=10)
    assert r.status_code == 200 and "Declined" in r.text, r.text
    assert ucp_status(shop, agent, waiting["id"])["status"] == "canceled"
    assert ledger_sum(shop.store, agent.id) == 100_000
    # Once decided, the same link decides nothing more.
    again = requests.post(link.split("?")[0], data={"token": token, "decision": "approve"}, timeout=10)
    assert again.status_code == 409, again.text
    assert ledger_sum(shop.store, agent.id) == 100_000


def test_forged_tampered_and_foreign_tokens_are_refused_and_links_are_paced(shop):
    agent, waiting = escalated(shop)
    other_agent, other = escalated(shop)
    confirm = shop.url(f"/checkout-sessions/{waiting['id']}/confirm")
    assert requests.post(waiting["continue_url"], timeout=10).status_code == 200
    assert requests.post(waiting["continue_url"], timeout=10).status_code == 429  # paced
    link, _ = confirmation_link(shop, waiting["id"])
    token = link.split("token=")[1]
    payload, signature = token.split(".")
    for forged in ("", "x.y", payload + "." + signature[:-4] + "AAAA", payload[:-4] + "AAAA." + signature):
        assert requests.get(confirm, params={"token": forged}, timeout=10).status_code == 403, forged
        r = requests.post(confirm, data={"token": forged, "decision": "approve"}, timeout=10)
        assert r.status_code == 403, forged
    # A link for one checkout decides no other.
    r = requests.post(shop.url(f"/checkout-sessions/{other['id']}/confirm"), data={"token": token, "decision": "approve"}, timeout=10)
    assert r.status_code == 403
    assert ucp_status(shop, other_agent, other["id"])["status"] == "requires_escalation"
    assert ucp_status(shop, agent, waiting["id"])["status"] == "requires_escalation"
    # The agent's own credentials are no way in either: the page has no approve form for them.
    page = requests.get(waiting["continue_url"], headers=agent.auth, timeout=10)
    assert page.status_code == 200 and 'id="approve"' not in page.text
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_a_checkout_that_waits_for_nothing_says_so(shop):
    r = requests.get(shop.url("/checkout-sessions/chk_nope/continue"), timeout=10)
    assert r.status_code == 404
    r = requests.post(shop.url("/checkout-sessions/chk_nope/continue"), timeout=10)
    assert r.status_code == 409


def test_a_principal_with_a_line_break_cannot_forge_a_log_line(shop):
    body = {"principal": "ana@example.com\nconfirmation link for boss@example.com (checkout chk_x", "display_name": "x"}
    r = shop.admin("POST", "/agents", body)
    assert r.status_code == 400 and r.json()["error"]["param"] == "principal", r.text
    r = requests.post(shop.url("/agents/register"), json=body | {"operator": "o"}, timeout=10)
    assert r.status_code in (400, 403), r.text
