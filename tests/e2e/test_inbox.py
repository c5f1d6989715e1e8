"""The inbox: every event about an agent (wallet, orders, approvals, support) is a row in the store,
read as a JSON page (`GET /inbox?after=N`, `get_inbox`), acknowledged (`POST /inbox/ack`,
`ack_inbox`), or followed live as Server-Sent Events (`GET /inbox`, `Accept: text/event-stream`)
that resume with `Last-Event-ID` — with nothing lost or repeated, for every client holding the
agent's key, on any gateway process on the store, across a graceful restart and a SIGKILL.

Events are made cheaply with the admin API: each `fund` is one `wallet.funded` event, and its
amount tells the events apart."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import queue
import signal
import threading
import time

import pytest

from gateway_process import SSEEvent, SSEStream, modern_post
from shop import GIFT_PRICE, Agent, Shop, restart_shop, start_shop
from support import assert_json_error, launch, raw_exchange, split_response

# A new event must reach an open stream this fast (the feed polls the store every 0.2 s).
LIVE_WITHIN = 1.0

EVENT_TYPES = {
    "wallet.funded", "wallet.low", "order.created", "order.canceled", "order.refunded", "order.partially_refunded",
    "approval.requested", "approval.approved", "approval.denied", "approval.expired", "approval.canceled",
    "support.ticket",
}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("inbox"), extra=("--threads", "4", "--approval-ttl", "2", "--sweep-interval", "0.25"))
    yield s
    s.server.kill()


@pytest.fixture
def own_shop(binary, tmp_path):
    """A gateway of the test's own, for restarts and kills; whatever is still running is killed."""
    shops: list[Shop] = []

    def _start(**kwargs) -> Shop:
        s = start_shop(tmp_path / f"shop{len(shops)}", **kwargs)
        shops.append(s)
        return s

    yield _start, shops
    for s in shops:
        s.server.kill()


# --- helpers -------------------------------------------------------------------------------------


