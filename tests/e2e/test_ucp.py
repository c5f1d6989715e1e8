"""UCP (dev.ucp.shopping), the business side, judged by UCP's own schemas (copied with their
licence into fixtures/ucp) and its own examples:

- `/.well-known/ucp` passes `profile.json#/$defs/business_schema`: real services, the checkout
  capability, the wallet as payment handler, the signing key; cacheable, public, no redirect;
- `/checkout-sessions` speaks UCP's checkout: create (201), get, update (PUT), complete with the
  wallet instrument, cancel; every response passes `shopping/checkout.json` (or
  `common/types/error_response.json` for a business error), the status machine included:
  `ready_for_complete` → `completed` with the order, `requires_escalation` with `continue_url`
  above the approval threshold, `canceled`;
- every create and update request among the specification's examples gets a response that passes
  the schema;
- negotiation: a `UCP-Agent` profile that is not https (400), not approved (424), of another
  version (422) or without the checkout capability (business error) is refused; an approved one
  is served;
- idempotency: the same key and body replays; the money moves once.
"""
from __future__ import annotations

import json
import uuid

import pytest
import requests
from shop import GIFT_PRICE, GIFT_PRODUCT, GIFT_SKU, ledger_sum, start_shop
from ucp_schemas import errors, examples

VERSION = "2026-08-25"
PLATFORM = "https://platform.example/.well-known/ucp"
OLD_PLATFORM = "https://old-platform.example/.well-known/ucp"
BARE_PLATFORM = "https://bare-platform.example/.well-known/ucp"


def platform_profile(version: str, capabilities: dict) -> dict:
    return {"ucp": {"version": version, "services": {}, "capabilities": capabilities, "payment_handlers": {}}}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    directory = tmp_path_factory.mktemp("ucp")
    platforms = directory / "platforms.json"
    checkout = {"dev.ucp.shopping.checkout": [{"version": VERSION, "spec": "https://ucp.dev/specification/checkout",
                                              "schema": "https://ucp.dev/schemas/shopping/checkout.json"}]}
    platforms.write_text(json.dumps({
        PLATFORM: platform_profile(VERSION, checkout),
        OLD_PLATFORM: platform_profile("2025-01-01", {}),
        BARE_PLATFORM: platform_profile(VERSION, {}),
    }))
    s = start_shop(directory, extra=("--ucp-platforms", str(platforms)))
    yield s
    s.server.kill()


def headers(agent=None, key: str | None = None, platform: str | None = PLATFORM) -> dict:
    out = {"Request-Id": str(uuid.uuid4()), "Idempotency-Key": key or str(uuid.uuid4())}
    if platform:
        out["UCP-Agent"] = f'profile="{platform}"'
    if agent:
        out.update(agent.auth)
    return out


def gift_lines(quantity: int) -> list:
    return [{"item": {"id": GIFT_SKU}, "quantity": quantity}]


WALLET = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet", "selected": True}]}}


def assert_checkout(r: requests.Response, status: int = 200) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:800])
    body = r.json()
    problems = errors("shopping/checkout.json", body, "response", "read")
    assert not problems, problems
    assert body["ucp"]["version"] == VERSION
    return body


def assert_business_error(r: requests.Response, code: str) -> dict:
    assert r.status_code == 200, (r.status_code, r.text[:800])
    body = r.json()
    assert not errors("common/types/error_response.json", body), errors("common/types/error_response.json", body)
    assert body["ucp"]["status"] == "error"
    assert body["messages"][0]["code"] == code, body
    return body


