"""One definition per figure: orders, revenue, refunds and net revenue agree exactly on `/metrics`,
the analytics API (summary and revenue table) and the dashboard in Chromium, after the same
scripted traffic: an idempotent replay (no second order), a purchase approved from the CLI (in
another process), and a refund. A second gateway on the same store reports the same figures.
"""

from __future__ import annotations

import re

import pytest
import requests

from shop import GIFT_PRICE, cli, new_key, start_shop
from support import launch
from test_dashboard import browser, sign_in_afresh, text  # noqa: F401 (browser is a fixture)


def metric(text_: str, name: str, labels: str = "") -> int:
    m = re.search(rf"^{re.escape(name + labels)} (\d+)$", text_, re.M)
    assert m, f"{name}{labels} missing from /metrics:\n{text_}"
    return int(m.group(1))


def metrics_of(base_url: str, token: str) -> str:
    r = requests.get(base_url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text[:300]
    return r.text


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    shop = start_shop(tmp_path_factory.mktemp("figures"))
    agent = shop.buyer(funds=100_000, approval_threshold=6_000)

    # 1. One gift card, then the same completion replayed with the same key: one order.
    checkout = shop.create_checkout(agent, 1)
    key = new_key()
    first = shop.complete(agent, checkout["id"], key=key)
    replay = shop.complete(agent, checkout["id"], key=key)
    assert first.status_code == replay.status_code == 200, (first.text[:300], replay.text[:300])
    order1 = first.json()["order"]["id"]
    assert replay.json()["order"]["id"] == order1

    # 2. Three cards, above the threshold: approved by the merchant from the CLI (another process).
    checkout = shop.create_checkout(agent, 3)
    pending = shop.complete(agent, checkout["id"])
    assert pending.json()["checkout"]["status"] == "pending_approval", pending.text[:300]
    approval = pending.json()["checkout"]["approval"]["id"]
    approved = cli("approvals", "approve", approval, store=shop.store)
    assert approved.returncode == 0, approved.stderr

    # 3. Part of the first order refunded.
    refund = shop.call(agent, "request_refund", {"order_id": order1, "amount": 1_000}, key=new_key())
    assert refund.status_code == 200, refund.text[:300]

    expected = {"orders": 2, "revenue": 4 * GIFT_PRICE, "refunded": 1_000, "net": 4 * GIFT_PRICE - 1_000}
    yield shop, agent, expected
    shop.server.stop()


def test_the_analytics_api_counts_each_order_once_with_refunds_and_net(scripted):
    shop, agent, want = scripted
    s = shop.admin_ok("GET", "/analytics/summary")
    assert s["orders"] == want["orders"], s
    assert s["revenue"] == {"amount": want["revenue"], "currency": "USD"}, s
    assert s["refunded"] == {"amount": want["refunded"], "currency": "USD"}, s
    assert s["net_revenue"] == {"amount": want["net"], "currency": "USD"}, s
    rows = shop.admin_ok("GET", "/analytics/revenue?by=agent")["rows"]
    assert [(r["key"], r["orders"], r["revenue"]["amount"], r["refunded"]["amount"], r["net_revenue"]["amount"]) for r in rows] \
        == [(agent.id, want["orders"], want["revenue"], want["refunded"], want["net"])], rows


def test_metrics_agree_with_the_analytics_api(scripted):
    shop, _, want = scripted
    text_ = metrics_of(shop.base_url, shop.admin_token)
    assert metric(text_, "storefront_orders_total") == want["orders"]
    assert metric(text_, "storefront_revenue_minor_units_total", '{currency="USD"}') == want["revenue"]
    assert metric(text_, "storefront_refunded_minor_units_total", '{currency="USD"}') == want["refunded"]


def test_a_second_gateway_on_the_same_store_reports_the_same_figures(scripted, tmp_path):
    shop, _, want = scripted
    other = launch(shop.store, extra=("--admin-token-file", str(shop.token_file)))
    try:
        text_ = metrics_of(other.base_url, shop.admin_token)
        assert metric(text_, "storefront_orders_total") == want["orders"]
        assert metric(text_, "storefront_refunded_minor_units_total", '{currency="USD"}') == want["refunded"]
    finally:
        other.stop()


def test_the_dashboard_shows_the_same_figures(scripted, browser):  # noqa: F811
    shop, _, want = scripted
    sign_in_afresh(browser, shop)
    assert text(browser, "#kpi-orders") == str(want["orders"])
    assert text(browser, "#kpi-revenue") == f"${want['net'] / 100:,.2f}"
    assert text(browser, "#kpi-agents") == "1"
    row = text(browser, "#revenue-table tbody tr")
    for amount in (want["revenue"], want["refunded"], want["net"]):
        assert f"${amount / 100:,.2f}" in row, row
