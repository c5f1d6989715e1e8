"""Finding: every product page is HTML with schema.org `Product` JSON-LD that crawlers and agents
can read: present, parseable, `@type` Product, with `offers` carrying price and currency that
agree with the catalog (integer minor units in the manifest, a decimal string on the page)."""

from __future__ import annotations

import json
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from support import MANIFESTS, json_ld_blocks

PRODUCTS = json.loads((MANIFESTS / "catalog.json").read_text())["products"]
MINOR_UNIT_DIGITS = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "JPY": 0}


def product_ld(http, base_url, product_id) -> tuple[dict, str]:
    r = http.get(f"{base_url}/products/{product_id}", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    blocks = json_ld_blocks(r.text)
    products = [b for b in blocks if isinstance(b, dict) and b.get("@type") == "Product"]
    assert len(products) == 1, f"{product_id}: expected one Product JSON-LD block, found {blocks}"
    return products[0], r.text


def offers_of(ld: dict) -> list[dict]:
    offers = ld["offers"]
    if isinstance(offers, dict) and offers.get("@type") == "AggregateOffer":
        offers = offers.get("offers", [offers])
    return offers if isinstance(offers, list) else [offers]


def to_minor_units(price, currency: str) -> int:
    value = Decimal(str(price))
    return int(value * (10 ** MINOR_UNIT_DIGITS.get(currency, 2)))


@pytest.mark.parametrize("product", PRODUCTS, ids=[p["id"] for p in PRODUCTS])
def test_product_page_has_parseable_product_json_ld_with_offers(http, base_url, product):
    ld, _ = product_ld(http, base_url, product["id"])
    assert ld["@context"] in ("https://schema.org", "http://schema.org", "https://schema.org/")
    assert ld["name"] == product["name"]
    offers = offers_of(ld)
    assert offers, product["id"]
    for offer in offers:
        assert offer["@type"] == "Offer"
        assert offer["priceCurrency"] == product["price"]["currency"]
        Decimal(str(offer["price"]))  # a number or a decimal string, never "$349.00"
        assert str(offer["price"]).replace(".", "", 1).isdigit(), offer["price"]
        assert offer["availability"] in ("https://schema.org/InStock", "https://schema.org/OutOfStock",
                                         "http://schema.org/InStock", "http://schema.org/OutOfStock")


@pytest.mark.parametrize("product", PRODUCTS, ids=[p["id"] for p in PRODUCTS])
def test_json_ld_prices_and_availability_agree_with_the_catalog(http, base_url, product):
    ld, _ = product_ld(http, base_url, product["id"])
    offers = offers_of(ld)
    if product.get("variants"):
        by_sku = {o.get("sku"): o for o in offers}
        for variant in product["variants"]:
            offer = by_sku.get(variant["id"])
            assert offer is not None, f"no offer for variant {variant['id']}"
            price = variant.get("price", product["price"])
            assert to_minor_units(offer["price"], offer["priceCurrency"]) == price["amount"]
            assert offer["availability"].endswith("InStock" if variant["inventory"] > 0 else "OutOfStock")
    else:
        (offer,) = offers
        assert to_minor_units(offer["price"], offer["priceCurrency"]) == product["price"]["amount"]
        assert offer["availability"].endswith("InStock" if product["inventory"] > 0 else "OutOfStock")


def test_sold_out_tent_is_out_of_stock_in_json_ld_and_on_the_page(http, base_url):
    ld, html = product_ld(http, base_url, "summit-4-season-tent")
    assert all(o["availability"].endswith("OutOfStock") for o in offers_of(ld))
    assert "Sold out" in html or "sold out" in html.lower()


def test_product_with_variants_offers_each_variant(http, base_url):
    ld, _ = product_ld(http, base_url, "granite-mid-hiking-boot")
    boot = next(p for p in PRODUCTS if p["id"] == "granite-mid-hiking-boot")
    assert len(offers_of(ld)) == len(boot["variants"]) > 1


def test_json_ld_urls_point_at_this_server(http, base_url):
    ld, _ = product_ld(http, base_url, "ridgeline-2p-tent")
    assert ld["url"] == f"{base_url}/products/ridgeline-2p-tent"
    for offer in offers_of(ld):
        assert offer["url"].startswith(base_url)


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__()
        self.title = ""
        self.h1 = ""
        self.canonical = None
        self._tag = None

    def handle_starttag(self, tag, attrs):
        self._tag = tag
        a = dict(attrs)
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href")

    def handle_endtag(self, tag):
        self._tag = None

    def handle_data(self, data):
        if self._tag == "title":
            self.title += data
        elif self._tag == "h1":
            self.h1 += data


def test_product_page_is_a_real_html_page_for_people_too(http, base_url):
    _, html = product_ld(http, base_url, "ridgeline-2p-tent")
    page = _Visible()
    page.feed(html)
    assert "Ridgeline 2P Backpacking Tent" in page.title
    assert page.h1.strip() == "Ridgeline 2P Backpacking Tent"
    assert page.canonical == f"{base_url}/products/ridgeline-2p-tent"
    assert "$349.00" in html


def test_product_page_answers_json_to_an_agent_that_asks_for_json(http, base_url):
    r = http.get(base_url + "/products/ridgeline-2p-tent", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["id"] == "ridgeline-2p-tent"


def test_product_page_varies_on_accept(http, base_url):
    r = http.get(base_url + "/products/ridgeline-2p-tent", headers={"Accept": "text/html"})
    assert "Accept" in r.headers.get("Vary", "")


def test_json_ld_cannot_be_broken_out_of_by_product_text(http, base_url):
    """The JSON-LD block is script-safe: no raw `</script` inside it."""
    for product in PRODUCTS:
        html = http.get(f"{base_url}/products/{product['id']}", headers={"Accept": "text/html"}).text
        start = html.index('<script type="application/ld+json">')
        end = html.index("</script>", start)
        assert "<" not in html[start + len('<script type="application/ld+json">'):end]