def test_the_profile_passes_the_business_schema_and_is_served_as_the_spec_requires(shop):
    r = requests.get(shop.url("/.well-known/ucp"), allow_redirects=False, timeout=10)
    assert r.status_code == 200
    profile = r.json()
    assert not errors("profile.json#/$defs/business_schema", profile), errors("profile.json#/$defs/business_schema", profile)
    cache = r.headers["Cache-Control"]
    assert "public" in cache and "no-store" not in cache and "private" not in cache
    assert int(cache.split("max-age=")[1].split(",")[0]) >= 60
    assert r.headers.get("ETag")
    ucp = profile["ucp"]
    rest = ucp["services"]["dev.ucp.shopping"][0]
    assert rest["transport"] == "rest" and rest["endpoint"] == shop.base_url
    assert sorted(ucp["capabilities"]) == ["dev.ucp.common.identity_linking", "dev.ucp.shopping.cart",
                                           "dev.ucp.shopping.catalog.lookup", "dev.ucp.shopping.catalog.search",
                                           "dev.ucp.shopping.checkout", "dev.ucp.shopping.order"]
    assert ucp["payment_handlers"]["dev.storefront.wallet"][0]["id"] == "wallet"
    jwks = requests.get(shop.url("/.well-known/jwks.json"), timeout=10).json()["keys"]
    assert profile["keys"][0]["kid"] in {k["kid"] for k in jwks}


def test_identity_linking_is_declared_as_its_own_schema_says_and_served_by_the_oauth_server(shop):
    """UCP identity linking: the capability's entry passes identity_linking.json's business schema
    (the generic profile schema does not check `config`); each scope it lists is one the gateway's
    authorization server grants; the server's metadata carries what identity linking requires."""
    [entry] = requests.get(shop.url("/.well-known/ucp"), timeout=10).json()["ucp"]["capabilities"]["dev.ucp.common.identity_linking"]
    ref = "common/identity_linking.json#/$defs/dev.ucp.common.identity_linking/business_schema"
    assert not errors(ref, entry), errors(ref, entry)
    scopes = set(entry["config"]["scopes"])
    assert {"dev.ucp.shopping.order:read", "dev.ucp.shopping.checkout:manage"} <= scopes
    meta = requests.get(shop.url("/.well-known/oauth-authorization-server"), timeout=10).json()
    assert scopes <= set(meta["scopes_supported"])
    assert meta["code_challenge_methods_supported"] == ["S256"] and meta["authorization_response_iss_parameter_supported"] is True
    assert meta["revocation_endpoint"] and meta["token_endpoint_auth_methods_supported"]
    assert requests.get(shop.url("/.well-known/oauth-protected-resource"), timeout=10).json()["authorization_servers"] == [meta["issuer"]]
    # a call without the buyer's identity: 401 whose realm is the issuer and that names the metadata
    r = requests.post(shop.url("/checkout-sessions"), json={"line_items": gift_lines(1)}, timeout=10)
    assert r.status_code == 401, r.text
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{meta["issuer"]}"'), challenge
    assert f'resource_metadata="{shop.base_url}/.well-known/oauth-protected-resource"' in challenge


def test_a_purchase_through_ucp_checkout_from_create_to_completed(shop):
    agent = shop.buyer(funds=100_000)
    created = assert_checkout(requests.post(shop.url("/checkout-sessions"), json={"line_items": gift_lines(2)},
                                            headers=headers(agent), timeout=10), 201)
    assert created["status"] == "ready_for_complete"
    assert created["line_items"][0]["item"] == {"id": GIFT_SKU, "title": created["line_items"][0]["item"]["title"], "price": GIFT_PRICE}
    totals = {t["type"]: t["amount"] for t in created["totals"]}
    assert totals["subtotal"] == 2 * GIFT_PRICE and totals["total"] == sum(v for k, v in totals.items() if k != "total")
    assert created["continue_url"] if "continue_url" in created else True
    got = assert_checkout(requests.get(shop.url(f"/checkout-sessions/{created['id']}"), headers=headers(agent), timeout=10))
    assert got["id"] == created["id"] and got["status"] == "ready_for_complete"
    updated = assert_checkout(requests.put(shop.url(f"/checkout-sessions/{created['id']}"), json={"line_items": gift_lines(3)},
                                           headers=headers(agent), timeout=10))
    assert {t["type"]: t["amount"] for t in updated["totals"]}["total"] == 3 * GIFT_PRICE
    key = str(uuid.uuid4())
    done = assert_checkout(requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"), json=WALLET,
                                         headers=headers(agent, key), timeout=10))
    assert done["status"] == "completed"
    assert done["order"]["id"].startswith("ord_") and done["order"]["permalink_url"].endswith(done["order"]["id"])
    again = assert_checkout(requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"), json=WALLET,
                                          headers=headers(agent, key), timeout=10))
    assert again["order"]["id"] == done["order"]["id"]
    assert ledger_sum(shop.store, agent.id) == 100_000 - 3 * GIFT_PRICE
    order = requests.get(done["order"]["permalink_url"], headers=agent.auth, timeout=10)
    assert order.status_code == 200 and order.json()["id"] == done["order"]["id"]
    assert not errors("shopping/order.json", order.json(), "response", "read")


