"""A hostile client on the HTTP layer (issue 12, items 1, 10 and the stream wake-ups of 11).

- Strict framing (RFC 9112): two different `Content-Length`s, `Content-Length` with
  `Transfer-Encoding`, an unknown transfer coding, an HTTP/1.1 request without `Host` and a NUL or
  bare CR in a header are refused (400, or 501 for the coding) with `Connection: close`, and the
  bytes after them are never answered as a second request (raw sockets).
- Admission: idle anonymous streams do not starve ordinary requests; the reserve still serves
  agents and the merchant when anonymous traffic holds the rest; one address over its connection
  limit gets 503 + `Retry-After` (+ JSON), never silence; an agent's streams are capped; an
  anonymous stream is closed when idle although keep-alives flow, and a client that closed its
  socket gives its stream slot back at once.
- Targeted wake-ups: an event wakes only the streams it concerns (`storefront_stream_wakeups_total`).

Each gateway is started with scaled-down limits so a few hundred sockets suffice.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import time

import pytest
import requests

from gateway_process import ACCEPT_BOTH, LegacySession, post_json
from shop import Shop, start_shop

ANSWER = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


# --- raw sockets ---------------------------------------------------------------------------------


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def exchange(port: int, raw: bytes, *, wait: float = 3.0) -> tuple[bytes, bool]:
    """Sends `raw` on a fresh connection and reads until the server closes it (or `wait` passes);
    returns what was read and whether the server closed the connection."""
    s = connect(port)
    s.sendall(raw)
    data = b""
    deadline = time.monotonic() + wait
    closed = False
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
    finally:
        s.close()
    return data, closed


def header(data: bytes, name: str) -> str | None:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def assert_refused_and_closed(data: bytes, closed: bool, status: int, code: str) -> None:
    statuses = ANSWER.findall(data)
    assert statuses, f"no answer at all: {data[:300]!r}"
    assert int(statuses[0]) == status, data[:600]
    assert len(statuses) == 1, f"the trailing bytes were served as a second request: {data[:1200]!r}"
    assert (header(data, "Connection") or "").lower() == "close", data[:600]
    assert closed, "the connection was left open after a framing error"
    body = data.split(b"\r\n\r\n", 1)[1]
    assert json.loads(body)["error"]["code"] == code, body[:400]


SMUGGLED = b"GET /agents HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory) -> Shop:
    s = start_shop(tmp_path_factory.mktemp("hostile"), extra=("--threads", "2"))
    yield s
    s.server.stop()


# --- 10: strict framing -------------------------------------------------------------------------


def test_two_different_content_lengths_are_400_and_close(shop):
    body = b'{"query": "x"}'
    raw = (
        b"POST /catalog/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nContent-Length: {len(body) + len(SMUGGLED)}\r\n\r\n".encode()
        + body + SMUGGLED
    )
    assert_refused_and_closed(*exchange(shop.server.port, raw), 400, "invalid_content_length")


def test_content_length_with_transfer_encoding_is_400_and_close(shop):
    raw = (
        b"POST /catalog/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {5 + len(SMUGGLED)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + b"0\r\n\r\n" + SMUGGLED
    )
    assert_refused_and_closed(*exchange(shop.server.port, raw), 400, "ambiguous_length")


def test_an_unknown_transfer_coding_is_501_at_once(shop):
    raw = (
        b"POST /catalog/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + SMUGGLED
    )
    started = time.monotonic()
    data, closed = exchange(shop.server.port, raw)
    assert time.monotonic() - started < 2.5, "an unknown transfer coding hung instead of being refused"
    assert_refused_and_closed(data, closed, 501, "unsupported_transfer_encoding")


def test_an_http11_request_without_host_is_400_and_close(shop):
    raw = b"GET /agents HTTP/1.1\r\nAccept: application/json\r\n\r\n" + SMUGGLED
    assert_refused_and_closed(*exchange(shop.server.port, raw), 400, "missing_host")


def test_a_nul_in_a_header_value_is_400_and_close(shop):
    raw = b"GET /agents HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\x00b\r\n\r\n" + SMUGGLED
    data, closed = exchange(shop.server.port, raw)
    assert_refused_and_closed(data, closed, 400, "invalid_header")


def test_a_bare_cr_in_a_header_value_is_refused(shop):
    raw = b"GET /agents HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\rb\r\n\r\n" + SMUGGLED
    data, closed = exchange(shop.server.port, raw)
    statuses = ANSWER.findall(data)
    assert statuses and statuses[0] == b"400", data[:600]
    assert len(statuses) == 1 and closed, data[:1200]


def test_well_formed_pipelined_requests_are_still_answered(shop):
    """The checks refuse ambiguity, not pipelining: two clean requests get two answers."""
    data, _ = exchange(shop.server.port, SMUGGLED + SMUGGLED, wait=1.5)
    assert [int(s) for s in ANSWER.findall(data)] == [200, 200], data[:600]


# --- 1: admission and fairness ------------------------------------------------------------------


def open_idle_streams(port: int, session_id: str, count: int, headers: dict | None = None) -> list[socket.socket]:
    """`count` connections that each ask for `GET /mcp` and then read nothing."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = (
        f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
        f"MCP-Session-Id: {session_id}\r\nMCP-Protocol-Version: 2025-11-25\r\n{extra}\r\n"
    ).encode()
    sockets = []
    for _ in range(count):
        s = connect(port)
        s.sendall(request)
        sockets.append(s)
    return sockets


