"""UCP platform profiles the merchant did not list (issue 15): the business fetches the profile at
the URL the platform's `UCP-Agent` names, as UCP's negotiation says — https only (loopback http
here, with the test switch), no redirects, bounded, cached for its max-age — and negotiates with
it; a profile that cannot be fetched is `profile_unreachable` (424), one that is not a UCP profile
`profile_malformed` (422). An order the platform's signed request made is sent to its webhook.

Without the test switch a loopback profile is never fetched; with `--ucp-listed-platforms-only`
nothing is fetched at all.
"""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from documents import DocumentServer
from receiver import receiver  # noqa: F401 (the fixture)
from shop import GIFT_SKU, start_shop
from test_ucp_platform import PLATFORM_KID, platform_jwk, signed_post

VERSION = "2026-08-25"


@pytest.fixture(scope="module")
def platforms():
    server = DocumentServer()
    yield server
    server.close()


def profile(webhook: str | None = None, version: str = VERSION) -> dict:
    capability = lambda name: {"version": VERSION, "spec": f"https://ucp.dev/{VERSION}/specification/shopping/{name}",  # noqa: E731
                               "schema": f"https://ucp.dev/{VERSION}/schemas/shopping/{name}.json"}
    order = capability("order") | ({"config": {"webhook_url": webhook}} if webhook else {})
    return {"keys": [platform_jwk()], "ucp": {"version": version, "services": {}, "payment_handlers": {}, "capabilities": {
        "dev.ucp.shopping.checkout": [capability("checkout")], "dev.ucp.shopping.order": [order]}}}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("ucp-discovery"), extra=("--allow-private-fetches", "--webhook-retry-base", "0.2"))
    yield s
    s.server.kill()


def create(shop, agent, profile_url: str) -> requests.Response:
    return requests.post(shop.url("/checkout-sessions"), json={"line_items": [{"item": {"id": GIFT_SKU}, "quantity": 1}]},
                         headers={**agent.auth, "UCP-Agent": f'profile="{profile_url}"', "Idempotency-Key": str(uuid.uuid4()),
                                  "Request-Id": str(uuid.uuid4())}, timeout=15)


def test_an_unlisted_platforms_profile_is_fetched_once_and_negotiated(shop, platforms):
    url = platforms.publish("/a/profile.json", profile(), headers={"Cache-Control": "max-age=600"})
    agent = shop.buyer(funds=100_000)
    before = platforms.count("/a/profile.json")
    for _ in range(3):
        r = create(shop, agent, url)
        assert r.status_code == 201, r.text
        assert r.json()["ucp"]["version"] == VERSION
    assert platforms.count("/a/profile.json") - before == 1


@pytest.mark.parametrize("case, status, code", [
    ("missing", 424, "profile_unreachable"),
    ("redirect", 424, "profile_unreachable"),
    ("not a profile", 422, "profile_malformed"),
    ("too big", 424, "profile_unreachable"),
    ("other version", 422, "version_unsupported"),
])
def test_a_profile_that_cannot_be_used_is_refused_as_ucp_says(shop, platforms, case, status, code):
    path = "/bad/" + case.replace(" ", "-") + ".json"
    if case == "redirect":
        platforms.publish(path, b"", status=302, headers={"Location": platforms.base + "/a/profile.json"})
    elif case == "not a profile":
        platforms.publish(path, {"name": "not ucp"})
    elif case == "too big":
        platforms.publish(path, {**profile(), "padding": "x" * 300_000})
    elif case == "other version":
        platforms.publish(path, profile(version="2025-01-01"))
    r = create(shop, shop.buyer(funds=0), platforms.base + path)
    assert r.status_code == status, (case, r.status_code, r.text)
    assert r.json()["code"] == code, r.text


def test_a_signed_request_of_a_fetched_platform_sends_it_the_order(shop, platforms, receiver):
    url = platforms.publish("/b/profile.json", profile(webhook=receiver.url))
    agent = shop.buyer(funds=100_000)
    headers = {**agent.auth, "UCP-Agent": f'profile="{url}"', "Idempotency-Key": str(uuid.uuid4()), "Request-Id": str(uuid.uuid4())}
    created = signed_post(shop.url("/checkout-sessions"), {"line_items": [{"item": {"id": GIFT_SKU}, "quantity": 1}]}, headers)
    assert created.status_code == 201, created.text
    done = requests.post(shop.url(f"/checkout-sessions/{created.json()['id']}/complete"),
                         json={"payment": {"instruments": [{"id": "pi_1", "handler_id": "wallet", "type": "wallet"}]}},
                         headers={**headers, "Idempotency-Key": str(uuid.uuid4())}, timeout=15)
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    delivery = receiver.wait_for(1)[-1]
    assert json.loads(delivery["body"])["id"] == done.json()["order"]["id"]
    assert "keyid=" in delivery["headers"]["Signature-Input"]


def test_without_the_test_switch_a_loopback_profile_is_not_fetched(binary, tmp_path_factory, platforms):
    url = platforms.publish("/c/profile.json", profile())
    strict = start_shop(tmp_path_factory.mktemp("ucp-discovery-strict"))
    listed = start_shop(tmp_path_factory.mktemp("ucp-discovery-listed"), extra=("--ucp-listed-platforms-only", "--allow-private-fetches"))
    try:
        before = platforms.count("/c/profile.json")
        r = create(strict, strict.buyer(funds=0), url)
        assert r.status_code == 400 and r.json()["code"] == "invalid_profile_url" and "https" in r.json()["content"], r.text
        https_loopback = url.replace("http://", "https://")
        r = create(strict, strict.buyer(funds=0), https_loopback)
        assert r.status_code == 424 and r.json()["code"] == "profile_unreachable", r.text
        assert "private, loopback or link-local" in r.json()["content"], r.text
        r = create(listed, listed.buyer(funds=0), url)
        assert r.status_code == 424 and "approved" in r.json()["content"], r.text
        assert platforms.count("/c/profile.json") == before
    finally:
        strict.server.kill()
        listed.server.kill()