def test_above_the_approval_threshold_the_checkout_requires_escalation_with_a_continue_url(shop):
    agent = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE)
    created = assert_checkout(requests.post(shop.url("/checkout-sessions"), json={"line_items": gift_lines(2)},
                                            headers=headers(agent), timeout=10), 201)
    waiting = assert_checkout(requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"), json=WALLET,
                                            headers=headers(agent), timeout=10))
    assert waiting["status"] == "requires_escalation"
    assert waiting["continue_url"].startswith(shop.base_url)
    assert any(m["severity"] == "requires_buyer_review" for m in waiting["messages"])
    canceled = assert_checkout(requests.post(shop.url(f"/checkout-sessions/{created['id']}/cancel"), json={},
                                             headers=headers(agent), timeout=10))
    assert canceled["status"] == "canceled"
    assert ledger_sum(shop.store, agent.id) == 100_000


def test_a_refused_payment_is_a_business_error_in_ucp_shape(shop):
    agent = shop.buyer(funds=GIFT_PRICE - 1)
    created = assert_checkout(requests.post(shop.url("/checkout-sessions"), json={"line_items": gift_lines(1)},
                                            headers=headers(agent), timeout=10), 201)
    r = requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"), json=WALLET, headers=headers(agent), timeout=10)
    assert_business_error(r, "insufficient_funds")
    r = requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"),
                      json={"payment": {"instruments": [{"id": "pi", "handler_id": "card_tokenizer", "type": "card"}]}},
                      headers=headers(agent), timeout=10)
    assert r.status_code == 400 and "wallet" in r.json()["content"], r.text
    assert ledger_sum(shop.store, agent.id) == GIFT_PRICE - 1