class Subscriber:
    """An open `GET /inbox` stream whose events a background thread reads into a queue, so the test
    can wait for events with a deadline (and check that none arrive) without tripping the socket's
    timeout."""

    def __init__(self, stream: SSEStream):
        self.stream = stream
        self.events: queue.Queue = queue.Queue()
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while (event := self.stream.next_event()) is not None:
                self.events.put(event)
        except (OSError, ValueError, AttributeError):
            pass
        finally:
            self.ended.set()

    @property
    def comments(self) -> list[str]:
        return self.stream.comments

    def header(self, name: str) -> str | None:
        return self.stream.header(name)

    def read_n(self, n: int, *, within: float = 10.0) -> list[SSEEvent]:
        """Exactly the next n events; fails if they do not all arrive within `within` seconds."""
        events: list[SSEEvent] = []
        deadline = time.monotonic() + within
        while len(events) < n:
            left = deadline - time.monotonic()
            try:
                events.append(self.events.get(timeout=max(left, 0.001)))
            except queue.Empty:
                ended = " (the stream ended)" if self.ended.is_set() else ""
                raise AssertionError(f"only {len(events)} of {n} events arrived within {within}s{ended}: {ids_of(events)}")
        return events

    def nothing_more(self, *, wait: float = 0.8) -> None:
        """No further event arrives within `wait` seconds (comments are fine)."""
        try:
            event = self.events.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"an unexpected extra event arrived: {event}")

    def drop(self) -> None:
        """The client goes away mid-stream."""
        self.stream.drop()
        self.thread.join(5)

    def close(self) -> None:
        self.drop()

    def __enter__(self) -> "Subscriber":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def subscribe(shop: Shop, agent: Agent, last_event_id: int | None = None, *, path: str = "/inbox") -> Subscriber:
    headers = {**agent.auth, "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    # SSEStream.open sends only the URL's path, so the connection is opened here to keep the query.
    connection = http.client.HTTPConnection("127.0.0.1", shop.server.port, timeout=120)
    connection.connect()
    connection.request("GET", path, headers=headers)
    stream = SSEStream(connection, connection.sock, connection.getresponse())
    assert stream.status == 200, (stream.status, stream.read_body()[:500])
    assert stream.content_type.startswith("text/event-stream"), stream.content_type
    return Subscriber(stream)


def ids_of(events: list[SSEEvent]) -> list[int]:
    return [e.int_id for e in events]


def payload(event: SSEEvent) -> dict:
    """The event's JSON, checked against its SSE fields."""
    body = json.loads(event.data)
    assert set(body) == {"id", "type", "created_at", "read", "data"}, body
    assert body["id"] == event.int_id, (event.id, body)
    assert body["type"] == event.event, (event.event, body)
    assert body["type"] in EVENT_TYPES, body
    assert isinstance(body["read"], bool), body
    assert isinstance(body["data"], dict), body
    dt.datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    return body


def funded_amounts(events) -> list[int]:
    """The amounts of the wallet.funded events (SSE events or page rows), in order."""
    rows = [payload(e) if isinstance(e, SSEEvent) else e for e in events]
    return [r["data"]["amount"]["amount"] for r in rows if r["type"] == "wallet.funded"]


def page(shop: Shop, agent: Agent, **query) -> dict:
    r = shop.http.get(shop.url("/inbox"), params=query, headers=agent.auth, timeout=30)
    assert r.status_code == 200, (query, r.status_code, r.text[:500])
    body = r.json()
    assert set(body) >= {"events", "next_after", "unread"}, body
    return body


def all_events(shop: Shop, agent: Agent) -> list[dict]:
    events, after = [], 0
    while True:
        body = page(shop, agent, after=after, limit=200)
        if not body["events"]:
            return events
        events += body["events"]
        after = body["next_after"]


def call_ok(shop: Shop, agent: Agent, tool: str, body: dict) -> dict:
    r = shop.call(agent, tool, body)
    assert r.status_code == 200, (tool, body, r.status_code, r.text[:800])
    return r.json()


def second_gateway(shop: Shop) -> Shop:
    """Another `storefront serve` on the same store file, with the same admin token."""
    server = launch(shop.store, extra=("--admin-token-file", str(shop.token_file)))
    return Shop(server=server, admin_token=shop.admin_token, token_file=shop.token_file)


# --- who may read it -------------------------------------------------------------------------------


def test_anonymous_inbox_requests_are_401(shop):
    for headers in ({}, {"Accept": "text/event-stream"}):
        assert_json_error(shop.http.get(shop.url("/inbox"), headers=headers), 401, type_="authentication_error",
                          code="authentication_required")
    assert_json_error(shop.http.get(shop.url("/inbox"), params={"after": 0}), 401, type_="authentication_error")
    assert_json_error(shop.http.post(shop.url("/inbox/ack"), json={"up_to": 10}), 401, type_="authentication_error")
    for tool, body in (("get_inbox", {}), ("ack_inbox", {"up_to": 10})):
        assert_json_error(shop.call(None, tool, body), 401, type_="authentication_error")


def test_an_unknown_api_key_is_401_for_the_page_and_the_stream(shop):
    bad = {"Authorization": "Bearer sf_not_a_real_key_0000000000000000"}
    for extra in ({}, {"Accept": "text/event-stream"}):
        r = shop.http.get(shop.url("/inbox"), headers={**bad, **extra}, timeout=10)
        assert_json_error(r, 401, type_="authentication_error")
        assert "Bearer" in r.headers.get("WWW-Authenticate", ""), r.headers


def test_bad_cursor_values_are_400_naming_the_parameter(shop):
    agent = shop.register()
    assert_json_error(shop.http.get(shop.url("/inbox"), params={"after": "-1"}, headers=agent.auth), 400, param="after")
    assert_json_error(shop.http.get(shop.url("/inbox"), params={"after": "x"}, headers=agent.auth), 400, param="after")
    assert_json_error(shop.http.get(shop.url("/inbox"), params={"limit": 0}, headers=agent.auth), 400, param="limit")
    assert_json_error(shop.http.get(shop.url("/inbox"), params={"limit": 201}, headers=agent.auth), 400, param="limit")
    r = shop.http.get(shop.url("/inbox"), headers={**agent.auth, "Accept": "text/event-stream", "Last-Event-ID": "abc"}, timeout=10)
    assert_json_error(r, 400, param="Last-Event-ID")


def test_each_agent_sees_only_its_own_events(shop):
    alice, bob = shop.register(), shop.register()
    shop.fund(alice, 111)
    shop.fund(bob, 222)
    shop.fund(alice, 333)
    assert funded_amounts(all_events(shop, alice)) == [111, 333]
    assert funded_amounts(all_events(shop, bob)) == [222]
    with subscribe(shop, bob) as stream:
        assert funded_amounts(stream.read_n(1)) == [222]
        stream.nothing_more(wait=0.5)
    # Acknowledging someone else's ids changes nothing of theirs.
    alice_ids = [e["id"] for e in all_events(shop, alice)]
    r = shop.http.post(shop.url("/inbox/ack"), json={"ids": alice_ids}, headers=bob.auth, timeout=10)
    assert r.status_code == 200 and r.json()["acknowledged"] == 0, r.text
    assert page(shop, alice)["unread"] == 2


# --- what becomes an event ---------------------------------------------------------------------------


def test_every_event_about_an_agent_becomes_an_inbox_entry(shop):
    """Funding, a purchase that leaves the wallet low, refunds (partial and full), a cancel, the four
    ends of an approval (approved, denied, canceled, expired) and a support ticket: one entry each,
    in the order they happened."""
    agent = shop.buyer(funds=30 * GIFT_PRICE)                                      # wallet.funded
    order = shop.buy(agent, 1).json()["order"]                                      # order.created
    call_ok(shop, agent, "request_refund", {"order_id": order["id"], "amount": 500})  # order.partially_refunded
    call_ok(shop, agent, "request_refund", {"order_id": order["id"]})                 # order.refunded
    second = shop.buy(agent, 1).json()["order"]                                     # order.created
    call_ok(shop, agent, "cancel_order", {"order_id": second["id"]})                  # order.canceled
    call_ok(shop, agent, "report_issue", {"category": "other", "description": "just saying hello"})  # support.ticket
    shop.set_limits(agent, approval_threshold=GIFT_PRICE)
    approvals = []
    for _ in range(4):                                                              # approval.requested x4
        checkout = shop.create_checkout(agent, 2)
        body = shop.complete(agent, checkout["id"]).json()
        assert body["checkout"]["status"] == "pending_approval", body
        approvals.append((checkout["id"], body["checkout"]["approval"]))
    approval_ids = [a["id"] if isinstance(a, dict) else a for _, a in approvals]
    shop.admin_ok("POST", f"/approvals/{approval_ids[0]}/approve")                    # order.created + approval.approved
    shop.admin_ok("POST", f"/approvals/{approval_ids[1]}/deny")                       # approval.denied
    call_ok(shop, agent, "cancel_checkout", {"checkout_id": approvals[2][0]})          # approval.canceled
    shop.set_limits(agent, approval_threshold=None)
    shop.fund(agent, 1)                                                             # wallet.funded
    wallet = shop.wallet(agent)["balance"]["amount"]
    shop.buy(agent, wallet // GIFT_PRICE)                                           # order.created + wallet.low
    deadline = time.monotonic() + 10                                                # approval.expired (ttl 2 s, sweep 0.25 s)
    while "approval.expired" not in [e["type"] for e in all_events(shop, agent)]:
        assert time.monotonic() < deadline, "the fourth approval never expired"
        time.sleep(0.2)

    events = all_events(shop, agent)
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids)), ids
    types = [e["type"] for e in events]
    # The sweep expires the fourth approval whenever its 2 s run out: after the approvals were
    # requested, anywhere among the rest.
    expired_at = types.index("approval.expired")
    assert expired_at > 10 and types.count("approval.expired") == 1, types
    expired = events.pop(expired_at)
    assert [e["type"] for e in events] == [
        "wallet.funded", "order.created", "order.partially_refunded", "order.refunded", "order.created", "order.canceled",
        "support.ticket", "approval.requested", "approval.requested", "approval.requested", "approval.requested",
        "order.created", "approval.approved", "approval.denied", "approval.canceled", "wallet.funded", "order.created",
        "wallet.low",
    ], types
    assert events[1]["data"]["order_id"] == order["id"]
    assert events[2]["data"]["refund"]["amount"] == 500
    assert events[3]["data"]["refund"]["amount"] == GIFT_PRICE - 500
    assert events[5]["data"]["order_id"] == second["id"]
    assert {events[i]["data"]["approval_id"] for i in range(7, 11)} == set(approval_ids)
    assert events[12]["data"]["approval_id"] == approval_ids[0]
    assert events[13]["data"]["approval_id"] == approval_ids[1]
    assert events[14]["data"]["approval_id"] == approval_ids[2]
    assert expired["data"]["approval_id"] == approval_ids[3]
    assert events[17]["data"]["balance"]["amount"] < events[16]["data"]["total"]["amount"], events[16:]
    assert not any(e["read"] for e in events + [expired])


