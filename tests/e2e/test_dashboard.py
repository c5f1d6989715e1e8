"""The merchant dashboard (`public/`, served at /dashboard/) in a REAL browser: Debian's headless
Chromium driven through Debian's chromedriver by `selenium`.

One gateway with a known admin token gets known traffic first — anonymous requests from four agent
families (user agents), a registered agent that buys, and a purchase above an approval threshold
that waits for the merchant. Then the browser signs in (a wrong token is refused first) and the
tests check what a merchant sees against what was sent and against the admin API: the KPIs, the
family chart and the funnel chart drawn by Chart.js, top agents, the actions table, approving the
pending purchase with the button, the audit trail's verification, the live feed over SSE, the CSV
export, the sign-in kept by an HttpOnly session cookie (never the token in storage or in a URL), and
no horizontal overflow at a phone's width.

Screenshots are saved as artifacts in `$STOREFRONT_ARTIFACTS` (default: the system temp folder).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from shop import Agent, Shop, cli, new_key, start_shop

selenium = pytest.importorskip("selenium", reason="selenium is not installed (tests/e2e/requirements.txt)")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from chromium import start_chromium  # noqa: E402

ARTIFACTS = Path(os.environ.get("STOREFRONT_ARTIFACTS") or tempfile.gettempdir())

# Anonymous agent traffic: family (as the gateway's known-agents table names it) → user agent and
# the requests sent with it. Different counts per family, so the chart check means something.
FAMILIES = {
    "ChatGPT-User": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
        [("GET", "/agents"), ("GET", "/pricing"), ("POST", "/tools/search_catalog")],
    ),
    "Claude-User": ("Claude-User/1.0 (+Claude-User@anthropic.com)", [("GET", "/agents"), ("GET", "/pricing")]),
    "PerplexityBot": (
        "Mozilla/5.0 (compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
        [("GET", "/agents"), ("GET", "/llms.txt"), ("GET", "/pricing"), ("GET", "/policies")],
    ),
    "Googlebot": ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", [("GET", "/robots.txt")]),
}
# Families only the live-feed test uses (so their events are new after the page loaded).
LIVE_FIRST = ("Amazonbot", "Mozilla/5.0 (compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot)")
LIVE_SECOND = ("DuckAssistBot", "DuckAssistBot/1.2; (+http://duckduckgo.com/duckassistbot.html)")
LIVE_BURST = ("Bytespider", "Mozilla/5.0 (compatible; Bytespider; spider-feedback@bytedance.com)")
# A family only the recent-past test uses: its request is made before the page is reloaded.
LIVE_PAST = ("Applebot", "Mozilla/5.0 (compatible; Applebot/0.1; +http://www.apple.com/go/applebot)")

SESSION_COOKIE = "sf_admin_session"  # Path=/admin: read through CDP, WebDriver shows only the page's path
BUYER_NAME = "Trailhead Shopper"
APPROVER_NAME = "Summit Procurement"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
WAIT = 15.0


# --- the shop and its known traffic ------------------------------------------------------------


@dataclass
class Traffic:
    buyer: Agent
    approver: Agent
    pending_checkout: str
    approval_id: str
    sent: dict[str, int] = field(default_factory=dict)


def eventually(check, timeout: float = WAIT, interval: float = 0.2, message: str = ""):
    """Polls `check()` until it returns something truthy; fails with the last value otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{message or 'condition'} not met within {timeout}s; last value: {last!r}")


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Shop:
    shop = start_shop(tmp_path_factory.mktemp("dashboard-shop"))
    yield shop
    code = shop.server.stop(signal.SIGTERM)
    shop.server.assert_stopped_cleanly(code)


@pytest.fixture(scope="module")
def traffic(shop) -> Traffic:
    sent = {}
    for family, (user_agent, calls) in FAMILIES.items():
        for method, path in calls:
            headers = {"User-Agent": user_agent, "Accept": "application/json"}
            if method == "POST":
                r = requests.post(shop.url(path), json={"query": "tent"}, headers=headers, timeout=10)
            else:
                r = requests.get(shop.url(path), headers=headers, timeout=10)
            assert r.status_code == 200, (family, path, r.status_code, r.text[:300])
        sent[family] = len(calls)

    buyer = shop.register("ops@trailhead.example", name=BUYER_NAME)
    shop.fund(buyer, 100_000)
    bought = shop.buy(buyer, 2)  # two $25 gift cards: $50.00
    assert bought.status_code == 200, bought.text[:500]
    assert bought.json()["checkout"]["status"] == "completed", bought.json()

    approver = shop.register("finance@summit.example", name=APPROVER_NAME)
    shop.fund(approver, 100_000)
    shop.set_limits(approver, approval_threshold=1000)
    checkout = shop.create_checkout(approver, 1)
    held = shop.complete(approver, checkout["id"])
    assert held.status_code in (200, 202), held.text[:500]
    held_checkout = held.json()["checkout"]
    assert held_checkout["status"] == "pending_approval", held_checkout

    # Analytics are written in batches about every second: wait until all of it is visible.
    def flushed():
        summary = shop.admin_ok("GET", "/analytics/summary")
        series = shop.admin_ok("GET", "/analytics/timeseries?by=family&bucket_minutes=1440")
        actions = shop.admin_ok("GET", "/analytics/actions")
        per_family = family_totals(series)
        completes = next((a["calls"] for a in actions["actions"] if a["route"] == "action:complete_checkout"), 0)
        ok = summary["orders"] == 1 and completes == 2 and all(per_family.get(f) == n for f, n in sent.items())
        return ok and (summary, per_family)

    eventually(flushed, message="the traffic to show in the analytics API")
    return Traffic(buyer=buyer, approver=approver, pending_checkout=checkout["id"],
                   approval_id=held_checkout["approval"]["id"], sent=sent)


