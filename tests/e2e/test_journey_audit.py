"""The journey auditor (`storefront audit`), end to end, with the REAL binary.

Three targets:

- the demo manifests, with `--manifests` (the auditor serves them itself on a private port);
- a running gateway serving the same manifests, audited by URL;
- a deliberately agent-hostile shop (`fixtures/hostile_site/`) served by Python's `http.server`
  on 127.0.0.1: "contact sales" pricing, a reCAPTCHA, a robots.txt that shuts out ChatGPT-User and
  three more agents (not Claude-User), no llms.txt, no /agents, no OpenAPI, no MCP, a product page without JSON-LD
  (listed in the sitemap) and a checkout that is only an HTML form.

The JSON report is checked against `schemas/journey-report.schema.json` with jsonschema (draft
2020-12, format checks on); the demo store must come out agent-ready with every stage scored, the
hostile shop agent-hostile with the specific findings, their fixes and the URLs fetched as
evidence. Then the renderers (table, Markdown, self-contained HTML embedding the JSON report),
`--output`, `--min-score` and the argument errors.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import signal
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from support import SCHEMAS, launch, run_cli

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "hostile_site"
RUBRIC = Path(__file__).resolve().parents[2] / "Sources" / "JourneyAudit" / "audit-rubric.json"

STAGES = ["finding", "evaluating", "trust_checking", "transacting", "using", "recommending"]
STAGE_TITLES = ["Finding", "Evaluating", "Trust-checking", "Transacting", "Using", "Recommending"]

# What the hostile shop must be flagged for: audit id → the path whose fetch is the evidence
# (None: any URL of the shop will do).
HOSTILE_FINDINGS = {
    "machine-entry-points": None,  # any of the standard places (API catalog, UCP, ACP, A2A, MCP card, OpenAPI)
    "llms-txt": "/llms.txt",
    "robots-agents": "/robots.txt",
    "mcp-endpoint": "/mcp",
    "product-structured-data": "/products/acme-widget.html",
    "machine-readable-prices": "/",
    "public-prices": "/",
    "policies": "/",
    "agent-checkout": "/checkout.html",
    "no-captcha": "/",
}
OPENAPI_PATHS = {"/openapi.json", "/.well-known/openapi.json", "/api/openapi.json"}


# --- helpers ----------------------------------------------------------------------------------


@functools.cache
def report_validator() -> Draft202012Validator:
    schema = json.loads((SCHEMAS / "journey-report.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def audit(*args: str, expect: int | None = 0):
    """Runs `storefront audit ARGS...`; checks the exit status unless `expect` is None."""
    result = run_cli("audit", *args, timeout=30)
    if expect is not None:
        assert result.returncode == expect, (
            f"storefront audit {' '.join(args)} exited {result.returncode}, expected {expect}\n"
            f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
        )
    return result


def audit_json(*args: str) -> dict:
    report = json.loads(audit(*args, "--format", "json").stdout)
    assert_valid_report(report)
    return report


def assert_valid_report(report: dict) -> None:
    errors = sorted(report_validator().iter_errors(report), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:20])
    # Beyond the schema: the six stages in journey order, each finding once, the rubric's audits.
    assert [c["stage"] for c in report["categories"]] == STAGES
    assert [c["title"] for c in report["categories"]] == STAGE_TITLES
    ids = [f["id"] for f in report["findings"]]
    assert len(ids) == len(set(ids)), ids
    rubric = json.loads(RUBRIC.read_text())["audits"]
    assert ids == [a["id"] for a in rubric]
    by_id = {a["id"]: a for a in rubric}
    for f in report["findings"]:
        assert f["stage"] == by_id[f["id"]]["stage"], f
        assert f["fix"] == by_id[f["id"]]["fix"], f
        if f["score"] is None:
            assert f["passed"] is None, f
        else:
            assert f["passed"] == (f["score"] >= 0.9), f
    for c in report["categories"]:
        assert c["audits"] == [f["id"] for f in report["findings"] if f["stage"] == c["stage"]], c
        assert set(c["failing"]) <= set(c["audits"]), c
    # The level follows from the score and the rubric's thresholds.
    levels = sorted(json.loads(RUBRIC.read_text())["levels"], key=lambda l: -l["min"])
    expected = next(l["level"] for l in levels if report["score"] >= l["min"])
    assert report["level"] == expected, (report["score"], report["level"])


def assert_agent_ready(report: dict) -> None:
    assert report["level"] == "agent-ready", (report["score"], failing_summary(report))
    assert report["score"] >= 85, failing_summary(report)
    for category in report["categories"]:
        assert category["score"] is not None, category
        assert 0 <= category["score"] <= 100, category


def failing_summary(report: dict) -> list:
    return [(f["id"], f["score"], f["detail"]) for f in report["findings"] if (f["score"] if f["score"] is not None else 1) < 0.9]


def findings(report: dict) -> dict:
    return {f["id"]: f for f in report["findings"]}


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: tuple[dict, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = (attrs, [])

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)


# --- the targets ------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests_seen: list[tuple[str, str, str]]

    def log_message(self, format, *args):  # keep pytest's output clean
        pass

    def _record(self):
        self.requests_seen.append((self.command, self.path, self.headers.get("User-Agent", "")))

    def do_GET(self):
        self._record()
        super().do_GET()

    def do_HEAD(self):
        self._record()
        super().do_HEAD()

    def do_POST(self):  # a static site: no POST handler, so 501 like plain http.server
        self._record()
        self.send_error(501, "Unsupported method ('POST')")

    def do_DELETE(self):
        self._record()
        self.send_error(501, "Unsupported method ('DELETE')")


class HostileSite:
    def __init__(self, root: Path) -> None:
        self.requests: list[tuple[str, str, str]] = []
        handler = type("Handler", (_QuietHandler,), {"requests_seen": self.requests})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.root = root
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    """The fixture folder copied to a temp dir with `__BASE__` set to the served origin."""
    root = tmp_path_factory.mktemp("hostile") / "site"
    shutil.copytree(FIXTURE, root)
    site = HostileSite(root)
    for name in ("robots.txt", "sitemap.xml"):
        path = root / name
        path.write_text(path.read_text().replace("__BASE__", site.base))
    site.thread.start()
    yield site
    site.httpd.shutdown()
    site.httpd.server_close()


@pytest.fixture(scope="module")
def hostile_report(hostile_site) -> dict:
    hostile_site.requests.clear()
    report = audit_json(hostile_site.base)
    report["_requests"] = list(hostile_site.requests)  # what the auditor asked the shop for
    return report


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """Our own gateway on the demo manifests (not the session server: its /dashboard folder and
    body limit are fixtures of other tests)."""
    srv = launch(tmp_path_factory.mktemp("audit-gateway") / "storefront.db")
    yield srv
    srv.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def manifests_report() -> dict:
    return audit_json("--manifests", "manifests")


@pytest.fixture(scope="module")
def gateway_report(gateway) -> dict:
    return audit_json(gateway.base_url)


# --- (1), (2): the demo store -----------------------------------------------------------------


def test_manifests_audit_is_valid_and_agent_ready(manifests_report):
    assert manifests_report["target"].startswith("manifests:"), manifests_report["target"]
    assert_agent_ready(manifests_report)


def test_running_gateway_audit_is_valid_and_agent_ready(gateway, gateway_report):
    assert gateway_report["target"] == gateway.base_url
    assert_agent_ready(gateway_report)
    # The evidence is what was fetched from this gateway.
    urls = {e["url"] for f in gateway_report["findings"] for e in f["evidence"]}
    assert urls and all(u.startswith(gateway.base_url) for u in urls), urls
    assert findings(gateway_report)["mcp-endpoint"]["score"] == 1, findings(gateway_report)["mcp-endpoint"]


def test_manifests_and_url_audits_agree(manifests_report, gateway_report):
    """The same manifests, audited before going online and while online, score the same."""
    assert manifests_report["score"] == gateway_report["score"]
    assert {f["id"]: f["score"] for f in manifests_report["findings"]} == {
        f["id"]: f["score"] for f in gateway_report["findings"]
    }


@pytest.mark.parametrize("which", ["manifests_report", "gateway_report"])
def test_demo_store_scores_at_least_90_in_every_stage(request, which):
    report = request.getfixturevalue(which)
    low = {c["stage"]: c["score"] for c in report["categories"] if c["score"] < 90}
    assert not low, (low, failing_summary(report))


# --- (3): the agent-hostile shop --------------------------------------------------------------


def test_hostile_site_is_agent_hostile(hostile_site, hostile_report):
    assert hostile_report["target"] == hostile_site.base
    assert hostile_report["level"] == "agent-hostile", hostile_report["score"]
    assert hostile_report["score"] < 40
    for category in hostile_report["categories"]:
        assert category["score"] is None or category["score"] < 65, category
    # Evaluating and Transacting have nothing an agent can use.
    scores = {c["stage"]: c["score"] for c in hostile_report["categories"]}
    assert scores["evaluating"] < 25 and scores["transacting"] < 15, scores
    # It serves everyone, but robots.txt shuts ChatGPT-User out: half the agents that buy may read
    # it, and the fixes are ranked by the points they would win.
    reach = hostile_report["reachability"]
    assert reach["status"] == "partly_blocked" and reach["robots_access"] == 0.5, reach
    assert "ChatGPT-User" in hostile_report["headline"], hostile_report["headline"]
    points = [f["points"] for f in hostile_report["fixes"]]
    assert points == sorted(points, reverse=True) and points[0] > 0, hostile_report["fixes"]


@pytest.mark.parametrize("audit_id", sorted(HOSTILE_FINDINGS))
def test_hostile_site_is_flagged(hostile_site, hostile_report, audit_id):
    finding = findings(hostile_report)[audit_id]
    if audit_id == "robots-agents":
        assert finding["score"] is not None and finding["score"] < 0.5, finding
        assert "ChatGPT-User" in finding["detail"], finding
        # The evidence quotes the rule that decided, with its line number.
        assert any("Disallow: /" in (e.get("match") or "") and "line" in e["match"] for e in finding["evidence"]), finding
    elif audit_id == "agent-checkout":
        assert finding["score"] < 0.5, finding
    else:
        assert finding["score"] == 0, finding
    assert finding["passed"] is False, finding
    assert len(finding["fix"].strip()) >= 10, finding
    category = next(c for c in hostile_report["categories"] if c["stage"] == finding["stage"])
    assert audit_id in category["failing"], category

    # The evidence names the URL(s) fetched from the shop, with their status.
    evidence = finding["evidence"]
    assert evidence, finding
    for item in evidence:
        assert item["url"].startswith(hostile_site.base + "/"), item
        assert isinstance(item["status"], int), item
    urls = {item["url"]: item["status"] for item in evidence}
    path = HOSTILE_FINDINGS[audit_id]
    if path is not None:
        assert hostile_site.url(path) in urls, (path, evidence)
    if audit_id == "machine-entry-points":
        assert {u[len(hostile_site.base):] for u in urls} & OPENAPI_PATHS, evidence
        assert all(status == 404 for status in urls.values()), evidence
    if audit_id == "llms-txt":
        assert urls[hostile_site.url(path)] == 404, evidence
    if audit_id in {"robots-agents", "product-structured-data", "no-captcha", "public-prices"}:
        assert urls[hostile_site.url(path)] == 200, evidence
    if audit_id == "mcp-endpoint":
        assert urls[hostile_site.url("/mcp")] >= 400, evidence


def test_hostile_site_details_say_what_was_seen(hostile_report):
    f = findings(hostile_report)
    assert "contact sales" in f["public-prices"]["detail"].lower(), f["public-prices"]
    assert any("contact sales" in (e.get("match") or "") for e in f["public-prices"]["evidence"]), f["public-prices"]
    assert "recaptcha" in f["no-captcha"]["detail"].lower(), f["no-captcha"]
    # The sitemap exists and led the auditor to the product page; HTTP on loopback is not judged.
    assert f["sitemap"]["score"] == 1, f["sitemap"]
    assert f["https"]["score"] is None and "loopback" in f["https"]["detail"], f["https"]


def test_hostile_site_audit_is_polite(hostile_site, hostile_report):
    """A clear User-Agent on every request but the home page's reachability probes (as a browser
    and as three agents), and nothing written: the only non-GET requests are the MCP handshake's
    POSTs (2025-11-25 initialize, 2026-07-28 server/discover), which the static site refuses."""
    seen = hostile_report["_requests"]
    assert seen, "the auditor fetched nothing from the shop"
    probes = [agent for method, path, agent in seen if "storefront" not in agent.lower()]
    assert len(probes) == 4, probes
    assert sum("Chrome/" in a for a in probes) == 1 and all(any(t in a for t in ("Chrome/", "ChatGPT-User", "Claude-User", "PerplexityBot")) for a in probes), probes
    for method, path, agent in seen:
        assert "storefront" in agent.lower() or path == "/", (method, path, agent)
    non_get = {(m, p) for m, p, _ in seen if m not in ("GET", "HEAD")}
    assert non_get == {("POST", "/mcp")}, non_get
    paths = {p for m, p, _ in seen if m == "GET"}
    assert {"/", "/robots.txt", "/sitemap.xml", "/llms.txt", "/products/acme-widget.html"} <= paths, paths
    assert len(seen) == hostile_report["budget"]["requests"], (len(seen), hostile_report["budget"])
    assert "/checkout" not in paths and not any(p.startswith("/signup") for p in paths), paths


# --- (4): the renderers -----------------------------------------------------------------------


def test_markdown_report_has_a_stage_table(hostile_site):
    text = audit(hostile_site.base, "--format", "markdown").stdout
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("|") and "Stage" in line and "Score" in line)
    assert re.fullmatch(r"\|[-:| ]+\|", lines[header + 1]), lines[header + 1]
    rows = lines[header + 2 : header + 8]
    assert [row.split("|")[1].strip() for row in rows] == STAGE_TITLES, rows
    for title in STAGE_TITLES:
        assert f"## {title}" in text
    assert "Fix:" in text and "agent-hostile" in text


def test_html_report_is_self_contained_and_embeds_the_json(hostile_site, hostile_report):
    html = audit(hostile_site.base, "--format", "html").stdout
    assert html.lstrip().lower().startswith("<!doctype html>"), html[:200]
    parser = _Elements()
    parser.feed(html)
    parser.close()

    external = re.compile(r"^\s*(https?:)?//", re.I)
    for tag, attrs in parser.tags:
        if tag == "script":
            assert "src" not in attrs, (tag, attrs)
        if tag == "link":
            rel = (attrs.get("rel") or "").lower()
            assert rel not in {"stylesheet", "preload", "modulepreload", "icon", "import"}, (tag, attrs)
            assert not external.match(attrs.get("href") or ""), (tag, attrs)
        for name in ("src", "srcset", "data", "poster"):
            assert not external.match(attrs.get(name) or ""), (tag, attrs)
        if tag in ("img", "iframe", "object", "embed", "video", "audio", "source"):
            assert not attrs.get("src") or attrs["src"].startswith("data:"), (tag, attrs)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", html, re.I), "CSS loads something external"

    # Exactly one script: the report (the fix text's own `<script type="application/ld+json">`
    # must stay escaped, in the page text and in the JSON).
    assert len(parser.scripts) == 1, [a for a, _ in parser.scripts]
    attrs, text = parser.scripts[0]
    assert attrs.get("type") == "application/json" and attrs.get("id") == "report", attrs
    embedded = json.loads(text)
    assert_valid_report(embedded)
    assert [f["id"] for f in embedded["findings"]] == [f["id"] for f in hostile_report["findings"]]
    assert {f["id"]: f["score"] for f in embedded["findings"]} == {f["id"]: f["score"] for f in hostile_report["findings"]}
    assert embedded["target"] == hostile_site.base
    for title in STAGE_TITLES:
        assert title in html


def test_table_report(hostile_site):
    text = audit(hostile_site.base).stdout  # the default format; not a TTY here
    assert "Score" in text
    for title in STAGE_TITLES:
        assert re.search(rf"^{re.escape(title)}\b", text, re.M), (title, text[:2000])
    assert "fix:" in text
    assert "\x1b[" not in text, "colour codes when standard output is not a terminal"


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "html"])
def test_output_writes_the_file(tmp_path, hostile_site, fmt):
    out = tmp_path / f"report.{fmt}"
    result = audit(hostile_site.base, "--format", fmt, "--output", str(out))
    assert out.is_file() and out.stat().st_size > 0
    assert str(out) in result.stdout, result.stdout
    body = out.read_text()
    if fmt == "json":
        report = json.loads(body)
        assert_valid_report(report)
        assert report["level"] == "agent-hostile"
    elif fmt == "html":
        assert '<script type="application/json" id="report">' in body
    else:
        assert "Score" in body
    assert "Transacting" in body


# --- (5): exit codes and argument errors ------------------------------------------------------


def test_min_score_fails_the_run_when_below(hostile_site):
    result = audit(hostile_site.base, "--format", "json", "--min-score", "99", expect=1)
    assert json.loads(result.stdout)["level"] == "agent-hostile"  # the report is still printed
    audit(hostile_site.base, "--format", "json", "--min-score", "0", expect=0)


def test_min_score_passes_the_demo_store():
    audit("--manifests", "manifests", "--format", "json", "--min-score", "85", expect=0)


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:8080", "not a url"])
def test_url_must_be_http_or_https(target):
    result = audit(target, expect=None)
    assert result.returncode != 0, result
    message = result.stderr + result.stdout
    assert "http://" in message and "https://" in message, message
    assert target in message, message
    assert "Traceback" not in message and "Fatal error" not in message, message


def test_url_and_manifests_together_are_refused(hostile_site):
    hostile_site.requests.clear()
    result = audit(hostile_site.base, "--manifests", "manifests", expect=None)
    assert result.returncode != 0, result
    assert "--manifests" in result.stderr, result.stderr
    assert hostile_site.requests == [], "refused arguments must not start an audit"


def test_neither_url_nor_manifests_is_refused():
    result = audit(expect=None)
    assert result.returncode != 0, result
    assert "--manifests" in result.stderr, result.stderr


# --- history: reports kept in the store for the dashboard ----------------------------------------


def test_the_gateway_audits_itself_and_keeps_the_history(tmp_path):
    from shop import start_shop

    shop = start_shop(tmp_path / "self-audit")
    try:
        created = shop.admin("POST", "/audits")
        assert created.status_code == 201, created.text[:500]
        report = created.json()["report"]
        report_validator().validate(report)
        assert report["target"] == shop.base_url
        assert report["level"] == "agent-ready", failing_summary(report)
        listed = shop.admin_ok("GET", "/audits")["audits"]
        assert [a["id"] for a in listed] == [created.json()["id"]]
        assert listed[0]["score"] == report["score"]
        assert len(listed[0]["stages"]) == 6
        again = shop.admin_ok("GET", f"/audits/{created.json()['id']}")
        assert again["findings"] == report["findings"]
        assert shop.admin("GET", "/audits/999999").status_code == 404
        assert shop.http.get(shop.url("/admin/api/audits"), timeout=10).status_code == 401
    finally:
        shop.server.stop()


def test_the_command_line_audit_can_keep_its_report_in_a_store(tmp_path):
    store = tmp_path / "history.db"
    audit("--manifests", "manifests", "--format", "json", "--store", str(store))
    import stores

    with stores.connect(store) as db:
        rows = db.execute("SELECT target, score, level FROM audit_reports").fetchall()
    assert len(rows) == 1 and rows[0][0] == "manifests:manifests" and rows[0][2] == "agent-ready", rows


# --- malformed targets: findings and a report, never a crash -------------------------------------

import http.server as _http_server
import os as _os
import threading as _threading
import time as _time


def _malformed_handler(mode: str):
    class Handler(_http_server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.answer()

        def do_POST(self):
            self.answer()

        def do_DELETE(self):
            self.answer()

        def answer(self):
            if mode == "garbage":
                body = _os.urandom(5000)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif mode == "errors":
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "redirect-loop":
                self.send_response(302)
                self.send_header("Location", self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "huge":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                chunk = b"<p>" + b"x" * 65536
                try:
                    for _ in range(120):
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            elif mode == "hang":
                _time.sleep(3)

    return Handler


@pytest.mark.parametrize("mode", ["garbage", "errors", "redirect-loop", "huge", "hang"])
def test_a_malformed_target_ends_in_findings_and_a_report_not_a_crash(mode):
    server = _http_server.ThreadingHTTPServer(("127.0.0.1", 0), _malformed_handler(mode))
    server.daemon_threads = True
    thread = _threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        started = _time.monotonic()
        report = audit_json(base, "--timeout", "0.5")
        assert _time.monotonic() - started < 60
        report_validator().validate(report)
        assert report["level"] == "agent-hostile", (mode, report["score"])
        entry = findings(report)["machine-entry-points"]
        if mode in ("garbage", "huge"):
            # Something answers 200: it is read and found wanting.
            assert report["reachability"]["status"] == "reachable", report["reachability"]
            assert entry["score"] == 0 and entry["fix"], entry
        else:
            # Nothing usable answers: the headline says so and nothing is scored as passed or failed.
            assert report["reachability"]["status"] == "unreachable", report["reachability"]
            assert entry["score"] is None and entry["detail"].startswith("Not scored"), entry
            assert all(c["score"] == 0 for c in report["categories"]), report["categories"]
            expected = {"hang": "no complete answer", "errors": "HTTP 500", "redirect-loop": "redirect loop"}[mode]
            assert expected in report["headline"], report["headline"]
    finally:
        server.shutdown()


def test_a_half_ready_site_is_credited_for_its_documents_and_told_what_is_missing(tmp_path):
    """llms.txt and an OpenAPI, but no pricing, no policies, no checkout."""
    site = tmp_path / "half-ready"
    site.mkdir()
    (site / "index.html").write_text("<html><body><h1>Acme tools</h1>" + "<p>Good tools for good people.</p>" * 30
                                     + "</body></html>")
    (site / "llms.txt").write_text("# Acme\n\n> Tools for makers.\n\n## Docs\n\n- [API](/openapi.json): the API\n")
    (site / "openapi.json").write_text(json.dumps({
        "openapi": "3.1.0", "info": {"title": "Acme", "version": "1"},
        "paths": {"/products": {"get": {"responses": {"200": {"description": "ok"}}}}}}))
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n")

    class Handler(_http_server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, *args):
            pass

    server = _http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = _threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        report = audit_json(f"http://127.0.0.1:{server.server_address[1]}", "--timeout", "2")
        found = findings(report)
        assert found["llms-txt"]["score"] == 1, found["llms-txt"]
        assert found["machine-entry-points"]["score"] == pytest.approx(1 / 3) and "OpenAPI" in found["machine-entry-points"]["detail"], found["machine-entry-points"]
        assert found["robots-agents"]["score"] == 1
        assert found["catalog-searchable"]["score"] == 1, found["catalog-searchable"]
        for missing in ["machine-readable-prices", "policies", "agent-checkout", "mcp-endpoint", "identity-declared"]:
            assert found[missing]["score"] == 0 and found[missing]["fix"], found[missing]
        stages = {c["stage"]: c["score"] for c in report["categories"]}
        assert stages["finding"] > stages["transacting"], stages
        assert report["level"] in ("agent-hostile", "agent-tolerant"), report["score"]
    finally:
        server.shutdown()


def test_the_hostile_sites_checkout_is_named_as_a_form_and_its_captcha_found(hostile_report):
    found = findings(hostile_report)
    checkout = found["agent-checkout"]
    assert checkout["score"] < 0.5 and "only an HTML form" in checkout["detail"], checkout
    assert any(e["url"].endswith("/checkout.html") for e in checkout["evidence"]), checkout["evidence"]
    captcha = found["no-captcha"]
    assert captcha["score"] == 0 and "recaptcha" in captcha["detail"].lower(), captcha
    assert any("recaptcha" in (e.get("match") or "") for e in captcha["evidence"]), captcha
