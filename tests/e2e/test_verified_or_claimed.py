"""Verified or claimed, for every request (issue 19, its first part): a `ChatGPT-User` User-Agent
from an address outside what the operator publishes is *claimed*; once the operator's published
ranges are stored (`storefront agents refresh-ranges`, here from a test file naming loopback) the
same request is *verified*; so is a registered agent's and a Web Bot Auth-signed one. The split
shows in the analytics API (`timeseries?by=verification`), its CSV export and `/metrics`.
"""
from __future__ import annotations

import json
import re
import time

import pytest
import requests

from shop import cli_json, start_shop
from test_analytics import settle

CHATGPT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("verification"), extra=("--sweep-interval", "1"))
    yield s
    s.server.kill()


def by_verification(shop) -> dict[str, int]:
    points = shop.admin_ok("GET", "/analytics/timeseries?by=verification")["points"]
    out: dict[str, int] = {}
    for p in points:
        out[p["key"]] = out.get(p["key"], 0) + p["requests"]
    return out


def metric(shop, verification: str) -> int:
    text = requests.get(shop.url("/metrics"), headers=shop.admin_auth, timeout=10).text
    return sum(int(m.group(1)) for m in re.finditer(
        rf'^storefront_requests_total{{stage="[a-z_]+",status="\dxx",verification="{verification}"}} (\d+)$', text, re.M))


def test_a_claim_is_verified_by_the_operators_published_ranges(shop, tmp_path):
    settle(shop)
    before = by_verification(shop)
    for _ in range(3):
        assert requests.get(shop.url("/catalog?q=tent"), headers={"User-Agent": CHATGPT}, timeout=10).status_code == 200
    settle(shop)
    after = by_verification(shop)
    assert after.get("claimed", 0) - before.get("claimed", 0) >= 3, (before, after)
    claimed_metric = metric(shop, "claimed")

    ranges = tmp_path / "chatgpt-user.json"
    ranges.write_text(json.dumps({"creationTime": "2026-12-01T00:00:00Z",
                                  "prefixes": [{"ipv4Prefix": "127.0.0.0/8"}, {"ipv6Prefix": "::1/128"}]}))
    stored = cli_json("agents", "refresh-ranges", "--family", "ChatGPT-User", "--from", str(ranges), store=shop.store)
    assert stored == {"family": "ChatGPT-User", "prefixes": 2, "source": str(ranges), "published_at": "2026-12-01T00:00:00Z"}
    summary = {r["family"]: r for r in cli_json("agents", "ranges", store=shop.store)}
    assert summary["ChatGPT-User"]["stored"]["prefixes"] == 2
    assert summary["ChatGPT-User"]["ranges_published_at"] == "https://openai.com/chatgpt-user.json"
    assert summary["ChatGPT-User"]["operator"] == "OpenAI" and summary["GPTBot"]["stored"] is None
    time.sleep(2.5)  # the gateway re-reads the ranges with its sweep (every second here)

    verified_before = by_verification(shop).get("verified", 0)
    for _ in range(4):
        assert requests.get(shop.url("/catalog?q=lamp"), headers={"User-Agent": CHATGPT}, timeout=10).status_code == 200
    settle(shop)
    assert by_verification(shop).get("verified", 0) - verified_before == 4
    assert metric(shop, "verified") >= 4 and metric(shop, "claimed") >= claimed_metric

    # the CSV export says the same
    r = requests.get(shop.url("/admin/api/analytics/timeseries?by=verification&format=csv"), headers=shop.admin_auth, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert "verified" in r.text and "claimed" in r.text


def test_a_registered_agent_is_verified(shop):
    agent = shop.register()
    settle(shop)
    before = by_verification(shop).get("verified", 0)
    assert requests.post(shop.url("/tools/get_wallet"), json={}, headers=agent.auth, timeout=10).status_code == 200
    settle(shop)
    assert by_verification(shop).get("verified", 0) - before >= 1


def test_a_bad_ranges_file_is_refused(shop, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"prefixes": [{"ipv4Prefix": "not-an-address/8"}]}))
    from shop import cli
    out = cli("agents", "refresh-ranges", "--family", "GPTBot", "--from", str(bad), store=shop.store)
    assert out.returncode != 0 and "address prefix" in (out.stdout + out.stderr), (out.returncode, out.stdout, out.stderr)


VIEWS = {
    # view → (its rows, how a row counts requests or visitors)
    "summary": (lambda d: [d], lambda row: row["requests"]),
    "timeseries?by=family": (lambda d: d["points"], lambda row: row["requests"]),
    "actions": (lambda d: d["actions"], lambda row: row["calls"]),
    "status-codes": (lambda d: d["statuses"], lambda row: row["requests"]),
    "top-agents?limit=100": (lambda d: d["agents"], lambda row: row["requests"]),
    "funnel": (lambda d: d["stages"][:1], lambda row: row["agents"]),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_view_splits_verified_from_claimed(shop, view):
    """`?verification=verified|claimed` on any analytics view (and its CSV): the two parts add up
    to the whole, and each holds only its kind."""
    for _ in range(2):
        requests.get(shop.url("/pricing"), headers={"User-Agent": "Mozilla/5.0 (compatible; GPTBot/1.2)"}, timeout=10)
    settle(shop)
    rows_of, count = VIEWS[view]
    sep = "&" if "?" in view else "?"
    totals = {}
    for kind in ("", "verified", "claimed"):
        data = shop.admin_ok("GET", f"/analytics/{view}" + (f"{sep}verification={kind}" if kind else ""))
        if kind:
            assert data["range"]["verification"] == kind
        totals[kind] = sum(count(row) for row in rows_of(data))
        if view.startswith("top-agents") and kind:
            assert all(a["verification"] == kind for a in data["agents"]), data["agents"]
    assert totals["claimed"] > 0 and totals["verified"] > 0, totals
    if view == "funnel":
        # Visitors, not requests: ChatGPT-User at this address was claimed before its operator's
        # ranges were stored and verified after, so it is in both parts and once in the whole.
        assert max(totals["verified"], totals["claimed"]) <= totals[""] <= totals["verified"] + totals["claimed"], totals
    else:
        assert totals["verified"] + totals["claimed"] == totals[""], totals
    r = requests.get(shop.url(f"/admin/api/analytics/{view}{sep}verification=claimed&format=csv"), headers=shop.admin_auth, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")


def test_a_bad_verification_filter_is_refused(shop):
    r = requests.get(shop.url("/admin/api/analytics/summary?verification=maybe"), headers=shop.admin_auth, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["param"] == "verification", r.text
    assert shop.admin_ok("GET", "/analytics/summary?verification=claimed")["orders"] == 0
