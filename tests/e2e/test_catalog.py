"""Evaluating: `GET /catalog` search, filters and cursor pagination; `GET /catalog/{id}`; and
malformed query parameters answered 400 with an error that names the parameter."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from support import assert_json_error


def search(http, base_url, **params):
    r = http.get(base_url + "/catalog", params=params)
    assert r.status_code == 200, (params, r.status_code, r.text[:300])
    body = r.json()
    assert set(body) >= {"products", "total", "next_cursor", "categories"}, body.keys()
    return body


def walk(http, base_url, **params) -> tuple[list[dict], list[int]]:
    """Follows next_cursor to the end; returns every product and each page's total."""
    products, totals, cursor, pages = [], [], None, 0
    while True:
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        page = search(http, base_url, **query)
        products += page["products"]
        totals.append(page["total"])
        cursor = page["next_cursor"]
        pages += 1
        assert pages <= 200, "pagination does not end"
        if cursor is None:
            return products, totals
        assert isinstance(cursor, str) and cursor


# --- shape -------------------------------------------------------------------------------------


def test_catalog_without_parameters_lists_products_with_summaries(http, base_url, catalog_manifest):
    body = search(http, base_url)
    assert body["total"] == len(catalog_manifest["products"])
    assert 0 < len(body["products"]) <= 100
    by_id = {p["id"]: p for p in catalog_manifest["products"]}
    for summary in body["products"]:
        product = by_id[summary["id"]]
        assert summary["name"] == product["name"]
        assert summary["price"] == product["price"]
        assert type(summary["price"]["amount"]) is int
        assert summary["in_stock"] is (product["inventory"] > 0)
        assert summary["url"] == f"{base_url}/products/{product['id']}"
    assert [c["id"] for c in body["categories"]] == [c["id"] for c in catalog_manifest["categories"]]


def test_limit_sets_the_page_size(http, base_url):
    for limit in (1, 7, 100):
        body = search(http, base_url, limit=limit)
        assert len(body["products"]) == min(limit, body["total"])


# --- pagination --------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 5, 7, 20, 46, 47, 100])
def test_cursor_pagination_walks_every_product_exactly_once(http, base_url, catalog_manifest, limit):
    products, totals = walk(http, base_url, limit=limit)
    ids = [p["id"] for p in products]
    assert len(ids) == len(set(ids)), "a product appeared on two pages"
    assert sorted(ids) == sorted(p["id"] for p in catalog_manifest["products"])
    assert set(totals) == {len(catalog_manifest["products"])}


def test_cursor_pagination_of_a_filtered_search_walks_every_match_once(http, base_url, catalog_manifest):
    expected = sorted(p["id"] for p in catalog_manifest["products"]
                      if p["category"] == "apparel" and p["inventory"] > 0)
    products, _ = walk(http, base_url, category="apparel", in_stock="true", limit=2)
    ids = [p["id"] for p in products]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == expected


def test_cursor_pagination_of_a_text_search_keeps_the_ranking_order(http, base_url):
    one_page = [p["id"] for p in search(http, base_url, q="tent", limit=100)["products"]]
    walked, _ = walk(http, base_url, q="tent", limit=2)
    assert [p["id"] for p in walked] == one_page


def test_cursor_from_another_query_is_refused(http, base_url):
    cursor = search(http, base_url, category="tents", limit=2)["next_cursor"]
    assert cursor
    r = http.get(base_url + "/catalog", params={"category": "footwear", "limit": 2, "cursor": cursor})
    assert_json_error(r, 400, param="cursor")


def test_last_page_has_no_next_cursor(http, base_url):
    body = search(http, base_url, limit=100)
    assert body["next_cursor"] is None


# --- search relevance and filters --------------------------------------------------------------


def test_searching_tent_returns_the_tents_first(http, base_url, catalog_manifest):
    tents = {p["id"] for p in catalog_manifest["products"] if p["category"] == "tents"}
    body = search(http, base_url, q="tent", limit=100)
    ids = [p["id"] for p in body["products"]]
    assert tents - {"ultralight-tarp-shelter"} <= set(ids), "a product named '... Tent' is missing"
    top = [p["category"] for p in body["products"][:5]]
    assert top == ["tents"] * 5, top
    assert body["total"] == len(ids)


@pytest.mark.parametrize(
    "q,category,expected_first",
    [
        ("boot", "footwear", None),
        ("stove", "cooking", "micro-canister-stove"),
        ("sleeping bag", "sleeping-bags", None),
        ("compass", "navigation", None),
        ("backpack", "backpacks", None),
    ],
)
def test_search_finds_the_obvious_products_first(http, base_url, q, category, expected_first):
    body = search(http, base_url, q=q)
    assert body["products"], q
    assert body["products"][0]["category"] == category, (q, [p["id"] for p in body["products"]])
    if expected_first:
        assert body["products"][0]["id"] == expected_first


def test_search_matches_every_word_case_insensitively(http, base_url):
    lower = [p["id"] for p in search(http, base_url, q="hiking boot")["products"]]
    upper = [p["id"] for p in search(http, base_url, q="HIKING Boot")["products"]]
    assert lower == upper
    assert "granite-mid-hiking-boot" in lower


def test_search_with_no_match_is_an_empty_page_not_an_error(http, base_url):
    body = search(http, base_url, q="xyzzyplugh")
    assert body["products"] == [] and body["total"] == 0 and body["next_cursor"] is None


@pytest.mark.parametrize("q", ['"', "'", "tent*", "NEAR(", "-tent", "AND", "OR", "a OR b", "tent)", "(",
                               "title:tent", "^tent", "tent NOT boot", "😀", "ü", "%", "\\", "*"])
