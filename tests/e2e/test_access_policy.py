"""Per-operator access policy (issue 19): the merchant allows, blocks, requires verification of, or
charges (pay per crawl) each operator's agents per journey stage; the gateway enforces it on REST,
MCP and documents, and robots.txt (read with Protego, an RFC 9309 parser we did not write),
`/agents` and llms.txt are written from the same policy. One test per access × stage.

Two OpenAI families stand in for every operator: GPTBot, which only *claims* to be itself (no
ranges stored), and OAI-SearchBot, *verified* by a published-ranges file naming loopback.
"""
from __future__ import annotations

import json
import time

import pytest
import requests
from protego import Protego

from gateway_process import modern_post
from shop import cli, cli_json, start_shop
from test_analytics import settle

CLAIMED = "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)"
VERIFIED = "Mozilla/5.0 (compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot)"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
PRICE = {"amount": 1, "currency": "USD"}
STAGES = ["finding", "evaluating", "trust_checking", "transacting", "using", "recommending"]

# For each stage: a document (GET) or REST call, and an MCP tool, that belong to it.
PROBES = {
    "finding": {"rest": ("GET", "/llms.txt", None), "mcp": None},
    "evaluating": {"rest": ("GET", "/pricing", None), "mcp": ("search_catalog", {"query": "tent"})},
    "trust_checking": {"rest": ("GET", "/policies", None), "mcp": ("get_policies", {})},
    "transacting": {"rest": ("POST", "/tools/get_wallet", {}), "mcp": ("get_wallet", {})},
    "using": {"rest": ("POST", "/tools/get_support_options", {}), "mcp": ("get_support_options", {})},
    "recommending": {"rest": ("POST", "/tools/recommend", {}), "mcp": ("recommend", {})},
}
POLICY_CODES = {"blocked_by_policy", "verification_required", "payment_required"}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    directory = tmp_path_factory.mktemp("access-policy")
    s = start_shop(directory, extra=("--sweep-interval", "1", "--no-rate-limits"))
    ranges = directory / "searchbot.json"
    ranges.write_text(json.dumps({"creationTime": "2026-12-01T00:00:00Z",
                                  "prefixes": [{"ipv4Prefix": "127.0.0.0/8"}, {"ipv6Prefix": "::1/128"}]}))
    cli_json("agents", "refresh-ranges", "--family", "OAI-SearchBot", "--from", str(ranges), store=s.store)
    time.sleep(2.5)  # the sweep (every second) reads the ranges
    yield s
    s.admin("PUT", "/access-policy", {"rules": []})
    s.server.kill()


def put_policy(shop, rules, price=PRICE) -> dict:
    r = shop.admin("PUT", "/access-policy", {"rules": rules, "price": price})
    assert r.status_code == 200, r.text
    return r.json()


def rest(shop, stage: str, user_agent: str, extra: dict | None = None) -> requests.Response:
    method, path, body = PROBES[stage]["rest"]
    headers = {"User-Agent": user_agent, **(extra or {})}
    if method == "GET":
        return requests.get(shop.url(path), headers=headers, timeout=10)
    return requests.post(shop.url(path), json=body, headers=headers, timeout=10)


def mcp(shop, stage: str, user_agent: str, extra: dict | None = None) -> requests.Response | None:
    probe = PROBES[stage]["mcp"]
    if probe is None:
        return None
    tool, arguments = probe
    _, r = modern_post(shop.url("/mcp"), "tools/call", {"name": tool, "arguments": arguments},
                       headers={"User-Agent": user_agent, **(extra or {})})
    return r


def policy_code(r: requests.Response) -> str | None:
    """The policy's refusal code in a REST error or a JSON-RPC error's data, else None."""
    try:
        body = r.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    if isinstance(code, str) and code in POLICY_CODES:
        return code
    data = error.get("data")
    if isinstance(data, dict) and data.get("code") in POLICY_CODES:
        return data["code"]
    return None


def robots(shop) -> Protego:
    r = requests.get(shop.url("/robots.txt"), timeout=10)
    assert r.status_code == 200
    return Protego.parse(r.text)


