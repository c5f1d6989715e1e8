"""Durable MCP sessions: stream resumption with Last-Event-ID, sessions that outlive the gateway
process, and two gateway processes on one store file serving one session interchangeably.

The streaming client is `http.client` on a socket the test controls (gateway_process.SSEStream):
it reads the first events of a tools/call's SSE answer and then shuts the connection down, as a
client whose network dropped would.
"""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest
import requests

from gateway_process import (
    Gateway, LegacySession, assert_complete_progress_stream, modern_result, rpc_request,
)

STREAM_LENGTH = 5  # priming event, three progress notifications, the response
# A tools/call takes milliseconds. Tests about *stored* events pause this long after dropping a
# stream so the call has finished; following a stream that is still being written has its own tests.
SETTLE = 0.5
RESUME_TIMEOUT = 5.0
# A call heavy enough (100 summaries, checked against the output schema) that a client which
# reconnects at once usually finds it still running.
SLOW_CALL = ("search_catalog", {"limit": 100})


@pytest.fixture
def gateways(tmp_path):
    """Factory for gateways on one shared store file (`tmp_path/shared.db`); killed at teardown."""
    started: list[Gateway] = []
    store = tmp_path / "shared.db"

    def _gateway() -> Gateway:
        gateway = Gateway(store=store, extra=("--tools-page-size", "5")).start()
        started.append(gateway)
        return gateway

    yield _gateway
    for gateway in started:
        gateway.kill()


def drop_after(session: LegacySession, seen: int, *, name="get_product", arguments=None, token="resume-me"):
    """Starts a streamed tools/call, reads `seen` events, drops the connection.
    Returns (events read, request id)."""
    stream = session.open_streamed_call(name, arguments or {"id": "headlamp-400"}, token=token)
    assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
    events = stream.read_events(seen)
    stream.drop()
    return events, stream.request_id


def resume(session: LegacySession, last_event_id) -> list:
    """GET + Last-Event-ID; every event until the server ends the stream (which it must, once
    the stream's response has been sent)."""
    with session.resume(last_event_id, timeout=RESUME_TIMEOUT) as stream:
        assert stream.status == 200, (stream.status, stream.read_body()[:300])
        assert stream.content_type.startswith("text/event-stream"), stream.content_type
        events = []
        stalled = False
        try:
            while (event := stream.next_event()) is not None:
                events.append(event)
        except (socket.timeout, TimeoutError):
            stalled = True
    if stalled:
        pytest.fail(
            f"GET /mcp with Last-Event-ID {last_event_id} at {session.mcp_url} sent events "
            f"{[e.id for e in events]} and then neither the rest of the stream nor its end "
            f"within {RESUME_TIMEOUT} s", pytrace=False)
    return events


def assert_exactly_the_missing_events(before: list, after: list, request_id, token) -> None:
    before_ids = [e.int_id for e in before]
    after_ids = [e.int_id for e in after]
    assert not set(before_ids) & set(after_ids), f"replayed events the client already had: {before_ids} / {after_ids}"
    assert len(after_ids) == len(set(after_ids)), f"duplicate events on resumption: {after_ids}"
    assert all(a > before_ids[-1] for a in after_ids), f"resumption went backwards: {before_ids} / {after_ids}"
    assert_complete_progress_stream(before + after, request_id, token)


# --- resumption on one gateway ---------------------------------------------------------------


@pytest.mark.parametrize("seen", [1, 2, 3, 4])
def test_dropped_stream_resumes_with_exactly_the_missing_events(base_url, seen):
    session = LegacySession.open(base_url + "/mcp")
    before, request_id = drop_after(session, seen)
    time.sleep(SETTLE)
    after = resume(session, before[-1].id)
    assert len(after) == STREAM_LENGTH - seen, [(e.id, e.data[:60]) for e in after]
    assert_exactly_the_missing_events(before, after, request_id, "resume-me")
    final = after[-1].message
    assert final["result"]["isError"] is False
    assert final["result"]["structuredContent"]["product"]["id"] == "headlamp-400"
    session.delete()


def test_disconnecting_does_not_cancel_the_call(base_url):
    session = LegacySession.open(base_url + "/mcp")
    before, request_id = drop_after(session, 1, name="get_quote",
                                    arguments={"items": [{"product_id": "baseplate-compass", "quantity": 4}]})
    time.sleep(SETTLE)
    after = resume(session, before[0].id)
    result = after[-1].message["result"]
    assert after[-1].message["id"] == request_id
    assert result["isError"] is False and result["structuredContent"]["total"]["amount"] == 4 * 3900 - 780
    session.delete()