def test_a_refused_action_leaves_no_event(shop):
    agent = shop.buyer(funds=2 * GIFT_PRICE)
    order = shop.buy(agent, 1).json()["order"]
    before = all_events(shop, agent)
    for tool, body in (("request_refund", {"order_id": order["id"], "amount": 10 * GIFT_PRICE}),
                       ("cancel_order", {"order_id": "ord_unknown"})):
        r = shop.call(agent, tool, body)
        assert r.status_code >= 400, r.text[:300]
    assert shop.buy(agent, 5).status_code == 402          # more than the balance
    assert all_events(shop, agent) == before


# --- the JSON page and acknowledgements --------------------------------------------------------------


def test_json_page_walks_forward_with_next_after_and_limit(shop):
    agent = shop.register()
    amounts = list(range(1, 8))
    for amount in amounts:
        shop.fund(agent, amount)
    seen, after, pages = [], 0, 0
    while True:
        body = page(shop, agent, after=after, limit=3)
        assert len(body["events"]) <= 3
        if not body["events"]:
            assert body["next_after"] == after, body
            break
        assert body["next_after"] == body["events"][-1]["id"], body
        assert all(e["id"] > after for e in body["events"]), body
        seen += body["events"]
        after = body["next_after"]
        pages += 1
    assert pages == 3
    assert funded_amounts(seen) == amounts
    assert body["unread"] == 7
    # after= skips exactly what was seen.
    middle = seen[3]["id"]
    assert funded_amounts(page(shop, agent, after=middle)["events"]) == amounts[4:]
    # The same page from the action, with the same fields.
    via_tool = call_ok(shop, agent, "get_inbox", {"after": middle, "limit": 2})
    assert via_tool["events"] == page(shop, agent, after=middle, limit=2)["events"]