def stage_paths(shop, stage: str) -> list[str]:
    """The GET documents `/agents` lists for a stage (concrete paths), that robots.txt speaks of."""
    doc = requests.get(shop.url("/agents"), timeout=10).json()
    product = requests.get(shop.url("/catalog?limit=1"), timeout=10).json()["products"][0]["id"]
    paths = []
    for e in doc["endpoints"]:
        if e["method"] == "GET" and e["stage"] == stage and e["path"] not in ("/robots.txt", "/agents/policy", "/status"):
            paths.append(e["path"].replace("{id}", product))
    return paths


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("access", ["block", "require_verification", "charge"])
def test_the_policy_is_enforced_and_published_alike(shop, access, stage):
    put_policy(shop, [{"agent": "OpenAI", "stage": stage, "access": access}])
    expected_claimed = {"block": (403, "blocked_by_policy"), "require_verification": (403, "verification_required"),
                        "charge": (402, "payment_required")}[access]

    # REST and documents: the claimed agent is refused as the policy says
    r = rest(shop, stage, CLAIMED)
    assert (r.status_code, policy_code(r)) == expected_claimed, r.text[:300]
    assert r.headers["Link"].endswith('/agents/policy>; rel="describedby"')
    if access == "charge":
        assert r.headers["crawler-price"] == "USD 0.01"
        assert r.json()["terms"]["price"] == PRICE
    # the verified one: blocked all the same; verification suffices; a price must be accepted
    v = rest(shop, stage, VERIFIED)
    if access == "block":
        assert (v.status_code, policy_code(v)) == (403, "blocked_by_policy")
    elif access == "require_verification":
        assert policy_code(v) is None, v.text[:300]
    else:
        assert (v.status_code, policy_code(v)) == (402, "payment_required") and v.headers["crawler-price"] == "USD 0.01"
        low = rest(shop, stage, VERIFIED, {"crawler-max-price": "USD 0.00"})
        assert low.status_code == 402 and "crawler-error" in low.headers
        paid = rest(shop, stage, VERIFIED, {"crawler-exact-price": "USD 0.01"})
        assert policy_code(paid) is None, paid.text[:300]
        # only a success is charged, and says so
        assert (paid.headers.get("crawler-charged") == "USD 0.01") == (200 <= paid.status_code < 300), paid.headers
    # a browser and an agent of another operator are not governed by OpenAI's rule
    assert policy_code(rest(shop, stage, BROWSER)) is None
    assert policy_code(rest(shop, stage, "ClaudeBot/1.0")) is None
    # other stages stay open to the claimed agent
    other = STAGES[(STAGES.index(stage) + 1) % len(STAGES)]
    assert policy_code(rest(shop, other, CLAIMED)) is None

    # MCP: the stage's tool is refused as REST is, with a JSON-RPC error
    m = mcp(shop, stage, CLAIMED)
    if m is not None:
        assert m.status_code == expected_claimed[0] and policy_code(m) == expected_claimed[1], m.text[:300]
        assert m.json()["jsonrpc"] == "2.0" and "id" in m.json()
        if access == "require_verification":
            assert policy_code(mcp(shop, stage, VERIFIED)) is None
        other_tool = mcp(shop, other, CLAIMED)
        assert other_tool is None or policy_code(other_tool) is None

    # robots.txt says what is enforced: the stage's documents are disallowed exactly when blocked
    parser = robots(shop)
    for path in stage_paths(shop, stage):
        for agent in ("GPTBot", "OAI-SearchBot"):
            assert parser.can_fetch(shop.url(path), agent) == (access != "block"), (agent, path)
        assert parser.can_fetch(shop.url(path), "ClaudeBot")
    for path in stage_paths(shop, other):
        assert parser.can_fetch(shop.url(path), "GPTBot"), path
    assert not parser.can_fetch(shop.url("/admin/api/agents"), "GPTBot")

    # /agents, llms.txt and the policy document state the rule
    agents = requests.get(shop.url("/agents"), timeout=10).json()["access_policy"]
    assert agents["rules"] == [{"agent": "OpenAI", "stage": stage, "access": access}]
    assert agents["policy"] == shop.url("/agents/policy")
    llms = requests.get(shop.url("/llms.txt"), headers={"User-Agent": BROWSER}, timeout=10).text
    assert "## Access for AI agents" in llms and "OpenAI" in llms.split("## Access for AI agents")[1].split("##")[0]
    effective = {e["agent"]: e["stages"] for e in requests.get(shop.url("/agents/policy"), timeout=10).json()["effective"]}
    assert effective["GPTBot"][stage] == access and effective["OAI-SearchBot"][stage] == access
    assert all(effective["GPTBot"][s] == "allow" for s in STAGES if s != stage)
    assert "ClaudeBot" not in effective


