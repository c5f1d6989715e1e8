"""Agent analytics end to end (issue 6, "How it is checked"): known traffic in, exact numbers out.

A fresh gateway receives a known set of requests (known user agents, one registered agent that
buys), and every analytics answer is checked exactly against what was sent. The only traffic
the test does not choose is the readiness probe's `GET /status` polls (python-requests, an
unknown client at trust_checking), which are read as a baseline first and then accounted for.

A second gateway runs with a tiny analytics queue and takes a burst: every request still
answers 200, dropped events are counted, and recorded + dropped equals what was sent.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
import requests

from shop import GIFT_PRICE, GIFT_PRODUCT, GIFT_SKU, new_key, run_parallel, start_shop

CHATGPT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"
PERPLEXITY = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CURL = "curl/8.5.0"
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"

STAGES = ["finding", "evaluating", "trust_checking", "transacting", "using", "recommending"]


def settle(shop, timeout: float = 8.0) -> dict:
    """The summary once the recorder has flushed: queue empty and `requests` unchanged across a
    flush interval (the flush runs about every second)."""
    deadline = time.monotonic() + timeout
    previous = None
    while True:
        s = shop.admin_ok("GET", "/analytics/summary")
        if previous is not None and s["queue_depth"] == 0 and s["requests"] == previous["requests"]:
            return s
        assert time.monotonic() < deadline, f"analytics did not settle: {previous} -> {s}"
        previous = s
        time.sleep(1.2)


def sums(points: list[dict]) -> dict[str, int]:
    out: Counter = Counter()
    for p in points:
        out[p["key"]] += p["requests"]
    return dict(out)


def metrics(shop) -> str:
    r = requests.get(shop.url("/metrics"), headers=shop.admin_auth, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r.text


def metric_requests(text: str) -> dict[tuple[str, str], int]:
    """Requests by (stage, status class), verified and claimed added up."""
    out: dict[tuple[str, str], int] = {}
    for m in re.finditer(r'^storefront_requests_total\{stage="([^"]*)",status="([^"]*)",verification="(verified|claimed)"\} (\d+)$',
                         text, re.M):
        out[(m.group(1), m.group(2))] = out.get((m.group(1), m.group(2)), 0) + int(m.group(4))
    return out


def metric_value(text: str, name: str) -> int:
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    assert m, f"{name} missing from /metrics:\n{text}"
    return int(m.group(1))


def non_merchant_total(counters: dict[tuple[str, str], int]) -> int:
    return sum(v for (stage, _), v in counters.items() if stage != "merchant")


@pytest.fixture
def shop(tmp_path):
    s = start_shop(tmp_path / "analytics")
    yield s
    s.server.stop()


def test_known_traffic_gives_exact_analytics_numbers(shop):
    # --- the baseline: only the readiness probe's GET /status polls --------------------------
    base = settle(shop)
    b = base["requests"]
    assert b >= 1, base
    assert base["unique_visitors"] == 1 and base["unique_agents"] == 0, base
    assert base["orders"] == 0 and base["dropped_events"] == 0, base
    assert sums(shop.admin_ok("GET", "/analytics/timeseries?by=family")["points"]) == {"unknown client": b}
    assert sums(shop.admin_ok("GET", "/analytics/timeseries?by=stage")["points"]) == {"trust_checking": b}
    metrics_before = metric_requests(metrics(shop))
    assert non_merchant_total(metrics_before) == b, metrics_before

    # --- the known traffic ---------------------------------------------------------------------
    agent = shop.buyer()  # registered and funded through the admin API (merchant: not counted)
    statuses: Counter = Counter()

    def get(path: str, ua: str, expect: int = 200) -> None:
        r = requests.get(shop.url(path), headers={"User-Agent": ua}, timeout=10)
        assert r.status_code == expect, (path, ua, r.status_code, r.text[:300])
        statuses[r.status_code] += 1

    for _ in range(3):
        get("/agents", CHATGPT)
    for _ in range(2):
        get("/catalog?q=tent", PERPLEXITY)
    get("/robots.txt", GOOGLEBOT)
    for _ in range(2):
        get("/pricing", BROWSER)
    get("/no-such-page-for-analytics", CURL, expect=404)

    item = {"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 2}
    created = shop.call(agent, "create_checkout", {"items": [item]}, key=new_key())
    assert created.status_code in (200, 201), created.text[:500]
    statuses[created.status_code] += 1
    checkout = created.json()["checkout"]
    assert checkout["status"] == "ready_for_complete", checkout
    done = shop.complete(agent, checkout["id"])
    assert done.status_code in (200, 201), done.text[:500]
    statuses[done.status_code] += 1
    order = done.json()["order"]
    total = order["total"]["amount"] if isinstance(order.get("total"), dict) else order.get("total")
    if total is None:
        total = order["totals"]["total"]["amount"] if isinstance(order["totals"]["total"], dict) else order["totals"]["total"]
    assert isinstance(total, int) and total > 0, order

    sent = 3 + 2 + 1 + 2 + 1 + 2
    s = settle(shop)

    # --- summary ----------------------------------------------------------------------------------
    requests_total = b + sent
    assert s["requests"] == requests_total, (s, b, sent)
    # Visitors: ChatGPT-User, PerplexityBot, Googlebot and browser @127.0.0.1, the unknown client
    # @127.0.0.1 (the probe and curl share it), and the registered agent by its id. Of them, one
    # is a registered agent.
    assert s["unique_visitors"] == 6 and s["unique_agents"] == 1, s
    assert s["orders"] == 1, s
    assert s["revenue"]["amount"] == total, (s, order)
    assert s["error_rate"] == 0, s
    assert s["client_error_rate"] == pytest.approx(1 / requests_total, rel=1e-9), s
    assert s["dropped_events"] == 0 and s["queue_depth"] == 0, s
    for k in ("p50_us", "p95_us", "p99_us"):
        assert isinstance(s["latency"][k], int) and s["latency"][k] > 0, s["latency"]
    assert s["latency"]["p50_us"] <= s["latency"]["p95_us"] <= s["latency"]["p99_us"], s["latency"]

    # --- timeseries ---------------------------------------------------------------------------------
    by_family = sums(shop.admin_ok("GET", "/analytics/timeseries?by=family&bucket_minutes=60")["points"])
    assert by_family == {
        "ChatGPT-User": 3, "PerplexityBot": 2, "Googlebot": 1, "browser": 2,
        "unknown client": b + 1, "registered agent": 2,
    }, by_family
    by_stage = sums(shop.admin_ok("GET", "/analytics/timeseries?by=stage&bucket_minutes=60")["points"])
    assert by_stage == {"finding": 3 + 1 + 1, "evaluating": 2 + 2, "trust_checking": b, "transacting": 2}, by_stage
    by_category = sums(shop.admin_ok("GET", "/analytics/timeseries?by=category")["points"])
    assert by_category == {
        "ai_assistant": 3, "ai_search": 2, "search_engine": 1, "browser": 2, "unknown_client": b + 1, "agent": 2,
    }, by_category

    # --- funnel (reaching a stage = seen there or at any later stage) ------------------------------
    funnel = shop.admin_ok("GET", "/analytics/funnel")
    got = {st["stage"]: st["agents"] for st in funnel["stages"]}
    assert [st["stage"] for st in funnel["stages"]] == STAGES, funnel
    # finding: all 6; evaluating: PerplexityBot, browser, unknown client (trust_checking), agent;
    # trust_checking: unknown client, agent; transacting: the agent.
    assert got == {"finding": 6, "evaluating": 4, "trust_checking": 2, "transacting": 1, "using": 0, "recommending": 0}, funnel
    conv = {st["stage"]: st.get("conversion") for st in funnel["stages"]}
    assert conv["evaluating"] == pytest.approx(4 / 6) and conv["trust_checking"] == pytest.approx(2 / 4), funnel
    assert conv["transacting"] == pytest.approx(1 / 2) and conv["using"] == 0, funnel
    # The largest drop is the largest share lost: 1 -> 0 before Using (100 %), not the most agents
    # (6 -> 4 before Evaluating, 33 %).
    assert funnel["largest_drop_before"] == "using", funnel
    assert funnel["largest_drop"] == {"before": "using", "agents_lost": 1, "share_lost": 1.0}, funnel

    # --- status codes ------------------------------------------------------------------------------
    codes = {row["status"]: row["requests"] for row in shop.admin_ok("GET", "/analytics/status-codes")["statuses"]}
    expected_codes = Counter(statuses)
    expected_codes[200] += b
    assert codes == dict(expected_codes), (codes, expected_codes)

    # --- actions -----------------------------------------------------------------------------------
    actions = {row["route"]: row for row in shop.admin_ok("GET", "/analytics/actions")["actions"]}
    for route, calls, stage in [
        ("action:create_checkout", 1, "transacting"), ("action:complete_checkout", 1, "transacting"),
        # GET /catalog?q= runs the search_catalog action, so it is reported as that action.
        ("/agents", 3, "finding"), ("action:search_catalog", 2, "evaluating"), ("/robots.txt", 1, "finding"),
        ("/pricing", 2, "evaluating"), ("/status", b, "trust_checking"), ("(unmatched)", 1, "finding"),
    ]:
        assert route in actions, (route, sorted(actions))
        assert actions[route]["calls"] == calls, actions[route]
        assert actions[route]["stage"] == stage, actions[route]
        assert actions[route]["error_rate"] == (1 if route == "(unmatched)" else 0), actions[route]
    assert len(actions) == 8, sorted(actions)
    assert sum(row["calls"] for row in actions.values()) == requests_total, actions
    assert not any(r.startswith(("/admin", "/metrics", "/dashboard", "/vendor")) for r in actions), sorted(actions)

    # --- top agents --------------------------------------------------------------------------------
    top = shop.admin_ok("GET", "/analytics/top-agents?limit=10")["agents"]
    first = top[0]
    assert first["visitor"] == agent.id and first["agent_id"] == agent.id, top
    assert first["family"] == "registered agent" and first["principal"] == agent.principal, top
    assert first["requests"] == 2 and first["spend"]["amount"] == total, top
    visitors = {a["visitor"]: a["requests"] for a in top}
    assert visitors == {
        agent.id: 2, "ChatGPT-User@127.0.0.1": 3, "PerplexityBot@127.0.0.1": 2, "Googlebot@127.0.0.1": 1,
        "browser@127.0.0.1": 2, "unknown client@127.0.0.1": b + 1,
    }, top
    assert [a["visitor"] for a in shop.admin_ok("GET", "/analytics/top-agents?limit=1")["agents"]] == [agent.id]

    # --- revenue -----------------------------------------------------------------------------------
    rows = shop.admin_ok("GET", "/analytics/revenue?by=agent")["rows"]
    assert [(r["key"], r["orders"], r["revenue"]["amount"]) for r in rows] == [(agent.id, 1, total)], rows

    # --- /metrics ----------------------------------------------------------------------------------
    text = metrics(shop)
    counters = metric_requests(text)
    assert non_merchant_total(counters) == requests_total, counters
    delta = {k: v - metrics_before.get(k, 0) for k, v in counters.items() if k[0] != "merchant"}
    assert {k: v for k, v in delta.items() if v} == {
        ("finding", "2xx"): 4, ("finding", "4xx"): 1, ("evaluating", "2xx"): 4, ("transacting", "2xx"): 2,
    }, delta
    assert metric_value(text, "storefront_orders_total") == 1
    assert metric_value(text, "storefront_analytics_dropped_events_total") == 0

    # --- CSV agrees with JSON ------------------------------------------------------------------------
    r = shop.admin("GET", "/analytics/status-codes?format=csv")
    assert r.status_code == 200 and "csv" in r.headers.get("Content-Type", ""), (r.status_code, r.headers)
    lines = [ln for ln in r.text.splitlines() if ln]
    header = lines[0].split(",")
    csv_codes = {int(c[header.index("status")]): int(c[header.index("requests")]) for c in (ln.split(",") for ln in lines[1:])}
    assert csv_codes == codes, r.text


def test_a_replayed_purchase_is_revenue_once(shop):
    """The same complete_checkout sent again with its Idempotency-Key is answered from the record
    (Idempotent-Replayed): one order, counted once in the analytics revenue."""
    agent = shop.buyer()
    checkout = shop.create_checkout(agent, 2)
    key = new_key()
    first = shop.complete(agent, checkout["id"], key=key)
    assert first.status_code == 200, first.text[:300]
    for _ in range(2):
        again = shop.complete(agent, checkout["id"], key=key)
        assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true", again.text[:300]
        assert again.content == first.content, "a replay sends the recorded answer, byte for byte"
    settle(shop)
    rows = shop.admin_ok("GET", "/analytics/revenue?by=agent")["rows"]
    assert [(r["key"], r["orders"], r["revenue"]["amount"]) for r in rows] == [(agent.id, 1, 2 * GIFT_PRICE)], rows


def test_a_burst_beyond_the_queue_drops_and_counts_events_without_failing_a_request(tmp_path):
    shop = start_shop(tmp_path / "burst", extra=("--analytics-queue", "10"))
    try:
        base = settle(shop)
        b, d0 = base["requests"], base["dropped_events"]
        metrics_before = metric_requests(metrics(shop))
        finding_before = metrics_before.get(("finding", "2xx"), 0)

        sent = 2000

        def hit(session: requests.Session, _):
            started = time.monotonic()
            r = session.get(shop.url("/robots.txt"), headers={"User-Agent": GPTBOT}, timeout=15)
            return r.status_code, time.monotonic() - started

        started = time.monotonic()
        results = run_parallel(range(sent), hit, connections=32)
        elapsed = time.monotonic() - started
        codes = Counter(code for code, _ in results)
        assert codes == {200: sent}, codes
        slowest = max(t for _, t in results)
        assert slowest < 5.0, f"slowest request took {slowest:.2f}s (burst {elapsed:.2f}s)"

        # The dropped count covers every event, the admin API's own included: let the full queue
        # drain (one flush interval) before asking, so no admin call lands on a full queue.
        time.sleep(1.5)
        s = settle(shop)
        recorded = s["requests"] - b
        dropped = s["dropped_events"] - d0
        assert dropped > 0, s
        assert recorded > 0, s
        assert recorded + dropped == sent, (recorded, dropped, sent, s)
        assert sums(shop.admin_ok("GET", "/analytics/timeseries?by=family")["points"]).get("GPTBot") == recorded

        text = metrics(shop)
        assert metric_value(text, "storefront_analytics_dropped_events_total") == s["dropped_events"]
        # Prometheus counts every request, recorded or dropped.
        assert metric_requests(text).get(("finding", "2xx"), 0) - finding_before == sent
    finally:
        shop.server.stop()
