"""The audit corpus (`audit_corpus/`): the journey auditor against an expert's expectations.

Each folder of `audit_corpus/` with a `site.json` is one fixture site, modelled on real public
documents (named in its `modelled_on`), with the stage scores an expert expected, each with a
range, written down before the auditor was ever run on it (see `audit_corpus/README.md`). This
module serves each site with `audit_corpus/serve.py` on 127.0.0.1 (the `unreachable` site is a
closed port), runs the REAL binary on it once:

    storefront audit <base> --format json --timeout 5

and checks:

- every stage's score is inside the site's expected range, and the report's reachability is the
  expected one where the site names it (unreachable, challenged, blocked by user agent);
- across the corpus, the Spearman rank correlation of the overall expected score (the mean of the
  six expected points) with the overall score the auditor gave is at least 0.9, and the mean
  absolute error over every site × stage pair is at most 10 points (the table is printed);
- `hostile-ssrf`: the documents of the site name URLs on another loopback host (127.0.0.2, where a
  listener counts requests); the auditor sends it nothing, and the only requests that are not GET
  or HEAD are the MCP handshake's;
- without the binary: every site.json is complete and consistent, and every site serves.

The corpus uses no store, so it runs once (on the SQLite pass of `make test`).
"""

from __future__ import annotations

import http.server
import json
import math
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

import stores
from support import free_port, run_cli

CORPUS = Path(__file__).resolve().parent / "audit_corpus"
SERVE = CORPUS / "serve.py"
STAGES = ["finding", "evaluating", "trust_checking", "transacting", "using", "recommending"]
SITES = sorted(p.parent.name for p in CORPUS.glob("*/site.json"))
REACHABILITY = {"reachable", "blocked", "unreachable", "partly_blocked"}

# The agreement the corpus asks of the auditor (issue: "rank correlation >= 0.9 and mean error <= 10").
MIN_RANK_CORRELATION = 0.9
MAX_MEAN_ERROR = 10.0

START_TIMEOUT = 30.0  # serve.py imports the MCP SDK; CI may be busy
AUDIT_TIMEOUT = 180.0  # the whole `storefront audit` run of one site

pytestmark = pytest.mark.skipif(stores.POSTGRES, reason="the audit corpus uses no store: it runs on the SQLite pass only")


def spec(site: str) -> dict:
    return json.loads((CORPUS / site / "site.json").read_text())


# --- serving a site and listening on 127.0.0.2 ----------------------------------------------------


class Listener:
    """An HTTP server on 127.0.0.2 (another loopback host) that counts every request it gets and
    answers each with something plausible, so that an auditor that did fetch would "succeed"."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                seen.append((self.command, self.path, self.headers.get("User-Agent", "")))
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_DELETE = do_PUT = do_OPTIONS = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.2:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class ServedSite:
    """One `serve.py` process serving one site, and the log of what it was asked."""

    site: str
    process: subprocess.Popen | None
    base: str
    log: Path
    stderr: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, site: str, log: Path, listener: str) -> "ServedSite":
        if spec(site)["behaviour"].get("unreachable"):
            return cls(site, None, f"http://127.0.0.1:{free_port()}", log)  # nothing listens there
        process = subprocess.Popen(
            [sys.executable, str(SERVE), str(CORPUS / site), "--log", str(log), "--listener", listener],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        lines: queue.Queue[str] = queue.Queue()
        served = cls(site, process, "", log)

        def pump_out():
            for line in iter(process.stdout.readline, ""):
                lines.put(line)

        def pump_err():
            for line in iter(process.stderr.readline, ""):
                served.stderr.append(line)

        threading.Thread(target=pump_out, daemon=True).start()
        threading.Thread(target=pump_err, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                if process.poll() is not None:
                    break
                continue
            if line.startswith("LISTENING "):
                served.base = f"http://127.0.0.1:{int(line.split()[1])}"
                return served
        served.stop()
        raise AssertionError(f"serve.py did not start {site} within {START_TIMEOUT}s\n{''.join(served.stderr)[-3000:]}")

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# --- auditing each site once --------------------------------------------------------------------


@dataclass
class Audited:
    site: str
    base: str
    report: dict
    site_requests: list[dict]
    listener_requests: list[tuple[str, str, str]]

    @property
    def scores(self) -> dict:
        return {c["stage"]: c["score"] for c in self.report["categories"]}


class Corpus:
    """Audits each site at most once per module run, on demand, and keeps the reports."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.listener = Listener()
        self.reports: dict[str, Audited] = {}

    def audit(self, site: str) -> Audited:
        if site in self.reports:
            return self.reports[site]
        served = ServedSite.start(site, self.workdir / f"{site}.requests.jsonl", self.listener.address)
        before = len(self.listener.requests)
        try:
            result = run_cli("audit", served.base, "--format", "json", "--timeout", "5", timeout=AUDIT_TIMEOUT)
        finally:
            served.stop()
        assert result.returncode == 0, (
            f"storefront audit {served.base} ({site}) exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}")
        try:
            report = json.loads(result.stdout)
        except ValueError as error:
            raise AssertionError(f"{site}: the report is not JSON ({error}): {result.stdout[:2000]}")
        audited = Audited(site, served.base, report, served.requests(), list(self.listener.requests[before:]))
        self.reports[site] = audited
        return audited

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def corpus(binary, tmp_path_factory):
    c = Corpus(binary, tmp_path_factory.mktemp("audit-corpus"))
    yield c
    c.close()


