"""A buying journey written as a UCP platform would write it, against the real gateway:

profile discovery (`/.well-known/ucp`, validated with UCP's schema) → negotiation (`UCP-Agent`
naming a platform the merchant approved, whose profile declares an order webhook) → checkout in
UCP's shapes → `requires_escalation`, approved by the principal in Chromium on the `continue_url`
page → the order (`GET /orders/{id}`, validated with `order.json`) → the order webhook the
business sends the platform, verified as UCP's signatures.md says: `Content-Digest` over the body,
an RFC 9421 signature (checked with the `http-message-signatures` package) by a key found in the
business profile's `keys` by `kid` (ES256, UCP's baseline) → a fulfillment event the merchant records (admin API and CLI)
→ another webhook and the order showing the event and the fulfilled lines → a refund as an
adjustment.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid

import pytest
import requests
from requests.structures import CaseInsensitiveDict
from cryptography.hazmat.primitives.asymmetric import ec
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from chromium import browser  # noqa: F401 (the fixture)
from receiver import Receiver, receiver  # noqa: F401 (the fixture; Receiver names its type)
from shop import GIFT_PRICE, GIFT_SKU, cli_json, confirmation_link, start_shop
from support import b64url_decode, b64url_encode
from ucp_schemas import errors

VERSION = "2026-08-25"
PLATFORM = "https://agents.platform.example/.well-known/ucp"
# The platform's signing key: its public half is in its (approved) profile; it signs its requests.
PLATFORM_KEY = ec.generate_private_key(ec.SECP256R1())
PLATFORM_KID = "platform-es256-1"


def platform_jwk() -> dict:
    numbers = PLATFORM_KEY.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")), "kid": PLATFORM_KID, "alg": "ES256", "use": "sig"}


def signed_post(url: str, body: dict, headers: dict) -> requests.Response:
    """A request the platform signs as UCP's signatures.md says (RFC 9421, ES256, Content-Digest)."""
    data = json.dumps(body).encode()
    # (the package computes the Content-Digest it covers from the body it is given)
    request = requests.Request("POST", url, data=data, headers={**headers, "Content-Type": "application/json"}).prepare()
    HTTPMessageSigner(signature_algorithm=algorithms.ECDSA_P256_SHA256,
                      key_resolver=MappingKeyResolver(private_keys={PLATFORM_KID: PLATFORM_KEY}, public_keys={})).sign(
        request, key_id=PLATFORM_KID, label="sig1", body=data,
        covered_component_ids=("@method", "@authority", "@path", "content-digest", "content-type", "ucp-agent"))
    with requests.Session() as session:
        return session.send(request, timeout=10)


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory, receiver):
    directory = tmp_path_factory.mktemp("ucp-platform")
    capability = lambda name: {"version": VERSION, "spec": f"https://ucp.dev/{VERSION}/specification/shopping/{name}",  # noqa: E731
                               "schema": f"https://ucp.dev/{VERSION}/schemas/shopping/{name}.json"}
    profile = {"keys": [platform_jwk()], "ucp": {"version": VERSION, "services": {}, "payment_handlers": {}, "capabilities": {
        "dev.ucp.shopping.checkout": [capability("checkout")],
        "dev.ucp.shopping.order": [capability("order") | {"config": {"webhook_url": receiver.url}}],
    }}}
    assert not errors("shopping/order.json#/$defs/platform_schema", profile["ucp"]["capabilities"]["dev.ucp.shopping.order"][0]["config"])
    platforms = directory / "platforms.json"
    platforms.write_text(json.dumps({PLATFORM: profile}))
    s = start_shop(directory, extra=("--ucp-platforms", str(platforms), "--webhook-retry-base", "0.2"))
    yield s
    s.server.kill()


def platform_headers(agent) -> dict:
    return {**agent.auth, "UCP-Agent": f'profile="{PLATFORM}"', "Idempotency-Key": str(uuid.uuid4()),
            "Request-Id": str(uuid.uuid4())}