def first_statuses(sockets: list[socket.socket], *, within: float = 10.0) -> dict[socket.socket, tuple[int, bytes]]:
    """The status line (and what came with it) of each socket's first answer."""
    selector = selectors.DefaultSelector()
    for s in sockets:
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
    got: dict[socket.socket, bytes] = {s: b"" for s in sockets}
    done: dict[socket.socket, tuple[int, bytes]] = {}
    deadline = time.monotonic() + within
    while len(done) < len(sockets) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.2):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except (BlockingIOError, ConnectionResetError):
                chunk = b""
            got[s] += chunk
            m = ANSWER.match(got[s])
            if (m and b"\r\n\r\n" in got[s]) or not chunk:
                done[s] = (int(m.group(1)) if m else 0, got[s])
                selector.unregister(s)
    selector.close()
    return done


def close_all(sockets) -> None:
    for s in sockets:
        try:
            s.close()
        except OSError:
            pass


def timed_get(url: str, headers: dict | None = None, timeout: float = 5.0) -> requests.Response:
    return requests.get(url, headers={"Accept": "application/json", **(headers or {})}, timeout=timeout)


def test_idle_anonymous_streams_do_not_starve_ordinary_requests(binary, tmp_path):
    """The issue's reproduction, scaled down: one anonymous client opens more idle GET /mcp streams
    than the gateway has connections, then reads nothing. Ordinary requests are still answered, and
    the streams beyond the per-address limit got a quick 503 with Retry-After (not silence)."""
    shop = start_shop(tmp_path, extra=("--threads", "2", "--connection-limit", "300"))
    try:
        session = LegacySession.open(shop.url("/mcp"))
        sockets = open_idle_streams(shop.server.port, session.session_id, 400)
        answers = first_statuses(sockets)
        statuses = [status for status, _ in answers.values()]
        assert statuses.count(200) <= 32, f"{statuses.count(200)} anonymous streams from one address were admitted"
        refused = [data for status, data in answers.values() if status == 503]
        assert len(refused) >= 300, f"only {len(refused)} of 400 surplus streams were refused with 503: {sorted(set(statuses))}"
        for data in refused[:20]:
            assert header(data, "Retry-After"), data[:400]
            assert header(data, "Content-Type") == "application/json", data[:400]
        ok = 0
        for _ in range(10):
            try:
                ok += timed_get(shop.url("/agents")).status_code == 200
            except requests.RequestException:
                pass
        assert ok == 10, f"only {ok} of 10 ordinary requests answered while idle streams are held"
        close_all(sockets)
    finally:
        shop.server.stop()