def family_totals(series: dict) -> dict[str, int]:
    totals: dict[str, int] = {}
    for point in series["points"]:
        totals[point["key"]] = totals.get(point["key"], 0) + point["requests"]
    return totals


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    driver = start_chromium(downloads)
    # Charts draw without animation, as for a merchant who asked for reduced motion.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]})
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    driver.console = []
    yield driver
    driver.quit()


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def wait_js(driver, script: str, message: str, timeout: float = WAIT, *args):
    """Waits until the JavaScript expression `script` (a function body that returns) is truthy."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(script, *args))
    except TimeoutException:
        shot = screenshot(driver, "timeout")
        pytest.fail(f"timed out after {timeout}s waiting for: {message} (screenshot {shot})")


def screenshot(driver, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"storefront-dashboard-{name}.png"
    if full_page:
        js(driver, "window.scrollTo(0, 0)")
        size = driver.get_window_size()
        height = js(driver, "return document.documentElement.scrollHeight")
        driver.set_window_size(size["width"], min(height + 120, 8000))
        time.sleep(0.3)  # charts resize with the window
        driver.save_screenshot(str(path))
        driver.set_window_size(size["width"], size["height"])
    else:
        driver.save_screenshot(str(path))
    return path


def collect_console(driver) -> list[dict]:
    driver.console.extend(driver.get_log("browser"))
    return driver.console


def loads(driver) -> int:
    return int(js(driver, "return Number(document.documentElement.dataset.loads || 0)"))


def wait_for_refresh(driver, since: int, message: str = "the dashboard to refresh") -> None:
    wait_js(driver, "return Number(document.documentElement.dataset.loads || 0) > arguments[0]", message, WAIT, since)


def text(driver, selector: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, selector).text.strip()


def click(driver, element) -> None:
    """Clicks like a person: the element scrolled to the middle of the screen first (the section
    nav is sticky, and WebDriver does not scroll an element that is already in view)."""
    js(driver, "arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def open_dashboard(driver, shop: Shop) -> None:
    driver.get(shop.url("/dashboard/"))
    wait_js(driver, "return document.readyState === 'complete'", "the page to load")


def session_cookie(driver, shop: Shop) -> dict | None:
    """The dashboard's session cookie as the browser holds it for the admin API's URLs."""
    cookies = driver.execute_cdp_cmd("Network.getCookies", {"urls": [shop.url("/admin/api/session")]})["cookies"]
    return next((c for c in cookies if c["name"] == SESSION_COOKIE), None)


def sign_in(driver, token: str) -> None:
    field_ = driver.find_element(By.ID, "token-input")
    assert field_.is_displayed()
    field_.clear()
    field_.send_keys(token)
    driver.find_element(By.ID, "sign-in").click()


def sign_in_afresh(driver, shop: Shop) -> None:
    """No cookie, the sign-in form, the right token, every panel loaded once."""
    open_dashboard(driver, shop)
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.refresh()
    wait_js(driver, "return !document.getElementById('login-panel').hidden", "the sign-in form")
    sign_in(driver, shop.admin_token)
    wait_js(driver, "return !document.getElementById('main').hidden", "the dashboard after signing in")
    wait_for_refresh(driver, 0, "every panel to load")


@dataclass
class Dashboard:
    driver: webdriver.Chrome
    requests_before: int


@pytest.fixture(scope="module")
def dashboard(browser, shop, traffic) -> Dashboard:
    """Signed in with the right token, every panel loaded once."""
    before = shop.admin_ok("GET", "/analytics/summary")["requests"]
    sign_in_afresh(browser, shop)
    wait_js(browser, "return !!(window.Chart && Chart.getChart(document.getElementById('funnel-chart')))", "the charts")
    return Dashboard(driver=browser, requests_before=before)


# --- the tests -----------------------------------------------------------------------------------


def test_a_wrong_token_is_refused_with_a_message(browser, shop, traffic):
    open_dashboard(browser, shop)
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.refresh()
    wait_js(browser, "return !document.getElementById('login-panel').hidden", "the sign-in form")
    assert not browser.find_element(By.ID, "main").is_displayed(), "nothing is shown before signing in"
    label = browser.find_element(By.CSS_SELECTOR, "label[for='token-input']").text
    assert "Admin token" in label

    sign_in(browser, "sf_admin_this_is_not_the_token")
    wait_js(browser, "return /refused/i.test(document.getElementById('login-message').textContent)", "the refusal message")
    message = text(browser, "#login-message")
    assert "refused" in message.lower() and "token" in message.lower(), message
    assert browser.find_element(By.ID, "login-message").get_attribute("role") == "alert"
    assert browser.find_element(By.ID, "token-input").is_displayed(), "the dashboard asks again"
    assert browser.find_element(By.ID, "token-input").get_attribute("aria-invalid") == "true"
    assert not browser.find_element(By.ID, "main").is_displayed()
    assert session_cookie(browser, shop) is None, "a refused token starts no session"
    assert "sf_admin_this_is_not_the_token" not in js(browser, "return JSON.stringify({...sessionStorage, ...localStorage})")
    screenshot(browser, "wrong-token")


def test_kpis_show_requests_and_revenue_for_people(dashboard, shop):
    driver = dashboard.driver
    shown = int(driver.find_element(By.ID, "kpi-requests").get_attribute("data-value"))
    after = shop.admin_ok("GET", "/analytics/summary")
    # The count grows with every request (the dashboard's own included), so the figure shown lies
    # between the API's answer before the page opened and its answer now.
    assert dashboard.requests_before <= shown <= after["requests"], (dashboard.requests_before, shown, after["requests"])
    assert text(driver, "#kpi-requests") == f"{shown:,}"
    assert after["revenue"] == {"amount": 5000, "currency": "USD"}, after
    assert text(driver, "#kpi-revenue") == "$50.00"
    assert text(driver, "#kpi-orders") == "1"
    assert text(driver, "#kpi-errors") == "0%"
    assert "none dropped" in text(driver, "#kpi-queue")
    latency = text(driver, "#kpi-latency")
    assert latency.count("/") == 2 and ("ms" in latency or "µs" in latency), latency
    # The status-code table: every request in the summary's range is in it.
    statuses = {int(row.get_attribute("data-value") or 0) for row in driver.find_elements(By.CSS_SELECTOR, "#status-table td.num[data-value]")}
    assert statuses and all(s > 0 for s in statuses)


def test_traffic_chart_is_drawn_with_each_family(dashboard, traffic):
    driver = dashboard.driver
    chart = js(driver, """
        const canvas = document.getElementById('traffic-chart');
        const chart = Chart.getChart(canvas);
        if (!chart) return null;
        const ctx = canvas.getContext('2d');
        const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
        return {type: chart.config.type, labels: chart.data.labels.length, painted, width: canvas.width,
                datasets: chart.data.datasets.map(d => ({label: d.label, sum: d.data.reduce((a, b) => a + b, 0)}))};
    """)
    assert chart is not None, "no Chart.js chart on #traffic-chart"
    assert chart["type"] == "bar" and chart["labels"] >= 24, chart
    assert chart["painted"] > 1000 and chart["width"] > 200, f"the canvas looks blank: {chart}"
    sums = {d["label"]: d["sum"] for d in chart["datasets"]}
    for family, count in traffic.sent.items():
        assert sums.get(family) == count, (family, sums)
    label = driver.find_element(By.ID, "traffic-chart").get_attribute("aria-label")
    assert "ChatGPT-User 3" in label, label


def test_the_traffic_chart_splits_verified_from_claimed(dashboard, shop, traffic):
    """Unsigned user agents are claims; the registered buyers' and approvers' requests are verified."""
    driver = dashboard.driver
    from selenium.webdriver.support.select import Select
    Select(driver.find_element(By.ID, "traffic-by")).select_by_value("verification")
    api = {}
    for p in shop.admin_ok("GET", "/analytics/timeseries?by=verification")["points"]:
        api[p["key"]] = api.get(p["key"], 0) + p["requests"]
    assert api.get("claimed", 0) >= sum(traffic.sent.values()) and api.get("verified", 0) >= 2, api

    def drawn(d):
        return js(d, """
            const chart = Chart.getChart(document.getElementById('traffic-chart'));
            return chart ? chart.data.datasets.map(x => x.label) : null;""")
    WebDriverWait(driver, 10).until(lambda d: set(drawn(d) or []) == set(api))
    Select(driver.find_element(By.ID, "traffic-by")).select_by_value("family")


def test_funnel_chart_and_table_equal_the_api(dashboard, shop):
    driver = dashboard.driver
    # The page's own first requests reach the analytics a moment later; refresh once they have.
    time.sleep(1.5)
    since = loads(driver)
    click(driver, driver.find_element(By.ID, "refresh"))
    wait_for_refresh(driver, since)
    api = shop.admin_ok("GET", "/analytics/funnel")
    chart = js(driver, """
        const chart = Chart.getChart(document.getElementById('funnel-chart'));
        return chart && {labels: chart.data.labels, values: chart.data.datasets[0].data};
    """)
    assert chart is not None, "no Chart.js chart on #funnel-chart"
    assert chart["labels"] == [s["title"] for s in api["stages"]], chart
    assert chart["values"] == [s["agents"] for s in api["stages"]], (chart, api)
    rows = driver.find_elements(By.CSS_SELECTOR, "#funnel-table tbody tr")
    assert [r.get_attribute("data-stage") for r in rows] == [s["stage"] for s in api["stages"]]
    for row, stage in zip(rows, api["stages"]):
        cells = row.find_elements(By.CSS_SELECTOR, "td.num")
        assert cells[0].text == f"{stage['agents']:,}", (stage, cells[0].text)
        if stage.get("conversion") is not None:
            assert cells[1].text.endswith("%"), cells[1].text
    assert api["stages"][0]["agents"] >= len(FAMILIES), api
    # what each gap costs: one line per stage where agents' journeys ended, as the API says
    gaps = shop.admin_ok("GET", "/analytics/gaps")
    listed = [li.get_attribute("data-stage") for li in driver.find_elements(By.CSS_SELECTOR, "#gaps-list li[data-stage]")]
    assert listed == [g["stage"] for g in gaps["stages"] if g["summary"]] and listed, (listed, gaps)
    shown = driver.find_element(By.CSS_SELECTOR, f'#gaps-list li[data-stage="{listed[0]}"] .gap-summary').text
    assert shown == next(g["summary"] for g in gaps["stages"] if g["stage"] == listed[0])
    drop = api["largest_drop_before"]
    assert drop, api
    marked = driver.find_element(By.CSS_SELECTOR, "#funnel-table tr.drop")
    assert marked.get_attribute("data-stage") == drop and "largest drop" in marked.text
    title = next(s["title"] for s in api["stages"] if s["stage"] == drop)
    assert f"Largest drop: before {title}" in text(driver, "#funnel-drop")


def test_top_agents_lists_the_buyer_and_its_spend(dashboard, traffic, shop):
    driver = dashboard.driver
    row = driver.find_element(By.CSS_SELECTOR, f"#agents-table tr[data-agent-id='{traffic.buyer.id}']")
    cells = row.find_elements(By.CSS_SELECTOR, "th, td")
    assert BUYER_NAME in cells[0].text and traffic.buyer.id in cells[0].text, cells[0].text
    assert cells[1].text == "registered agent"
    assert cells[2].text == traffic.buyer.principal
    assert cells[4].text == "$50.00"
    api = shop.admin_ok("GET", "/analytics/top-agents?limit=10")
    mine = next(a for a in api["agents"] if a["agent_id"] == traffic.buyer.id)
    assert cells[3].text == f"{mine['requests']:,}"
    # Spend first: the buyer heads the table.
    first = driver.find_element(By.CSS_SELECTOR, "#agents-table tbody tr")
    assert first.get_attribute("data-agent-id") == traffic.buyer.id
    for family in FAMILIES:
        assert driver.find_elements(By.CSS_SELECTOR, f"#agents-table tr[data-visitor^='{family}@']"), family
    revenue = text(driver, "#revenue-table tbody tr")
    assert BUYER_NAME in revenue and "$50.00" in revenue, revenue


def test_actions_table_has_calls_errors_and_latency(dashboard):
    driver = dashboard.driver
    row = driver.find_element(By.CSS_SELECTOR, "#actions-table tr[data-route='action:complete_checkout']")
    cells = row.find_elements(By.CSS_SELECTOR, "td")
    assert "complete_checkout" in row.find_element(By.CSS_SELECTOR, "th").text
    assert cells[0].text == "Transacting"
    assert cells[1].text == "2"
    assert cells[2].text == "0%"
    for cell in cells[3:6]:
        assert cell.text.endswith(("µs", "ms", " s")), cell.text
    headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#actions-table thead th")]
    assert headers[-3:] == ["P50", "P95", "P99"] or headers[-3:] == ["p50", "p95", "p99"], headers
    assert driver.find_element(By.CSS_SELECTOR, "#actions-table caption").text
    assert all(th.get_attribute("scope") == "col" for th in driver.find_elements(By.CSS_SELECTOR, "#actions-table thead th"))


def test_approve_button_completes_the_pending_purchase(dashboard, traffic, shop):
    driver = dashboard.driver
    selector = f"#approvals-table tr[data-approval-id='{traffic.approval_id}']"
    row = driver.find_element(By.CSS_SELECTOR, selector)
    assert APPROVER_NAME in row.text and "$25.00" in row.text, row.text
    created, expires = row.find_elements(By.CSS_SELECTOR, "time")
    assert created.get_attribute("datetime") and created.get_attribute("title"), "exact time in the tooltip"
    assert created.text == "now" or created.text.endswith("ago"), created.text
    assert expires.text.startswith("in ") or expires.text == "tomorrow", expires.text
    assert text(driver, "#approvals-badge") == "1"
    js(driver, "document.getElementById('approvals').scrollIntoView()")
    screenshot(driver, "pending-approval")
    button = row.find_element(By.CSS_SELECTOR, "button[data-decision='approve']")
    assert button.text == "Approve"
    assert "Approve" in button.get_attribute("aria-label") and APPROVER_NAME in button.get_attribute("aria-label")
    # What is bought is on the row, not only the amount.
    assert "1 × " in row.text and "Gift Card" in row.text, row.text
    # One click only arms the button: nothing is approved until the merchant confirms.
    click(driver, button)
    wait_js(driver, "return arguments[0].textContent === 'Confirm approve'", "the confirmation", WAIT, button)
    assert shop.admin_ok("GET", f"/approvals?status=pending")["approvals"], "one click approved nothing"
    click(driver, button)

    wait_js(driver, "return !document.querySelector(arguments[0])", "the approved row to disappear", WAIT, selector)
    wait_js(driver, "return /Approved/.test(document.getElementById('approvals-message').textContent)", "the approval message")
    assert traffic.pending_checkout in text(driver, "#approvals-message")
    assert "Nothing is waiting" in text(driver, "#approvals-table tbody")

    # The gateway agrees: approved, the checkout completed with an order, nothing pending.
    approvals = shop.admin_ok("GET", "/approvals?status=all")["approvals"]
    mine = next(a for a in approvals if a["id"] == traffic.approval_id)
    assert mine["status"] == "approved", mine
    assert shop.admin_ok("GET", "/approvals?status=pending")["approvals"] == []
    r = shop.call(traffic.approver, "get_checkout", {"checkout_id": traffic.pending_checkout})
    assert r.status_code == 200, r.text[:500]
    assert r.json()["checkout"]["status"] == "completed", r.json()
    assert r.json()["checkout"]["order_id"], r.json()
    # The overview follows: two orders, $75.00.
    wait_js(driver, "return document.getElementById('kpi-revenue').textContent === '$75.00'", "revenue to include the approved order")
    assert text(driver, "#kpi-orders") == "2"


def test_trail_panel_says_intact(dashboard, shop):
    driver = dashboard.driver
    since = loads(driver)
    click(driver, driver.find_element(By.ID, "trail-verify"))
    wait_for_refresh(driver, since, "the trail to be verified again")
    verify = shop.admin_ok("GET", "/trail/verify")
    assert verify["intact"] is True, verify
    wait_js(driver, "return /Intact ✓/.test(document.getElementById('trail-status').textContent)", "the trail to say intact")
    status = text(driver, "#trail-status")
    assert f"{verify['entries']:,} entries verified" in status, (status, verify)
    rows = driver.find_elements(By.CSS_SELECTOR, "#trail-table tbody tr")
    assert 1 <= len(rows) <= 25
    seqs = [int(r.get_attribute("data-seq")) for r in rows]
    assert seqs == sorted(seqs, reverse=True), f"newest first: {seqs}"
    assert seqs[0] == verify["entries"], (seqs[0], verify)
    assert "approval.approve" in text(driver, "#trail-table tbody"), "the approval just made is in the trail"


def test_the_store_is_audited_from_the_dashboard_and_two_runs_are_compared(dashboard, shop):
    driver = dashboard.driver
    for run in (1, 2):
        click(driver, driver.find_element(By.ID, "journey-run"))
        wait_js(driver, f"return document.querySelectorAll('#journey-table tbody tr[data-score]').length >= {run}",
                f"audit {run} in the history", timeout=90)
    audits = shop.admin_ok("GET", "/audits")["audits"]
    assert len(audits) == 2, audits
    rows = driver.find_elements(By.CSS_SELECTOR, "#journey-table tbody tr[data-score]")
    assert float(rows[0].get_attribute("data-score")) == audits[0]["score"]
    change = rows[0].find_elements(By.CSS_SELECTOR, "td.num")[1]
    assert float(change.get_attribute("data-value")) == round(audits[0]["score"] - audits[1]["score"], 6)
    assert "agent-ready" in rows[0].text, rows[0].text


def test_live_feed_shows_requests_made_after_the_page_loaded(dashboard, shop):
    driver = dashboard.driver
    wait_js(driver, "return document.getElementById('live-state').textContent === 'Live'", "the live feed to connect")
    for family, user_agent in (LIVE_FIRST, LIVE_SECOND):
        r = requests.get(shop.url("/llms.txt"), headers={"User-Agent": user_agent}, timeout=10)
        assert r.status_code == 200
        wait_js(driver, "return !!document.querySelector(`#live-feed li[data-family='${arguments[0]}']`)",
                f"{family}'s request in the live feed", WAIT, family)
    items = driver.find_elements(By.CSS_SELECTOR, "#live-feed li")
    assert [i.get_attribute("data-family") for i in items[:2]] == [LIVE_SECOND[0], LIVE_FIRST[0]], "newest first"
    newest = items[0]
    assert newest.get_attribute("data-route") == "/llms.txt"
    assert "/llms.txt" in newest.text and "200" in newest.text and LIVE_SECOND[0] in newest.text, newest.text
    assert "Finding" in newest.text

    # A burst: the feed keeps the newest 50.
    with requests.Session() as s:
        for _ in range(55):
            assert s.get(shop.url("/robots.txt"), headers={"User-Agent": LIVE_BURST[1]}, timeout=10).status_code == 200
    wait_js(driver, "return document.querySelectorAll(`#live-feed li[data-family='${arguments[0]}']`).length === 50",
            "the feed to fill with the burst", WAIT, LIVE_BURST[0])
    assert len(driver.find_elements(By.CSS_SELECTOR, "#live-feed li")) == 50


def test_the_live_feed_opens_with_the_recent_past(dashboard, shop):
    r = requests.get(shop.url("/llms.txt"), headers={"User-Agent": LIVE_PAST[1]}, timeout=10)
    assert r.status_code == 200

    def backlog() -> list[str]:
        """The families of the events a new live-feed stream starts with."""
        families: list[str] = []
        try:
            with requests.get(shop.url("/admin/api/analytics/live"), headers=shop.admin_auth, stream=True, timeout=(5, 1.5)) as live:
                for line in live.iter_lines(decode_unicode=True):
                    if line.startswith("data: "):
                        families.append(json.loads(line[6:])["family"])
        except requests.exceptions.RequestException:  # nothing more for 1.5 s: the backlog is all in
            pass
        return families

    # Analytics are written in batches: wait until the request is an event.
    past = eventually(lambda: (f := backlog()) and LIVE_PAST[0] in f and f, message="the request in the live feed's backlog")
    # The latest events, not everything: the traffic of the module's start (55 burst requests ago) is not in it.
    assert "ChatGPT-User" not in past and past.count(LIVE_BURST[0]) < 25, past
    driver = dashboard.driver
    driver.refresh()  # a fresh page: nothing is sent after it loads
    wait_js(driver, "return document.getElementById('live-state').textContent === 'Live'", "the live feed to connect")
    wait_js(driver, "return !!document.querySelector(`#live-feed li[data-family='${arguments[0]}']`)",
            "the earlier request shown at once", WAIT, LIVE_PAST[0])
    assert not driver.find_element(By.ID, "live-empty").is_displayed()
    ids = [li.get_attribute("data-event") for li in driver.find_elements(By.CSS_SELECTOR, "#live-feed li")]
    assert len(ids) == len(set(ids)) <= 50, "each event shown once"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_audit_panel_lists_fixes_costliest_first(dashboard, shop, tmp_path):
    # An ordinary site with little for agents: one HTML page that says "contact sales".
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>Acme</title><h1>Acme</h1><a href='/contact'>Contact sales</a>")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
            except requests.exceptions.ConnectionError:
                return False

        eventually(up, message="the site to listen")
        out = cli("audit", f"http://127.0.0.1:{port}", "--format", "json", "--timeout", "5", store=shop.store, timeout=180)
        assert out.returncode == 0, out.stderr
    finally:
        server.kill()
        server.wait()
    summary = next(a for a in shop.admin_ok("GET", "/audits")["audits"] if f":{port}" in a["target"])
    report = shop.admin_ok("GET", f"/audits/{summary['id']}")
    report = report.get("report", report)
    # The points each finding costs, computed here from the report: the overall score is the mean of
    # the scored stages, each the weighted mean of its findings.
    scored = [f for f in report["findings"] if f["score"] is not None]
    stage_weight: dict[str, float] = {}
    for f in scored:
        stage_weight[f["stage"]] = stage_weight.get(f["stage"], 0) + f["weight"]
    expected = {f["id"]: f["weight"] * (1 - f["score"]) / stage_weight[f["stage"]] * 100 / len(stage_weight)
                for f in scored if f["score"] < 0.9}
    failing = summary["failing"]
    assert {f["id"] for f in failing} == set(expected)
    for f in failing:  # one decimal
        assert abs(f["points_lost"] - expected[f["id"]]) <= 0.05 + 1e-9, (f, expected[f["id"]])
    lost = [f["points_lost"] for f in failing]
    assert len(lost) > 3 and lost == sorted(lost, reverse=True), lost
    assert abs(sum(f["weight"] * (1 - f["score"]) / stage_weight[f["stage"]] * 100 / len(stage_weight) for f in scored)
               - (100 - report["score"])) < 0.2, "the points lost add up to what the score misses"

    driver = dashboard.driver
    click(driver, driver.find_element(By.ID, "refresh"))
    row_js = "return [...document.querySelectorAll('#journey-table tbody tr')].find(r => r.textContent.includes(':' + arguments[0]))"
    wait_js(driver, "return !!(" + row_js[7:] + ")", "the audit in the panel", WAIT, str(port))
    row = js(driver, row_js, str(port))
    shown = row.find_elements(By.CSS_SELECTOR, "td.fixes > div > ol > li")
    assert [li.get_attribute("data-finding") for li in shown] == [f["id"] for f in failing[:3]]
    for li, f in zip(shown, failing):
        assert li.find_element(By.CSS_SELECTOR, ".fix").text == f["fix"], "the fix, not the check's title"
        assert f"+{f['points_lost']:.1f} pts" in li.text
    folded = row.find_element(By.CSS_SELECTOR, "td.fixes details")
    assert folded.find_element(By.TAG_NAME, "summary").text == f"{len(failing) - 3} more"
    assert len(folded.find_elements(By.TAG_NAME, "li")) == len(failing) - 3
    # What decides the audit is shown under the site: here, the stage where agents stop.
    assert summary["headline"] and summary["headline"] == report["headline"], summary
    assert row.find_element(By.CSS_SELECTOR, "th .headline").text == summary["headline"]


def test_the_overview_fills_its_panel_at_laptop_width(dashboard):
    box = lambda selector: js(dashboard.driver, "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                              "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}", selector)
    kpis, table, panel = box("#kpis"), box("#status-table"), box("#overview")
    assert table["left"] >= kpis["right"] and table["top"] < kpis["bottom"], ("the status table beside the figures", kpis, table)
    assert panel["right"] - table["right"] < 80, "no blank band on the right"
    assert panel["bottom"] - kpis["bottom"] < 60, "no blank band below"


def test_csv_export_downloads_the_table(dashboard):
    driver = dashboard.driver
    click(driver, driver.find_element(By.CSS_SELECTOR, "button[data-export='actions']"))
    downloads = driver.downloads

    def done():
        files = [p for p in downloads.glob("storefront-actions-*.csv")]
        return files and files[0].stat().st_size > 0 and files[0]

    csv_file = eventually(done, message="the actions CSV download")
    lines = csv_file.read_text().splitlines()
    assert lines[0] == "calls,error_rate,p50_us,p95_us,p99_us,route,stage", lines[0]
    assert any(",action:complete_checkout,transacting" in line for line in lines[1:]), lines


def test_screenshot_at_laptop_width(dashboard):
    path = screenshot(dashboard.driver, "laptop", full_page=True)
    assert path.stat().st_size > 10_000


def test_no_horizontal_overflow_at_phone_width(dashboard):
    driver = dashboard.driver
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        driver.refresh()  # the session cookie keeps the sign-in: no sign-in again
        wait_for_refresh(driver, 0, "the dashboard at phone width")
        wait_js(driver, "return !!(window.Chart && Chart.getChart(document.getElementById('funnel-chart')))", "the charts at phone width")
        assert not driver.find_element(By.ID, "login-panel").is_displayed()
        # A mobile layout viewport widens to fit overflowing content, so check both.
        widths = js(driver, "return [document.documentElement.scrollWidth, window.innerWidth, document.documentElement.clientWidth]")
        assert widths[1] == PHONE["width"] and widths[0] <= widths[1], f"scrollWidth, innerWidth, clientWidth = {widths}"
        for name, anchor in (("phone-top", "overview"), ("phone-funnel", "funnel"), ("phone-approvals", "approvals")):
            js(driver, "document.getElementById(arguments[0]).scrollIntoView()", anchor)
            time.sleep(0.1)
            screenshot(driver, name)
        assert js(driver, "return document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_no_content_security_policy_violations_or_script_errors(dashboard):
    entries = collect_console(dashboard.driver)
    problems = [e for e in entries if e.get("source") in ("security", "javascript") and e.get("level") == "SEVERE"]
    assert problems == [], problems


def test_sign_in_is_an_httponly_cookie_and_the_token_is_in_no_url_and_sign_out_ends_it(dashboard, shop):
    """The dashboard sends the admin token once (POST /admin/api/session) and then holds an
    HttpOnly, SameSite=Strict cookie: a reload stays signed in, the page's script and storage
    never hold the token, no request URL carries it (the live feed's EventSource included), and
    signing out ends the session on the gateway, not only in the page."""
    driver = dashboard.driver
    driver.refresh()
    wait_js(driver, "return !document.getElementById('main').hidden", "the dashboard without asking again")
    wait_for_refresh(driver, 0, "the panels after the reload")
    assert not driver.find_element(By.ID, "login-panel").is_displayed()
    cookie = session_cookie(driver, shop)
    assert cookie is not None, "no session cookie"
    assert cookie["httpOnly"] is True and cookie.get("sameSite") == "Strict", cookie
    assert SESSION_COOKIE not in js(driver, "return document.cookie"), "the script can read the session cookie"
    stored = js(driver, "return JSON.stringify({...sessionStorage, ...localStorage})")
    assert shop.admin_token not in stored, "the admin token is kept in the page's storage"
    urls = js(driver, "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])")
    # The live feed's EventSource (not in resource timing while it is open) connects with the cookie alone.
    wait_js(driver, "return document.getElementById('live-state').textContent === 'Live'", "the live feed over the cookie")
    leaks = [u for u in urls if shop.admin_token in u or "access_token" in u]
    assert leaks == [], f"the admin token is in a URL: {leaks}"

    old = cookie["value"]
    assert requests.get(shop.url("/admin/api/session"), cookies={SESSION_COOKIE: old}, timeout=10).status_code == 200
    click(driver, driver.find_element(By.ID, "sign-out"))
    wait_js(driver, "return !document.getElementById('login-panel').hidden", "the sign-in form after signing out")
    assert session_cookie(driver, shop) is None
    gone = requests.get(shop.url("/admin/api/agents"), cookies={SESSION_COOKIE: old}, timeout=10)
    assert gone.status_code == 401, "the old session cookie still works after signing out"


# --- what the merchant's own browser does to the agent analytics ---------------------------------


def test_the_dashboards_own_requests_are_not_an_agent_visitor(dashboard, shop):
    """Opening the dashboard must not make the merchant's browser an agent in the funnel or in
    top agents: every request the page makes (the page, its scripts — Chart.js from /vendor/ —,
    the admin API) is the merchant's, and no test here sent a browser user agent."""
    time.sleep(1.5)  # let the page's requests reach the analytics
    top = shop.admin_ok("GET", "/analytics/top-agents?limit=100")["agents"]
    browsers = [a for a in top if a["family"] == "browser"]
    assert browsers == [], f"the merchant's browser is counted as an agent visitor: {browsers}"


def test_the_traffic_chart_is_agent_traffic_not_the_dashboards_polling(dashboard, shop):
    """Traffic over time by agent family should show agents, like the funnel, top agents and the
    actions table do (they leave out the merchant stage) — not the dashboard's own admin calls."""
    time.sleep(1.5)
    totals = family_totals(shop.admin_ok("GET", "/analytics/timeseries?by=family&bucket_minutes=1440"))
    assert "browser" not in totals, f"the dashboard's own requests show as agent traffic: {totals}"


def test_the_journey_audit_html_report_renders_in_chromium(browser, tmp_path):
    """`storefront audit --format html` is a self-contained page: it renders offline in Chromium."""
    import json
    import subprocess

    from support import BINARY, REPO_ROOT

    report = tmp_path / "journey.html"
    subprocess.run([str(BINARY), "audit", "--manifests", "manifests", "--format", "html", "--output", str(report)],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    browser.get(report.as_uri())
    assert "Agent buying journey" in browser.title
    sections = browser.find_elements(By.CSS_SELECTOR, "section h2")
    assert len(sections) == 6, [s.text for s in sections]
    embedded = json.loads(browser.find_element(By.ID, "report").get_attribute("textContent"))
    assert embedded["level"] == "agent-ready"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "storefront-journey-report.png"))