def score_table(rows: list[tuple[str, dict, dict]]) -> str:
    """One line per site: each stage as got/expected [lo-hi], '!' where outside the range."""
    head = f"{'site':28} " + " ".join(f"{s:>20}" for s in STAGES)
    lines = [head]
    for site, got, exp in rows:
        cells = []
        for stage in STAGES:
            value = got.get(stage)
            lo, hi = exp[stage]["range"]
            shown = "null" if value is None else f"{value:.0f}"
            flag = "" if value is not None and lo <= value <= hi else "!"
            cells.append(f"{flag}{shown}/{exp[stage]['score']} [{lo}-{hi}]".rjust(20))
        lines.append(f"{site:28} " + " ".join(cells))
    return "\n".join(lines)


def failing_findings(report: dict) -> list:
    return [(f.get("id"), f.get("stage"), f.get("score"), (f.get("detail") or "")[:160])
            for f in report.get("findings", []) if f.get("score") is not None and f["score"] < 0.9]


# --- the fixtures themselves (no binary needed) --------------------------------------------------


def test_the_corpus_has_the_sites_the_issue_asks_for():
    assert len(SITES) >= 14, SITES
    kinds = {spec(s)["kind"] for s in SITES}
    for kind in ("unreachable", "challenged", "javascript-only", "redirect-heavy", "stateless-mcp", "ucp"):
        assert kind in kinds, (kind, kinds)


@pytest.mark.parametrize("site", SITES)
def test_site_json_is_complete(site):
    doc = spec(site)
    for key in ("name", "description", "modelled_on", "kind", "expected", "rationale", "behaviour"):
        assert key in doc, (site, key)
    assert doc["modelled_on"] and all(re.search(r"https?://", source) for source in doc["modelled_on"]), \
        f"{site}: every source names its public URL"
    assert list(doc["expected"]) == STAGES and list(doc["rationale"]) == STAGES, site
    for stage in STAGES:
        exp = doc["expected"][stage]
        lo, hi = exp["range"]
        assert 0 <= lo <= exp["score"] <= hi <= 100, (site, stage, exp)
        assert len(doc["rationale"][stage]) > 30, (site, stage)
    if "expected_reachability" in doc:
        assert doc["expected_reachability"] in REACHABILITY, doc["expected_reachability"]
    if not doc["behaviour"].get("unreachable"):
        assert (CORPUS / site / "files").is_dir(), site
    # No file of a site refers to anything outside the repository.
    for path in (CORPUS / site).rglob("*"):
        if path.is_file() and path.suffix != ".pem":
            assert "/work/" not in path.read_text(errors="replace"), path


@pytest.mark.parametrize("site", [s for s in SITES if not spec(s)["behaviour"].get("unreachable")])
def test_site_serves(site, tmp_path):
    """Each site starts, and answers its home page the way its behaviour says."""
    served = ServedSite.start(site, tmp_path / "requests.jsonl", "127.0.0.2:9")
    try:
        r = requests.get(served.base + "/", timeout=10, allow_redirects=False)
        behaviour = spec(site)["behaviour"]
        if behaviour.get("challenge"):
            assert r.status_code == 403 and r.headers.get("cf-mitigated") == "challenge", r.headers
            assert "Just a moment..." in r.text
        else:
            assert r.status_code in (200, 301, 302), (r.status_code, r.text[:300])
        assert "{{BASE}}" not in r.text and "{{HOST}}" not in r.text
        assert served.requests() and served.requests()[0]["path"] == "/"
    finally:
        served.stop()


