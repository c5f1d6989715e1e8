"""The merchant's existing feeds, in and out.

`storefront catalog import` reads a Google Merchant Center feed (TSV and RSS XML), a Shopify
`products.json` export, an ACP `products.jsonl` and the store's own formats, as a stream, into
the store a running gateway serves: every valid product in one transaction, every refused row
reported with its row, field and reason, nothing half-applied under --strict. `storefront catalog
export` writes the catalog (live stock) as an ACP feed, checked here against ACP's own schema,
and as Merchant Center feeds, which import back to the same products. The fixtures are modelled on
each format's published examples, with bad rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from shop import cli, start_shop
from test_acp import FEED, problems

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


@pytest.fixture
def shop(binary, tmp_path):
    s = start_shop(tmp_path / "feeds")
    yield s
    s.server.kill()


def run_import(shop, *args: str) -> tuple[dict, str, int]:
    out = cli("catalog", "import", *args, store=shop.store, timeout=120)
    return (json.loads(out.stdout) if out.stdout.strip() else {}), out.stderr, out.returncode


def product(shop, id: str) -> dict | None:
    r = requests.get(shop.url(f"/catalog/{id}"), timeout=30)
    return r.json() if r.status_code == 200 else None


def refused(outcome: dict) -> set[tuple[int, str]]:
    return {(r["row"], r["field"]) for r in outcome["rejections"]}


def test_a_merchant_center_tsv_feed(shop, tmp_path):
    log = tmp_path / "rejected.jsonl"
    outcome, stderr, code = run_import(shop, str(FEEDS / "gmc-products.tsv"), "--rejections", str(log))
    assert code == 0, stderr
    assert outcome["applied"] and outcome["accepted"] == 2 and outcome["change"]["created"] == 2
    assert {(r["field"], r["id"]) for r in outcome["rejections"]} == {
        ("price", "broken-price"), ("id", None), ("/weight_grams", "weightless-tarp")}
    assert len(log.read_text().splitlines()) == 3
    assert "rejected row" in stderr and "imported" in stderr  # progress, as plain lines off a terminal
    bottle = product(shop, "trail-bottle-750")
    assert bottle["price"] == {"amount": 2400, "currency": "USD"} and bottle["inventory"] == 40 and bottle["weight_grams"] == 310
    fleece = product(shop, "fleece-1")
    assert sorted((v["id"], v["inventory"]) for v in fleece["variants"]) == [("fleece-m-blue", 0), ("fleece-s-blue", 5)]
    # Searchable at once, in a category the feed brought.
    found = requests.get(shop.url("/catalog"), params={"q": "summit fleece"}, timeout=30).json()
    assert [p["id"] for p in found["products"]][0] == "fleece-1"
    # The weightless row imports with a default weight the merchant chooses.
    outcome, _, code = run_import(shop, str(FEEDS / "gmc-products.tsv"), "--default-weight-grams", "500")
    assert code == 0 and outcome["accepted"] == 3 and outcome["change"]["created"] == 1
    assert product(shop, "weightless-tarp")["weight_grams"] == 500


def test_a_merchant_center_xml_feed(shop):
    outcome, stderr, code = run_import(shop, str(FEEDS / "gmc-products.xml"))
    assert code == 0, stderr
    assert outcome["accepted"] == 2 and refused(outcome) == {(3, "price")}
    mug = product(shop, "camp-mug-350")
    assert mug["name"] == "Enamel Camp Mug & Lid" and mug["description"].startswith("A 350 ml enamel mug with a lid & a folding")
    assert mug["price"]["amount"] == 1450 and mug["inventory"] == 25
    assert product(shop, "head-torch-400")["in_stock"] is False


def test_a_shopify_export(shop):
    outcome, stderr, code = run_import(shop, str(FEEDS / "shopify-products.json"))
    assert code == 0, stderr
    assert outcome["accepted"] == 2 and [(r["row"], r["id"]) for r in outcome["rejections"]] == [(3, "mispriced-beanie")]
    socks = product(shop, "alpine-wool-socks")
    assert socks["description"] == "Merino wool hiking socks." and socks["brand"] == "Ridgeway"
    assert {v["id"]: v["inventory"] for v in socks["variants"]} == {"sock-m": 12, "sock-l": 0}
    assert product(shop, "trail-gaiters")["price"] == {"amount": 2999, "currency": "USD"}


def test_an_acp_feed(shop):
    outcome, stderr, code = run_import(shop, str(FEEDS / "acp-products.jsonl"), "--default-weight-grams", "100")
    assert code == 0, stderr
    assert outcome["accepted"] == 2 and {r["row"] for r in outcome["rejections"]} == {3, 4}
    voucher = product(shop, "e-gift-voucher")
    assert sorted(v.get("price", voucher["price"])["amount"] for v in voucher["variants"]) == [5000, 10000]
    assert product(shop, "map-case")["price"]["amount"] == 1900


def test_strict_refuses_the_whole_feed_and_dry_run_writes_nothing(shop):
    version = shop.admin_ok("GET", "/catalog")["version"]
    outcome, stderr, code = run_import(shop, str(FEEDS / "gmc-products.tsv"), "--strict")
    assert code == 1 and "nothing imported" in stderr
    assert not outcome["applied"] and outcome["rejected"] == 3
    outcome, _, code = run_import(shop, str(FEEDS / "gmc-products.xml"), "--dry-run")
    assert code == 0 and not outcome["applied"] and outcome["accepted"] == 2
    assert shop.admin_ok("GET", "/catalog")["version"] == version
    assert product(shop, "trail-bottle-750") is None and product(shop, "camp-mug-350") is None
    # Clean and strict: applied.
    clean = FEEDS / "gmc-products.xml"
    lines = [line for line in clean.read_text().splitlines()]
    start = next(i for i, line in enumerate(lines) if "broken-xml-price" in line) - 1
    end = next(i for i in range(start, len(lines)) if "</item>" in lines[i]) + 1
    good = "\n".join(lines[:start] + lines[end:])
    path = Path(shop.store).parent / "clean.xml"
    path.write_text(good)
    outcome, stderr, code = run_import(shop, str(path), "--strict")
    assert code == 0 and outcome["applied"] and outcome["change"]["created"] == 2, stderr


def test_replace_removes_what_the_feed_no_longer_has(shop, tmp_path):
    assert run_import(shop, str(FEEDS / "gmc-products.xml"))[2] == 0
    smaller = tmp_path / "smaller.xml"
    text = (FEEDS / "gmc-products.xml").read_text()
    smaller.write_text(text.replace("<g:id>head-torch-400</g:id>", "<g:id>head-torch-400-renamed</g:id>"))
    outcome, _, code = run_import(shop, str(smaller), "--format", "gmc-xml", "--replace")
    assert code == 0 and outcome["change"]["deleted"] == 1 and outcome["change"]["created"] == 1
    assert product(shop, "head-torch-400") is None and product(shop, "head-torch-400-renamed") is not None
    # Products from elsewhere (the manifest, the admin API) are not the feed's to remove.
    assert product(shop, "featherlite-1p-tent") is not None


def test_exports_pass_acps_schema_and_merchant_center_feeds_import_back(shop, binary, tmp_path):
    out = cli("catalog", "export", "--format", "acp", store=shop.store)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == shop.admin_ok("GET", "/catalog")["products"]
    for line in lines:
        assert problems(FEED, "Product", json.loads(line)) == []
    for fmt in ("gmc-tsv", "gmc-xml"):
        path = tmp_path / f"export.{fmt}"
        out = cli("catalog", "export", "--format", fmt, "--output", str(path), store=shop.store)
        assert out.returncode == 0, out.stderr
        other = start_shop(tmp_path / f"other-{fmt}")
        try:
            outcome, stderr, code = run_import(other, str(path), "--format", fmt)
            assert code == 0, stderr
            # Merchant Center has no field for "digital": those come back as physical products
            # without a weight, refused by name (every other product imports).
            digital = {p["id"] for p in json.loads((Path(__file__).parents[2] / "manifests" / "catalog.json").read_text())["products"]
                       if p["digital"]}
            assert {(r["id"], r["field"]) for r in outcome["rejections"]} == {(id, "/weight_grams") for id in digital}
            for id in ("featherlite-1p-tent", "traverse-65-pack"):
                mine, theirs = product(shop, id), product(other, id)
                assert theirs is not None, id
                assert theirs["price"] == mine["price"] and theirs["inventory"] == mine["inventory"]
                assert sorted(v["id"] for v in theirs.get("variants", [])) == sorted(v["id"] for v in mine.get("variants", []))
        finally:
            other.server.kill()


def test_the_admin_api_imports_a_feed_in_the_body(shop):
    body = (FEEDS / "gmc-products.xml").read_bytes()
    r = requests.post(shop.url("/admin/api/catalog/import"), params={"format": "gmc-xml"}, data=body,
                      headers=shop.admin_auth | {"Content-Type": "application/xml"}, timeout=60)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["accepted"] == 2 and refused(r.json()) == {(3, "price")}
    assert product(shop, "camp-mug-350") is not None
    assert requests.post(shop.url("/admin/api/catalog/import"), params={"format": "gmc-xml"}, data=body, timeout=30).status_code == 401
    assert requests.post(shop.url("/admin/api/catalog/import"), params={"format": "csv"}, data=body,
                         headers=shop.admin_auth, timeout=30).status_code == 400


def test_a_large_catalog_streams_its_acp_feed_and_searches_by_keyset(shop, tmp_path):
    """3,000 generated products (bench/generate_catalog.py): the public ACP feed is written while
    it is read (every product once, each valid), and search pages walk the matches by cursor
    with totals that say whether they are estimates."""
    import subprocess
    import sys

    feed = tmp_path / "generated.jsonl"
    root = Path(__file__).parents[2]
    with feed.open("w") as out:
        subprocess.run([sys.executable, str(root / "bench" / "generate_catalog.py"), "3000"], stdout=out, check=True)
    outcome, stderr, code = run_import(shop, str(feed), "--format", "storefront-jsonl")
    assert code == 0 and outcome["accepted"] == 3000, stderr
    count = shop.admin_ok("GET", "/catalog")["products"]
    with requests.get(shop.url("/feeds/acp/products.jsonl"), stream=True, timeout=60) as r:
        assert r.status_code == 200
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert len(lines) == count and len({p["id"] for p in lines}) == count
    for product in lines[::500]:
        assert problems(FEED, "Product", product) == []
    # A common word: more matches than one ranked window; pages never repeat a product.
    seen, cursor, pages = [], None, 0
    while pages < 12:
        params = {"q": "waterproof", "limit": 50} | ({"cursor": cursor} if cursor else {})
        body = requests.get(shop.url("/catalog"), params=params, timeout=30).json()
        seen += [p["id"] for p in body["products"]]
        pages += 1
        if pages == 1:
            assert body["total"] > 100 and body["facets"]["category"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and len(seen) > 100
    assert all("waterproof" in json.dumps(p).lower() for p in lines if p["id"] in set(seen[:20]))
