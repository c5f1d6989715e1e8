"""The REST mirror of the action registry: `GET /tools`, `POST /tools/{name}` for every action,
errors in the project's JSON
shape with the right status, and `get_quote` arithmetic checked against the manifests (volume
discounts from pricing.json, subscription plans with trials, graduated usage tiers).

The expected quote amounts are computed here, independently, from manifests/*.json.
"""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from gateway_process import modern_result, walk_tool_pages
from support import MANIFESTS, SESSION_MAX_BODY, assert_json_error

# The read-only actions of issue 3; the registry may hold more (transacting actions of later issues).
ACTIONS = ["search_catalog", "lookup_catalog", "get_product", "get_pricing", "get_policies",
           "compare_products", "get_quote"]

VALID = {
    "search_catalog": {"query": "sleeping bag", "limit": 5},
    "lookup_catalog": {"ids": ["insulated-air-pad-long-wide", "closed-cell-foam-pad"]},
    "get_product": {"id": "daybreak-28-daypack"},
    "get_pricing": {"product_id": "gift-card"},
    "get_policies": {"topic": "refunds"},
    "compare_products": {"ids": ["gps-handheld-66", "satellite-messenger"]},
    "get_quote": {"items": [{"product_id": "gift-card", "variant_id": "gift-card-50", "quantity": 2}]},
}

PRICING = json.loads((MANIFESTS / "pricing.json").read_text())
CATALOG = json.loads((MANIFESTS / "catalog.json").read_text())
PRODUCTS = {p["id"]: p for p in CATALOG["products"]}


@pytest.fixture(scope="module")
def tools(http, base_url) -> dict:
    r = http.get(base_url + "/tools")
    assert r.status_code == 200
    return {tool["name"]: tool for tool in r.json()["tools"]}


def post(http, base_url, path, body=None, **kwargs):
    """POST `body` as JSON; with no body (and no `data=`), an empty request body."""
    if body is None:
        return http.post(base_url + path, **kwargs)
    return http.post(base_url + path, json=body, **kwargs)


def validate_output(tools, name, body) -> None:
    validator = Draft202012Validator(tools[name]["output_schema"], format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, (name, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]])


# --- GET /tools ---------------------------------------------------------------------------------


def test_tools_lists_every_action_with_schemas_and_annotations(tools):
    assert set(ACTIONS) <= set(tools)
    for name, tool in tools.items():
        Draft202012Validator.check_schema(tool["input_schema"])
        Draft202012Validator.check_schema(tool["output_schema"])
        assert tool["description"] and tool["title"], name
        assert "common.schema.json" not in json.dumps(tool), f"{name}: schemas must be bundled"
    for name in ACTIONS:
        assert tools[name]["annotations"]["readOnlyHint"] is True, name
        assert tools[name]["annotations"]["destructiveHint"] is False, name
        assert tools[name]["scope"] is None, f"{name} is public"


def test_tools_schemas_are_the_files_under_schemas_actions(tools):
    for name, tool in tools.items():
        source = json.loads((MANIFESTS.parent / "schemas" / "actions" / f"{name}.input.schema.json").read_text())
        assert set(tool["input_schema"].get("properties", {})) == set(source.get("properties", {})), name
        assert tool["input_schema"].get("required", []) == source.get("required", []), name


def test_rest_listing_and_mcp_tools_list_describe_each_action_identically(tools, base_url):
    pages = walk_tool_pages(lambda cursor: modern_result(base_url + "/mcp", "tools/list",
                                                         {"cursor": cursor} if cursor else {}))
    mcp_tools = [tool for page in pages for tool in page]
    assert sorted(t["name"] for t in mcp_tools) == sorted(tools)
    for tool in mcp_tools:
        rest = tools[tool["name"]]
        assert tool["inputSchema"] == rest["input_schema"], tool["name"]
        assert tool["outputSchema"] == rest["output_schema"], tool["name"]
        assert tool["description"] == rest["description"], tool["name"]