def test_unreachable_site_refuses_connections():
    base = ServedSite.start("unreachable", Path("/dev/null"), "127.0.0.2:9").base
    with pytest.raises(requests.ConnectionError):
        requests.get(base + "/", timeout=5)


# --- the auditor against the expectations -----------------------------------------------------------


# Where the auditor and the expectations, written before any audit ran, still disagree — kept here,
# not by moving the expected range. Each must still be outside its range (strict): when the
# auditor comes to agree, the entry goes.
KNOWN_DISAGREEMENTS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("site", SITES)
def test_site_scores_within_expected_ranges(corpus, site):
    audited = corpus.audit(site)
    doc = spec(site)
    report = audited.report
    assert [c["stage"] for c in report["categories"]] == STAGES, [c["stage"] for c in report["categories"]]
    got = audited.scores
    outside = [s for s in STAGES if got[s] is None or not (doc["expected"][s]["range"][0] <= got[s] <= doc["expected"][s]["range"][1])]
    known = [s for s in outside if (site, s) in KNOWN_DISAGREEMENTS]
    for stage in STAGES:
        if (site, stage) in KNOWN_DISAGREEMENTS:
            assert stage in known, f"{site} {stage} now agrees with the expectation ({got[stage]}): remove it from KNOWN_DISAGREEMENTS"
    outside = [s for s in outside if s not in known]
    assert not outside, (
        f"{site}: {', '.join(outside)} outside the expected range\n"
        + score_table([(site, got, doc["expected"])])
        + "\nwhy the expert expected that:\n" + "\n".join(f"  {s}: {doc['rationale'][s]}" for s in outside)
        + f"\nfailing findings: {failing_findings(report)}")
    if "expected_reachability" in doc:
        assert report.get("reachability", {}).get("status") == doc["expected_reachability"], (site, report.get("reachability"))
    assert isinstance(report.get("budget"), dict), "the report says what the audit spent"


def test_corpus_agreement(corpus):
    """Rank correlation of overall expected vs got ≥ 0.9; mean absolute error per stage ≤ 10."""
    rows, expected_overall, got_overall, errors = [], [], [], []
    for site in SITES:
        audited = corpus.audit(site)
        doc = spec(site)
        got = audited.scores
        rows.append((site, got, doc["expected"]))
        expected_overall.append(sum(doc["expected"][s]["score"] for s in STAGES) / len(STAGES))
        got_overall.append(sum((got[s] or 0) for s in STAGES) / len(STAGES))
        errors.extend(abs((got[s] or 0) - doc["expected"][s]["score"]) for s in STAGES)
    rho = spearman(expected_overall, got_overall)
    mae = sum(errors) / len(errors)
    table = score_table(rows) + "\n\n" + "\n".join(
        f"{site:28} overall expected {e:5.1f}  got {g:5.1f}" for site, e, g in zip(SITES, expected_overall, got_overall)) + \
        f"\n\nSpearman rank correlation {rho:.3f} (needs >= {MIN_RANK_CORRELATION}); " \
        f"mean absolute error {mae:.1f} points over {len(errors)} site x stage pairs (needs <= {MAX_MEAN_ERROR})"
    print("\n" + table)
    assert rho >= MIN_RANK_CORRELATION and mae <= MAX_MEAN_ERROR, table


def test_hostile_ssrf_sends_nothing_to_the_private_host(corpus):
    audited = corpus.audit("hostile-ssrf")
    assert audited.listener_requests == [], (
        f"the auditor fetched URLs on 127.0.0.2 that the site's documents named: {audited.listener_requests[:20]}")
    assert audited.site_requests, "the auditor fetched nothing from the site itself"
    writes = [(r["method"], r["path"]) for r in audited.site_requests if r["method"] not in ("GET", "HEAD")]
    for method, path in writes:
        assert method in ("POST", "DELETE") and re.search(r"(^|/)mcp(/|$)", path), \
            f"only the MCP handshake may POST or DELETE; got {method} {path} (all: {writes})"


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rho: Pearson's correlation of the ranks (ties get their average rank)."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sx = math.sqrt(sum((a - mx) ** 2 for a in rx))
    sy = math.sqrt(sum((b - my) ** 2 for b in ry))
    if sx == 0 or sy == 0:
        return 0.0
    return cov / (sx * sy)


def test_spearman_matches_known_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    # With ties (average ranks), checked against scipy.stats.spearmanr's documented definition.
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(0.9486832980505138)
