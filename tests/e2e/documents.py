"""A loopback HTTP server of fixed documents for the end-to-end tests: what an OAuth client's
metadata document, an agent operator's key directory or a UCP platform's profile would be on the
web. A test publishes a path's status, headers and body; the server records every GET it gets."""
from __future__ import annotations

import http.server
import json
import threading


class DocumentServer:
    def __init__(self):
        self.documents: dict[str, tuple[int, dict, bytes]] = {}
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits.append(self.path)
                status, headers, body = outer.documents.get(self.path, (404, {}, b"{}"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, path: str, body, status: int = 200, headers: dict | None = None,
                content_type: str = "application/json") -> str:
        """Serves `body` (JSON, or bytes as they are) at `path`; returns its URL."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.documents[path] = (status, {"Content-Type": content_type, **(headers or {})}, data)
        return self.base + path

    def count(self, path: str) -> int:
        return self.hits.count(path)

    def close(self) -> None:
        self.server.shutdown()
