"""`list_orders` pages an agent's orders newest first with a keyset cursor (the last order's time
and id): orders placed while an agent pages never make an order repeat on the next page or push
an older one past it (as offsets did), and a cursor issued to one agent is refused for another."""

from __future__ import annotations

from shop import GIFT_PRICE, start_shop


def orders_page(shop, agent, **arguments) -> dict:
    r = shop.call(agent, "list_orders", arguments)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def test_pages_hold_still_while_new_orders_arrive(binary, tmp_path):
    shop = start_shop(tmp_path / "paging")
    try:
        agent = shop.buyer(funds=50 * GIFT_PRICE)
        placed = [shop.buy(agent, 1).json()["order"]["id"] for _ in range(7)]
        first = orders_page(shop, agent, limit=3)
        assert len(first["orders"]) == 3 and first["next_cursor"], first
        assert len(first["next_cursor"]) <= 128
        # Two new orders arrive between pages: with offsets the next page would repeat two.
        newer = [shop.buy(agent, 1).json()["order"]["id"] for _ in range(2)]
        seen = [o["id"] for o in first["orders"]]
        cursor = first["next_cursor"]
        while cursor:
            page = orders_page(shop, agent, limit=3, cursor=cursor)
            seen += [o["id"] for o in page["orders"]]
            cursor = page["next_cursor"]
        # No order twice, none of the first seven missed; a newer one shows up only if it was
        # placed in the same second as the page's last order and sorts after it by id.
        assert len(seen) == len(set(seen)), seen
        assert set(placed) <= set(seen) and set(seen) - set(placed) <= set(newer), seen
        # Newest first, ties in the same second broken by id, as every page agrees.
        everything = orders_page(shop, agent, limit=100)["orders"]
        assert len(everything) == 9
        assert everything == sorted(everything, key=lambda o: (o["created_at"], o["id"]), reverse=True)
        assert [o["id"] for o in everything if o["id"] in seen] == seen

        other = shop.buyer(funds=GIFT_PRICE)
        r = shop.call(other, "list_orders", {"cursor": first["next_cursor"]})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor", r.text[:300]
        r = shop.call(agent, "list_orders", {"cursor": "bm90LWEtY3Vyc29y"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor", r.text[:300]
    finally:
        shop.server.kill()
