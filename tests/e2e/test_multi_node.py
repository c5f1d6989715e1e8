"""Three gateway nodes on one store, as behind a load balancer.

Run with `STOREFRONT_TEST_STORE=postgres` (as `make test` does in its second pass) the nodes share
one PostgreSQL database, which is what a merchant outgrowing one machine deploys; on SQLite they
are three processes on one file. Either way each node is the real binary on its own port and the
clients spread their requests over the nodes:

- concurrent purchases never pass a spend limit or the balance, whichever node takes them;
- one Idempotency-Key sent to every node at once makes one order and one debit;
- a write on one node reaches caches (stock) and live streams (the inbox) held by another;
- each webhook event is delivered once, though every node runs a dispatcher;
- a node killed with SIGKILL loses no purchase it acknowledged.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections import Counter

import pytest
import requests

import stores
from gateway_process import modern_meta, modern_post
from shop import GIFT_PRICE, Shop, ledger_sum, new_key, run_parallel, sql, start_shop
from support import launch
from test_inbox import LIVE_WITHIN, funded_amounts, subscribe
from test_webhooks import Receiver, deliveries, wait_delivered, wait_for

NODES = 3


@pytest.fixture
def cluster(binary, tmp_path):
    """Three nodes on one store (one admin token); every node is killed at the end."""
    first = start_shop(tmp_path / "node-a", extra=("--threads", "4"))
    nodes = [first]
    for _ in range(NODES - 1):
        server = launch(first.store, extra=("--admin-token-file", str(first.token_file), "--threads", "4"))
        nodes.append(Shop(server=server, admin_token=first.admin_token, token_file=first.token_file, extra=first.extra))
    yield nodes
    for node in nodes:
        node.server.kill()


def test_the_nodes_share_one_store(cluster):
    if stores.POSTGRES:
        assert all(stores.database_name(n.store) == stores.database_name(cluster[0].store) for n in cluster)
    agent = cluster[0].buyer(funds=5 * GIFT_PRICE)
    # Registered and funded through node A, seen with the same balance on B and C.
    for node in cluster[1:]:
        assert node.wallet(agent)["balance"]["amount"] == 5 * GIFT_PRICE


def test_concurrent_purchases_over_three_nodes_never_pass_a_limit_or_the_balance(cluster):
    a = cluster[0]
    # One agent limited by its daily limit (7 purchases), one by its balance (5 purchases).
    limited = a.buyer(funds=100 * GIFT_PRICE, daily=7 * GIFT_PRICE + 100)
    poor = a.buyer(funds=5 * GIFT_PRICE + 100)
    checkouts = [(agent, a.create_checkout(agent)["id"]) for agent in (limited, poor) for _ in range(12)]

    def complete(session, job):
        n, (agent, checkout_id) = job
        node = cluster[n % NODES]
        r = node.complete(agent, checkout_id, session=session)
        return agent, r.status_code, r.json()

    results = run_parallel(list(enumerate(checkouts)), complete, connections=12)
    done = Counter(agent.id for agent, status, _ in results if status == 200)
    assert done[limited.id] == 7 and done[poor.id] == 5, done
    for agent, status, body in results:
        if status == 200:
            continue
        if agent.id == limited.id:
            assert status == 403 and body["error"]["details"]["limit"] == "daily", body
        else:
            assert status == 402, body
    # The books agree on every node and in the store.
    for agent, bought, funded in ((limited, 7, 100 * GIFT_PRICE), (poor, 5, 5 * GIFT_PRICE + 100)):
        left = funded - bought * GIFT_PRICE
        assert ledger_sum(a.store, agent.id) == left
        assert {node.wallet(agent)["balance"]["amount"] for node in cluster} == {left}


def test_one_idempotency_key_sent_to_every_node_at_once_makes_one_order(cluster):
    a = cluster[0]
    agent = a.buyer(funds=10 * GIFT_PRICE)
    checkout_id = a.create_checkout(agent, 2)["id"]
    key = new_key()
    barrier = threading.Barrier(NODES * 3)

    def complete(session, n):
        barrier.wait(timeout=30)
        for _ in range(100):
            r = cluster[n % NODES].complete(agent, checkout_id, key=key, session=session)
            # While the same node still runs the key's first request, the answer is 409: retry.
            if r.status_code != 409 or r.json()["error"]["code"] != "idempotency_in_flight":
                return r
            time.sleep(0.05)
        return r

    responses = run_parallel(range(NODES * 3), complete, connections=NODES * 3)
    assert {r.status_code for r in responses} == {200}, [(r.status_code, r.text[:200]) for r in responses]
    assert len({r.json()["order"]["id"] for r in responses}) == 1
    assert sql(a.store, f"SELECT count(*) AS n FROM orders WHERE checkout_id = '{checkout_id}'")[0]["n"] == 1
    assert ledger_sum(a.store, agent.id) == 10 * GIFT_PRICE - 2 * GIFT_PRICE


def test_stock_sold_on_one_node_is_what_the_other_nodes_show_within_a_second(cluster):
    a, b, c = cluster
    agent = a.buyer(funds=50 * GIFT_PRICE)
    product = "gift-card"

    def inventory(node: Shop) -> int:
        r = requests.get(node.url(f"/catalog/{product}"), timeout=30)
        assert r.status_code == 200, r.text[:300]
        return r.json()["inventory"]

    before = {inventory(n) for n in cluster}
    assert len(before) == 1
    [stock] = before
    # B and C have read (and cached) the stock; A sells three.
    r = a.buy(agent, 3)
    assert r.status_code == 200, r.text[:300]
    assert inventory(a) == stock - 3
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and {inventory(b), inventory(c)} != {stock - 3}:
        time.sleep(0.05)
    assert {inventory(b), inventory(c)} == {stock - 3}


def test_an_inbox_event_written_through_one_node_reaches_a_stream_held_on_another(cluster):
    a, b, c = cluster
    agent = a.register()
    with subscribe(b, agent) as stream:
        for amount in (11, 12, 13):
            started = time.monotonic()
            c.fund(agent, amount)  # written by node C
            [event] = stream.read_n(1, within=LIVE_WITHIN + 1.0)
            assert funded_amounts([event]) == [amount]
            assert time.monotonic() - started < LIVE_WITHIN + 1.0


def test_each_webhook_event_is_delivered_once_though_every_node_dispatches(binary, tmp_path):
    receiver = Receiver().start()
    nodes: list[Shop] = []
    try:
        extra = ("--threads", "4", "--webhook-retry-base", "0.2", "--webhook", receiver.url)
        first = start_shop(tmp_path / "hooks", extra=extra)
        nodes.append(first)
        for _ in range(NODES - 1):
            server = launch(first.store, extra=("--admin-token-file", str(first.token_file), *extra))
            nodes.append(Shop(server=server, admin_token=first.admin_token, token_file=first.token_file, extra=extra))
        orders = []
        for n in range(6):
            node = nodes[n % NODES]
            agent = node.buyer(funds=5 * GIFT_PRICE)
            r = node.buy(agent, 1)
            assert r.status_code == 200, r.text[:300]
            orders.append(r.json()["order"]["id"])
        wait_delivered(first, 6)
        time.sleep(1.0)  # time enough for any second delivery to show
        attempts = receiver.attempts_by_id()
        assert len(attempts) == 6 and set(attempts.values()) == {1}, attempts
    finally:
        for node in nodes:
            node.server.kill()
        receiver.stop()


@pytest.mark.skipif(not stores.POSTGRES, reason="row locks are PostgreSQL's; SQLite has one writer per file")
def test_webhooks_are_claimed_and_settled_with_row_locks_while_another_writer_holds_the_store(binary, tmp_path):
    """On PostgreSQL a dispatcher claims deliveries with FOR UPDATE SKIP LOCKED and records their
    outcome by row, without the writer lock every node's checkouts take: with that lock held from
    outside (a long write on another node), a due delivery is still sent and marked delivered."""
    receiver = Receiver().start()
    receiver.set_policy(lambda event_id, previous, body: 503)
    shop = start_shop(tmp_path / "hooks-rows", extra=("--webhook-retry-base", "0.2", "--webhook", receiver.url))
    try:
        agent = shop.buyer(funds=5 * GIFT_PRICE)
        assert shop.buy(agent, 1).status_code == 200
        # Refused once, so it waits in the outbox for its retry (about a second).
        wait_for(lambda: receiver.snapshot() or None, "a first, refused delivery", timeout=10)
        with WriterLock(shop.store):
            receiver.set_policy(lambda event_id, previous, body: 200)
            wait_for(lambda: receiver.accepted() or None, "a delivery while the writer lock is held", timeout=10)
            [row] = wait_for(
                lambda: sql(shop.store, "SELECT status, attempts FROM webhook_outbox WHERE status = 'delivered'") or None,
                "the delivery recorded while the writer lock is held", timeout=10)
            assert row["attempts"] >= 2, row
        assert [d["status"] for d in deliveries(shop)] == ["delivered"]
    finally:
        shop.server.kill()
        receiver.stop()


def test_a_node_killed_mid_purchase_loses_no_acknowledged_purchase(cluster):
    a, b, c = cluster
    agents = [a.buyer(funds=200 * GIFT_PRICE) for _ in range(4)]
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def buyer(agent):
        with requests.Session() as session:
            for n in itertools.count():
                if stop.is_set():
                    return
                node = b if n % 2 else a  # half of them through the node that will die
                try:
                    r = node.buy(agent, 1, session=session)
                except requests.RequestException:
                    continue
                if r.status_code == 200:
                    with lock:
                        acknowledged.append(r.json()["order"]["id"])

    threads = [threading.Thread(target=buyer, args=(agent,)) for agent in agents]
    for t in threads:
        t.start()
    time.sleep(1.5)
    b.server.process.send_signal(signal.SIGKILL)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acknowledged) > 10, "too few purchases to tell"
    stored = {row["id"] for row in sql(a.store, "SELECT id FROM orders")}
    missing = [o for o in acknowledged if o not in stored]
    assert not missing, f"{len(missing)} acknowledged orders are not in the store"
    # The survivors still serve and still agree on the books.
    for agent in agents:
        assert c.wallet(agent)["balance"]["amount"] == ledger_sum(a.store, agent.id)
    survivor = c.buyer(funds=GIFT_PRICE)
    assert c.buy(survivor, 1).status_code == 200


# --- a write waiting for the store holds no server thread ---------------------------------------------


class WriterLock:
    """Holds the store's write lock from outside, as a slow writer on another node would: SQLite's
    RESERVED lock (BEGIN IMMEDIATE), PostgreSQL's writer advisory lock. The gateway's writes wait."""

    POSTGRES_KEY = 0x53544F524546524E  # PostgresConnection.writerLock

    def __init__(self, store):
        self.db = stores.connect(store, timeout=30)

    def __enter__(self):
        if stores.POSTGRES:
            self.db.execute("SELECT pg_advisory_lock(?)", (self.POSTGRES_KEY,)).fetchall()
            self.db.commit()
        else:
            self.db.isolation_level = None
            self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc):
        if stores.POSTGRES:
            self.db.execute("SELECT pg_advisory_unlock(?)", (self.POSTGRES_KEY,)).fetchall()
            self.db.commit()
        else:
            self.db.execute("ROLLBACK")
        self.db.close()


def test_mcp_purchases_waiting_for_the_store_hold_no_server_thread(binary, tmp_path):
    """With two server threads, four MCP tools/call purchases (revision 2026-07-28) wait for a store
    someone else is writing; meanwhile the gateway still answers at once, and each purchase
    completes when the store is free. (Were each waiting call holding a thread, the two threads
    would be stuck and nothing would be answered until the store was free.)"""
    shop = start_shop(tmp_path / "threads", extra=("--threads", "2"))
    try:
        agents = [shop.buyer(funds=10 * GIFT_PRICE) for _ in range(4)]
        checkouts = [(agent, shop.create_checkout(agent)["id"]) for agent in agents]
        results: list = [None] * len(checkouts)

        def purchase(i):
            agent, checkout_id = checkouts[i]
            _, r = modern_post(shop.url("/mcp"), "tools/call",
                               {"name": "complete_checkout", "arguments": {"checkout_id": checkout_id}},
                               headers={"Authorization": f"Bearer {agent.api_key}"},
                               meta=dict(modern_meta(), idempotencyKey=new_key()))
            results[i] = r

        with WriterLock(shop.store):
            threads = [threading.Thread(target=purchase, args=(i,)) for i in range(len(checkouts))]
            for t in threads:
                t.start()
            time.sleep(0.8)  # every purchase is now waiting for the writer
            assert all(r is None for r in results), "a purchase finished while the store was locked"
            for path in ("/status", "/catalog?q=tent", "/agents"):
                started = time.monotonic()
                r = requests.get(shop.url(path), timeout=10)
                assert r.status_code == 200, (path, r.status_code)
                assert time.monotonic() - started < 1.0, f"{path} waited behind the purchases"
        for t in threads:
            t.join(30)
        for r in results:
            assert r is not None and r.status_code == 200, r and r.text[:300]
            assert r.json()["result"]["structuredContent"]["order"]["status"], r.text[:300]
    finally:
        shop.server.kill()


@pytest.mark.skipif(not stores.POSTGRES or os.environ.get("STOREFRONT_TEST_PG") is not None,
                    reason="restarts the suite's own PostgreSQL server")
def test_the_nodes_ride_out_a_postgresql_restart(cluster):
    """A restart (or failover) of PostgreSQL drops every connection: each node opens new ones
    before its next transaction, so the first request after it is answered, not refused."""
    a, b, _ = cluster
    agent = a.buyer(funds=10 * GIFT_PRICE)
    assert a.buy(agent, 1).status_code == 200
    stores.restart_server()
    for node in (a, b):
        # Reads (the catalog, an agent's credentials) and a write, each first after the restart.
        assert requests.get(node.url("/catalog?q=tent"), timeout=30).status_code == 200
        r = node.buy(agent, 1)
        assert r.status_code == 200, r.text[:300]
    assert ledger_sum(a.store, agent.id) == 10 * GIFT_PRICE - 3 * GIFT_PRICE
    assert {n.wallet(agent)["balance"]["amount"] for n in cluster} == {7 * GIFT_PRICE}


@pytest.mark.skipif(not stores.POSTGRES, reason="PostgreSQL's lock_timeout")
def test_a_writer_stuck_behind_another_node_gives_up_and_the_purchase_can_be_retried(binary, tmp_path):
    """Another node holds the writers' lock and never lets go (a hung process): a purchase waits
    at most the lock timeout (10 s) for its own group, is answered 503 with nothing changed, and
    the same request with the same key completes once the lock is free. (A group already waiting
    for the lock when the purchase arrives — the analytics recorder's batch, a sweep — times out
    first: the purchase may wait up to two timeouts, 20 s; a CI run measured 20.004 s.)"""
    shop = start_shop(tmp_path / "stuck", extra=("--threads", "2"))
    try:
        agent = shop.buyer(funds=10 * GIFT_PRICE)
        checkout_id = shop.create_checkout(agent)["id"]
        key = new_key()
        with WriterLock(shop.store):
            started = time.monotonic()
            r = shop.complete(agent, checkout_id, key=key)
            waited = time.monotonic() - started
            assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable", r.text[:300]
            assert 9 < waited < 25, waited
        assert ledger_sum(shop.store, agent.id) == 10 * GIFT_PRICE, "nothing was changed"
        again = shop.complete(agent, checkout_id, key=key)
        assert again.status_code == 200, again.text[:300]
        assert ledger_sum(shop.store, agent.id) == 9 * GIFT_PRICE
    finally:
        shop.server.kill()


def test_status_names_the_backend_and_no_message_shows_the_password(binary, tmp_path):
    srv = launch(tmp_path / "status.db")
    try:
        assert requests.get(srv.url("/status"), timeout=10).json()["store"]["backend"] == stores.BACKEND
    finally:
        srv.kill()
    if not stores.POSTGRES:
        return
    # The suite's cluster trusts loopback, so the password is never checked, only carried.
    url = stores.store_arg(tmp_path / "secret.db").replace("://postgres@", "://postgres:hunter2-secret@")
    srv = launch(url, extra=("--signing-key", str(tmp_path / "secret.key")))
    try:
        assert requests.get(srv.url("/status"), timeout=10).status_code == 200
        bad = stores.run_cli_raw("agents", "list", "--store", url.rsplit("/", 1)[0] + "/no_such_database")
    finally:
        srv.stop()
    assert "hunter2-secret" not in srv.stdout + srv.stderr
    assert "***" in srv.stdout, srv.stdout
    assert bad.returncode != 0 and "hunter2-secret" not in bad.stdout + bad.stderr, bad.stderr