def test_a2a_card_skills_name_every_action(tools, http, base_url):
    a2a = http.get(base_url + "/.well-known/agent-card.json").json()
    skills = {skill["id"] for skill in a2a.get("skills", [])}
    assert set(tools) <= skills, skills


# --- happy paths ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_answers_200_with_a_body_matching_its_output_schema(http, base_url, tools, name):
    r = post(http, base_url, f"/tools/{name}", VALID[name])
    assert r.status_code == 200, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("application/json")
    validate_output(tools, name, r.json())


@pytest.mark.parametrize("name", ["search_catalog", "get_pricing", "get_policies"])
def test_empty_body_means_empty_arguments(http, base_url, tools, name):
    empty = post(http, base_url, f"/tools/{name}")
    explicit = post(http, base_url, f"/tools/{name}", {})
    assert empty.status_code == explicit.status_code == 200, (empty.text[:300], explicit.text[:300])
    assert empty.json() == explicit.json()
    validate_output(tools, name, empty.json())


def test_get_product_accepts_a_variant_id(http, base_url):
    r = post(http, base_url, "/tools/get_product", {"id": "stormline-rain-jacket-m-navy"})
    assert r.status_code == 200
    assert r.json()["product"]["id"] == "stormline-rain-jacket"


def test_get_product_takes_product_id_like_checkout_and_still_accepts_id(http, base_url):
    by_new = post(http, base_url, "/tools/get_product", {"product_id": "micro-canister-stove"})
    by_old = post(http, base_url, "/tools/get_product", {"id": "micro-canister-stove"})
    assert by_new.status_code == by_old.status_code == 200, (by_new.text, by_old.text)
    assert by_new.json()["product"] == by_old.json()["product"]
    assert_json_error(post(http, base_url, "/tools/get_product", {}), 400, code="missing_argument", param="/product_id")
    assert_json_error(post(http, base_url, "/tools/get_product", {"product_id": "nope"}), 404, param="/product_id")
    both = post(http, base_url, "/tools/get_product", {"product_id": "micro-canister-stove", "id": "micro-canister-stove"})
    assert both.status_code == 400


def test_lookup_catalog_returns_found_products_and_names_the_missing(http, base_url):
    r = post(http, base_url, "/tools/lookup_catalog", {"ids": ["wool-beanie", "nope", "headlamp-400-orange"]})
    assert r.status_code == 200
    body = r.json()
    assert "wool-beanie" in [p["id"] for p in body["products"]]
    assert body["not_found"] == ["nope"]


def test_search_catalog_pages_with_next_cursor(http, base_url):
    seen, cursor = [], None
    while True:
        args = {"category": "apparel", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = post(http, base_url, "/tools/search_catalog", args).json()
        seen += [p["id"] for p in body["products"]]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    expected = [p["id"] for p in CATALOG["products"] if p["category"] == "apparel"]
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))


def test_get_policies_topic_returns_that_policy(http, base_url):
    body = post(http, base_url, "/tools/get_policies", {"topic": "shipping"}).json()
    assert "shipping" in json.dumps(body)