def verify_webhook(delivery: dict, business_profile: dict, receiver: Receiver) -> dict:
    """What a platform does with a delivery before it trusts it; returns the order."""
    headers, body = delivery["headers"], delivery["body"]
    # Content-Digest: SHA-256 of the raw body (RFC 9530).
    assert headers["Content-Digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    assert headers["UCP-Agent"] == f'profile="{business_profile["_url"]}"'
    assert headers["Webhook-Id"] and int(headers["Webhook-Timestamp"]) > 0
    # The key: the business profile's keys[], by kid.
    kid = re.search(r'keyid="([^"]+)"', headers["Signature-Input"]).group(1)
    jwk = next(k for k in business_profile["keys"] if k["kid"] == kid)
    # ES256, UCP's baseline: every verifier supports it.
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256", jwk
    public_key = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url_decode(jwk["x"]), "big"),
                                               int.from_bytes(b64url_decode(jwk["y"]), "big"), ec.SECP256R1()).public_key()
    message = requests.Request("POST", receiver.url, headers=headers, data=body).prepare()
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ECDSA_P256_SHA256,
                                   key_resolver=MappingKeyResolver(public_keys={kid: public_key}, private_keys={}))
    results = verifier.verify(message)
    covered = {str(component).split(";")[0].strip('"') for component in results[0].covered_components}
    assert {"@method", "@authority", "@path", "content-digest", "content-type", "ucp-agent", "webhook-id"} <= covered, covered
    # A tampered body is refused by the digest; a tampered header by the signature.
    forged = CaseInsensitiveDict(headers)
    forged["Webhook-Id"] = "other"
    with pytest.raises(Exception):
        verifier.verify(requests.Request("POST", receiver.url, headers=forged, data=body).prepare())
    order = json.loads(body)
    problems = errors("shopping/order.json", order, "response", "read")
    assert not problems, problems
    return order


def test_a_ucp_platform_buys_gets_the_order_and_hears_of_its_fulfillment(shop, receiver, browser):
    # Discovery: the business profile, as the platform validates it.
    r = requests.get(shop.url("/.well-known/ucp"), allow_redirects=False, timeout=10)
    business = r.json()
    assert not errors("profile.json#/$defs/business_schema", business)
    business["_url"] = shop.url("/.well-known/ucp")
    assert {"dev.ucp.shopping.checkout", "dev.ucp.shopping.order"} <= set(business["ucp"]["capabilities"])
    rest = business["ucp"]["services"]["dev.ucp.shopping"][0]["endpoint"]

    # Search (the store's catalog), then a checkout through the negotiated platform.
    found = requests.post(rest + "/catalog/search", json={"query": "gift card"}, timeout=10).json()
    assert any(p["id"] == "gift-card" for p in found["products"])
    agent = shop.buyer(funds=100_000, approval_threshold=GIFT_PRICE)
    created = signed_post(rest + "/checkout-sessions", {"line_items": [{"item": {"id": GIFT_SKU}, "quantity": 2}]},
                          platform_headers(agent))
    assert created.status_code == 201, created.text
    checkout = created.json()
    assert not errors("shopping/checkout.json", checkout, "response", "read")
    wallet = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}}
    waiting = requests.post(rest + f"/checkout-sessions/{checkout['id']}/complete", json=wallet, headers=platform_headers(agent),
                            timeout=10).json()
    assert waiting["status"] == "requires_escalation"

    # The principal approves in a browser, on the continue_url page and the link it sends.
    browser.get(waiting["continue_url"])
    browser.find_element(By.ID, "send-link").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.ID, "sent"))
    link, _ = confirmation_link(shop, checkout["id"])
    browser.get(link)
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.ID, "result"))

    done = requests.get(rest + f"/checkout-sessions/{checkout['id']}", headers=platform_headers(agent), timeout=10).json()
    assert done["status"] == "completed"
    order_id = done["order"]["id"]

    # The order webhook: signed by the business, the whole order.
    first = verify_webhook(receiver.wait_for(1)[0], business, receiver)
    assert first["id"] == order_id and first["checkout_id"] == checkout["id"]
    assert [line["status"] for line in first["line_items"]] == ["processing"]

    # The order as the platform reads it.
    order = requests.get(done["order"]["permalink_url"], headers=platform_headers(agent), timeout=10)
    assert order.status_code == 200, order.text
    assert not errors("shopping/order.json", order.json(), "response", "read")
    assert order.json()["fulfillment"]["events"] == []

    # The merchant ships: a fulfillment event, and the platform hears of it.
    shipped = shop.admin_ok("POST", f"/orders/{order_id}/fulfillment",
                            {"type": "shipped", "tracking_number": "1Z999", "carrier": "UPS",
                             "tracking_url": "https://ups.example/1Z999"})
    assert shipped["fulfillment_event"]["type"] == "shipped"
    second = verify_webhook(receiver.wait_for(2)[1], business, receiver)
    assert second["fulfillment"]["events"][0]["tracking_number"] == "1Z999"
    assert [line["status"] for line in second["line_items"]] == ["fulfilled"]
    assert second["line_items"][0]["quantity"] == {"total": 2, "fulfilled": 2}

    # Delivered, recorded from the CLI: a third delivery, the events in order.
    cli_json("orders", "fulfill", order_id, "--type", "delivered", store=shop.store)
    third = verify_webhook(receiver.wait_for(3)[2], business, receiver)
    assert [e["type"] for e in third["fulfillment"]["events"]] == ["shipped", "delivered"]

    # A refund is an adjustment.
    r = shop.call(agent, "request_refund", {"order_id": order_id, "amount": 1000, "reason": "late"}, key=str(uuid.uuid4()))
    assert r.status_code == 200, r.text
    fourth = verify_webhook(receiver.wait_for(4)[3], business, receiver)
    assert fourth["adjustments"][0]["type"] == "refund"
    assert fourth["adjustments"][0]["totals"] == [{"type": "total", "amount": -1000}]


