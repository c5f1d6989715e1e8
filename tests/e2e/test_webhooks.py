"""Order webhooks to the merchant, delivered from the durable outbox in the store.

A receiver runs in the test (`http.server` on 127.0.0.1) with a scripted answer per attempt: fail
(HTTP 500/503, or drop the connection) a number of times, then accept. The rules checked:
- every `order.*` event reaches every configured URL, and nothing else does;
- retries until accepted give exactly one accepted delivery per event id (at-least-once, the id
  for de-duplication), each retry after the documented backoff;
- `Storefront-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` verifies with the
  secret printed once on first start (or read from `--webhook-secret-file`);
- the events of one order arrive in order: a later one waits until the earlier one is delivered
  (or dead);
- SIGKILL (or SIGTERM) between attempts loses nothing: a gateway restarted on the same store with
  the same `--webhook` completes the delivery;
- after `--webhook-max-attempts` a delivery is dead; the admin API and the CLI list it and replay
  it, and the replay is delivered."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import signal
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

from shop import GIFT_PRICE, Agent, Shop, cli, new_key, restart_shop, start_shop
from support import launch

SECRET_LINE = re.compile(r"webhook signing secret \(shown once[^)]*\): (whsec_\S+)")

# How long a test waits for deliveries to settle.
SETTLE = 30.0


# --- the receiver ---------------------------------------------------------------------------------------


@dataclass
class Delivery:
    at: float
    headers: dict[str, str]
    body: bytes
    status: int | None  # None: the connection was dropped without an answer

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers.get("storefront-event-id", "")

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


# A policy answers one attempt: (event id, how many attempts for this id came before, body) -> status
# (None drops the connection).
Policy = Callable[[str, int, dict], "int | None"]


def accept(event_id: str, previous: int, body: dict) -> int:
    return 200


def fail_first(n: int, status: int = 500) -> Policy:
    return lambda event_id, previous, body: status if previous < n else 200


@dataclass
class Receiver:
    policy: Policy = accept
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    event_id = headers.get("storefront-event-id", "")
                    previous = sum(1 for d in receiver.deliveries if d.event_id == event_id)
                    try:
                        parsed = json.loads(body)
                    except ValueError:
                        parsed = {}
                    status = receiver.policy(event_id, previous, parsed)
                    receiver.deliveries.append(Delivery(time.monotonic(), headers, body, status))
                if status is None:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/orders"

    def snapshot(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)

    def set_policy(self, policy: Policy) -> None:
        with self.lock:
            self.policy = policy

    def accepted(self) -> list[Delivery]:
        return [d for d in self.snapshot() if d.accepted]

    def attempts_by_id(self) -> Counter:
        return Counter(d.event_id for d in self.snapshot())


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def _start(policy: Policy = accept) -> Receiver:
        r = Receiver(policy=policy).start()
        started.append(r)
        return r

    yield _start
    for r in started:
        r.stop()


@pytest.fixture
def shops(binary, tmp_path):
    """Starts gateways with webhooks; kills whatever is still running at the end."""
    running: list[Shop] = []

    def _start(*urls: str, base: float = 0.2, attempts: int | None = None, secret_file: Path | None = None,
               directory: str = "shop") -> Shop:
        extra: list[str] = ["--threads", "4", "--webhook-retry-base", str(base)]
        for url in urls:
            extra += ["--webhook", url]
        if attempts is not None:
            extra += ["--webhook-max-attempts", str(attempts)]
        if secret_file is not None:
            extra += ["--webhook-secret-file", str(secret_file)]
        s = start_shop(tmp_path / directory, extra=tuple(extra))
        running.append(s)
        return s

    def _restart(shop: Shop) -> Shop:
        s = restart_shop(shop)
        running.append(s)
        return s

    _start.restart = _restart
    yield _start
    for s in running:
        s.server.kill()


# --- helpers -------------------------------------------------------------------------------------------------


def printed_secret(shop: Shop, timeout: float = 5.0) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = SECRET_LINE.search(shop.server.stdout)
        if found:
            return found.group(1)
        if "agent entry point" in shop.server.stdout:
            return None
        time.sleep(0.05)
    return None


def ok(shop: Shop, agent: Agent, tool: str, body: dict) -> dict:
    r = shop.call(agent, tool, body, key=new_key())
    assert r.status_code == 200, (tool, body, r.status_code, r.text[:800])
    return r.json()


def buy(shop: Shop, agent: Agent, quantity: int = 2) -> str:
    r = shop.buy(agent, quantity)
    assert r.status_code == 200, r.text[:500]
    return r.json()["order"]["id"]


def deliveries(shop: Shop, status: str | None = None) -> list[dict]:
    r = shop.admin("GET", "/webhooks" + (f"?status={status}" if status else ""))
    assert r.status_code == 200, r.text[:500]
    return r.json()["deliveries"]


def wait_for(predicate, what: str, timeout: float = SETTLE, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(every)


def wait_delivered(shop: Shop, count: int, timeout: float = SETTLE) -> list[dict]:
    return wait_for(lambda: (lambda d: d if len(d) >= count else None)(deliveries(shop, "delivered")),
                    f"{count} delivered webhooks", timeout)


def verify_signature(secret: str, delivery: Delivery) -> int:
    """Checks Storefront-Signature against the body; returns its timestamp."""
    header = delivery.headers.get("storefront-signature", "")
    parts = dict(part.split("=", 1) for part in header.split(","))
    assert set(parts) == {"t", "v1"}, header
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + delivery.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), f"signature does not verify: {header}"
    return timestamp


def signature_verifies(secret: str, delivery: Delivery, body: bytes | None = None) -> bool:
    header = delivery.headers.get("storefront-signature", "")
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + (delivery.body if body is None else body),
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(parts["v1"], expected)


def assert_well_formed(delivery: Delivery, agent_ids: set[str]) -> dict:
    body = delivery.json
    assert set(body) == {"id", "type", "created_at", "agent_id", "data"}, body
    assert body["id"] == delivery.event_id, (body["id"], delivery.headers)
    assert body["type"] == delivery.headers.get("storefront-event-type"), (body["type"], delivery.headers)
    assert body["type"].startswith("order."), body
    assert body["agent_id"] in agent_ids, body
    assert body["data"]["order_id"].startswith("ord_"), body
    dt.datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert delivery.headers.get("content-type", "").startswith("application/json"), delivery.headers
    return body


def accepted_types_by_order(receiver: Receiver) -> dict[str, list[str]]:
    by_order: dict[str, list[str]] = defaultdict(list)
    for d in receiver.accepted():
        by_order[d.json["data"]["order_id"]].append(d.json["type"])
    return by_order


# --- delivery and retries ------------------------------------------------------------------------------------


def test_retries_until_accepted_give_exactly_one_accepted_delivery_per_event_id_on_every_url(shops, receivers):
    flaky = receivers(fail_first(2))          # 500, 500, then 200 for every event id
    healthy = receivers()
    shop = shops(flaky.url, healthy.url, base=0.2)
    agent, other = shop.buyer(funds=20 * GIFT_PRICE), shop.buyer(funds=20 * GIFT_PRICE)

    first = buy(shop, agent)                                                   # order.created
    ok(shop, agent, "request_refund", {"order_id": first, "amount": 1000})     # order.partially_refunded
    ok(shop, agent, "request_refund", {"order_id": first})                     # order.refunded
    second = buy(shop, other)                                                  # order.created
    ok(shop, other, "cancel_order", {"order_id": second})                      # order.canceled
    # Events that are not about orders are not sent.
    shop.fund(agent, 100)
    ok(shop, agent, "report_issue", {"category": "other", "description": "nothing is wrong"})

    delivered = wait_delivered(shop, 10)
    time.sleep(0.8)  # nothing more arrives after everything is delivered

    assert len(deliveries(shop)) == 10, "one delivery per event and URL"
    assert deliveries(shop, "pending") == [] and deliveries(shop, "dead") == []
    for receiver, tries in ((flaky, 3), (healthy, 1)):
        accepted = receiver.accepted()
        ids = [d.event_id for d in accepted]
        assert len(ids) == 5 and len(set(ids)) == 5, f"exactly one accepted delivery per event id: {Counter(ids)}"
        assert set(receiver.attempts_by_id().values()) == {tries}, receiver.attempts_by_id()
        for d in receiver.snapshot():
            assert_well_formed(d, {agent.id, other.id})
        # Every attempt of one event carries the same body.
        bodies = defaultdict(set)
        for d in receiver.snapshot():
            bodies[d.event_id].add(d.body)
        assert all(len(b) == 1 for b in bodies.values()), bodies
    assert {d.event_id for d in flaky.accepted()} == {d.event_id for d in healthy.accepted()}
    assert sorted(d.json["type"] for d in healthy.accepted()) == sorted(
        ["order.created", "order.partially_refunded", "order.refunded", "order.created", "order.canceled"])
    by_url = defaultdict(list)
    for row in delivered:
        by_url[row["url"]].append(row)
    assert set(by_url) == {flaky.url, healthy.url}
    assert {row["attempts"] for row in by_url[flaky.url]} == {3}
    assert {row["attempts"] for row in by_url[healthy.url]} == {1}
    for row in delivered:
        assert row["status"] == "delivered" and row["delivered_at"] and row["last_error"] is None, row
    assert {row["order_id"] for row in delivered} == {first, second}
    # Each delivery is the agent's inbox event: same type, time and data.
    inbox = {}
    for who in (agent, other):
        r = shop.http.get(shop.url("/inbox"), params={"limit": 200}, headers=who.auth, timeout=10)
        for event in r.json()["events"]:
            inbox[(who.id, event["type"], json.dumps(event["data"], sort_keys=True))] = event
    for d in healthy.accepted():
        body = d.json
        event = inbox.get((body["agent_id"], body["type"], json.dumps(body["data"], sort_keys=True)))
        assert event is not None, f"no inbox event matches the webhook {body}"
        assert event["created_at"] == body["created_at"], (event, body)


def test_an_order_approved_by_the_principal_is_delivered_and_approval_events_are_not(shops, receivers):
    receiver = receivers()
    shop = shops(receiver.url, base=0.2)
    agent = shop.buyer(funds=20 * GIFT_PRICE, approval_threshold=GIFT_PRICE)
    approvals = []
    for _ in range(2):
        checkout = shop.create_checkout(agent, 2)
        body = shop.complete(agent, checkout["id"]).json()
        assert body["checkout"]["status"] == "pending_approval", body
        approval = body["checkout"]["approval"]
        approvals.append(approval["id"] if isinstance(approval, dict) else approval)
    approved = shop.admin_ok("POST", f"/approvals/{approvals[0]}/approve")
    shop.admin_ok("POST", f"/approvals/{approvals[1]}/deny")
    [row] = wait_delivered(shop, 1)
    time.sleep(0.8)
    assert [d.json["type"] for d in receiver.snapshot()] == ["order.created"]
    assert receiver.snapshot()[0].json["data"]["order_id"] == approved["order"]["id"] == row["order_id"]
    assert receiver.snapshot()[0].json["agent_id"] == agent.id


def test_an_order_approved_from_the_cli_is_delivered_by_the_running_gateway(shops, receivers):
    """`storefront approvals approve --store …` completes the order in the store the gateway serves;
    the gateway's webhooks (recorded in the store by `serve`) get it exactly once."""
    receiver = receivers()
    shop = shops(receiver.url, base=0.2)
    agent = shop.buyer(funds=20 * GIFT_PRICE, approval_threshold=GIFT_PRICE)
    checkout = shop.create_checkout(agent, 2)
    body = shop.complete(agent, checkout["id"]).json()
    assert body["checkout"]["status"] == "pending_approval", body
    approval = body["checkout"]["approval"]
    approval_id = approval["id"] if isinstance(approval, dict) else approval
    out = cli("approvals", "approve", approval_id, store=shop.store)
    assert out.returncode == 0, out.stderr
    [row] = wait_delivered(shop, 1)
    time.sleep(0.8)
    assert [d.json["type"] for d in receiver.snapshot()] == ["order.created"]
    assert receiver.snapshot()[0].json["agent_id"] == agent.id
    assert receiver.snapshot()[0].json["data"]["order_id"] == row["order_id"]