def test_compare_products_returns_each_product(http, base_url):
    ids = ["ridgeline-2p-tent", "featherlite-1p-tent", "basecamp-6p-family-tent"]
    body = post(http, base_url, "/tools/compare_products", {"ids": ids}).json()
    assert ids[0] in json.dumps(body) and ids[2] in json.dumps(body)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,body,pointer", [
    ("search_catalog", {"limit": 0}, "/limit"),
    ("search_catalog", {"limit": 5.5}, "/limit"),
    ("search_catalog", {"category": "Tents"}, "/category"),
    ("search_catalog", {"query": "x" * 201}, "/query"),
    ("search_catalog", {"colour": "red"}, "/colour"),
    ("lookup_catalog", {"ids": []}, "/ids"),
    ("lookup_catalog", {"ids": ["a"] * 2}, "/ids"),
    ("get_product", {"id": 5}, "/id"),
    ("get_pricing", {"product_id": None}, "/product_id"),
    ("get_policies", {"topic": "weather"}, "/topic"),
    ("compare_products", {"ids": ["only-one"]}, "/ids"),
    ("get_quote", {"items": [{"product_id": "headlamp-400", "quantity": 1, "colour": "red"}]}, "/items/0/colour"),
    ("get_quote", {"plans": [{"plan_id": "trail-maps-pro-monthly", "quantity": 0}]}, "/plans/0/quantity"),
    ("get_quote", {"usage": [{"price_id": "route-planner-requests"}]}, "/usage/0"),
])
def test_invalid_arguments_are_400_naming_the_json_pointer(http, base_url, name, body, pointer):
    error = assert_json_error(post(http, base_url, f"/tools/{name}", body), 400, code="invalid_arguments",
                              param=pointer)
    assert any(d["pointer"] == pointer and d["keyword"] for d in error["details"]), error


@pytest.mark.parametrize("body", ["[]", "null", '"text"', "42"])
def test_arguments_that_are_not_an_object_are_400_at_the_root(http, base_url, body):
    r = post(http, base_url, "/tools/search_catalog", data=body, headers={"Content-Type": "application/json"})
    assert_json_error(r, 400, code="invalid_arguments", param="")


def test_missing_required_argument_is_400(http, base_url):
    error = assert_json_error(post(http, base_url, "/tools/compare_products", {}), 400, code="invalid_arguments")
    assert "ids" in error["message"]


def test_quote_needs_items_plans_or_usage(http, base_url):
    assert_json_error(post(http, base_url, "/tools/get_quote", {}), 400, code="invalid_arguments")


@pytest.mark.parametrize("body", [b'{"limit":', b"{limit: 1}", b'{"limit": 1,}', b"\xff"])
def test_malformed_json_labelled_json_is_400(http, base_url, body):
    r = post(http, base_url, "/tools/search_catalog", data=body, headers={"Content-Type": "application/json"})
    assert_json_error(r, 400)


@pytest.mark.parametrize("content_type,body", [
    ("text/plain", b"hello"),
    ("application/x-www-form-urlencoded", b"limit=1"),
    ("application/xml", b"<limit>1</limit>"),
    ("multipart/form-data; boundary=x", b"--x\r\n\r\n1\r\n--x--"),
])
def test_non_json_body_labelled_non_json_is_415(http, base_url, content_type, body):
    r = post(http, base_url, "/tools/search_catalog", data=body, headers={"Content-Type": content_type})
    assert_json_error(r, 415)


@pytest.mark.parametrize("name", ["nope", "delete_catalog", "SEARCH_CATALOG", "search_catalog2"])
def test_unknown_action_is_404(http, base_url, name):
    assert_json_error(post(http, base_url, f"/tools/{name}", {}), 404)


@pytest.mark.parametrize("name,body", [
    ("get_product", {"id": "no-such-product"}),
    ("get_pricing", {"product_id": "no-such-product"}),
    ("compare_products", {"ids": ["headlamp-400", "no-such-product"]}),
    ("get_quote", {"items": [{"product_id": "no-such-product", "quantity": 1}]}),
    ("get_quote", {"plans": [{"plan_id": "no-such-plan"}]}),
    ("get_quote", {"usage": [{"price_id": "no-such-price", "quantity": 1}]}),
])
def test_unknown_product_plan_or_price_is_404(http, base_url, name, body):
    error = assert_json_error(post(http, base_url, f"/tools/{name}", body), 404, code="not_found")
    assert "no-such" in error["message"]