def test_the_access_policy_is_set_in_the_dashboard_and_enforced(dashboard, shop):
    """The merchant adds a rule in the form (GPTBot may not evaluate), saves it, and the gateway
    enforces it at once and robots.txt says it; GPTBot's refused fetches then show in the outcomes
    table, counted exactly."""
    from selenium.webdriver.support.select import Select
    from test_analytics import settle

    driver = dashboard.driver
    sign_in_afresh(driver, shop)  # earlier tests left the page (and signed out)
    driver.execute_script("document.getElementById('access').scrollIntoView()")
    click(driver, driver.find_element(By.ID, "policy-add"))
    row = driver.find_elements(By.CSS_SELECTOR, "#policy-table tbody tr")[-1]
    row.find_element(By.CSS_SELECTOR, "input.policy-agent").send_keys("GPTBot")
    Select(row.find_element(By.CSS_SELECTOR, "select.policy-stage")).select_by_value("evaluating")
    Select(row.find_element(By.CSS_SELECTOR, "select.policy-access")).select_by_value("block")
    click(driver, driver.find_element(By.ID, "policy-save"))
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "policy-message").text.startswith("Saved"))
    try:
        assert shop.admin_ok("GET", "/access-policy")["rules"] == [{"agent": "GPTBot", "stage": "evaluating", "access": "block"}]
        gptbot = {"User-Agent": "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)"}
        for _ in range(3):
            r = requests.get(shop.url("/pricing"), headers=gptbot, timeout=10)
            assert r.status_code == 403 and r.json()["error"]["code"] == "blocked_by_policy"
        assert requests.get(shop.url("/llms.txt"), headers=gptbot, timeout=10).status_code == 200
        assert "User-agent: GPTBot\nDisallow: /catalog$" in requests.get(shop.url("/robots.txt"), timeout=10).text
        settle(shop)
        since = loads(driver)
        click(driver, driver.find_element(By.ID, "refresh"))
        wait_for_refresh(driver, since)
        cells = driver.find_element(
            By.CSS_SELECTOR, '#outcomes-table tr[data-agent="GPTBot"][data-outcome="disallowed"][data-verification="claimed"]'
        ).find_elements(By.CSS_SELECTOR, "td.num")
        assert cells[0].get_attribute("data-value") == "3", cells[0].text
        summary = driver.find_element(By.ID, "outcomes-summary").text
        assert "GPTBot fetched 3 disallowed pages in the last 7 days (claimed)." in summary, summary
        driver.execute_script("document.getElementById('access').scrollIntoView()")
        screenshot(driver, "access-policy")
    finally:
        shop.admin("PUT", "/access-policy", {"rules": []})


def test_the_callers_filter_shows_only_claimed_or_verified_traffic(dashboard, shop):
    from selenium.webdriver.support.select import Select
    from test_analytics import settle

    driver = dashboard.driver
    sign_in_afresh(driver, shop)
    settle(shop)
    try:
        for kind in ("claimed", "verified"):
            since = loads(driver)
            Select(driver.find_element(By.ID, "callers")).select_by_value(kind)
            wait_for_refresh(driver, since)
            shown = int(driver.find_element(By.ID, "kpi-requests").get_attribute("data-value"))
            assert shown == shop.admin_ok("GET", f"/analytics/summary?verification={kind}")["requests"], kind
            assert f"{kind} callers" in driver.find_element(By.ID, "updated").text
    finally:
        Select(driver.find_element(By.ID, "callers")).select_by_value("")