def test_ack_up_to_and_by_ids_marks_read_and_counts_unread(shop):
    agent = shop.register()
    for amount in (10, 20, 30, 40, 50):
        shop.fund(agent, amount)
    ids = [e["id"] for e in all_events(shop, agent)]
    assert page(shop, agent)["unread"] == 5

    r = shop.http.post(shop.url("/inbox/ack"), json={"up_to": ids[1]}, headers=agent.auth, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"acknowledged": 2, "unread": 3}
    r = shop.http.post(shop.url("/inbox/ack"), json={"ids": [ids[3]]}, headers=agent.auth, timeout=10)
    assert r.json() == {"acknowledged": 1, "unread": 2}
    # Acknowledging again is harmless.
    r = shop.http.post(shop.url("/inbox/ack"), json={"up_to": ids[1], "ids": [ids[3]]}, headers=agent.auth, timeout=10)
    assert r.json() == {"acknowledged": 0, "unread": 2}

    events = all_events(shop, agent)
    assert [e["read"] for e in events] == [True, True, False, True, False]
    unread = page(shop, agent, unread_only="true")
    assert [e["id"] for e in unread["events"]] == [ids[2], ids[4]]
    assert unread["unread"] == 2
    # The action does the same.
    assert call_ok(shop, agent, "ack_inbox", {"ids": [ids[2], ids[4]]}) == {"acknowledged": 2, "unread": 0}
    assert page(shop, agent, unread_only="true")["events"] == []
    # A live stream shows the read state too.
    with subscribe(shop, agent) as stream:
        assert [payload(e)["read"] for e in stream.read_n(5)] == [True] * 5