@pytest.mark.parametrize("name,body,pointer", [
    ("get_product", {"id": "no-such-product"}, "/id"),
    ("get_pricing", {"product_id": "no-such-product"}, "/product_id"),
    ("compare_products", {"ids": ["headlamp-400", "no-such-product"]}, "/ids/1"),
    ("search_catalog", {"category": "no-such-category"}, "/category"),
    ("search_catalog", {"cursor": "not-a-cursor"}, "/cursor"),
    ("search_catalog", {"min_price": 500, "max_price": 100}, "/min_price"),
    ("get_quote", {"items": [{"product_id": "no-such-product", "quantity": 1}]}, "/items/0/product_id"),
    ("get_quote", {"items": [{"product_id": "headlamp-400", "quantity": 1}]}, "/items/0/variant_id"),
])
def test_every_argument_error_names_the_argument_by_json_pointer(http, base_url, name, body, pointer):
    """`param` of a POST /tools/* error is the JSON Pointer into the JSON arguments, whichever
    check failed (schema, lookup or business rule): one convention for agents to parse."""
    r = post(http, base_url, f"/tools/{name}", body)
    assert r.status_code in (400, 404), r.text
    assert r.json()["error"].get("param") == pointer, r.json()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_tools_name_accepts_only_post(http, base_url, method):
    r = http.request(method, base_url + "/tools/search_catalog")
    assert r.status_code == 405, (method, r.status_code)
    assert "POST" in r.headers.get("Allow", "")


def test_body_over_the_limit_is_413(http, base_url):
    body = json.dumps({"ids": ["headlamp-400"]}) + " " * SESSION_MAX_BODY  # the session server's limit
    r = post(http, base_url, "/tools/lookup_catalog", data=body, headers={"Content-Type": "application/json"})
    assert_json_error(r, 413)


# --- get_quote arithmetic, computed from the manifests ------------------------------------------


def bps(amount: int, rate: int) -> int:
    """amount × rate / 10 000, half up (exact for every amount used below)."""
    return (amount * rate + 5000) // 10000


def volume_rate(discount: dict, quantity: int) -> int:
    rate = 0
    for tier in sorted(discount["tiers"], key=lambda t: t["min_quantity"]):
        if quantity >= tier["min_quantity"]:
            rate = tier["discount_bps"]
    return rate


def discount_applies(discount: dict, product: dict) -> bool:
    applies = discount["applies_to"]
    return (applies.get("all") is True or product["id"] in applies.get("products", [])
            or product["category"] in applies.get("categories", []))


def unit_price(product_id: str, variant_id: str | None) -> int:
    product = PRODUCTS[product_id]
    if variant_id:
        variant = next(v for v in product["variants"] if v["id"] == variant_id)
        if "price" in variant:
            return variant["price"]["amount"]
    return product["price"]["amount"]


def expected_lines(items: list[dict]) -> list[dict]:
    """Each discount counts every qualifying unit of the order; a line gets the best rate."""
    rates = [(0, None)] * len(items)
    for discount in PRICING["volume_discounts"]:
        qualifying = sum(i["quantity"] for i in items if discount_applies(discount, PRODUCTS[i["product_id"]]))
        rate = volume_rate(discount, qualifying)
        for n, item in enumerate(items):
            if rate and discount_applies(discount, PRODUCTS[item["product_id"]]) and rate > rates[n][0]:
                rates[n] = (rate, discount["id"])
    lines = []
    for item, (rate, discount_id) in zip(items, rates):
        subtotal = unit_price(item["product_id"], item.get("variant_id")) * item["quantity"]
        lines.append({"subtotal": subtotal, "discount": bps(subtotal, rate), "discount_id": discount_id,
                      "total": subtotal - bps(subtotal, rate)})
    return lines


