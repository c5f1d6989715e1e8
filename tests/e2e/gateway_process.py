"""Helpers for the MCP and action tests.

- `Gateway`: one `storefront serve` on a fixed store file and port that can be stopped (SIGTERM,
  checked clean) and started again, so tests can restart a gateway or run two on one store.
- Raw MCP over HTTP: JSON-RPC envelopes for both revisions (2025-11-25 sessions, 2026-07-28
  per-request `_meta` plus mirrored headers) sent with `requests`.
- `SSEStream`: a streaming HTTP client on `http.client` that reads Server-Sent Events one at a
  time and can drop the TCP connection in the middle of a stream.
"""

from __future__ import annotations

import http.client
import itertools
import json
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from support import ServerProcess, free_port, launch

LEGACY = "2025-11-25"
SESSION_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
MODERN = "2026-07-28"
ACCEPT_BOTH = "application/json, text/event-stream"

VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"

# The methods whose subject travels in the `Mcp-Name` header (2026-07-28), and the param it mirrors.
NAME_BEARING = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

_ids = itertools.count(1)


def next_id() -> int:
    return next(_ids)


# --- gateways you can restart, or run two of on one store file --------------------------------


@dataclass
class Gateway:
    """`storefront serve --store STORE --port PORT`; `restart()` keeps both."""

    store: Path
    port: int = field(default_factory=free_port)
    extra: tuple[str, ...] = ()
    process: ServerProcess | None = None

    def start(self) -> "Gateway":
        assert self.process is None or self.process.process.poll() is not None, "already running"
        self.process = launch(self.store, port=self.port, extra=self.extra)
        return self

    def stop(self) -> None:
        """SIGTERM, then insist on a clean stop (exit 0, "stopped cleanly")."""
        assert self.process is not None
        code = self.process.stop(signal.SIGTERM)
        self.process.assert_stopped_cleanly(code)

    def restart(self) -> "Gateway":
        self.stop()
        return self.start()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return self.base_url + "/mcp"


# --- raw MCP, revision 2025-11-25 (sessions) ----------------------------------------------------


def rpc_request(method: str, params: dict | None = None, id_: int | str | None = None) -> dict:
    message = {"jsonrpc": "2.0", "id": next_id() if id_ is None else id_, "method": method}
    if params is not None:
        message["params"] = params
    return message


def rpc_notification(method: str, params: dict | None = None) -> dict:
    message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


def initialize_message(version: str = LEGACY) -> dict:
    return rpc_request(
        "initialize",
        {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "e2e-raw", "version": "1.0"}},
    )


def post_json(url: str, body, headers: dict | None = None, *, timeout: float = 10.0) -> requests.Response:
    all_headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json"}
    all_headers.update(headers or {})
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(url, data=data, headers=all_headers, timeout=timeout)