def test_each_retry_waits_the_documented_backoff(shops, receivers):
    """--webhook-retry-base 1: the first retry comes 0.5-1 s after the failure (base x jitter 0.5-1.0),
    the second 1-2 s after the second failure; never sooner."""
    receiver = receivers(fail_first(2, status=503))
    shop = shops(receiver.url, base=1.0)
    agents = [shop.buyer(funds=5 * GIFT_PRICE) for _ in range(6)]
    for agent in agents:
        buy(shop, agent, 1)
    wait_delivered(shop, 6)
    gaps = {1: [], 2: []}
    by_id = defaultdict(list)
    for d in receiver.snapshot():
        by_id[d.event_id].append(d.at)
    for times in by_id.values():
        assert len(times) == 3, by_id
        gaps[1].append(times[1] - times[0])
        gaps[2].append(times[2] - times[1])
    poll_slack = 1.6  # the dispatcher looks every 0.5 s, and schedules in whole seconds
    for attempt, minimum in ((1, 0.5), (2, 1.0)):
        for gap in gaps[attempt]:
            assert gap >= minimum - 0.05, (
                f"retry {attempt} came {gap:.2f}s after the failure; the backoff with --webhook-retry-base 1 is at least "
                f"{minimum}s (base x 2^{attempt - 1} x 0.5). All gaps: { {k: [round(g, 2) for g in v] for k, v in gaps.items()} }")
            assert gap <= 2 * minimum + poll_slack, f"retry {attempt} came only after {gap:.2f}s"