def test_only_the_agent_that_bought_reads_the_order(shop):
    owner = shop.buyer(funds=100_000)
    created = requests.post(shop.url("/checkout-sessions"), json={"line_items": [{"item": {"id": GIFT_SKU}, "quantity": 1}]},
                            headers=platform_headers(owner), timeout=10).json()
    wallet = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}}
    done = requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"), json=wallet, headers=platform_headers(owner),
                         timeout=10).json()
    url = done["order"]["permalink_url"]
    stranger = shop.buyer(funds=0)
    r = requests.get(url, headers=platform_headers(stranger), timeout=10)
    assert r.status_code == 200 and r.json()["messages"][0]["code"] == "not_found"
    assert not errors("common/types/error_response.json", r.json())
    assert requests.get(url, timeout=10).status_code == 401


@pytest.mark.parametrize("body,code", [
    ({"type": "teleported"}, "unknown_fulfillment_type"),
    ({"type": "shipped", "line_items": [{"id": "li_9", "quantity": 1}]}, "unknown_line_item"),
    ({"type": "shipped", "line_items": [{"id": "li_1", "quantity": 99}]}, "invalid_quantity"),
    ({"type": "shipped", "carrier": "x" * 501}, "field_too_long"),
])
def test_a_fulfillment_event_the_order_cannot_have_is_refused(shop, body, code):
    agent = shop.buyer(funds=100_000)
    r = shop.call(agent, "create_checkout", {"items": [{"product_id": "gift-card", "variant_id": GIFT_SKU, "quantity": 1}]},
                  key=str(uuid.uuid4()))
    paid = shop.complete(agent, r.json()["checkout"]["id"]).json()
    r = shop.admin("POST", f"/orders/{paid['order']['id']}/fulfillment", body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text
    assert shop.admin("POST", "/orders/ord_nope/fulfillment", {"type": "shipped"}).status_code == 404


def test_a_checkout_the_platform_did_not_sign_is_not_sent_to_it(shop, receiver):
    """Anyone can write a UCP-Agent header: orders go to a platform only when it signed the request
    that made the checkout with a key of its profile."""
    agent = shop.buyer(funds=100_000)
    before = len(receiver.deliveries)
    created = requests.post(shop.url("/checkout-sessions"), json={"line_items": [{"item": {"id": GIFT_SKU}, "quantity": 1}]},
                            headers=platform_headers(agent), timeout=10).json()
    wallet = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}}
    done = requests.post(shop.url(f"/checkout-sessions/{created['id']}/complete"), json=wallet, headers=platform_headers(agent),
                         timeout=10).json()
    assert done["status"] == "completed"
    # A signed one, made after it, is delivered: once it arrives, the unsigned one would have too.
    signed = signed_post(shop.url("/checkout-sessions"), {"line_items": [{"item": {"id": GIFT_SKU}, "quantity": 1}]},
                         platform_headers(agent)).json()
    paid = requests.post(shop.url(f"/checkout-sessions/{signed['id']}/complete"), json=wallet, headers=platform_headers(agent),
                         timeout=10).json()
    delivered = receiver.wait_for(before + 1)
    time.sleep(1.0)
    ids = [json.loads(d["body"])["id"] for d in delivered[before:]]
    assert paid["order"]["id"] in ids and done["order"]["id"] not in ids, ids