def expected_usage(price_id: str, quantity: int) -> tuple[list[tuple[int, int | None, int, int]], int]:
    price = next(p for p in PRICING["usage"] if p["id"] == price_id)
    assert price["billing"] == "graduated"
    rows, lower, total = [], 0, 0
    for tier in price["tiers"]:
        upper = tier["up_to"]
        in_tier = max(0, min(quantity, upper if upper is not None else quantity) - lower)
        amount = in_tier * tier["unit_amount"]["amount"]
        rows.append((lower + 1, upper, in_tier, amount))
        total += amount
        if upper is None:
            break
        lower = upper
    return rows, total


def money(amount: int) -> dict:
    return {"amount": amount, "currency": PRICING["currency"]}


def quote(http, base_url, tools, body) -> dict:
    r = post(http, base_url, "/tools/get_quote", body)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    result = r.json()
    validate_output(tools, "get_quote", result)
    return result


def assert_totals_add_up(result: dict) -> None:
    products = sum(line["subtotal"]["amount"] for line in result["line_items"])
    recurring = sum(sub["recurring"]["amount"] for sub in result["subscriptions"])
    usage = sum(u["total"]["amount"] for u in result["usage"])
    discounts = sum(line["discount"]["amount"] for line in result["line_items"])
    assert result["subtotal"] == money(products + recurring + usage)
    assert result["discount_total"] == money(discounts)
    assert result["total"] == money(products + recurring + usage - discounts)
    due = products - discounts + sum(sub["due_today"]["amount"] for sub in result["subscriptions"])
    assert result["due_today"] == money(due), "products plus subscriptions not in a free trial"
    for line in result["line_items"]:
        assert line["unit_price"]["amount"] * line["quantity"] == line["subtotal"]["amount"]
        assert line["subtotal"]["amount"] - line["discount"]["amount"] == line["total"]["amount"]


ITEM_CASES = {
    "one-line-no-discount": [{"product_id": "ridgeline-3p-tent", "quantity": 2}],
    "variant-with-own-price": [{"product_id": "alpine-down-bag-15f", "variant_id": "alpine-down-bag-15f-long",
                                "quantity": 1}],
    "variant-inherits-price": [{"product_id": "alpine-down-bag-15f", "variant_id": "alpine-down-bag-15f-regular",
                                "quantity": 3}],
    "apparel-4-units-below-tier": [{"product_id": "sun-hoodie", "variant_id": "sun-hoodie-m", "quantity": 4}],
    "apparel-5-units-across-two-lines": [
        {"product_id": "sun-hoodie", "variant_id": "sun-hoodie-m", "quantity": 3},
        {"product_id": "wool-beanie", "variant_id": "wool-beanie-charcoal", "quantity": 2}],
    "apparel-and-footwear-10-units": [
        {"product_id": "merino-hiking-socks", "variant_id": "merino-hiking-socks-l", "quantity": 6},
        {"product_id": "grid-fleece-midlayer", "variant_id": "grid-fleece-midlayer-s", "quantity": 4}],
    "apparel-25-units": [
        {"product_id": "merino-hiking-socks", "variant_id": "merino-hiking-socks-m", "quantity": 20},
        {"product_id": "trail-convertible-pants", "variant_id": "trail-convertible-pants-32", "quantity": 5}],
    "troop-4-headlamps": [{"product_id": "headlamp-400", "variant_id": "headlamp-400-orange", "quantity": 4}],
    "troop-12-mixed": [
        {"product_id": "squeeze-water-filter", "quantity": 5},
        {"product_id": "baseplate-compass", "quantity": 4},
        {"product_id": "first-aid-kit-backcountry", "quantity": 3}],
    "mixed-discounted-and-not": [
        {"product_id": "baseplate-compass", "quantity": 4},
        {"product_id": "sierra-topo-map-set", "quantity": 4},
        {"product_id": "sun-hoodie", "variant_id": "sun-hoodie-l", "quantity": 5}],
    "gift-card-variants": [
        {"product_id": "gift-card", "variant_id": "gift-card-25", "quantity": 1},
        {"product_id": "gift-card", "variant_id": "gift-card-100", "quantity": 2}],
}