def test_get_inbox_works_over_mcp_with_the_agents_key(shop):
    agent = shop.register()
    shop.fund(agent, 77)
    _, r = modern_post(shop.url("/mcp"), "tools/call", {"name": "get_inbox", "arguments": {}}, headers=agent.auth)
    assert r.status_code == 200, r.text[:500]
    result = r.json()["result"]
    assert not result.get("isError"), result
    content = result.get("structuredContent") or json.loads(result["content"][0]["text"])
    assert funded_amounts(content["events"]) == [77]
    assert content["unread"] == 1


# --- the live stream -----------------------------------------------------------------------------------


def test_stream_sends_stored_events_then_new_ones_live(shop):
    agent = shop.register()
    shop.fund(agent, 1)
    shop.fund(agent, 2)
    with subscribe(shop, agent) as stream:
        first = stream.read_n(2)
        assert funded_amounts(first) == [1, 2]
        for amount in (3, 4, 5):
            started = time.monotonic()
            shop.fund(agent, amount)
            [event] = stream.read_n(1, within=LIVE_WITHIN)
            assert funded_amounts([event]) == [amount], "a new event must reach the open stream at once"
            assert time.monotonic() - started < LIVE_WITHIN
        assert stream.header("Cache-Control") and "no-cache" in stream.header("Cache-Control")


def test_subscriber_that_disconnects_mid_stream_resumes_with_last_event_id_and_loses_or_repeats_nothing(shop):
    agent = shop.register()
    for amount in range(1, 6):
        shop.fund(agent, amount)
    stream = subscribe(shop, agent)
    before = stream.read_n(3)                       # read 3 of the 5 stored, then the client vanishes
    stream.drop()
    for amount in range(6, 11):                      # written while nobody listens
        shop.fund(agent, amount)

    with subscribe(shop, agent, last_event_id=before[-1].int_id) as resumed:
        after = resumed.read_n(7)
        resumed.nothing_more()
        shop.fund(agent, 11)                         # and it keeps following live
        after += resumed.read_n(1, within=LIVE_WITHIN)

    everything = before + after
    assert funded_amounts(everything) == list(range(1, 12)), "every event exactly once, in order"
    assert ids_of(everything) == sorted(set(ids_of(everything)))
    assert ids_of(everything) == [e["id"] for e in all_events(shop, agent)]


def test_resuming_twice_from_the_same_id_replays_the_same_events(shop):
    agent = shop.register()
    for amount in (5, 6, 7, 8):
        shop.fund(agent, amount)
    ids = [e["id"] for e in all_events(shop, agent)]
    replays = []
    for _ in range(2):
        with subscribe(shop, agent, last_event_id=ids[1]) as stream:
            replays.append(stream.read_n(2))
            stream.nothing_more(wait=0.5)
    assert [ids_of(r) for r in replays] == [ids[2:], ids[2:]]
    assert [e.data for e in replays[0]] == [e.data for e in replays[1]]
    # Resuming from the newest id sends nothing until something new happens.
    with subscribe(shop, agent, last_event_id=ids[-1]) as stream:
        stream.nothing_more(wait=0.5)


def test_last_event_id_query_parameter_resumes_like_the_header(shop):
    agent = shop.register()
    for amount in (1, 2, 3):
        shop.fund(agent, amount)
    ids = [e["id"] for e in all_events(shop, agent)]
    with subscribe(shop, agent, path=f"/inbox?last_event_id={ids[0]}") as stream:
        assert funded_amounts(stream.read_n(2)) == [2, 3]
        stream.nothing_more(wait=0.5)