def test_resuming_twice_from_the_same_id_replays_the_same_events(base_url):
    session = LegacySession.open(base_url + "/mcp")
    before, _ = drop_after(session, 2)
    time.sleep(SETTLE)
    first = resume(session, before[-1].id)
    second = resume(session, before[-1].id)
    assert [(e.id, e.data) for e in first] == [(e.id, e.data) for e in second]
    session.delete()


def test_resuming_from_the_final_event_sends_nothing_and_ends(base_url):
    session = LegacySession.open(base_url + "/mcp")
    with session.open_streamed_call("get_policies", {}, token="t") as stream:
        events = stream.read_to_end()
    assert resume(session, events[-1].id) == []
    session.delete()


def test_resumption_replays_only_the_stream_the_id_belongs_to(base_url):
    session = LegacySession.open(base_url + "/mcp")
    first, first_id = drop_after(session, 2, arguments={"id": "headlamp-400"}, token="first")
    time.sleep(SETTLE)
    with session.open_streamed_call("get_product", {"id": "gps-handheld-66"}, token="second") as stream:
        second = stream.read_to_end()
    after = resume(session, first[-1].id)
    assert_exactly_the_missing_events(first, after, first_id, "first")
    assert not {e.id for e in after} & {e.id for e in second}
    assert "gps-handheld-66" not in "".join(e.data for e in after)
    session.delete()


def test_resuming_while_the_call_is_still_running_follows_it_to_the_end(base_url):
    """The client reconnects at once, maybe before the call has finished: the resumed stream must
    send what is stored, then follow the stream live until its response, then end. Twenty tries
    of a slow call, so that the race shows up."""
    session = LegacySession.open(base_url + "/mcp")
    for attempt in range(20):
        before, request_id = drop_after(session, 1, name=SLOW_CALL[0], arguments=SLOW_CALL[1], token=f"live-{attempt}")
        after = resume(session, before[-1].id)
        assert_exactly_the_missing_events(before, after, request_id, f"live-{attempt}")
    session.delete()


def test_resumption_after_delete_is_404(base_url):
    session = LegacySession.open(base_url + "/mcp")
    before, _ = drop_after(session, 2)
    assert session.delete().status_code == 204
    with session.resume(before[-1].id) as stream:
        assert stream.status == 404


# --- a session outlives its gateway process ---------------------------------------------------


def test_session_survives_a_restart(gateways):
    gateway = gateways()
    session = LegacySession.open(gateway.mcp_url)
    tools_before = session.call("tools/list")

    gateway.restart()  # SIGTERM, clean stop, same store file and port

    assert session.call("ping") == {}
    assert session.call("tools/list") == tools_before
    result = session.call("tools/call", {"name": "get_product", "arguments": {"id": "fastpack-40"}})
    assert result["isError"] is False
    assert session.delete().status_code == 204


def test_stream_dropped_before_a_restart_is_resumed_after_it(gateways):
    gateway = gateways()
    session = LegacySession.open(gateway.mcp_url)
    before, request_id = drop_after(session, 2, token="across-restart")
    time.sleep(SETTLE)

    gateway.restart()

    after = resume(session, before[-1].id)
    assert_exactly_the_missing_events(before, after, request_id, "across-restart")
    # New events of the session keep ids unique across the restart.
    with session.open_streamed_call("get_pricing", {}, token="later") as stream:
        later = stream.read_to_end()
    assert min(e.int_id for e in later) > max(e.int_id for e in before + after)


def test_call_whose_client_dropped_just_before_a_graceful_stop_still_completes(gateways):
    """Disconnecting never cancels, and SIGTERM finishes in-flight work: a streamed call whose
    client is gone must still reach its response (stored), so resuming after the restart ends
    with it. Five tries, so that a race shows up."""
    gateway = gateways()
    session = LegacySession.open(gateway.mcp_url)
    for attempt in range(5):
        before, request_id = drop_after(session, 1, name=SLOW_CALL[0], arguments=SLOW_CALL[1], token=f"stop-{attempt}")
        gateway.restart()  # at once: the call may still be running
        after = resume(session, before[-1].id)
        assert_exactly_the_missing_events(before, after, request_id, f"stop-{attempt}")


def test_ended_session_stays_ended_after_a_restart(gateways):
    gateway = gateways()
    session = LegacySession.open(gateway.mcp_url)
    assert session.delete().status_code == 204
    gateway.restart()
    assert session.post(rpc_request("ping")).status_code == 404


