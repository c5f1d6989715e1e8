"""The catalog changes while the gateway serves, and every surface follows within a second.

The merchant changes a price, stock, a new product or a discontinued one through the admin API
(`/admin/api/catalog/...`); each change is one transaction. These tests warm every cache first
(result cache, search pages, documents), change the catalog, then ask again over every surface —
REST and MCP search and product, the product page's schema.org offer, /pricing, llms.txt, the
sitemap and the signed capability manifest — on the gateway that made the change and on a second
gateway process on the same store; agents that bought a product hear of its changes in their inbox.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shop import GIFT_PRODUCT, GIFT_SKU, Shop, start_shop
from support import json_ld_blocks, launch
from test_result_cache import mcp_call, rest_call

TENT = "featherlite-1p-tent"


@pytest.fixture
def shop(binary, tmp_path):
    s = start_shop(tmp_path / "live")
    yield s
    s.server.kill()


def price_views(base_url: str, product: str, query: str) -> dict:
    """What each surface says `product` costs (minor units)."""
    rest = requests.get(f"{base_url}/catalog/{product}", timeout=30).json()
    mcp = mcp_call(base_url, "get_product", {"product_id": product})["product"]
    searched = next(p for p in rest_call(base_url, "search_catalog", {"query": query}).json()["products"] if p["id"] == product)
    mcp_searched = next(p for p in mcp_call(base_url, "search_catalog", {"query": query})["products"] if p["id"] == product)
    page = requests.get(f"{base_url}/products/{product}", headers={"Accept": "text/html"}, timeout=30)
    offers = [b.get("offers") for b in json_ld_blocks(page.text) if b.get("@type") in ("Product", "ProductGroup")][0]
    offers = offers if isinstance(offers, list) else [offers]
    pricing = next(e for e in requests.get(f"{base_url}/pricing", timeout=30).json()["one_time"] if e["product_id"] == product)
    return {
        "rest": rest["price"]["amount"], "mcp": mcp["price"]["amount"], "search": searched["price"]["amount"],
        "mcp_search": mcp_searched["price"]["amount"], "page": round(float(offers[0]["price"]) * 100),
        "pricing": pricing["price"]["amount"],
    }


def wait_for(check, seconds: float = 5.0):
    """Polls `check` until it returns something true; returns (value, seconds it took)."""
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value, time.monotonic() - start
        assert time.monotonic() - start < seconds, "never changed"
        time.sleep(0.05)


def inbox_events(shop: Shop, agent) -> list[dict]:
    r = shop.http.get(shop.url("/inbox"), params={"after": 0}, headers=agent.auth, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()["events"]


def signed_manifest(base_url: str) -> dict:
    """The capability manifest, its detached JWS checked against the published key."""
    r = requests.get(f"{base_url}/.well-known/capabilities.json", timeout=30)
    jws = r.headers["X-Capabilities-Signature"]
    header, _, signature = jws.split(".")
    jwk = requests.get(f"{base_url}/.well-known/jwks.json", timeout=30).json()["keys"][0]
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))
    signing_input = header.encode() + b"." + base64.urlsafe_b64encode(r.content).rstrip(b"=")
    key.verify(base64.urlsafe_b64decode(signature + "=="), signing_input)
    return r.json()


def test_a_price_change_shows_everywhere_and_reaches_buyers(shop):
    buyer = shop.buyer()
    assert shop.buy(buyer).status_code in (200, 201)
    before = price_views(shop.server.base_url, TENT, "featherlite")
    assert len(set(before.values())) == 1, before
    manifest_before = signed_manifest(shop.server.base_url)
    old = before["rest"]
    new = old + 1234
    report = shop.admin_ok("PATCH", f"/catalog/products/{TENT}", {"price": {"amount": new, "currency": "USD"}})
    assert report["updated"] == 1 and report["catalog_version"] > manifest_before["catalog"]["version"]
    _, took = wait_for(lambda: set(price_views(shop.server.base_url, TENT, "featherlite").values()) == {new})
    assert took < 1.0, took
    manifest_after = signed_manifest(shop.server.base_url)
    assert manifest_after["catalog"]["version"] == report["catalog_version"]
    # The gift card's buyer hears of a change to the gift card, not of the tent's.
    assert not [e for e in inbox_events(shop, buyer) if e["type"] == "price_changed"]
    shop.admin_ok("PATCH", f"/catalog/products/{GIFT_PRODUCT}", {"variants": {GIFT_SKU: {"price": {"amount": 2400, "currency": "USD"}}}})
    events = [e for e in inbox_events(shop, buyer) if e["type"] == "price_changed"]
    assert len(events) == 1, events
    assert events[0]["data"]["product_id"] == GIFT_PRODUCT
    assert events[0]["data"]["skus"] == [{"sku": GIFT_SKU, "old_price": {"amount": 2500, "currency": "USD"},
                                           "new_price": {"amount": 2400, "currency": "USD"}}]
    # A price change never restocks: the buyer's purchase is still taken from the gift card.
    stock = requests.get(f"{shop.server.base_url}/catalog/{GIFT_PRODUCT}", timeout=30).json()
    assert next(v for v in stock["variants"] if v["id"] == GIFT_SKU)["inventory"] == 100_000 - 1


def test_a_second_gateway_on_the_store_follows_within_a_second(shop):
    other = launch(shop.store, extra=("--admin-token-file", str(shop.token_file)))
    try:
        for _ in range(2):  # warm every cache on the second node
            seen = price_views(other.base_url, TENT, "featherlite")
            requests.get(f"{other.base_url}/llms.txt", timeout=30)
        new = seen["rest"] + 500
        shop.admin_ok("PATCH", f"/catalog/products/{TENT}", {"price": {"amount": new, "currency": "USD"}})
        _, took = wait_for(lambda: set(price_views(other.base_url, TENT, "featherlite").values()) == {new})
        assert took < 1.5, took
        # A new product: searchable, listed and signed for on the other node too.
        product = {
            "id": "storm-shelter-4p", "name": "Storm Shelter 4P Tent", "description": "A four-season dome for four.",
            "category": "tents", "tags": ["four-season"], "price": {"amount": 89900, "currency": "USD"},
            "images": [], "attributes": {"capacity": 4}, "inventory": 3, "digital": False, "weight_grams": 2400,
        }
        shop.admin_ok("PUT", "/catalog/products/storm-shelter-4p", product)

        def listed():
            found = [p["id"] for p in requests.get(f"{other.base_url}/catalog", params={"q": "storm shelter"}, timeout=30).json()["products"]]
            return found == ["storm-shelter-4p"] and "/products/storm-shelter-4p" in requests.get(f"{other.base_url}/llms.txt", timeout=30).text \
                and "/products/storm-shelter-4p" in requests.get(f"{other.base_url}/sitemap.xml", timeout=30).text
        _, took = wait_for(listed)
        assert took < 1.5, took
        assert signed_manifest(other.base_url)["catalog"]["products"] == signed_manifest(shop.server.base_url)["catalog"]["products"]
    finally:
        other.kill()


def test_restock_and_discontinuation_reach_buyers(shop):
    buyer = shop.buyer()
    checkout = shop.call(buyer, "create_checkout", {"items": [{"product_id": TENT, "quantity": 6}]}, key="k-" + str(time.time()))
    assert checkout.status_code in (200, 201), checkout.text[:500]
    done = shop.complete(buyer, checkout.json()["checkout"]["id"])
    assert done.status_code in (200, 201), done.text[:500]
    assert requests.get(f"{shop.server.base_url}/catalog/{TENT}", timeout=30).json()["in_stock"] is False
    r = shop.admin_ok("PUT", "/catalog/stock", {"levels": [{"sku": TENT, "available": 4}, {"sku": "no-such-sku", "available": 1}]})
    assert r["unknown_skus"] == ["no-such-sku"]
    assert requests.get(f"{shop.server.base_url}/catalog/{TENT}", timeout=30).json()["inventory"] == 4
    back = [e for e in inbox_events(shop, buyer) if e["type"] == "back_in_stock"]
    assert [e["data"]["product_id"] for e in back] == [TENT] and back[0]["data"]["inventory"] == 4
    r = shop.admin("DELETE", f"/catalog/products/{TENT}")
    assert r.status_code == 200, r.text[:300]
    assert requests.get(f"{shop.server.base_url}/catalog/{TENT}", timeout=30).status_code == 404
    assert TENT not in [p["id"] for p in requests.get(f"{shop.server.base_url}/catalog", params={"q": "featherlite"}, timeout=30).json()["products"]]
    gone = [e for e in inbox_events(shop, buyer) if e["type"] == "discontinued"]
    assert [e["data"]["product_id"] for e in gone] == [TENT]
    # The order still reads as bought.
    orders = shop.call(buyer, "list_orders", {}).json()
    assert any(line["product_id"] == TENT for o in orders["orders"] for line in o["line_items"])
    assert shop.admin("DELETE", f"/catalog/products/{TENT}").status_code == 404


def test_a_refused_change_names_every_field_and_changes_nothing(shop):
    before = requests.get(f"{shop.server.base_url}/catalog/{TENT}", timeout=30).json()
    version = shop.admin_ok("GET", "/catalog")["version"]
    bad = {"products": [
        {"id": "ok-product", "name": "Fine", "description": "A fine thing.", "category": "tents", "tags": [], "price": {"amount": 100, "currency": "USD"},
         "images": [], "attributes": {}, "inventory": 1, "digital": True},
        {"id": "Bad Id!", "name": "", "category": "no-such-category", "price": {"amount": 1.5, "currency": "usd"}},
        {"id": "euro-thing", "name": "Euro", "description": "A thing priced in a test currency.", "category": "tents", "tags": [], "price": {"amount": 100, "currency": "XTS"},
         "images": [], "attributes": {}, "inventory": 1, "digital": True},
    ]}
    r = shop.admin("POST", "/catalog/products", bad)
    assert r.status_code == 422, r.text[:500]
    rejected = r.json()["error"]["rejected"]
    assert {x["row"] for x in rejected} == {2, 3}
    assert {"/id", "/price/amount", "/price/currency"} <= {x["field"] for x in rejected if x["row"] == 2}
    assert [x["field"] for x in rejected if x["row"] == 3] == ["/price/currency"]
    assert shop.admin_ok("GET", "/catalog")["version"] == version
    assert requests.get(f"{shop.server.base_url}/catalog/ok-product", timeout=30).status_code == 404
    assert requests.get(f"{shop.server.base_url}/catalog/{TENT}", timeout=30).json() == before
    # Not the merchant: refused before anything is read.
    assert requests.patch(f"{shop.server.base_url}/admin/api/catalog/products/{TENT}", json={"price": {"amount": 1, "currency": "USD"}},
                          timeout=30).status_code == 401
    assert shop.admin("PUT", f"/catalog/products/{TENT}", {"id": "other"}).status_code == 400
    assert shop.admin("PATCH", "/catalog/products/no-such-product", {"price": {"amount": 1, "currency": "USD"}}).status_code == 404


def test_an_agent_watching_a_product_hears_of_it_until_it_stops(shop):
    watcher, bystander = shop.buyer(funds=0), shop.buyer(funds=0)
    r = shop.call(watcher, "watch_product", {"product_id": TENT})
    assert r.status_code == 200, r.text[:300]
    assert r.json() == {"product_id": TENT, "watching": True, "events": ["price_changed", "back_in_stock", "discontinued"]}
    assert shop.call(watcher, "watch_product", {"product_id": "no-such-product"}).status_code == 404
    assert shop.call(None, "watch_product", {"product_id": TENT}).status_code == 401
    price = requests.get(f"{shop.server.base_url}/catalog/{TENT}", timeout=30).json()["price"]["amount"]
    shop.admin_ok("PATCH", f"/catalog/products/{TENT}", {"price": {"amount": price - 100, "currency": "USD"}})
    events = [e for e in inbox_events(shop, watcher) if e["type"] == "price_changed"]
    assert [(e["data"]["old_price"]["amount"], e["data"]["new_price"]["amount"]) for e in events] == [(price, price - 100)]
    assert not [e for e in inbox_events(shop, bystander) if e["type"] == "price_changed"]
    stop = shop.call(watcher, "watch_product", {"product_id": TENT, "watch": False})
    assert stop.json()["was_watching"] is True and stop.json()["watching"] is False
    shop.admin_ok("PATCH", f"/catalog/products/{TENT}", {"price": {"amount": price, "currency": "USD"}})
    assert len([e for e in inbox_events(shop, watcher) if e["type"] == "price_changed"]) == 1


def test_the_cli_changes_stock_and_removes_products_under_a_running_gateway(shop):
    from shop import cli

    out = cli("catalog", "set-stock", f"{TENT}=17", store=shop.store)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["updated"] == 1
    _, took = wait_for(lambda: requests.get(f"{shop.server.base_url}/catalog/{TENT}", timeout=30).json()["inventory"] == 17)
    assert took < 1.5
    bad = cli("catalog", "set-stock", "no-such-sku=3", store=shop.store)
    assert bad.returncode == 1 and "no-such-sku" in bad.stderr
    assert cli("catalog", "set-stock", f"{TENT}=-1", store=shop.store).returncode != 0
    out = cli("catalog", "delete", TENT, store=shop.store)
    assert out.returncode == 0 and json.loads(out.stdout)["deleted"] == 1, out.stderr
    _, took = wait_for(lambda: requests.get(f"{shop.server.base_url}/catalog/{TENT}", timeout=30).status_code == 404)
    assert took < 1.5
    status = json.loads(cli("catalog", "status", store=shop.store).stdout)
    assert status["products"] == shop.admin_ok("GET", "/catalog")["products"]


def test_a_catalog_json_too_large_to_hold_is_checked_and_imported_as_a_stream(binary, tmp_path):
    """Above 8 MiB, catalog.json is validated a product at a time (problems keep their pointers in
    the file) and imported by reading it again, never whole in memory."""
    import shutil
    import subprocess
    import sys

    from shop import cli
    from support import MANIFESTS

    root = Path(__file__).parents[2]
    folder = tmp_path / "big-manifests"
    shutil.copytree(MANIFESTS, folder)
    demo = json.loads((MANIFESTS / "catalog.json").read_text())
    # The demo's own products (pricing.json names some) and 12,000 generated ones.
    lines = [json.dumps(p) for p in demo["products"]] + subprocess.run(
        [sys.executable, str(root / "bench" / "generate_catalog.py"), "12000"], capture_output=True, text=True, check=True).stdout.splitlines()
    # Products first, categories after them: members in any order.
    with (folder / "catalog.json").open("w") as out:
        out.write('{"products": [')
        out.write(",\n".join(lines))
        out.write('], "categories": ' + json.dumps(demo["categories"]) + "}")
    assert (folder / "catalog.json").stat().st_size > 8 << 20
    out = cli("validate", str(folder))
    assert out.returncode == 0, out.stderr
    assert f"{len(lines)} products" in out.stdout
    shop = start_shop(tmp_path / "big", manifests=folder)
    try:
        assert shop.admin_ok("GET", "/catalog")["products"] == len(lines)
        found = requests.get(shop.url("/catalog"), params={"q": "kestrel"}, timeout=30).json()
        assert found["products"] and found["total"] > 100
    finally:
        shop.server.kill()
    # A bad product deep in the file is reported where it is.
    broken = json.loads(lines[9876])
    broken["price"]["amount"] = 12.5
    lines[9876] = json.dumps(broken)
    with (folder / "catalog.json").open("w") as out:
        out.write('{"categories": ' + json.dumps(demo["categories"]) + ', "products": [' + ",\n".join(lines) + "]}")
    out = cli("validate", str(folder))
    assert out.returncode == 65, (out.returncode, out.stdout, out.stderr)
    assert "catalog.json at /products/9876/price/amount" in out.stdout + out.stderr
