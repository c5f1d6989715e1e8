"""A platform's webhook endpoint for the end-to-end tests: an HTTP server on a loopback port that
records every delivery (path, headers, body) and answers 200."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from requests.structures import CaseInsensitiveDict

from support import free_port

VERSION = "2026-08-25"


class Receiver:
    """The platform's webhook endpoint: records every delivery, answers 200 with its ucp object."""

    def __init__(self):
        self.deliveries: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.deliveries.append({"path": self.path, "headers": CaseInsensitiveDict(self.headers.items()), "body": body})
                reply = json.dumps({"ucp": {"version": VERSION, "status": "success"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ucp/orders"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.deliveries) < count:
            time.sleep(0.05)
        assert len(self.deliveries) >= count, f"{len(self.deliveries)} deliveries, expected {count}"
        return self.deliveries


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