def test_events_are_stored_before_they_are_sent_so_a_killed_gateway_loses_none(gateways):
    gateway = gateways()
    session = LegacySession.open(gateway.mcp_url)
    with session.open_streamed_call("get_product", {"id": "altimeter-watch"}, token="k") as stream:
        events = stream.read_to_end()
    assert_complete_progress_stream(events, stream.request_id, "k")
    gateway.process.stop(signal.SIGKILL)  # no clean shutdown: only what was committed survives
    gateway.start()
    assert session.call("ping") == {}
    after = resume(session, events[0].id)
    assert [(e.id, e.data) for e in after] == [(e.id, e.data) for e in events[1:]]


# --- two gateway processes, one store file ------------------------------------------------------


def test_two_gateways_on_one_store_serve_one_session_alternately(gateways):
    a, b = gateways(), gateways()
    session_a = LegacySession.open(a.mcp_url)  # initialize on A
    session_b = session_a.at(b.mcp_url)

    listed = session_b.call("tools/list")  # tools/list on B
    assert len(listed["tools"]) == 5 and listed["nextCursor"]
    assert session_a.call("tools/list", {"cursor": listed["nextCursor"]})["tools"], "B's cursor works on A"

    result = session_a.call("tools/call", {"name": "compare_products",  # call on A
                                           "arguments": {"ids": ["fastpack-40", "traverse-65-pack"]}})
    assert result["isError"] is False

    before, request_id = drop_after(session_a, 2, token="a-to-b")  # stream from A, dropped
    time.sleep(SETTLE)
    after = resume(session_b, before[-1].id)  # resumed on B
    assert_exactly_the_missing_events(before, after, request_id, "a-to-b")

    before, request_id = drop_after(session_b, 1, token="b-to-a")  # and the other way round
    time.sleep(SETTLE)
    after = resume(session_a, before[-1].id)
    assert_exactly_the_missing_events(before, after, request_id, "b-to-a")

    assert session_b.delete().status_code == 204  # DELETE on B
    r = session_a.post(rpc_request("ping"))  # A no longer knows it
    assert r.status_code == 404, (r.status_code, r.text[:300])
    assert session_a.delete().status_code == 404


def test_resuming_on_one_gateway_follows_a_call_still_running_on_the_other(gateways):
    """B learns of A's new events through the store (the design: within a poll interval)."""
    a, b = gateways(), gateways()
    session_a = LegacySession.open(a.mcp_url)
    session_b = session_a.at(b.mcp_url)
    for attempt in range(10):
        before, request_id = drop_after(session_a, 1, name=SLOW_CALL[0], arguments=SLOW_CALL[1], token=f"ab-{attempt}")
        after = resume(session_b, before[-1].id)  # at once
        assert_exactly_the_missing_events(before, after, request_id, f"ab-{attempt}")


def test_event_ids_stay_unique_when_two_gateways_stream_for_one_session_at_once(gateways):
    a, b = gateways(), gateways()
    session = LegacySession.open(a.mcp_url)
    sessions = [session, session.at(b.mcp_url)]
    collected: list[list] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            s = sessions[n % 2]
            with s.open_streamed_call("search_catalog", {"query": "tent", "limit": 2}, token=f"w{n}") as stream:
                events = stream.read_to_end()
            assert_complete_progress_stream(events, stream.request_id, f"w{n}")
            with lock:
                collected.append(events)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = [e.int_id for events in collected for e in events]
    assert len(ids) == 12 * STREAM_LENGTH
    assert len(ids) == len(set(ids)), "two gateways handed out the same event id in one session"
    # Every stream can still be resumed from its first event, on either gateway.
    for n, events in enumerate(collected):
        replay = resume(sessions[(n + 1) % 2], events[0].id)
        assert [(e.id, e.data) for e in replay] == [(e.id, e.data) for e in events[1:]]


def test_modern_requests_need_no_shared_state_and_work_on_both_gateways(gateways):
    a, b = gateways(), gateways()
    for gateway in (a, b):
        result = modern_result(gateway.mcp_url, "tools/call", {"name": "get_product", "arguments": {"id": "sun-hoodie"}})
        assert result["structuredContent"]["product"]["id"] == "sun-hoodie"


def test_session_from_one_gateway_survives_the_other_stopping(gateways):
    a, b = gateways(), gateways()
    session = LegacySession.open(a.mcp_url)
    a.stop()
    assert session.at(b.mcp_url).call("ping") == {}
    r = requests.post(b.mcp_url, json=rpc_request("tools/list"), timeout=10,
                      headers={"Accept": "application/json, text/event-stream", **session.headers})
    assert r.status_code == 200 and len(r.json()["result"]["tools"]) == 5