def test_the_reserve_serves_agents_and_the_merchant_when_anonymous_traffic_holds_the_rest(binary, tmp_path):
    shop = start_shop(
        tmp_path,
        extra=(
            "--threads", "2", "--connection-limit", "200", "--reserved-connections", "50",
            "--max-connections-per-address", "0", "--max-streams-per-address", "0", "--max-anonymous-streams", "0",
        ),
    )
    try:
        agent = shop.register()
        session = LegacySession.open(shop.url("/mcp"))
        # Anonymous streams, one after another, until the gateway refuses one: they then hold every
        # connection but the reserve.
        sockets = []
        for _ in range(200):
            [s] = open_idle_streams(shop.server.port, session.session_id, 1)
            [(status, data)] = first_statuses([s]).values()
            if status != 200:
                break
            sockets.append(s)
        assert status == 503 and header(data, "Retry-After"), data[:300]
        assert 140 <= len(sockets) <= 150, len(sockets)
        # Anonymous callers get a quick 503 with Retry-After; a bogus bearer token is anonymous too.
        for headers in ({}, {"Authorization": "Bearer sk_bogus_not_a_key"}):
            started = time.monotonic()
            r = timed_get(shop.url("/agents"), headers)
            assert r.status_code == 503 and r.headers.get("Retry-After"), (r.status_code, r.text[:300])
            assert r.json()["error"]["code"] == "overloaded"
            assert time.monotonic() - started < 2.0
        # The agent and the merchant are served from the reserve.
        r = timed_get(shop.url("/inbox"), agent.auth)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        r = timed_get(shop.url("/admin/api/agents"), shop.admin_auth)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        with requests.get(shop.url("/inbox"), headers={**agent.auth, "Accept": "text/event-stream"}, stream=True, timeout=5) as live:
            assert live.status_code == 200
        close_all(sockets)
    finally:
        shop.server.stop()