def test_robots_txt_agrees_with_what_is_enforced_for_every_agent_and_path(shop):
    """A mixed policy (family over operator over category over *, stage over every stage): for each
    restricted agent and each GET document, Protego's reading of robots.txt equals the gateway's
    answer."""
    put_policy(shop, [
        {"agent": "*", "stage": "transacting", "access": "block"},
        {"agent": "ai_crawler", "stage": "evaluating", "access": "block"},
        {"agent": "OpenAI", "stage": "*", "access": "block"},
        {"agent": "GPTBot", "stage": "finding", "access": "allow"},
        {"agent": "OAI-SearchBot", "stage": "*", "access": "allow"},
        {"agent": "PerplexityBot", "stage": "trust_checking", "access": "charge"},
        {"agent": "Bytespider", "stage": "*", "access": "block"},
    ])
    parser = robots(shop)
    doc = requests.get(shop.url("/agents"), timeout=10).json()
    product = requests.get(shop.url("/catalog?limit=1"), headers={"User-Agent": BROWSER}, timeout=10).json()["products"][0]["id"]
    paths = [e["path"].replace("{id}", product) for e in doc["endpoints"] if e["method"] == "GET"]
    checked = 0
    for agent, ua in [("GPTBot", CLAIMED), ("OAI-SearchBot", VERIFIED), ("ClaudeBot", "ClaudeBot/1.0"),
                      ("PerplexityBot", "PerplexityBot/1.0"), ("Googlebot", "Googlebot/2.1"), ("Bytespider", "Bytespider")]:
        for path in paths:
            r = requests.get(shop.url(path), headers={"User-Agent": ua}, timeout=10)
            blocked = policy_code(r) == "blocked_by_policy"
            assert parser.can_fetch(shop.url(path), agent) == (not blocked), (agent, path, r.status_code, r.text[:200])
            checked += 1
    assert checked >= 6 * 20
    assert "User-agent: Bytespider\nDisallow: /\n" in requests.get(shop.url("/robots.txt"), timeout=10).text
    # spot checks of precedence
    assert policy_code(requests.get(shop.url("/llms.txt"), headers={"User-Agent": CLAIMED}, timeout=10)) is None
    assert policy_code(requests.get(shop.url("/pricing"), headers={"User-Agent": CLAIMED}, timeout=10)) == "blocked_by_policy"
    assert policy_code(requests.get(shop.url("/pricing"), headers={"User-Agent": "ClaudeBot/1.0"}, timeout=10)) == "blocked_by_policy"
    assert policy_code(requests.get(shop.url("/pricing"), headers={"User-Agent": "Claude-User/1.0"}, timeout=10)) is None
    assert requests.get(shop.url("/policies"), headers={"User-Agent": "PerplexityBot/1.0"}, timeout=10).status_code == 402


def test_registered_agents_and_robots_txt_itself_are_never_refused(shop):
    put_policy(shop, [{"agent": "OpenAI", "stage": "*", "access": "block"}])
    assert requests.get(shop.url("/robots.txt"), headers={"User-Agent": CLAIMED}, timeout=10).status_code == 200
    assert requests.get(shop.url("/agents/policy"), headers={"User-Agent": CLAIMED}, timeout=10).status_code == 200
    agent = shop.register()
    r = requests.post(shop.url("/tools/get_wallet"), json={}, headers={**agent.auth, "User-Agent": CLAIMED}, timeout=10)
    assert r.status_code == 200, r.text
    # a made-up credential does not get a blocked agent past the policy
    r = requests.get(shop.url("/pricing"), headers={"Authorization": "Bearer sf_live_nope", "User-Agent": CLAIMED}, timeout=10)
    assert policy_code(r) == "blocked_by_policy"
    # MCP's session plumbing stays closed only when every stage is: here it is
    _, m = modern_post(shop.url("/mcp"), "tools/list", {}, headers={"User-Agent": CLAIMED})
    assert m.status_code == 403 and policy_code(m) == "blocked_by_policy"


def test_a_bad_policy_is_refused_whole_with_where_it_is_wrong(shop):
    before = shop.admin_ok("GET", "/access-policy")
    cases = [
        ({"rules": [{"agent": "NoSuchBot", "stage": "*", "access": "block"}]}, "unknown_agent", "rules[0].agent"),
        ({"rules": [{"agent": "GPTBot", "stage": "shopping", "access": "block"}]}, "invalid_policy", "rules[0].stage"),
        ({"rules": [{"agent": "GPTBot", "stage": "*", "access": "maybe"}]}, "invalid_policy", "rules[0].access"),
        ({"rules": [{"agent": "GPTBot", "access": "charge"}]}, "price_required", "price"),
        ({"rules": [{"agent": "GPTBot", "access": "block"}, {"agent": "gptbot", "access": "allow"}]}, "duplicate_rule", "rules[1]"),
        ({"rules": [], "price": {"amount": -5, "currency": "USD"}}, "invalid_price", "price"),
        ({"rules": "all"}, "invalid_policy", "rules"),
        ({"rules": [{"agent": "GPTBot", "access": "block"}] * 600}, "invalid_policy", "rules"),
    ]
    for body, code, param in cases:
        r = shop.admin("PUT", "/access-policy", body)
        assert r.status_code == 400, (body, r.text)
        assert (r.json()["error"]["code"], r.json()["error"].get("param")) == (code, param), r.text
    r = requests.put(shop.url("/admin/api/access-policy"), data=b'{"rules": [', headers=shop.admin_auth, timeout=10)
    assert r.status_code == 400
    r = requests.put(shop.url("/admin/api/access-policy"), json={"rules": []}, timeout=10)
    assert r.status_code == 401
    assert shop.admin_ok("GET", "/access-policy")["rules"] == before["rules"]