@pytest.mark.parametrize("items", ITEM_CASES.values(), ids=ITEM_CASES.keys())
def test_quote_line_items_and_volume_discounts_match_the_manifests(http, base_url, tools, items):
    result = quote(http, base_url, tools, {"items": items})
    assert result["currency"] == PRICING["currency"]
    expected = expected_lines(items)
    assert len(result["line_items"]) == len(items)
    for line, item, want in zip(result["line_items"], items, expected):
        assert line["product_id"] == item["product_id"]
        assert line["variant_id"] == item.get("variant_id")
        assert line["quantity"] == item["quantity"]
        assert line["unit_price"] == money(unit_price(item["product_id"], item.get("variant_id")))
        assert line["subtotal"] == money(want["subtotal"]), (item, line)
        assert line["discount"] == money(want["discount"]), (item, line)
        assert line.get("discount_id") == want["discount_id"], (item, line)
        assert line["total"] == money(want["total"])
    assert result["subscriptions"] == [] and result["usage"] == []
    assert_totals_add_up(result)
    assert result["due_today"] == result["total"], "products only: everything is due today"


def test_quote_discount_tiers_are_the_ones_in_pricing_json(http, base_url, tools):
    apparel = next(d for d in PRICING["volume_discounts"] if d["id"] == "group-outfitting-apparel")
    for tier in apparel["tiers"]:
        items = [{"product_id": "wool-beanie", "variant_id": "wool-beanie-pumpkin", "quantity": tier["min_quantity"]}]
        line = quote(http, base_url, tools, {"items": items})["line_items"][0]
        assert line["discount"]["amount"] == bps(line["subtotal"]["amount"], tier["discount_bps"]), tier
        items[0]["quantity"] = tier["min_quantity"] - 1
        below = quote(http, base_url, tools, {"items": items})["line_items"][0]
        assert below["discount"]["amount"] < bps(below["subtotal"]["amount"], tier["discount_bps"]), tier


def test_quote_marks_lines_beyond_the_inventory(http, base_url, tools):
    items = [{"product_id": "merino-hiking-socks", "variant_id": "merino-hiking-socks-xl", "quantity": 20},
             {"product_id": "alpine-mountaineering-boot", "variant_id": "alpine-mountaineering-boot-10", "quantity": 1},
             {"product_id": "merino-hiking-socks", "variant_id": "merino-hiking-socks-s", "quantity": 30}]
    lines = quote(http, base_url, tools, {"items": items})["line_items"]
    assert (lines[0]["in_stock"], lines[0]["available_quantity"]) == (False, 17)
    assert (lines[1]["in_stock"], lines[1]["available_quantity"]) == (False, 0)
    assert (lines[2]["in_stock"], lines[2]["available_quantity"]) == (True, 30)


@pytest.mark.parametrize("plan_id,quantity", [("trail-maps-pro-monthly", 1), ("trail-maps-pro-yearly", 1),
                                              ("trail-maps-family-yearly", 1), ("trail-maps-family-yearly", 3)])
def test_quote_plans_charge_nothing_today_during_a_trial(http, base_url, tools, plan_id, quantity):
    plan = next(p for p in PRICING["plans"] if p["id"] == plan_id)
    result = quote(http, base_url, tools, {"plans": [{"plan_id": plan_id, "quantity": quantity}]})
    [sub] = result["subscriptions"]
    recurring = plan["price"]["amount"] * quantity
    assert sub["plan_id"] == plan_id and sub["quantity"] == quantity
    assert sub["price"] == plan["price"]
    assert (sub["interval"], sub["interval_count"]) == (plan["interval"], plan["interval_count"])
    assert sub["trial_days"] == plan["trial_days"]
    assert sub["recurring"] == money(recurring)
    assert sub["due_today"] == money(0 if plan["trial_days"] > 0 else recurring)
    assert result["due_today"] == sub["due_today"]
    assert_totals_add_up(result)