def test_a_resuming_subscriber_with_a_backlog_larger_than_one_batch_gets_all_of_it(shop):
    """The stream reads the store in batches; a client that missed more than one batch must still get
    every event without waiting for a new one. (Another subscriber is connected, so the store's
    change feed is already up to date when the backlogged client arrives.)"""
    watcher_agent, agent = shop.register(), shop.register()
    with subscribe(shop, watcher_agent):
        for amount in range(1, 531):
            shop.fund(agent, amount)
        time.sleep(0.6)  # let the feed's poll see the newest id
        with subscribe(shop, agent) as stream:
            events = stream.read_n(530, within=4.0)
    assert funded_amounts(events) == list(range(1, 531))


@pytest.mark.parametrize("change", ["revoke", "rotate-key"])
def test_a_stream_opened_with_a_key_that_is_revoked_or_rotated_gets_no_further_events(shop, change):
    """Once the key no longer works for `GET /inbox` (401), a stream opened with it before must not
    keep delivering the agent's new events."""
    agent = shop.register()
    with subscribe(shop, agent) as stream:
        shop.fund(agent, 1)
        assert funded_amounts(stream.read_n(1, within=LIVE_WITHIN)) == [1]
        shop.admin_ok("POST", f"/agents/{agent.id}/{change}")
        assert shop.http.get(shop.url("/inbox"), headers=agent.auth, timeout=10).status_code == 401
        shop.fund(agent, 2)
        try:
            leaked = stream.read_n(1, within=2.0)
        except AssertionError:
            return  # nothing more came: right
        raise AssertionError(
            f"after POST /admin/api/agents/{{id}}/{change} the old key gets 401 on GET /inbox, yet the stream opened "
            f"with it delivered a new event: {leaked[0].data}")


def test_a_second_subscriber_with_the_same_key_sees_the_same_events_live(shop):
    agent = shop.register()
    shop.fund(agent, 1)
    with subscribe(shop, agent) as phone, subscribe(shop, agent) as browser:
        assert ids_of(phone.read_n(1)) == ids_of(browser.read_n(1))
        for amount in (2, 3, 4):
            started = time.monotonic()
            shop.fund(agent, amount)
            [a] = phone.read_n(1, within=LIVE_WITHIN)
            [b] = browser.read_n(1, within=LIVE_WITHIN)
            assert time.monotonic() - started < 2 * LIVE_WITHIN
            assert (a.id, a.event, a.data) == (b.id, b.event, b.data)
            assert funded_amounts([a]) == [amount]
        # One subscriber leaving does not disturb the other.
        phone.drop()
        shop.fund(agent, 5)
        assert funded_amounts(browser.read_n(1, within=LIVE_WITHIN)) == [5]


def test_a_purchase_reaches_the_stream_as_an_order_created_event(shop):
    agent = shop.buyer(funds=10 * GIFT_PRICE)
    with subscribe(shop, agent) as stream:
        stream.read_n(1)  # wallet.funded
        order = shop.buy(agent, 1).json()["order"]
        [event] = stream.read_n(1, within=LIVE_WITHIN)
        body = payload(event)
        assert event.event == "order.created"
        assert body["data"]["order_id"] == order["id"]
        assert body["data"]["total"] == order["totals"]["total"]


def test_events_written_by_another_gateway_on_the_same_store_reach_open_streams(own_shop):
    start, _ = own_shop
    first = start()
    other = second_gateway(first)
    try:
        agent = first.register()
        with subscribe(first, agent) as on_first, subscribe(other, agent) as on_other:
            for amount in (1, 2, 3):
                other.fund(agent, amount)     # written by the other process
                assert funded_amounts(on_first.read_n(1, within=LIVE_WITHIN)) == [amount]
                assert funded_amounts(on_other.read_n(1, within=LIVE_WITHIN)) == [amount]
            first.fund(agent, 4)
            assert funded_amounts(on_other.read_n(1, within=LIVE_WITHIN)) == [4]
            assert funded_amounts(on_first.read_n(1, within=LIVE_WITHIN)) == [4]
    finally:
        other.server.kill()