def test_one_address_over_its_connection_limit_gets_503_with_retry_after(binary, tmp_path):
    shop = start_shop(tmp_path, extra=("--threads", "2", "--max-connections-per-address", "20"))
    try:
        agent = shop.register()
        idle = [connect(shop.server.port) for _ in range(25)]
        time.sleep(0.3)
        data, closed = exchange(shop.server.port, SMUGGLED, wait=2.0)
        assert ANSWER.findall(data) == [b"503"], data[:400]
        assert header(data, "Retry-After") and (header(data, "Connection") or "").lower() == "close", data[:400]
        assert json.loads(data.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "too_many_connections"
        assert closed
        # An authenticated agent from the same address is still served.
        assert timed_get(shop.url("/inbox"), agent.auth).status_code == 200
        close_all(idle)
        time.sleep(0.3)
        assert timed_get(shop.url("/agents")).status_code == 200
    finally:
        shop.server.stop()


def test_an_agent_may_hold_only_so_many_streams(binary, tmp_path):
    shop = start_shop(tmp_path, extra=("--threads", "2", "--max-streams-per-agent", "2"))
    try:
        agent, other = shop.register(), shop.register()
        headers = {**agent.auth, "Accept": "text/event-stream"}
        first = requests.get(shop.url("/inbox"), headers=headers, stream=True, timeout=5)
        second = requests.get(shop.url("/inbox"), headers=headers, stream=True, timeout=5)
        third = requests.get(shop.url("/inbox"), headers=headers, stream=True, timeout=5)
        assert (first.status_code, second.status_code) == (200, 200)
        assert third.status_code == 503 and third.headers.get("Retry-After"), third.status_code
        assert third.json()["error"]["code"] == "too_many_streams"
        # Another agent is not affected.
        with requests.get(shop.url("/inbox"), headers={**other.auth, "Accept": "text/event-stream"}, stream=True, timeout=5) as r:
            assert r.status_code == 200
        first.close()
        second.close()
        third.close()
    finally:
        shop.server.stop()


def test_an_idle_anonymous_stream_is_closed_although_keepalives_flow(binary, tmp_path):
    shop = start_shop(tmp_path, extra=("--threads", "2", "--stream-idle-timeout", "2", "--stream-keepalive", "0.4"))
    try:
        agent = shop.register()
        session = LegacySession.open(shop.url("/mcp"))
        [anonymous] = open_idle_streams(shop.server.port, session.session_id, 1)
        authenticated = requests.get(
            shop.url("/inbox"), headers={**agent.auth, "Accept": "text/event-stream"}, stream=True, timeout=10)
        assert authenticated.status_code == 200
        anonymous.settimeout(8)
        started = time.monotonic()
        data = b""
        while True:
            chunk = anonymous.recv(4096)
            if not chunk:
                break
            data += chunk
            assert time.monotonic() - started < 7, "the idle anonymous stream was not closed"
        lasted = time.monotonic() - started
        assert data.count(b": keep-alive") >= 2, data[:600]
        assert 1.5 <= lasted <= 5, f"closed after {lasted:.1f}s (idle timeout 2 s)"
        # The agent's stream outlives the timeout: keep-alives keep flowing on it.
        lines = authenticated.iter_lines()
        seen = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if next(lines).startswith(b": keep-alive"):
                seen += 1
        assert seen >= 3
        authenticated.close()
        anonymous.close()
    finally:
        shop.server.stop()


def test_a_client_that_closes_its_stream_gives_the_slot_back_at_once(binary, tmp_path):
    shop = start_shop(tmp_path, extra=("--threads", "2", "--max-streams-per-address", "3"))
    try:
        session = LegacySession.open(shop.url("/mcp"))
        held = open_idle_streams(shop.server.port, session.session_id, 3)
        assert [status for status, _ in first_statuses(held).values()] == [200, 200, 200]
        [extra] = open_idle_streams(shop.server.port, session.session_id, 1)
        assert [status for status, _ in first_statuses([extra]).values()] == [503]
        close_all(held + [extra])
        time.sleep(2.5)  # the keep-alive comes every 15 s: only noticing the closed socket frees the slots
        again = open_idle_streams(shop.server.port, session.session_id, 3)
        assert [status for status, _ in first_statuses(again).values()] == [200, 200, 200]
        close_all(again)
    finally:
        shop.server.stop()


# --- 11: an event wakes only the streams it concerns ---------------------------------------------


def wakeups(shop: Shop) -> int:
    text = requests.get(shop.url("/metrics"), headers=shop.admin_auth, timeout=5).text
    m = re.search(r"^storefront_stream_wakeups_total (\d+)$", text, re.M)
    assert m, "no storefront_stream_wakeups_total in /metrics"
    return int(m.group(1))


def test_an_inbox_event_wakes_only_its_agents_streams(binary, tmp_path):
    shop = start_shop(tmp_path, extra=("--threads", "2", "--max-streams-per-agent", "50"))
    try:
        bystander, target = shop.register(), shop.register()
        idle = [
            requests.get(shop.url("/inbox"), headers={**bystander.auth, "Accept": "text/event-stream"}, stream=True, timeout=10)
            for _ in range(20)
        ]
        assert all(r.status_code == 200 for r in idle)
        live = requests.get(shop.url("/inbox"), headers={**target.auth, "Accept": "text/event-stream"}, stream=True, timeout=10)
        assert live.status_code == 200
        time.sleep(0.6)
        before = wakeups(shop)
        shop.fund(target, 500)
        lines = live.iter_lines()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if next(lines).startswith(b"data:"):
                break
        else:
            pytest.fail("the target's stream got no event")
        time.sleep(0.6)
        woken = wakeups(shop) - before
        assert 1 <= woken <= 3, f"one event woke {woken} streams (20 of them are another agent's)"
        for r in idle + [live]:
            r.close()
    finally:
        shop.server.stop()


def test_a_streamed_mcp_call_wakes_only_its_own_stream(binary, tmp_path):
    shop = start_shop(tmp_path, extra=("--threads", "2"))
    try:
        session = LegacySession.open(shop.url("/mcp"))
        idle = open_idle_streams(shop.server.port, session.session_id, 20)
        assert [status for status, _ in first_statuses(idle).values()].count(200) == 20
        time.sleep(0.6)
        before = wakeups(shop)
        with session.open_streamed_call("search_catalog", {"query": "gift"}) as stream:
            assert stream.status == 200
            events = stream.read_to_end()
        assert events, "the streamed call sent nothing"
        time.sleep(0.6)
        woken = wakeups(shop) - before
        assert woken <= 5, f"one streamed call woke {woken} streams (20 idle ones are unrelated)"
        close_all(idle)
    finally:
        shop.server.stop()