def test_quote_plan_quantity_defaults_to_one(http, base_url, tools):
    [sub] = quote(http, base_url, tools, {"plans": [{"plan_id": "trail-maps-pro-yearly"}]})["subscriptions"]
    assert sub["quantity"] == 1


def test_free_trial_plans_in_pricing_json_are_the_plans_with_trial_days(http, base_url, tools):
    for plan_id in PRICING["free_trial"]["plan_ids"]:
        [sub] = quote(http, base_url, tools, {"plans": [{"plan_id": plan_id}]})["subscriptions"]
        assert sub["trial_days"] == PRICING["free_trial"]["days"]
        assert sub["due_today"]["amount"] == 0


@pytest.mark.parametrize("quantity", [0, 1, 999, 1000, 1001, 5000, 10000, 10001, 25000, 1_000_000_000])
def test_quote_usage_is_priced_by_graduated_tiers(http, base_url, tools, quantity):
    rows, total = expected_usage("route-planner-requests", quantity)
    result = quote(http, base_url, tools, {"usage": [{"price_id": "route-planner-requests", "quantity": quantity}]})
    [usage] = result["usage"]
    assert usage["quantity"] == quantity
    got = [(t["from"], t["to"], t["quantity"], t["amount"]["amount"]) for t in usage["tiers"]]
    assert got == rows, (quantity, got)
    assert sum(t["quantity"] for t in usage["tiers"]) == quantity
    assert usage["total"] == money(total)
    assert result["due_today"] == money(0), "usage is billed in arrears"
    assert_totals_add_up(result)


def test_quote_of_items_plans_and_usage_together_adds_up(http, base_url, tools):
    items = [{"product_id": "sun-hoodie", "variant_id": "sun-hoodie-m", "quantity": 3},
             {"product_id": "merino-hiking-socks", "variant_id": "merino-hiking-socks-m", "quantity": 2},
             {"product_id": "headlamp-400", "variant_id": "headlamp-400-black", "quantity": 1}]
    body = {"items": items,
            "plans": [{"plan_id": "trail-maps-pro-monthly"}, {"plan_id": "trail-maps-family-yearly", "quantity": 2}],
            "usage": [{"price_id": "route-planner-requests", "quantity": 25000}]}
    result = quote(http, base_url, tools, body)
    lines = expected_lines(items)
    products = sum(line["subtotal"] for line in lines)
    discount = sum(line["discount"] for line in lines)
    assert discount == bps(3 * 5900 + 2 * 2400, 500), "5 apparel/footwear units: 5% on those lines only"
    recurring = 799 + 2 * 9999
    _, usage = expected_usage("route-planner-requests", 25000)
    assert result["subtotal"] == money(products + recurring + usage)
    assert result["discount_total"] == money(discount)
    assert result["total"] == money(products + recurring + usage - discount)
    assert result["due_today"] == money(products - discount + 2 * 9999), "monthly plan in trial; usage in arrears"
    assert_totals_add_up(result)


@pytest.mark.parametrize("items,code,pointer", [
    ([{"product_id": "headlamp-400", "quantity": 1}], "variant_required", "/items/0/variant_id"),
    ([{"product_id": "wool-beanie", "variant_id": "headlamp-400-black", "quantity": 1}], "unknown_variant",
     "/items/0/variant_id"),
    ([{"product_id": "ridgeline-3p-tent", "quantity": 1},
      {"product_id": "trail-maps-pro", "quantity": 1}], "priced_by_subscription", "/items/1/product_id"),
    ([{"product_id": "route-planner-api", "quantity": 1}], "priced_by_usage", "/items/0/product_id"),
])
def test_quote_items_that_cannot_be_priced_that_way_are_400(http, base_url, items, code, pointer):
    assert_json_error(post(http, base_url, "/tools/get_quote", {"items": items}), 400, code=code, param=pointer)