def test_connection_errors_are_retried_like_error_statuses(shops, receivers):
    receiver = receivers(lambda event_id, previous, body: None if previous == 0 else 200)  # drop, then accept
    shop = shops(receiver.url, base=0.2)
    agent = shop.buyer(funds=5 * GIFT_PRICE)
    buy(shop, agent, 1)
    [row] = wait_delivered(shop, 1)
    time.sleep(0.5)
    log = [(d.event_id, d.status) for d in receiver.snapshot()]
    assert row["attempts"] == 2, (row, log)
    assert len(receiver.accepted()) == 1 and len(log) == 2, (row, log)


# --- signatures ---------------------------------------------------------------------------------------------------


def test_signatures_verify_with_the_secret_printed_once_on_first_start(shops, receivers):
    receiver = receivers(fail_first(1))
    shop = shops(receiver.url, base=0.2)
    secret = printed_secret(shop)
    assert secret and re.fullmatch(r"whsec_[A-Za-z0-9_-]{20,}", secret), shop.server.stdout
    agent = shop.buyer(funds=5 * GIFT_PRICE)
    order = buy(shop, agent, 1)
    ok(shop, agent, "cancel_order", {"order_id": order})
    wait_delivered(shop, 2)

    now = time.time()
    for d in receiver.snapshot():        # the failed attempts too: each attempt is signed
        timestamp = verify_signature(secret, d)
        assert abs(timestamp - now) < 120, (timestamp, now)
        assert not signature_verifies("whsec_wrong", d)
        assert not signature_verifies(secret, d, d.body.replace(b"order.", b"order-"))

    # After a restart the secret is not shown again, and it is still the one in use.
    code = shop.server.stop(signal.SIGTERM)
    shop.server.assert_stopped_cleanly(code)
    again = shops.restart(shop)
    assert printed_secret(again) is None, again.server.stdout
    assert secret not in again.server.stdout
    buy(again, agent, 1)
    wait_delivered(again, 3)
    for d in receiver.snapshot():
        verify_signature(secret, d)


