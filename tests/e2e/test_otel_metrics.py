"""OpenTelemetry metrics export (issue 19): `serve --otel-metrics-endpoint URL` pushes the gateway's
metrics over OTLP/HTTP (protobuf, by swift-otel) beside `/metrics`. A collector in this test —
an HTTP endpoint decoding what arrives with OpenTelemetry's own protobuf messages
(`opentelemetry-proto`) — receives requests split by stage, status class and verified or claimed,
request latency as a histogram, and the store's orders and revenue; once traffic stops, what it
holds equals what `/metrics` says.
"""
from __future__ import annotations

import gzip
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from shop import start_shop
from support import BINARY, MANIFESTS, REPO_ROOT

CHATGPT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"


class Collector:
    """The latest value of every data point received, by metric name and attributes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.points: dict[tuple, object] = {}
        self.resources: list[dict] = []
        self.exports = 0
        self.content_types: set[str] = set()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                message = ExportMetricsServiceRequest()
                message.ParseFromString(body)
                collector.take(self.path, self.headers.get("Content-Type", ""), message)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/metrics"

    def take(self, path: str, content_type: str, message: ExportMetricsServiceRequest) -> None:
        assert path == "/v1/metrics", path
        with self.lock:
            self.exports += 1
            self.content_types.add(content_type)
            for rm in message.resource_metrics:
                self.resources.append({a.key: a.value.string_value for a in rm.resource.attributes})
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        kind = m.WhichOneof("data")
                        for p in getattr(m, kind).data_points:
                            attributes = tuple(sorted((a.key, a.value.string_value) for a in p.attributes))
                            self.points[(m.name, attributes)] = (kind, p)

    def value(self, name: str, **attributes) -> float | None:
        with self.lock:
            found = self.points.get((name, tuple(sorted(attributes.items()))))
        if found is None:
            return None
        kind, p = found
        if kind == "histogram":
            return p.count
        return p.as_int if p.WhichOneof("value") == "as_int" else p.as_double


@pytest.fixture(scope="module")
def collector():
    c = Collector()
    yield c
    c.server.shutdown()


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory, collector):
    s = start_shop(tmp_path_factory.mktemp("otel"),
                   extra=("--otel-metrics-endpoint", collector.url, "--otel-metrics-interval", "0.5"))
    yield s
    s.server.kill()


def wait_until(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_requests_split_verified_from_claimed_reach_the_collector_as_metrics_says(shop, collector):
    for _ in range(5):
        assert requests.get(shop.url("/pricing"), headers={"User-Agent": CHATGPT}, timeout=10).status_code == 200
    agent = shop.register()
    for _ in range(3):
        assert requests.post(shop.url("/tools/get_wallet"), json={}, headers=agent.auth, timeout=10).status_code == 200
    shop.fund(agent, 10_000)
    assert shop.buy(agent).status_code == 200

    def claimed() -> float:
        return collector.value("storefront.requests", stage="evaluating", status="2xx", verification="claimed") or 0

    wait_until(lambda: claimed() >= 5, "five claimed Evaluating requests at the collector")
    wait_until(lambda: (collector.value("storefront.requests", stage="transacting", status="2xx", verification="verified") or 0) >= 3,
               "the registered agent's verified requests")
    wait_until(lambda: (collector.value("storefront.orders") or 0) >= 1, "the order")
    # Traffic has stopped: the collector's figures settle on what /metrics says.
    wait_until(lambda: claimed() == metric_value(shop, "evaluating", "2", "claimed"), "the collector to equal /metrics")
    assert collector.value("storefront.request.duration") >= 5 + 3
    assert collector.value("storefront.revenue.minor_units", currency="USD") > 0
    assert collector.content_types == {"application/x-protobuf"}
    resource = collector.resources[-1]
    assert resource["service.name"] == "storefront" and resource["storefront.store"], resource


def metric_value(shop, stage: str, status_class: str, verification: str) -> int:
    text = requests.get(shop.url("/metrics"), headers=shop.admin_auth, timeout=10).text
    prefix = f'storefront_requests_total{{stage="{stage}",status="{status_class}xx",verification="{verification}"}} '
    return next((int(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix)), 0)


def test_a_bad_endpoint_is_refused_at_start(binary, tmp_path):
    for endpoint, interval in [("ftp://127.0.0.1/v1/metrics", "1"), ("not a url", "1"), ("http://127.0.0.1:4318/v1/metrics", "0")]:
        r = subprocess.run([str(BINARY), "serve", "--store", str(tmp_path / "s.db"), "--port", "0", "--manifests", str(MANIFESTS),
                            "--otel-metrics-endpoint", endpoint, "--otel-metrics-interval", interval],
                           capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
        assert r.returncode == 64, (endpoint, r.returncode, r.stderr[-500:])
        assert "--otel-metrics-endpoint must be an http(s) URL" in r.stderr