def test_transport_errors_are_code_and_content(shop):
    r = requests.post(shop.url("/checkout-sessions"), json={"line_items": gift_lines(1)}, headers=headers(), timeout=10)
    assert r.status_code == 401 and set(r.json()) == {"code", "content"}, r.text
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    agent = shop.buyer(funds=0)
    r = requests.get(shop.url("/checkout-sessions/chk_nope"), headers=headers(agent), timeout=10)
    assert r.status_code == 404 and set(r.json()) == {"code", "content"}, r.text
    r = requests.post(shop.url("/checkout-sessions"), json={"line_items": []}, headers=headers(agent), timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    r = requests.post(shop.url("/checkout-sessions"), data=b"{", headers=headers(agent), timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"


@pytest.mark.parametrize("platform,status,code", [
    ("http://platform.example/.well-known/ucp", 400, "invalid_profile_url"),
    ("https://stranger.example/.well-known/ucp", 424, "profile_unreachable"),
    (OLD_PLATFORM, 422, "version_unsupported"),
])
def test_negotiation_refuses_a_platform_it_cannot_serve(shop, platform, status, code):
    agent = shop.buyer(funds=100_000)
    r = requests.post(shop.url("/checkout-sessions"), json={"line_items": gift_lines(1)}, headers=headers(agent, platform=platform),
                      timeout=10)
    assert r.status_code == status and r.json()["code"] == code, r.text


def test_a_platform_without_the_checkout_capability_gets_capabilities_incompatible(shop):
    agent = shop.buyer(funds=100_000)
    r = requests.post(shop.url("/checkout-sessions"), json={"line_items": gift_lines(1)},
                      headers=headers(agent, platform=BARE_PLATFORM), timeout=10)
    body = assert_business_error(r, "capabilities_incompatible")
    assert body["messages"][0]["severity"] == "unrecoverable"


CREATE_EXAMPLES = examples("shopping/checkout", "request", "create")
UPDATE_EXAMPLES = examples("shopping/checkout", "request", "update")


def test_the_copied_examples_are_there():
    assert len(CREATE_EXAMPLES) >= 5 and UPDATE_EXAMPLES


@pytest.mark.parametrize("source,body", CREATE_EXAMPLES, ids=[s for s, _ in CREATE_EXAMPLES])
def test_every_create_example_of_the_spec_gets_a_response_that_passes_the_schema(shop, source, body):
    assert not errors("shopping/checkout.json", body, "request", "create"), source
    agent = shop.buyer(funds=100_000)
    r = requests.post(shop.url("/checkout-sessions"), json=body, headers=headers(agent), timeout=10)
    if r.status_code == 201:
        assert_checkout(r, 201)
    else:
        # The examples' items (sku_123, …) are not this store's: the business says so.
        body = assert_business_error(r, "item_unavailable")
        assert body["messages"][0]["severity"] == "requires_buyer_input"


@pytest.mark.parametrize("source,body", UPDATE_EXAMPLES, ids=[s for s, _ in UPDATE_EXAMPLES])
def test_every_update_example_with_this_stores_items_passes(shop, source, body):
    agent = shop.buyer(funds=100_000)
    created = assert_checkout(requests.post(shop.url("/checkout-sessions"), json={"line_items": gift_lines(1)},
                                            headers=headers(agent), timeout=10), 201)
    body = json.loads(json.dumps(body))
    for line in body.get("line_items", []):
        line["item"]["id"] = GIFT_SKU
    assert_checkout(requests.put(shop.url(f"/checkout-sessions/{created['id']}"), json=body, headers=headers(agent), timeout=10))


@pytest.mark.parametrize("source,body", examples("shopping/checkout", "response"), ids=lambda v: v if isinstance(v, str) else "")
def test_the_schema_harness_accepts_the_specs_own_responses(source, body):
    assert not errors("shopping/checkout.json", body, "response", "read"), source


def test_the_schema_harness_rejects_a_broken_checkout():
    body = examples("shopping/checkout", "response")[0][1]
    broken = json.loads(json.dumps(body))
    broken["totals"] = [t for t in broken["totals"] if t["type"] != "subtotal"]
    assert errors("shopping/checkout.json", broken, "response", "read")


# --- catalog and cart ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"query": "tent"},
    {"query": "stove", "pagination": {"limit": 1}},
    {"filters": {"categories": ["footwear"], "price": {"min": 10000, "max": 30000}}},
    {},
])
def test_catalog_search_answers_in_ucps_shape(shop, body, catalog_manifest):
    assert not errors("shopping/catalog_search.json#/$defs/search_request", body, "request", "search")
    r = requests.post(shop.url("/catalog/search"), json=body, timeout=10)
    assert r.status_code == 200, r.text
    found = r.json()
    assert not errors("shopping/catalog_search.json#/$defs/search_response", found, "response", "search"), \
        errors("shopping/catalog_search.json#/$defs/search_response", found, "response", "search")
    assert found["ucp"]["capabilities"] == {"dev.ucp.shopping.catalog.search": [{"version": VERSION}]}
    assert found["products"], body
    if "pagination" in body:
        assert len(found["products"]) == 1 and found["pagination"]["has_next_page"] is True
        nxt = requests.post(shop.url("/catalog/search"), json=body | {"pagination": {"limit": 1, "cursor": found["pagination"]["cursor"]}},
                            timeout=10).json()
        assert nxt["products"][0]["id"] != found["products"][0]["id"]
    if "filters" in body:
        for product in found["products"]:
            assert product["categories"][0]["value"] == "footwear"
            assert all(10000 <= v["price"]["amount"] <= 30000 for v in product["variants"])