def test_the_cli_sets_and_shows_the_policy(shop, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"rules": [{"agent": "Bytespider", "stage": "*", "access": "block"}]}))
    shown = cli_json("agents", "policy", "--set", str(path), store=shop.store)
    assert shown["rules"] == [{"agent": "Bytespider", "stage": "*", "access": "block"}]
    assert cli_json("agents", "policy", store=shop.store)["rules"] == shown["rules"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"agent": "Bytespider", "stage": "*", "access": "nope"}]}))
    r = cli("agents", "policy", "--set", str(bad), store=shop.store)
    assert r.returncode != 0 and "rules[0].access" in r.stderr
    # the running gateway follows the store's change (its sweep re-reads it) within seconds
    deadline = time.monotonic() + 5
    while policy_code(requests.get(shop.url("/pricing"), headers={"User-Agent": "Bytespider"}, timeout=10)) != "blocked_by_policy":
        assert time.monotonic() < deadline, "the gateway did not take up the CLI's policy"
        time.sleep(0.2)
    assert "User-agent: Bytespider" in requests.get(shop.url("/robots.txt"), timeout=10).text


def test_what_the_policy_did_is_counted_per_agent_verified_or_claimed(shop):
    """Exact numbers: robots.txt violations (fetches of disallowed paths), refusals and charges."""
    put_policy(shop, [{"agent": "GPTBot", "stage": "evaluating", "access": "block"},
                      {"agent": "OAI-SearchBot", "stage": "evaluating", "access": "charge"},
                      {"agent": "OAI-SearchBot", "stage": "trust_checking", "access": "block"}],
               price={"amount": 3, "currency": "USD"})
    settle(shop)
    before = shop.admin_ok("GET", "/policy-outcomes?days=1")

    def count(report, agent, verification, outcome, field="requests"):
        for o in report["outcomes"]:
            if (o["agent"], o["verification"], o["outcome"]) == (agent, verification, outcome):
                return o["earned"]["amount"] if field == "earned" else o[field]
        return 0

    for _ in range(7):
        assert requests.get(shop.url("/pricing"), headers={"User-Agent": CLAIMED}, timeout=10).status_code == 403
    for _ in range(2):
        assert requests.get(shop.url("/policies"), headers={"User-Agent": VERIFIED}, timeout=10).status_code == 403
    for _ in range(4):
        assert requests.get(shop.url("/pricing"), headers={"User-Agent": VERIFIED}, timeout=10).status_code == 402
    for _ in range(5):
        r = requests.get(shop.url("/pricing"), headers={"User-Agent": VERIFIED, "crawler-max-price": "USD 0.05"}, timeout=10)
        assert r.status_code == 200 and r.headers["crawler-charged"] == "USD 0.03"
    settle(shop)
    after = shop.admin_ok("GET", "/policy-outcomes?days=1")
    assert count(after, "GPTBot", "claimed", "disallowed") - count(before, "GPTBot", "claimed", "disallowed") == 7
    assert count(after, "OAI-SearchBot", "verified", "disallowed") - count(before, "OAI-SearchBot", "verified", "disallowed") == 2
    assert count(after, "OAI-SearchBot", "verified", "payment_required") - count(before, "OAI-SearchBot", "verified", "payment_required") == 4
    assert count(after, "OAI-SearchBot", "verified", "charged") - count(before, "OAI-SearchBot", "verified", "charged") == 5
    assert count(after, "OAI-SearchBot", "verified", "charged", "earned") - count(before, "OAI-SearchBot", "verified", "charged", "earned") == 15
    violations = {(v["agent"], v["verification"]): v["requests"] for v in after["robots_violations"]}
    assert violations[("GPTBot", "claimed")] >= 7
    assert any(line.startswith("GPTBot fetched ") and "disallowed page" in line for line in after["summary"])
    # the same view as CSV
    r = requests.get(shop.url("/admin/api/policy-outcomes?days=1&format=csv"), headers=shop.admin_auth, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    header, *lines = r.text.strip().splitlines()
    assert header.split(",")[:3] == ["agent", "earned", "operator"] and any(l.startswith("GPTBot,") for l in lines), r.text