def test_search_syntax_characters_never_break_the_search(http, base_url, q):
    """Words are words: full-text query syntax in `q` is never a 500."""
    r = http.get(base_url + "/catalog", params={"q": q})
    assert r.status_code in (200, 400), (q, r.status_code, r.text[:300])
    if r.status_code == 400:
        assert_json_error(r, 400, param="q")


@pytest.mark.parametrize("category", ["tents", "sleeping-bags", "backpacks", "footwear", "apparel", "cooking",
                                      "navigation", "digital"])
def test_category_filter_returns_exactly_that_category(http, base_url, catalog_manifest, category):
    expected = sorted(p["id"] for p in catalog_manifest["products"] if p["category"] == category)
    body = search(http, base_url, category=category, limit=100)
    assert sorted(p["id"] for p in body["products"]) == expected
    assert body["total"] == len(expected)


def test_price_range_filter_is_inclusive_and_in_minor_units(http, base_url, catalog_manifest):
    low, high = 5000, 20000
    expected = sorted(p["id"] for p in catalog_manifest["products"] if low <= p["price"]["amount"] <= high)
    body = search(http, base_url, min_price=low, max_price=high, limit=100)
    assert sorted(p["id"] for p in body["products"]) == expected
    exact = catalog_manifest["products"][0]["price"]["amount"]
    ids = [p["id"] for p in search(http, base_url, min_price=exact, max_price=exact, limit=100)["products"]]
    assert catalog_manifest["products"][0]["id"] in ids


def test_in_stock_filter_separates_sold_out_products(http, base_url, catalog_manifest):
    sold_out = sorted(p["id"] for p in catalog_manifest["products"] if p["inventory"] == 0)
    assert "summit-4-season-tent" in sold_out
    only_sold_out = search(http, base_url, in_stock="false", limit=100)
    assert sorted(p["id"] for p in only_sold_out["products"]) == sold_out
    assert all(p["in_stock"] is False for p in only_sold_out["products"])
    in_stock = search(http, base_url, in_stock="true", limit=100)
    assert in_stock["total"] == len(catalog_manifest["products"]) - len(sold_out)
    assert all(p["in_stock"] is True for p in in_stock["products"])


def test_filters_combine_with_text_search(http, base_url, catalog_manifest):
    body = search(http, base_url, q="tent", category="tents", in_stock="true", max_price=50000, limit=100)
    ids = {p["id"] for p in body["products"]}
    assert "summit-4-season-tent" not in ids
    for p in body["products"]:
        assert p["category"] == "tents" and p["in_stock"] and p["price"]["amount"] <= 50000
    assert "ridgeline-2p-tent" in ids


# --- /catalog/{id} -----------------------------------------------------------------------------


def test_catalog_lookup_returns_the_full_product_with_variants(http, base_url, catalog_manifest):
    boot = next(p for p in catalog_manifest["products"] if p["id"] == "granite-mid-hiking-boot")
    r = http.get(base_url + "/catalog/granite-mid-hiking-boot")
    assert r.status_code == 200
    body = r.json()
    assert body["variants"] == boot["variants"]
    assert body["price"] == boot["price"]
    assert body["in_stock"] is True


def test_catalog_lookup_of_a_sold_out_product_says_so(http, base_url):
    body = http.get(base_url + "/catalog/summit-4-season-tent").json()
    assert body["in_stock"] is False
    assert body["inventory"] == 0


def test_catalog_lookup_of_an_unknown_product_is_404_json(http, base_url):
    assert_json_error(http.get(base_url + "/catalog/no-such-product"), 404, code="not_found")


# --- malformed parameters ----------------------------------------------------------------------

BAD_QUERIES = [
    ("foo=1", "foo"),
    ("limit=1&limit=2", "limit"),
    ("q=tent&q=boot", "q"),
    ("limit=0", "limit"),
    ("limit=101", "limit"),
    ("limit=-5", "limit"),
    ("limit=abc", "limit"),
    ("limit=", "limit"),
    ("limit=1.5", "limit"),
    ("limit=1e2", "limit"),
    ("min_price=-1", "min_price"),
    ("min_price=12.50", "min_price"),
    ("max_price=abc", "max_price"),
    ("max_price=99999999999999999999999", "max_price"),
    ("min_price=500&max_price=100", "min_price"),
    ("in_stock=maybe", "in_stock"),
    ("in_stock=", "in_stock"),
    ("category=no-such-category", "category"),
    ("cursor=garbage", "cursor"),
    ("cursor=" + quote("djE6MTA6eHl6"), "cursor"),  # base64url of "v1:10:xyz": well-formed, not ours
    ("q=" + "x" * 201, "q"),
    ("LIMIT=5", "LIMIT"),
    # An encoded NUL must not cut a value short ("5\0junk" is not "5").
    ("limit=5%00junk", "limit"),
    ("category=tents%00junk", "category"),
]


@pytest.mark.parametrize("query,param", BAD_QUERIES, ids=[q[:40] for q, _ in BAD_QUERIES])
def test_malformed_query_parameter_is_400_naming_the_parameter(http, base_url, query, param):
    r = http.get(f"{base_url}/catalog?{query}")
    error = assert_json_error(r, 400, param=param)
    assert param in error["message"], error["message"]


def test_unknown_parameter_error_lists_the_accepted_ones(http, base_url):
    error = http.get(base_url + "/catalog?colour=red").json()["error"]
    for name in ("q", "category", "min_price", "max_price", "in_stock", "limit", "cursor"):
        assert name in error["message"]


def test_unknown_category_error_lists_the_categories(http, base_url, catalog_manifest):
    error = http.get(base_url + "/catalog?category=kayaks").json()["error"]
    for category in catalog_manifest["categories"]:
        assert category["id"] in error["message"]