def test_a_secret_from_a_file_is_used_and_never_printed(shops, receivers, tmp_path):
    secret_file = tmp_path / "webhook-secret.txt"
    secret = "whsec_from_a_file_" + new_key()
    secret_file.write_text(secret + "\n")
    receiver = receivers()
    shop = shops(receiver.url, secret_file=secret_file)
    assert printed_secret(shop) is None and secret not in shop.server.stdout
    agent = shop.buyer(funds=5 * GIFT_PRICE)
    buy(shop, agent, 1)
    wait_delivered(shop, 1)
    [d] = receiver.snapshot()
    verify_signature(secret, d)


# --- order per order ---------------------------------------------------------------------------------------------


def test_events_of_one_order_are_delivered_in_order(shops, receivers):
    """The first event of order A fails twice; A's later events wait behind it."""
    state = {"first": None}

    def policy(event_id, previous, body):
        if state["first"] is None and body.get("type") == "order.created":
            state["first"] = event_id
        return 500 if event_id == state["first"] and previous < 2 else 200

    receiver = receivers(policy)
    shop = shops(receiver.url, base=0.2)
    a, b = shop.buyer(funds=20 * GIFT_PRICE), shop.buyer(funds=20 * GIFT_PRICE)
    order_a = buy(shop, a)
    ok(shop, a, "request_refund", {"order_id": order_a, "amount": 700})
    ok(shop, a, "request_refund", {"order_id": order_a, "amount": 800})
    ok(shop, a, "request_refund", {"order_id": order_a})
    order_b = buy(shop, b)
    ok(shop, b, "cancel_order", {"order_id": order_b})
    wait_delivered(shop, 6)

    assert accepted_types_by_order(receiver) == {
        order_a: ["order.created", "order.partially_refunded", "order.partially_refunded", "order.refunded"],
        order_b: ["order.created", "order.canceled"],
    }
    refunds = [d.json["data"]["refund"]["amount"] for d in receiver.accepted()
               if d.json["data"]["order_id"] == order_a and d.json["type"] != "order.created"]
    assert refunds == [700, 800, 2 * GIFT_PRICE - 1500], "the two partial refunds in the order they happened"
    # Nothing of order A was even attempted before its first event was accepted.
    log = receiver.snapshot()
    accepted_at = next(i for i, d in enumerate(log) if d.event_id == state["first"] and d.accepted)
    early = [d.json["type"] for d in log[:accepted_at] if d.json["data"]["order_id"] == order_a and d.event_id != state["first"]]
    assert early == [], f"later events of the order were sent before its first was accepted: {early}"


