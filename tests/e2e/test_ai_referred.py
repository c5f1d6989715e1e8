"""AI-referred human visits (issue 19): a browser arriving from an assistant (its page as Referer,
or a link tagged `utm_source=chatgpt.com`) is a family of its own per assistant, kept across the
visit by a first-party cookie, and the order that person places (here: approving their agent's
purchase on the confirmation page) is revenue from AI-referred humans beside revenue from agents.
Exact numbers after scripted traffic.
"""
from __future__ import annotations

import uuid

import pytest
import requests

from shop import GIFT_PRICE, GIFT_SKU, confirmation_link, start_shop
from test_analytics import settle

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
CHATGPT_HUMAN = "AI-referred human (ChatGPT)"
PERPLEXITY_HUMAN = "AI-referred human (Perplexity)"


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("ai-referred"), extra=("--no-rate-limits",))
    yield s
    s.server.kill()


def family_requests(shop) -> dict[str, int]:
    points = shop.admin_ok("GET", "/analytics/timeseries?by=family")["points"]
    out: dict[str, int] = {}
    for p in points:
        out[p["key"]] = out.get(p["key"], 0) + p["requests"]
    return out


def escalated(shop):
    """A UCP checkout over the agent's approval threshold, waiting for its principal."""
    agent = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE)
    headers = {**agent.auth, "Idempotency-Key": str(uuid.uuid4()), "Request-Id": str(uuid.uuid4())}
    created = requests.post(shop.url("/checkout-sessions"), json={"line_items": [{"item": {"id": GIFT_SKU}, "quantity": 2}]},
                            headers=headers, timeout=10).json()
    wallet = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}}
    headers["Idempotency-Key"] = str(uuid.uuid4())
    waiting = requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"), json=wallet, headers=headers, timeout=10).json()
    assert waiting["status"] == "requires_escalation", waiting
    return agent, waiting


def test_people_sent_by_assistants_are_their_own_family_and_their_orders_count(shop):
    settle(shop)
    before = family_requests(shop)
    product = requests.get(shop.url("/catalog?limit=1"), headers={"User-Agent": BROWSER}, timeout=10).json()["products"][0]["id"]

    # ChatGPT sends a person to a product page: the landing sets the visit's cookie, not for shared caches
    person = requests.Session()
    person.headers["User-Agent"] = BROWSER
    landing = person.get(shop.url(f"/products/{product}"), headers={"Referer": "https://chatgpt.com/"}, timeout=10)
    assert landing.status_code == 200
    cookie = landing.headers["Set-Cookie"]
    assert cookie.startswith("sf_ai_ref=chatgpt;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    assert "public" not in landing.headers.get("Cache-Control", ""), landing.headers
    # the rest of the visit carries no referrer, only the cookie
    for path in ("/pricing", "/policies", f"/products/{product}"):
        assert person.get(shop.url(path), timeout=10).status_code == 200

    # the person approves their agent's purchase: an order placed in the same visit
    agent, waiting = escalated(shop)
    assert person.post(waiting["continue_url"], timeout=10).status_code == 200
    link, _ = confirmation_link(shop, waiting["id"])
    token = link.split("token=")[1]
    assert person.get(link, timeout=10).status_code == 200
    decided = person.post(link.split("?")[0], data={"token": token, "decision": "approve"}, timeout=10)
    assert decided.status_code == 200 and "Approved: order <code>ord_" in decided.text, decided.text[:300]

    # Perplexity's tagged link, and a forged cookie value that names no assistant
    tagged = requests.get(shop.url("/pricing?utm_source=perplexity"), headers={"User-Agent": BROWSER}, timeout=10)
    assert tagged.headers["Set-Cookie"].startswith("sf_ai_ref=perplexity;")
    forged = requests.get(shop.url("/pricing"), headers={"User-Agent": BROWSER, "Cookie": "sf_ai_ref=evil"}, timeout=10)
    assert forged.status_code == 200 and "Set-Cookie" not in forged.headers
    # an agent with a chatgpt.com referrer is still that agent, not a referred human
    requests.get(shop.url("/pricing"), headers={"User-Agent": "ChatGPT-User/1.0", "Referer": "https://chatgpt.com/"}, timeout=10)

    settle(shop)
    after = family_requests(shop)
    # landing + 3 pages + continue POST + confirm GET + confirm POST
    assert after.get(CHATGPT_HUMAN, 0) - before.get(CHATGPT_HUMAN, 0) == 7, after
    assert after.get(PERPLEXITY_HUMAN, 0) - before.get(PERPLEXITY_HUMAN, 0) == 1, after

    rows = {r["key"]: r for r in shop.admin_ok("GET", "/analytics/revenue?by=family")["rows"]}
    assert CHATGPT_HUMAN in rows, rows
    assert rows[CHATGPT_HUMAN]["orders"] == 1 and rows[CHATGPT_HUMAN]["revenue"]["amount"] == 2 * GIFT_PRICE, rows
    assert rows[CHATGPT_HUMAN]["category"] == "ai_referred_human"
    assert "registered agent" not in rows or rows["registered agent"]["revenue"]["amount"] >= 0
    top = {a["family"]: a for a in shop.admin_ok("GET", "/analytics/top-agents?limit=50")["agents"]}
    assert top[CHATGPT_HUMAN]["requests"] == 7, top.get(CHATGPT_HUMAN)
