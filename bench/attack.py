"""Service under attack: a registered agent's checkout and the merchant's dashboard API, measured
with and without an anonymous attack, side by side in one run (issue 12). Not a test.

    python bench/attack.py [--bin .build/release/storefront] [--streams 4000] [--seconds 10]

Three phases on one gateway (a fresh store in a temporary folder, loopback only):

1. quiet: the measured clients alone, for --seconds;
2. attack: --streams idle anonymous MCP streams (an anonymous `initialize`, then `GET /mcp`, and
   nothing read), opened from many loopback addresses (127.0.0.2 and up, as many different
   clients would), plus a flood from one anonymous client (wrk at 64 connections on
   `/catalog?q=tent` from 127.0.0.1, when wrk is installed); the measured clients run again;
3. the attack is ended and the gateway is asked for /status (it must still answer); the measured
   clients run once more ("after"), which separates what the attack left in the store from
   contention while it lasts.

The measured clients come from their own address (127.0.0.250): one agent that creates and
completes a checkout (two calls), in a loop; one merchant that reads the dashboard's summary with
the admin token, in a loop. Each prints p50/p99/max and the count of non-2xx answers. How the
attack's streams were answered is printed too (200 streams held, 503s with Retry-After, refused
connections): admission is expected to refuse most of them.

Prints a Markdown table; the goal is attack p99 within 2x of quiet p99.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEASURED_ADDRESS = "127.0.0.250"


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """A keep-alive HTTP/1.1 client bound to one source address."""

    def __init__(self, port: int, source: str, headers: dict[str, str]):
        self.port, self.source, self.headers = port, source, headers
        self.connection: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: dict | None = None, extra: dict | None = None) -> tuple[int, dict]:
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                                             source_address=(self.source, 0))
            try:
                data = json.dumps(body).encode() if body is not None else None
                headers = {**self.headers, **(extra or {})}
                if data is not None:
                    headers["Content-Type"] = "application/json"
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                return response.status, (json.loads(payload) if payload[:1] in (b"{", b"[") else {})
            except (ConnectionError, http.client.HTTPException, OSError):
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                if attempt == 1:
                    return 0, {}
        return 0, {}


def start_gateway(binary: str, folder: Path, port: int, extra: list[str]) -> subprocess.Popen:
    token_file = folder / "admin-token"
    token_file.write_text("sk_admin_bench_" + os.urandom(16).hex() + "\n")
    process = subprocess.Popen(
        [binary, "serve", "--manifests", str(ROOT / "manifests"), "--store", str(folder / "store.db"),
         "--host", "127.0.0.1", "--port", str(port), "--admin-token-file", str(token_file), *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # Ready once /status answers 200 (the gateway answers 503 "starting" while it indexes).
        if Client(port, MEASURED_ADDRESS, {}).call("GET", "/status")[0] == 200:
            return process
        time.sleep(0.05)
    process.kill()
    sys.exit("bench: the gateway did not start")


def measure(label: str, seconds: float, work) -> dict:
    """Runs `work()` in a loop for `seconds`; each returns (ok, latency in seconds)."""
    latencies, failures = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ok, latency = work()
        latencies.append(latency)
        failures += 0 if ok else 1
    latencies.sort()
    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
    return {"label": label, "count": len(latencies), "failures": failures,
            "p50": pct(0.50), "p99": pct(0.99), "max": latencies[-1] * 1000}


def open_idle_streams(port: int, count: int, report: dict) -> list[socket.socket]:
    """Anonymous MCP streams from many loopback addresses; each reads only the status line."""
    init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "idle", "version": "1"}}})
    held: list[socket.socket] = []
    for n in range(count):
        source = f"127.0.{2 + n // 250}.{1 + n % 250}"
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
            s.sendall((f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       f"Accept: application/json, text/event-stream\r\nContent-Length: {len(init)}\r\n\r\n{init}").encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(65536)
                if not chunk:
                    break
                head += chunk
            session = next((line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                            if line.lower().startswith(b"mcp-session-id:")), None)
            if session is None:
                report["initialize_refused"] = report.get("initialize_refused", 0) + 1
                s.close()
                continue
            # The same connection now opens the stream and reads only its status line.
            s.sendall((f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                       f"MCP-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n").encode())
            status = b""
            while b"\r\n" not in status:
                chunk = s.recv(1)
                if not chunk:
                    break
                status += chunk
            key = status.split(b" ")[1].decode() if b" " in status else "closed"
            report[key] = report.get(key, 0) + 1
            held.append(s)
        except OSError:
            report["connect_failed"] = report.get("connect_failed", 0) + 1
    return held


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.environ.get("STOREFRONT_BIN", str(ROOT / ".build/release/storefront")))
    parser.add_argument("--streams", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--serve-arg", action="append", default=None,
                        help="extra `serve` arguments (default: the measured agent's checkout and writes unlimited, "
                             "so that its loop measures purchases, not 429s; every anonymous limit stays as shipped)")
    args = parser.parse_args()
    raise_fd_limit()
    if args.serve_arg is None:
        args.serve_arg = ["--rate-limit=checkout=off", "--rate-limit=writes=off"]

    folder = Path(tempfile.mkdtemp(prefix="storefront-attack."))
    port = free_port()
    gateway = start_gateway(args.bin, folder, port, args.serve_arg)
    try:
        token = (folder / "admin-token").read_text().strip()
        admin = Client(port, MEASURED_ADDRESS, {"Authorization": f"Bearer {token}"})
        status, agent = admin.call("POST", "/admin/api/agents", {"principal": "Bench", "display_name": "bench agent"})
        assert status in (200, 201), (status, agent)
        agent_id, key = agent["id"], agent["api_key"]
        assert admin.call("POST", f"/admin/api/wallets/{agent_id}/fund", {"amount": 10**12})[0] == 200
        buyer = Client(port, MEASURED_ADDRESS, {"Authorization": f"Bearer {key}"})
        counter = iter(range(10**9))

        def checkout() -> tuple[bool, float]:
            started = time.perf_counter()
            status, body = buyer.call("POST", "/tools/create_checkout", {"items": [{"product_id": "gift-card", "variant_id": "gift-card-25", "quantity": 1}]})
            if status not in (200, 201):
                if os.environ.get("BENCH_DEBUG"):
                    print("create_checkout", status, body, file=sys.stderr)
                return False, time.perf_counter() - started
            status, _ = buyer.call("POST", "/tools/complete_checkout", {"checkout_id": body.get("id") or body.get("checkout", {}).get("id")},
                                   {"Idempotency-Key": f"bench-{next(counter)}"})
            if os.environ.get("BENCH_DEBUG") and status not in (200, 201):
                print("complete_checkout", status, _, file=sys.stderr)
            return status in (200, 201), time.perf_counter() - started

        def dashboard() -> tuple[bool, float]:
            started = time.perf_counter()
            status, _ = admin.call("GET", "/admin/api/analytics/summary")
            return status == 200, time.perf_counter() - started

        def both(label: str) -> list[dict]:
            results: list[dict] = []
            threads = [threading.Thread(target=lambda w=w, n=n: results.append(measure(f"{label}: {n}", args.seconds, w)))
                       for n, w in (("agent checkout", checkout), ("merchant dashboard API", dashboard))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return sorted(results, key=lambda r: r["label"])

        quiet = both("quiet")
        report: dict = {}
        started = time.monotonic()
        streams = open_idle_streams(port, args.streams, report)
        opened_in = time.monotonic() - started
        flood = None
        if shutil.which("wrk"):
            flood = subprocess.Popen(["wrk", "-t1", "-c64", f"-d{int(args.seconds) + 5}s", f"http://127.0.0.1:{port}/catalog?q=tent"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(1)
        attacked = both("attack")
        flood_output = flood.communicate()[0] if flood else "wrk not installed: no flood"
        for s in streams:
            s.close()
        alive = Client(port, MEASURED_ADDRESS, {}).call("GET", "/status")[0]
        # The same clients once the attack is over: what is left is what the attack stored (its
        # requests in the analytics the dashboard reads), not contention.
        after = both("after")

        print(f"# Service under attack ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
        print(f"Idle anonymous streams attempted: {args.streams} in {opened_in:.1f} s; answers: {json.dumps(report, sort_keys=True)}")
        print(f"Flood: one anonymous client, wrk -c64 on /catalog?q=tent: "
              + " ".join(line.strip() for line in flood_output.splitlines() if "Requests/sec" in line or "Non-2xx" in line))
        print(f"/status after the attack: {alive}\n")
        print("| client | quiet p50 | quiet p99 | attack p50 | attack p99 | p99 ratio | after p50 | after p99 | calls (quiet/attack/after) | non-2xx (quiet/attack/after) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for q, a, f in zip(quiet, attacked, after):
            name = q["label"].split(": ", 1)[1]
            print(f"| {name} | {q['p50']:.2f} ms | {q['p99']:.2f} ms | {a['p50']:.2f} ms | {a['p99']:.2f} ms | "
                  f"{a['p99'] / q['p99']:.2f}x | {f['p50']:.2f} ms | {f['p99']:.2f} ms | "
                  f"{q['count']}/{a['count']}/{f['count']} | {q['failures']}/{a['failures']}/{f['failures']} |")
    finally:
        gateway.terminate()
        try:
            gateway.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gateway.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