# --- durability -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_stopping_the_gateway_between_attempts_loses_nothing(shops, receivers, tmp_path, how):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("whsec_kill_test_secret_0123456789\n")
    receiver = receivers(lambda event_id, previous, body: 503)   # down for now
    shop = shops(receiver.url, base=2.0, secret_file=secret_file)
    agent, other = shop.buyer(funds=20 * GIFT_PRICE), shop.buyer(funds=20 * GIFT_PRICE)
    order_a = buy(shop, agent)
    ok(shop, agent, "cancel_order", {"order_id": order_a})      # waits behind order A's first event
    order_b = buy(shop, other)

    # Both first events failed once, and the failures are recorded; the next try is 1-2 s away.
    def failed_once():
        rows = deliveries(shop, "pending")
        heads = [r for r in rows if r["type"] == "order.created"]
        return len(rows) == 3 and len(heads) == 2 and all(r["attempts"] == 1 for r in heads)

    wait_for(failed_once, "the first attempts to fail", timeout=10, every=0.02)
    if how == "SIGKILL":
        shop.server.kill()
    else:
        shop.server.assert_stopped_cleanly(shop.server.stop(signal.SIGTERM))
    attempts_before = len(receiver.snapshot())
    assert attempts_before == 2, [d.json["type"] for d in receiver.snapshot()]

    receiver.set_policy(accept)                                     # the receiver is back
    again = shops.restart(shop)
    wait_delivered(again, 3)
    time.sleep(0.6)

    ids = [d.event_id for d in receiver.accepted()]
    assert len(ids) == 3 and len(set(ids)) == 3, f"exactly one accepted delivery per event: {Counter(ids)}"
    assert accepted_types_by_order(receiver) == {order_a: ["order.created", "order.canceled"], order_b: ["order.created"]}
    for d in receiver.snapshot():
        verify_signature("whsec_kill_test_secret_0123456789", d)
    rows = {r["type"] + ":" + r["order_id"]: r for r in deliveries(again)}
    assert rows[f"order.created:{order_a}"]["attempts"] == 2
    assert rows[f"order.canceled:{order_a}"]["attempts"] == 1