def test_catalog_lookup_names_what_found_each_variant(shop):
    ids = ["ridgeline-2p-tent-sage", "headlamp-400", "nope", "granite-mid-hiking-boot"]
    r = requests.post(shop.url("/catalog/lookup"), json={"ids": ids}, timeout=10)
    found = r.json()
    assert not errors("shopping/catalog_lookup.json#/$defs/lookup_response", found, "response", "lookup"), \
        errors("shopping/catalog_lookup.json#/$defs/lookup_response", found, "response", "lookup")
    by_id = {p["id"]: p for p in found["products"]}
    assert [v["id"] for v in by_id["ridgeline-2p-tent"]["variants"]] == ["ridgeline-2p-tent-sage"]
    assert by_id["ridgeline-2p-tent"]["variants"][0]["inputs"] == [{"id": "ridgeline-2p-tent-sage", "match": "exact"}]
    assert len(by_id["granite-mid-hiking-boot"]["variants"]) > 1
    assert all(v["inputs"][0]["match"] == "featured" for v in by_id["granite-mid-hiking-boot"]["variants"])
    assert found["messages"] == [{"type": "info", "code": "not_found", "content": "nope"}]
    assert requests.post(shop.url("/catalog/lookup"), json={"ids": []}, timeout=10).status_code == 400
    assert requests.post(shop.url("/catalog/lookup"), json={"ids": ["x"] * 101}, timeout=10).json()["code"] == "request_too_large"


def test_a_cart_in_ucps_shape_becomes_a_checkout(shop):
    agent = shop.buyer(funds=100_000)
    created = requests.post(shop.url("/carts"), json={"line_items": gift_lines(2)}, headers=headers(agent), timeout=10)
    assert created.status_code == 201, created.text
    cart = created.json()
    assert not errors("shopping/cart.json", cart, "response", "read"), errors("shopping/cart.json", cart, "response", "read")
    assert cart["ucp"]["capabilities"] == {"dev.ucp.shopping.cart": [{"version": VERSION}]}
    updated = requests.put(shop.url(f"/carts/{cart['id']}"), json={"line_items": gift_lines(3)}, headers=headers(agent), timeout=10).json()
    assert not errors("shopping/cart.json", updated, "response", "read")
    assert {t["type"]: t["amount"] for t in updated["totals"]}["total"] == 3 * GIFT_PRICE
    got = requests.get(shop.url(f"/carts/{cart['id']}"), headers=headers(agent), timeout=10).json()
    assert got["line_items"][0]["quantity"] == 3
    checkout = assert_checkout(requests.post(shop.url("/checkout-sessions"), json={"cart_id": cart["id"], "line_items": []},
                                             headers=headers(agent), timeout=10), 201)
    assert checkout["line_items"][0]["quantity"] == 3
    missing = requests.get(shop.url("/carts/cart_nope"), headers=headers(agent), timeout=10)
    assert_business_error(missing, "not_found")
    other = requests.post(shop.url("/carts"), json={"line_items": gift_lines(1)}, headers=headers(agent), timeout=10).json()
    canceled = requests.post(shop.url(f"/carts/{other['id']}/cancel"), json={}, headers=headers(agent), timeout=10).json()
    assert not errors("shopping/cart.json", canceled, "response", "read")
    assert canceled["messages"][0]["code"] == "canceled"


def test_a_429_is_in_ucps_and_acps_error_shapes_with_retry_after(binary, tmp_path):
    import json as _json
    from test_acp import CHECKOUT as ACP_CHECKOUT, valid as acp_valid

    limited = start_shop(tmp_path / "limited", extra=("--rate-limit", "checkout=1/1m,burst=1"))
    try:
        agent = limited.buyer(funds=100_000)
        body = {"line_items": gift_lines(1)}
        first = requests.post(limited.url("/checkout-sessions"), json=body, headers=headers(agent, platform=None), timeout=10)
        assert first.status_code == 201, first.text
        second = requests.post(limited.url("/checkout-sessions"), json=body, headers=headers(agent, platform=None), timeout=10)
        assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 1
        assert set(second.json()) == {"code", "content"} and second.json()["code"] == "rate_limited", second.text
        acp = requests.post(limited.url("/checkout_sessions"), data=_json.dumps({"line_items": [{"id": GIFT_SKU}], "currency": "usd",
                                                                                  "capabilities": {}}),
                            headers={**agent.auth, "API-Version": "2026-04-17", "Idempotency-Key": str(uuid.uuid4()),
                                     "Content-Type": "application/json"}, timeout=10)
        assert acp.status_code == 429 and "Retry-After" in acp.headers
        acp_valid(ACP_CHECKOUT, "Error", acp.json())
    finally:
        limited.server.kill()
