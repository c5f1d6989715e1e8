"""A statement that fails inside one purchase fails that purchase alone.

The store's writer commits many requests in one transaction, each in its own savepoint; on
PostgreSQL it also sends the writes whose results it does not read (ledger rows, trail entries and
their Merkle nodes, the order, inbox notifications, the idempotency record) in pipeline mode, one
round trip for several, their errors arriving with the next statement it reads. Here the store
itself refuses one agent's debits (a trigger the test adds): that agent's purchases must fail with
a clear error and change nothing, while purchases committed beside them in the same groups all
complete. Run on SQLite and (as `make test`'s second pass) on PostgreSQL.
"""

from __future__ import annotations

import requests

import stores
from shop import GIFT_PRICE, GIFT_SKU, ledger_sum, run_parallel, sql, sql_exec, start_shop


def refuse_debits_of(store, agent_id: str) -> None:
    if stores.POSTGRES:
        sql_exec(store, f"""
            CREATE FUNCTION refuse_victim() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.agent_id = '{agent_id}' AND NEW.kind = 'debit' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_victim BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION refuse_victim();
            """)
    else:
        sql_exec(store, f"""
            CREATE TRIGGER refuse_victim BEFORE INSERT ON ledger
            WHEN NEW.agent_id = '{agent_id}' AND NEW.kind = 'debit'
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
            """)


def test_a_write_the_store_refuses_fails_that_purchase_alone(binary, tmp_path):
    shop = start_shop(tmp_path / "refusing", extra=("--threads", "4"))
    try:
        victim = shop.buyer(funds=10 * GIFT_PRICE)
        others = [shop.buyer(funds=20 * GIFT_PRICE) for _ in range(6)]
        jobs = [(victim, shop.create_checkout(victim)["id"]) for _ in range(4)]
        jobs += [(agent, shop.create_checkout(agent)["id"]) for agent in others for _ in range(4)]
        stock_before = sql(shop.store, f"SELECT available FROM inventory WHERE sku = '{GIFT_SKU}'")[0]["available"]
        refuse_debits_of(shop.store, victim.id)

        def complete(session: requests.Session, job):
            agent, checkout_id = job
            return agent, checkout_id, shop.complete(agent, checkout_id, session=session)

        results = run_parallel(jobs, complete, connections=16)
        for agent, checkout_id, r in results:
            if agent is victim:
                assert r.status_code == 500, (r.status_code, r.text[:300])
                assert r.json()["error"]["code"] == "action_failed", r.text[:300]
            else:
                assert r.status_code == 200, (r.status_code, r.text[:300])
                assert r.json()["order"]["status"] == "confirmed"
        # Nothing of the victim's purchases stayed: no order, no debit, no stock taken, and each
        # checkout still ready to complete.
        assert sql(shop.store, f"SELECT id FROM orders WHERE agent_id = '{victim.id}'") == []
        assert ledger_sum(shop.store, victim.id) == 10 * GIFT_PRICE
        assert shop.wallet(victim)["balance"]["amount"] == 10 * GIFT_PRICE
        for agent, checkout_id, _ in results:
            if agent is victim:
                r = shop.call(victim, "get_checkout", {"checkout_id": checkout_id})
                assert r.json()["checkout"]["status"] == "ready_for_complete", r.text[:300]
        # Everyone else's purchases are all there, and the books agree.
        assert len(sql(shop.store, f"SELECT id FROM orders WHERE agent_id <> '{victim.id}'")) == 24
        for agent in others:
            assert ledger_sum(shop.store, agent.id) == 20 * GIFT_PRICE - 4 * GIFT_PRICE
        stock_after = sql(shop.store, f"SELECT available FROM inventory WHERE sku = '{GIFT_SKU}'")[0]["available"]
        assert stock_after == stock_before - 24
        # The trail is intact around the refused writes.
        verify = shop.admin("GET", "/trail/verify")
        assert verify.status_code == 200 and verify.json()["intact"] is True, verify.text[:300]
    finally:
        shop.server.kill()