def test_two_gateways_on_one_store_deliver_each_event_once(shops, receivers):
    """Both processes run a dispatcher over the same outbox; a claimed delivery is not sent twice."""
    receiver = receivers(fail_first(1))
    shop = shops(receiver.url, base=0.2)
    other = Shop(server=launch(shop.store, extra=("--admin-token-file", str(shop.token_file), *shop.extra)),
                 admin_token=shop.admin_token, token_file=shop.token_file, extra=shop.extra)
    try:
        agents = [shop.buyer(funds=20 * GIFT_PRICE) for _ in range(4)]
        orders = []
        for n, agent in enumerate(agents):
            gateway = shop if n % 2 else other
            r = gateway.buy(agent, 1)
            assert r.status_code == 200, r.text[:300]
            orders.append(r.json()["order"]["id"])
            ok(gateway, agent, "cancel_order", {"order_id": orders[-1]})
        wait_delivered(shop, 8)
        time.sleep(1.2)
        attempts = receiver.attempts_by_id()
        assert len(attempts) == 8 and set(attempts.values()) == {2}, attempts
        assert sorted(Counter(d.event_id for d in receiver.accepted()).values()) == [1] * 8
        assert accepted_types_by_order(receiver) == {o: ["order.created", "order.canceled"] for o in orders}
    finally:
        other.server.kill()


# --- dead letters and replay ---------------------------------------------------------------------------------------


def test_a_delivery_that_keeps_failing_is_dead_after_max_attempts_and_a_replay_delivers_it(shops, receivers):
    receiver = receivers(lambda event_id, previous, body: 500)      # always fails
    shop = shops(receiver.url, base=0.1, attempts=2)
    agent, other = shop.buyer(funds=20 * GIFT_PRICE), shop.buyer(funds=20 * GIFT_PRICE)
    order_a = buy(shop, agent)
    order_b = buy(shop, other)

    dead = wait_for(lambda: (lambda d: d if len(d) == 2 else None)(deliveries(shop, "dead")), "two dead deliveries", timeout=15)
    for row in dead:
        assert row["attempts"] == 2 and "500" in (row["last_error"] or ""), row
        assert row["delivered_at"] is None, row
    time.sleep(1.5)
    assert set(receiver.attempts_by_id().values()) == {2}, f"no attempt after the last one: {receiver.attempts_by_id()}"
    assert len(receiver.attempts_by_id()) == 2

    # The command line lists them too.
    listed = cli("webhooks", "list", "--status", "dead", store=shop.store)
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["id"] for r in json.loads(listed.stdout)) == sorted(r["id"] for r in dead)

    # A dead delivery does not hold back the order's later events.
    receiver.set_policy(accept)
    ok(shop, agent, "cancel_order", {"order_id": order_a})
    [canceled] = wait_delivered(shop, 1)
    assert canceled["type"] == "order.canceled" and canceled["order_id"] == order_a

    # Replay one from the admin API, the other from the command line (while the gateway runs).
    row_a = next(r for r in dead if r["order_id"] == order_a)
    row_b = next(r for r in dead if r["order_id"] == order_b)
    r = shop.admin("POST", f"/webhooks/{row_a['id']}/replay")
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    replayed = cli("webhooks", "replay", str(row_b["id"]), store=shop.store)
    assert replayed.returncode == 0, (replayed.stdout, replayed.stderr)
    wait_delivered(shop, 3)
    assert deliveries(shop, "dead") == [] and deliveries(shop, "pending") == []

    accepted = Counter(d.event_id for d in receiver.accepted())
    assert sorted(accepted.values()) == [1, 1, 1], accepted
    assert {d.json["data"]["order_id"] for d in receiver.accepted()} == {order_a, order_b}

    # Unknown ids, and no admin token.
    assert shop.admin("POST", "/webhooks/999999/replay").status_code == 404
    assert cli("webhooks", "replay", "999999", store=shop.store).returncode != 0
    assert shop.http.get(shop.url("/admin/api/webhooks"), timeout=10).status_code == 401
    assert shop.http.post(shop.url(f"/admin/api/webhooks/{row_a['id']}/replay"), timeout=10).status_code == 401