class LegacySession:
    """An initialized 2025-11-25 session on one gateway's /mcp (`at()` moves it to another)."""

    def __init__(self, mcp_url: str, session_id: str, version: str = LEGACY):
        self.mcp_url = mcp_url
        self.session_id = session_id
        self.version = version

    @classmethod
    def open(cls, mcp_url: str, version: str = LEGACY, headers: dict | None = None) -> "LegacySession":
        """`headers` (credentials) go with initialize and the initialized notification."""
        r = post_json(mcp_url, initialize_message(version), headers)
        assert r.status_code == 200, (r.status_code, r.text[:500])
        session_id = r.headers.get("MCP-Session-Id")
        assert session_id, f"initialize returned no MCP-Session-Id header: {dict(r.headers)}"
        session = cls(mcp_url, session_id, r.json()["result"]["protocolVersion"])
        ack = session.post(rpc_notification("notifications/initialized"), headers)
        assert ack.status_code == 202, (ack.status_code, ack.text[:300])
        return session

    def at(self, mcp_url: str) -> "LegacySession":
        return LegacySession(mcp_url, self.session_id, self.version)

    @property
    def headers(self) -> dict:
        return {"MCP-Session-Id": self.session_id, "MCP-Protocol-Version": self.version}

    def post(self, message, headers: dict | None = None) -> requests.Response:
        return post_json(self.mcp_url, message, {**self.headers, **(headers or {})})

    def call(self, method: str, params: dict | None = None) -> dict:
        """A request answered with application/json; returns the JSON-RPC `result` (asserts no error)."""
        message = rpc_request(method, params)
        r = self.post(message)
        assert r.status_code == 200, (method, r.status_code, r.text[:500])
        assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
        body = r.json()
        assert body.get("id") == message["id"], body
        assert "error" not in body, body
        return body["result"]

    def delete(self) -> requests.Response:
        return requests.delete(self.mcp_url, headers=self.headers, timeout=10)

    def open_streamed_call(self, name: str, arguments: dict, *, token="progress-1", id_=None) -> "SSEStream":
        """POSTs a tools/call with a progressToken and returns the (unread) SSE stream."""
        message = rpc_request("tools/call", {"name": name, "arguments": arguments, "_meta": {"progressToken": token}}, id_)
        return SSEStream.open(
            self.mcp_url, "POST", json.dumps(message).encode(),
            {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", **self.headers},
            request_id=message["id"],
        )

    def resume(self, last_event_id, *, timeout: float = 10.0) -> "SSEStream":
        return SSEStream.open(
            self.mcp_url, "GET", None,
            {"Accept": "text/event-stream", "Last-Event-ID": str(last_event_id), **self.headers},
            timeout=timeout,
        )


def walk_tool_pages(list_page) -> list[list[dict]]:
    """Every page of tools/list: `list_page(cursor or None)` returns one result."""
    pages, cursor = [], None
    while True:
        result = list_page(cursor)
        pages.append(result["tools"])
        cursor = result.get("nextCursor")
        if not cursor:
            return pages
        assert len(pages) < 100, "tools/list never stops paginating"


# --- raw MCP, revision 2026-07-28 (per-request _meta, mirrored headers) -------------------------


def modern_meta(version: str = MODERN, **extra) -> dict:
    meta = {
        VERSION_KEY: version,
        CAPABILITIES_KEY: {},
        CLIENT_INFO_KEY: {"name": "e2e-raw", "version": "1.0"},
    }
    meta.update(extra)
    return meta


def modern_headers(method: str, params: dict, version: str = MODERN) -> dict:
    headers = {"MCP-Protocol-Version": version, "Mcp-Method": method}
    if method in NAME_BEARING and NAME_BEARING[method] in params:
        headers["Mcp-Name"] = params[NAME_BEARING[method]]
    return headers


def modern_post(mcp_url: str, method: str, params: dict | None = None, *, headers: dict | None = None,
                meta: dict | None = None, notification: bool = False, version: str = MODERN) -> tuple[dict, requests.Response]:
    """Sends one 2026-07-28 message with correct headers, overridden by `headers` (None deletes one).
    Returns (message, response)."""
    params = dict(params or {})
    params["_meta"] = modern_meta(version) if meta is None else meta
    message = rpc_notification(method, params) if notification else rpc_request(method, params)
    all_headers = modern_headers(method, params, version)
    for name, value in (headers or {}).items():
        all_headers = {k: v for k, v in all_headers.items() if k.lower() != name.lower()}
        if value is not None:
            all_headers[name] = value
    return message, post_json(mcp_url, message, all_headers)


def modern_result(mcp_url: str, method: str, params: dict | None = None) -> dict:
    message, r = modern_post(mcp_url, method, params)
    assert r.status_code == 200, (method, r.status_code, r.text[:500])
    body = r.json()
    assert body.get("id") == message["id"] and "error" not in body, body
    return body["result"]


# --- Server-Sent Events over a connection we control --------------------------------------------


@dataclass
class SSEEvent:
    id: str | None
    event: str | None
    data: str

    @property
    def int_id(self) -> int:
        assert self.id is not None and self.id.isdigit(), f"event id {self.id!r} is not an integer"
        return int(self.id)

    @property
    def message(self) -> dict | None:
        """The JSON-RPC message carried, or None for a priming event (empty data)."""
        return json.loads(self.data) if self.data.strip() else None


class SSEStream:
    """Reads an SSE response event by event; `drop()` closes the TCP connection abruptly."""

    def __init__(self, connection: http.client.HTTPConnection, sock: socket.socket,
                 response: http.client.HTTPResponse, request_id=None):
        self.connection = connection
        self.sock = sock
        self.response = response
        self.request_id = request_id
        self.comments: list[str] = []
        self.ended = False

    @classmethod
    def open(cls, url: str, method: str, body: bytes | None, headers: dict, *, timeout: float = 10.0,
             request_id=None) -> "SSEStream":
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        connection.connect()
        sock = connection.sock
        connection.request(method, parts.path or "/", body=body, headers=headers)
        response = connection.getresponse()
        return cls(connection, sock, response, request_id)

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def content_type(self) -> str:
        return self.response.getheader("Content-Type", "")

    def header(self, name: str) -> str | None:
        return self.response.getheader(name)

    def read_body(self) -> bytes:
        return self.response.read()

    def next_event(self) -> SSEEvent | None:
        """The next event, or None when the server ended the stream. Raises socket.timeout
        (TimeoutError) when nothing arrives within the connection's timeout."""
        event_id = event_type = None
        data: list[str] = []
        seen_field = False
        while True:
            raw = self.response.readline()
            if not raw:
                self.ended = True
                return SSEEvent(event_id, event_type, "\n".join(data)) if seen_field else None
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if seen_field:
                    return SSEEvent(event_id, event_type, "\n".join(data))
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            seen_field = True
            if name == "id":
                event_id = value
            elif name == "event":
                event_type = value
            elif name == "data":
                data.append(value)

    def read_events(self, count: int) -> list[SSEEvent]:
        events = []
        for _ in range(count):
            event = self.next_event()
            assert event is not None, f"the stream ended after {len(events)} events, expected {count}"
            events.append(event)
        return events

    def read_to_end(self) -> list[SSEEvent]:
        events = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def drop(self) -> None:
        """The client goes away mid-stream: shut the socket down without reading further."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.response.close()
        self.connection.close()

    def close(self) -> None:
        self.response.close()
        self.connection.close()

    def __enter__(self) -> "SSEStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_sse(text: str) -> list[SSEEvent]:
    """Every event of a complete SSE body (comments skipped)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event_id = event_type = None
        data: list[str] = []
        seen = False
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            seen = True
            if name == "id":
                event_id = value
            elif name == "event":
                event_type = value
            elif name == "data":
                data.append(value)
        if seen:
            events.append(SSEEvent(event_id, event_type, "\n".join(data)))
    return events


def assert_complete_progress_stream(events: list[SSEEvent], request_id, token) -> None:
    """A streamed tools/call: a priming event (id, no data), three progress notifications for
    `token`, then the JSON-RPC response to `request_id`; integer ids strictly increasing."""
    ids = [event.int_id for event in events]
    assert ids == sorted(set(ids)), f"event ids must strictly increase: {ids}"
    assert len(events) == 5, [(e.id, e.data[:80]) for e in events]
    assert events[0].message is None, f"the first event primes the stream with an id and no data: {events[0]}"
    progress = [event.message for event in events[1:4]]
    for number, notification in enumerate(progress, start=1):
        assert notification["jsonrpc"] == "2.0" and "id" not in notification, notification
        assert notification["method"] == "notifications/progress", notification
        assert notification["params"]["progressToken"] == token, notification
        assert notification["params"]["progress"] == number, notification
        assert notification["params"]["total"] == 3, notification
    final = events[4].message
    assert final["id"] == request_id, final
    assert "result" in final, final
