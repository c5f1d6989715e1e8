"""What each gap costs (issue 19): the funnel joined with the latest audit of this store. Scripted
agents end their journeys at known stages; `GET /admin/api/analytics/gaps` names, per stage, how
many left there, their operators, and what the store's self-audit found short at that stage. The
store here is the demo with one change a merchant might make — a plan's description sends teams to
"contact sales" (one phrase beside dozens of public prices, which the public rubric weighs as such).
The self-audit's own requests (its probes as a browser and as ChatGPT-User, Claude-User and
PerplexityBot) carry the store's self-audit token and are not counted as traffic; a forged token is.
"""
from __future__ import annotations

import json
import shutil

import pytest
import requests

from shop import start_shop
from support import REPO_ROOT
from test_analytics import settle

JOURNEYS = {
    # user agent → the paths it fetches (its last stage is where it left)
    "ChatGPT-User/1.0": ["/agents", "/pricing", "/policies"],  # trust_checking
    "Claude-User/1.0 (+Claude-User@anthropic.com)": ["/agents", "/policies"],  # trust_checking
    "Mozilla/5.0 (compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)": ["/agents", "/pricing"],  # evaluating
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": ["/llms.txt"],  # finding
}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    directory = tmp_path_factory.mktemp("gap-cost")
    manifests = directory / "manifests"
    shutil.copytree(REPO_ROOT / "manifests", manifests)
    pricing = json.loads((manifests / "pricing.json").read_text())
    pricing["plans"][0]["description"] += " Teams of 50 or more: contact sales."
    (manifests / "pricing.json").write_text(json.dumps(pricing, indent=2))
    s = start_shop(directory, manifests=manifests, extra=("--no-rate-limits",))
    yield s
    s.server.kill()


def stage(report: dict, name: str) -> dict:
    return next(s for s in report["stages"] if s["stage"] == name)


def operators(entry: dict) -> dict:
    return {o["operator"]: o["agents"] for o in entry["operators"]}


def test_agents_that_left_a_stage_are_joined_with_the_audits_findings_there(shop):
    settle(shop)
    # the harness's own health checks (python-requests on /status, Trust-checking) are visitors too
    baseline = {s["stage"]: s["agents_left"] for s in shop.admin_ok("GET", "/analytics/gaps")["stages"]}
    for user_agent, paths in JOURNEYS.items():
        for path in paths:
            assert requests.get(shop.url(path), headers={"User-Agent": user_agent}, timeout=10).status_code == 200
    settle(shop)

    before = shop.admin_ok("GET", "/analytics/gaps")
    assert before["audit"] is None
    trust = stage(before, "trust_checking")
    assert trust["agents_left"] - baseline["trust_checking"] == 2, trust
    assert {k: v for k, v in operators(trust).items() if k} == {"OpenAI": 1, "Anthropic": 1}, trust
    assert trust["summary"] == f"{trust['agents_left']} agents left at Trust-checking; no audit of this store yet (run one to see why)."
    evaluating = stage(before, "evaluating")
    assert evaluating["agents_left"] - baseline["evaluating"] == 1 and operators(evaluating).get("Perplexity") == 1
    assert operators(stage(before, "finding")).get("Google") == 1
    assert stage(before, "transacting")["agents_left"] == 0 and stage(before, "transacting")["summary"] is None

    # the merchant audits the store (the dashboard's button): its findings join the funnel, and its
    # requests (as a browser, as three agents, and as itself) are not traffic
    def traffic() -> dict:
        return {a["visitor"]: a["requests"] for a in shop.admin_ok("GET", "/analytics/top-agents?limit=200")["agents"]}

    counted = traffic()
    audit = shop.admin("POST", "/audits")
    assert audit.status_code == 201, audit.text[:300]
    assert audit.json()["report"]["budget"]["requests"] > 20
    settle(shop)
    assert traffic() == counted
    forged = requests.get(shop.url("/agents"), headers={"User-Agent": "ChatGPT-User/1.0", "Storefront-Self-Audit": "forged"}, timeout=10)
    assert forged.status_code == 200
    settle(shop)
    assert sum(traffic().values()) == sum(counted.values()) + 1
    after = shop.admin_ok("GET", "/analytics/gaps")
    assert after["audit"]["id"] == audit.json()["id"] and after["audit"]["target"] == shop.base_url
    trust = stage(after, "trust_checking")
    assert operators(trust).get("OpenAI") == 1 and operators(trust).get("Anthropic") == 1, trust
    evaluating = stage(after, "evaluating")
    assert operators(evaluating).get("Perplexity") == 1
    # each stage lists exactly the audit's failing findings there, and its summary quotes the first
    failing = {c["stage"]: c["failing"] for c in audit.json()["report"]["categories"]}
    for entry in (evaluating, trust):
        assert sorted(f["id"] for f in entry["findings"]) == sorted(failing[entry["stage"]]), (entry, failing)
        lost = [f["points_lost"] for f in entry["findings"]]
        assert lost == sorted(lost, reverse=True), entry["findings"]  # costliest first
        left = f"{entry['agents_left']} agent{'s' if entry['agents_left'] != 1 else ''} left at {entry['title']}"
        if entry["findings"]:
            first = entry["findings"][0]
            assert first["points_lost"] > 0
            assert entry["summary"] == f"{left}; the latest audit finds this short: {first['title']} ({first['fix']}).", entry["summary"]
        else:
            assert entry["summary"] == f"{left}.", entry["summary"]
    # every finding listed belongs to its stage; the last stage is the journey's end, not a gap
    for entry in after["stages"]:
        assert all(f["id"] for f in entry["findings"])
    assert stage(after, "recommending")["agents_left"] == 0

    # the CSV export of the view
    r = requests.get(shop.url("/admin/api/analytics/gaps?format=csv"), headers=shop.admin_auth, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert "trust_checking" in r.text and "agents_left" in r.text.splitlines()[0]


def test_self_audits_run_one_at_a_time_off_the_server_threads(shop):
    """`POST /admin/api/audits` waits suspended while the audit fetches the gateway; a second one
    meanwhile is refused with 409 `audit_running`, and the gateway keeps answering."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        audits = [pool.submit(shop.admin, "POST", "/audits") for _ in range(3)]
        # while they run, the gateway answers others (the audit holds no server thread)
        assert requests.get(shop.url("/status"), timeout=10).status_code == 200
        answers = [f.result() for f in audits]
    assert {r.status_code for r in answers} <= {201, 409}, [(r.status_code, r.text[:200]) for r in answers]
    assert any(r.status_code == 201 for r in answers)
    for r in answers:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "audit_running", r.text
    assert shop.admin("POST", "/audits").status_code == 201  # and the next one runs

