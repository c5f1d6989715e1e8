"""A purchase over MCP holds no thread while it waits for its commit (issue 14).

Both MCP revisions answer a mutating `tools/call` after the writer commits it. The store here is
made slow on purpose (a trigger the test adds costs every debit a few hundred milliseconds), so
many purchases wait for the writer at once; meanwhile a `ping` on another MCP session must be
answered at once. If each waiting purchase held a thread of the gateway's MCP work, the ping
would wait behind them. Run on SQLite and (as `make test`'s second pass) on PostgreSQL.

A call that asks for progress is answered as a stream whose every event is written to the store
before it is sent: those writes must not hold a thread either.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from gateway_process import LegacySession, post_json, rpc_request
import stores
from shop import GIFT_PRICE, sql_exec, start_shop

PURCHASES = 24


def slow_down_debits(store) -> None:
    if stores.POSTGRES:
        sql_exec(store, """
            CREATE FUNCTION slow_debit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.kind = 'debit' THEN PERFORM pg_sleep(0.2); END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER slow_debit BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION slow_debit();
            """)
    else:
        # SQLite cannot sleep: the trigger counts to a million instead (a few hundred ms).
        sql_exec(store, """
            CREATE TRIGGER slow_debit BEFORE INSERT ON ledger WHEN NEW.kind = 'debit'
            BEGIN
                SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000)
                                      SELECT x FROM c);
            END;
            """)


@pytest.mark.parametrize("progress", [False, True], ids=["json-answers", "streamed-with-progress"])
@pytest.mark.parametrize("claimed", [False, True], ids=["sessions-opened-with-credentials", "anonymous-sessions-claimed"])
def test_waiting_purchases_over_mcp_leave_other_sessions_answered(binary, tmp_path, claimed, progress):
    shop = start_shop(tmp_path / f"slow-writer-{claimed}-{progress}", extra=("--threads", "2"))
    try:
        buyers = [shop.buyer(funds=10 * GIFT_PRICE) for _ in range(PURCHASES)]
        checkouts = [shop.create_checkout(agent)["id"] for agent in buyers]
        # Opened anonymously, a session becomes the agent's on its first call with credentials
        # (a write of its own, which must not hold a thread either).
        sessions = [LegacySession.open(shop.url("/mcp")) if claimed else LegacySession.open(shop.url("/mcp"), headers=agent.auth)
                    for agent in buyers]
        bystander = LegacySession.open(shop.url("/mcp"))
        slow_down_debits(shop.store)

        answers: list = [None] * PURCHASES
        finished: list[float] = [0.0] * PURCHASES

        def buy(i: int) -> None:
            meta = {"idempotencyKey": f"slow-{i}"}
            if progress:
                meta["progressToken"] = f"purchase-{i}"  # answered as an SSE stream, each event stored first
            message = rpc_request("tools/call", {"name": "complete_checkout", "arguments": {"checkout_id": checkouts[i]},
                                                 "_meta": meta})
            answers[i] = post_json(sessions[i].mcp_url, message, {**sessions[i].headers, **buyers[i].auth}, timeout=120)
            finished[i] = time.monotonic()

        started = time.monotonic()
        threads = [threading.Thread(target=buy, args=(i,)) for i in range(PURCHASES)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # the purchases are queued at the writer by now
        asked = time.monotonic()
        pong = bystander.post(rpc_request("ping"))
        answered = time.monotonic()
        for thread in threads:
            thread.join(timeout=120)

        print(f"ping answered in {answered - asked:.3f} s; purchases took {max(finished) - started:.2f} s")
        assert pong.status_code == 200, pong.text[:300]
        assert "result" in pong.json(), pong.text[:300]
        last = max(finished)
        # The purchases took seconds (every debit is slow); the ping did not wait for them.
        assert last - started > 2.0, f"the store was not slow enough to show anything ({last - started:.2f} s)"
        assert answered - asked < 1.0, f"ping waited {answered - asked:.2f} s behind {PURCHASES} purchases"
        assert answered < last, "the ping was answered only after the purchases"
        for i, r in enumerate(answers):
            assert r is not None and r.status_code == 200, (i, r and r.text[:300])
            if progress:
                events = [json.loads(line[len("data: "):]) for line in r.text.splitlines() if line.startswith("data: {")]
                assert any(e.get("method") == "notifications/progress" for e in events), events
                result = events[-1]["result"]
            else:
                result = r.json()["result"]
            assert result["isError"] is False, result
            assert result["structuredContent"]["order"]["status"] == "confirmed"
    finally:
        shop.server.stop()


def test_a_purchase_streamed_with_progress_completes_and_later_writes_go_on(binary, tmp_path):
    """A mutating tools/call with a progressToken is answered as an SSE stream: its progress
    notifications (the last one after the commit), then its result. The "committed" notification
    is reported from the store's reporting thread; writing it there used to wait for the writer
    from the writer's own reporting thread, and from then on every write of the gateway hung."""
    shop = start_shop(tmp_path / "streamed")
    try:
        agent = shop.buyer(funds=10 * GIFT_PRICE)
        session = LegacySession.open(shop.url("/mcp"), headers=agent.auth)
        for round_ in range(2):
            checkout_id = shop.create_checkout(agent)["id"]
            message = rpc_request("tools/call", {"name": "complete_checkout", "arguments": {"checkout_id": checkout_id},
                                                 "_meta": {"progressToken": f"buy-{round_}", "idempotencyKey": f"buy-{round_}"}})
            r = post_json(session.mcp_url, message, {**session.headers, **agent.auth}, timeout=30)
            assert r.status_code == 200, r.text[:300]
            assert r.headers["Content-Type"].startswith("text/event-stream")
            events = [json.loads(line[len("data: "):]) for line in r.text.splitlines() if line.startswith("data: {")]
            progress = [e["params"] for e in events if e.get("method") == "notifications/progress"]
            assert [p["progressToken"] for p in progress] == [f"buy-{round_}"] * len(progress)
            assert progress[-1]["message"] == "committed" and progress[-1]["progress"] == progress[-1]["total"]
            assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)
            final = events[-1]
            assert final["id"] == message["id"] and final["result"]["isError"] is False, final
            assert final["result"]["structuredContent"]["order"]["status"] == "confirmed"
        # Writes go on: another checkout is created and paid over REST at once.
        checkout_id = shop.create_checkout(agent)["id"]
        assert shop.complete(agent, checkout_id).status_code == 200
    finally:
        shop.server.stop()