def test_many_idle_subscribers_do_not_hold_server_threads(own_shop):
    """A gateway with 2 server threads keeps answering other requests while 60 streams are open, and
    every one of them still gets a new event live."""
    start, _ = own_shop
    shop = start(extra=("--threads", "2"))
    agents = [shop.register() for _ in range(3)]
    streams = [subscribe(shop, agents[n % 3]) for n in range(60)]
    try:
        started = time.monotonic()
        for _ in range(20):
            assert shop.http.get(shop.url("/status"), timeout=5).status_code == 200
        assert call_ok(shop, agents[0], "list_memories", {})["memories"] == []
        assert time.monotonic() - started < 5.0, "other routes slowed to a crawl with idle subscribers open"
        for n, agent in enumerate(agents):
            shop.fund(agent, 100 + n)
        for n, stream in enumerate(streams):
            assert funded_amounts(stream.read_n(1, within=3.0)) == [100 + n % 3]
    finally:
        for stream in streams:
            stream.drop()


def test_head_of_the_stream_answers_headers_only_and_ends(shop):
    """HEAD /inbox as a stream must not hang, and (RFC 9110 9.3.2) carries no body - not even an
    empty chunked body, which a keep-alive client would read as the start of the next response."""
    agent = shop.register()
    shop.fund(agent, 1)
    request = (f"HEAD /inbox HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {agent.api_key}\r\n"
               "Accept: text/event-stream\r\nConnection: close\r\n\r\n").encode()
    started = time.monotonic()
    raw = raw_exchange(shop.server.port, request, timeout=5)
    assert time.monotonic() - started < 3, "HEAD of the stream did not end"
    status, headers, body = split_response(raw)
    assert status == 200 and headers.get("content-type", "").startswith("text/event-stream"), raw[:300]
    assert body == b"", f"HEAD answered with body bytes {body!r}"


# --- durability -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_events_survive_a_restart_and_a_stream_resumes_on_the_next_process(own_shop, how):
    start, shops = own_shop
    shop = start()
    agent = shop.buyer(funds=3 * GIFT_PRICE)
    order = shop.buy(agent, 1).json()["order"]
    for amount in (11, 12, 13):
        shop.fund(agent, amount)
    before = all_events(shop, agent)
    shop.http.post(shop.url("/inbox/ack"), json={"up_to": before[0]["id"]}, headers=agent.auth, timeout=10)

    stream = subscribe(shop, agent)
    seen = stream.read_n(3)
    if how == "SIGTERM":
        code = shop.server.stop(signal.SIGTERM)  # a subscriber is still connected
        shop.server.assert_stopped_cleanly(code)
    else:
        shop.server.kill()
    stream.drop()

    again = restart_shop(shop)
    shops.append(again)
    after = all_events(again, agent)
    assert [(e["id"], e["type"], e["data"]) for e in after] == [(e["id"], e["type"], e["data"]) for e in before]
    assert [e["read"] for e in after] == [True] + [False] * (len(before) - 1)
    assert after[1]["data"]["order_id"] == order["id"]

    again.fund(agent, 14)
    with subscribe(again, agent, last_event_id=seen[-1].int_id) as resumed:
        rest = resumed.read_n(len(before) - 3 + 1)
        resumed.nothing_more(wait=0.5)
    everything = seen + rest
    assert ids_of(everything) == [e["id"] for e in all_events(again, agent)]
    assert funded_amounts(everything) == [3 * GIFT_PRICE, 11, 12, 13, 14]
    assert ids_of(rest)[-1] > before[-1]["id"], "ids keep increasing after a restart"


def test_an_idle_stream_gets_keep_alive_comments(shop):
    agent = shop.register()
    with subscribe(shop, agent) as stream:
        started = time.monotonic()
        while not stream.comments:
            assert time.monotonic() - started < 18.0, "no keep-alive comment within 18 s"
            assert not stream.ended.is_set(), "the idle stream was closed"
            time.sleep(0.1)
        waited = time.monotonic() - started
        assert 12.0 <= waited <= 18.0, f"the keep-alive came after {waited:.1f}s (every 15 s expected)"
        # The stream still works after the keep-alive.
        shop.fund(agent, 9)
        assert funded_amounts(stream.read_n(1, within=LIVE_WITHIN)) == [9]
