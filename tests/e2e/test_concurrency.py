"""Many agents at once: parallel requests over many connections all succeed with the right
bytes, and the server is healthy afterwards. Bounded in count and time; loopback only."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

ROUTES = [
    "/agents",
    "/.well-known/agent-card.json",
    "/.well-known/capabilities.json",
    "/.well-known/jwks.json",
    "/llms.txt",
    "/openapi.json",
    "/pricing",
    "/catalog?q=tent",
    "/catalog?category=footwear&limit=3",
    "/catalog/granite-mid-hiking-boot",
    "/products/ridgeline-2p-tent",
    "/status",
]


def test_200_parallel_requests_all_succeed_with_the_same_bytes(http, base_url):
    expected = {path: http.get(base_url + path).content for path in ROUTES if path != "/status"}
    jobs = [ROUTES[i % len(ROUTES)] for i in range(200)]
    start_line = threading.Barrier(50)

    def fetch(index_path):
        index, path = index_path
        if index < 50:
            start_line.wait(timeout=30)  # the first 50 leave together
        r = requests.get(base_url + path, timeout=30, headers={"Connection": "close"})
        return path, r.status_code, r.content

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(fetch, enumerate(jobs)))
    elapsed = time.monotonic() - began

    failures = [(p, s) for p, s, _ in results if s != 200]
    assert failures == [], failures[:10]
    for path, _, body in results:
        if path in expected:
            assert body == expected[path], f"{path} answered different bytes under load"
    assert elapsed < 60, f"200 requests took {elapsed:.1f}s"


def test_parallel_keep_alive_clients_each_make_many_requests(base_url):
    def client(n):
        with requests.Session() as s:
            codes = [s.get(base_url + ROUTES[(n + i) % len(ROUTES)], timeout=30).status_code for i in range(20)]
        return codes

    with ThreadPoolExecutor(max_workers=20) as pool:
        all_codes = [c for codes in pool.map(client, range(20)) for c in codes]
    assert len(all_codes) == 400
    assert set(all_codes) == {200}


def test_parallel_cursor_walks_each_see_every_product_once(base_url, catalog_manifest):
    expected = sorted(p["id"] for p in catalog_manifest["products"])

    def walk(limit):
        ids, cursor = [], None
        with requests.Session() as s:
            while True:
                params = {"limit": limit}
                if cursor:
                    params["cursor"] = cursor
                page = s.get(base_url + "/catalog", params=params, timeout=30).json()
                ids += [p["id"] for p in page["products"]]
                cursor = page["next_cursor"]
                if not cursor:
                    return ids

    with ThreadPoolExecutor(max_workers=12) as pool:
        walks = list(pool.map(walk, [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]))
    for ids in walks:
        assert sorted(ids) == expected


def test_parallel_errors_do_not_disturb_parallel_successes(base_url):
    paths = ["/nope", "/catalog?limit=0", "/status", "/catalog/no-such-product", "/agents"] * 40

    def fetch(path):
        return path, requests.get(base_url + path, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(fetch, paths))
    want = {"/nope": 404, "/catalog?limit=0": 400, "/status": 200, "/catalog/no-such-product": 404, "/agents": 200}
    assert all(code == want[path] for path, code in results), [r for r in results if r[1] != want[r[0]]][:10]


def test_server_is_healthy_after_the_load(http, base_url):
    r = http.get(base_url + "/status")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
