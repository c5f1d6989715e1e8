"""HTTP Message Signatures (RFC 9421, Ed25519, Web Bot Auth profile), signed with the
`http-message-signatures` package: accepted when fresh and intact; refused (401 with a code)
when expired, created in the future, replayed, signed with the wrong key, tagged for another
profile, without a nonce, claimed but not actually signed, or when the body no longer matches a
covered Content-Digest."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms

from gateway_process import modern_meta, modern_headers, rpc_request
from shop import GIFT_PRODUCT, GIFT_SKU, ed25519_jwk, restart_shop, sql, start_shop
from support import assert_json_error, rfc7638_thumbprint

TAG = "web-bot-auth"
COVERED = ("@method", "@authority", "@path")
ONE_GIFT_CARD = {"items": [{"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 1}]}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("signatures"))
    yield s
    s.server.kill()


@pytest.fixture(scope="module")
def signer_agent(shop):
    """An agent that registered only a public key (no API key)."""
    private_key = Ed25519PrivateKey.generate()
    agent = shop.register("signer@example.com", public_key=private_key, open_route=True, api_key=False)
    assert agent.key_id == rfc7638_thumbprint(ed25519_jwk(private_key)), agent.registration
    assert agent.api_key is None, "registered with api_key: false, yet an API key was issued"
    return agent


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def signed(method: str, url: str, *, private_key: Ed25519PrivateKey, key_id: str, body=None,
           created: dt.datetime | None = None, expires: dt.datetime | None = None, nonce: str | None = "fresh",
           tag: str | None = TAG, covered=COVERED, headers: dict | None = None, digest: bool = True,
           label: str = "sig1") -> requests.PreparedRequest:
    """A `requests` request signed by http-message-signatures' HTTPMessageSigner (Ed25519)."""
    request = requests.Request(method, url, json=body, headers=headers or {}).prepare()
    created = created or now()
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                               key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}))
    signer.sign(
        request, key_id=key_id, created=created, expires=expires or created + dt.timedelta(minutes=5),
        nonce=secrets.token_urlsafe(18) if nonce == "fresh" else nonce, tag=tag, label=label,
        covered_component_ids=covered, body=request.body if (digest and request.body is not None) else None,
    )
    return request


def send(request: requests.PreparedRequest) -> requests.Response:
    with requests.Session() as s:
        return s.send(request, timeout=10)


def wallet_request(shop, agent, **kwargs) -> requests.PreparedRequest:
    return signed("POST", shop.url("/tools/get_wallet"), private_key=agent.private_key, key_id=agent.key_id, body={}, **kwargs)


def refused(response: requests.Response, code: str) -> dict:
    return assert_json_error(response, 401, code=code, type_="authentication_error")


# --- accepted -------------------------------------------------------------------------------------


def test_a_signed_request_is_accepted_and_identifies_the_agent(shop, signer_agent):
    request = wallet_request(shop, signer_agent)
    # The harness is honest: the package's own verifier accepts what it signed.
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=MappingKeyResolver(
        public_keys={signer_agent.key_id: signer_agent.private_key.public_key()}, private_keys={}))
    verifier.verify(request, expect_tag=TAG, body=request.body)
    assert 'tag="web-bot-auth"' in request.headers["Signature-Input"]
    assert f'keyid="{signer_agent.key_id}"' in request.headers["Signature-Input"]
    r = send(request)
    assert r.status_code == 200, r.text
    assert r.json()["wallet"]["agent_id"] == signer_agent.id


def test_the_packages_default_coverage_with_target_uri_is_accepted(shop, signer_agent):
    request = wallet_request(shop, signer_agent, covered=("@method", "@authority", "@target-uri"))
    r = send(request)
    assert r.status_code == 200, r.text


def test_a_signed_mutating_call_with_a_content_digest_is_accepted(shop, signer_agent):
    shop.fund(signer_agent.id, 10_000)
    create = signed("POST", shop.url("/tools/create_checkout"), private_key=signer_agent.private_key, key_id=signer_agent.key_id,
                    body=ONE_GIFT_CARD, covered=COVERED + ("content-type",), headers={"Idempotency-Key": "sig-create-1"})
    assert "content-digest" in create.headers["Signature-Input"]
    r = send(create)
    assert r.status_code in (200, 201), r.text
    checkout = r.json()["checkout"]
    complete = signed("POST", shop.url("/tools/complete_checkout"), private_key=signer_agent.private_key,
                      key_id=signer_agent.key_id, body={"checkout_id": checkout["id"]}, headers={"Idempotency-Key": "sig-complete-1"})
    r = send(complete)
    assert r.status_code == 200, r.text
    assert r.json()["checkout"]["status"] == "completed"
    assert r.json()["order"]["id"]


def test_a_covered_signature_agent_header_is_accepted(shop, signer_agent):
    request = wallet_request(shop, signer_agent, headers={"Signature-Agent": '"https://signer.example.com"'},
                             covered=COVERED + ("signature-agent",))
    assert send(request).status_code == 200


def test_a_hand_built_rfc9421_signature_is_accepted(shop, signer_agent):
    """Built with `cryptography` alone, byte for byte as RFC 9421 §2.5 and Web Bot Auth describe."""
    body = b"{}"
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    created = int(time.time())
    authority = f"127.0.0.1:{shop.server.port}"
    params = (f'("@method" "@authority" "@path" "content-digest");created={created};expires={created + 60};'
              f'keyid="{signer_agent.key_id}";alg="ed25519";nonce="{secrets.token_hex(16)}";tag="web-bot-auth"')
    base = "\n".join([
        '"@method": POST',
        f'"@authority": {authority}',
        '"@path": /tools/get_wallet',
        f'"content-digest": {digest}',
        f'"@signature-params": {params}',
    ])
    signature = base64.b64encode(signer_agent.private_key.sign(base.encode())).decode()
    r = requests.post(shop.url("/tools/get_wallet"), data=body, timeout=10, headers={
        "Content-Type": "application/json", "Content-Digest": digest,
        "Signature-Input": f"sig1={params}", "Signature": f"sig1=:{signature}:"})
    assert r.status_code == 200, r.text
    assert r.json()["wallet"]["agent_id"] == signer_agent.id


def test_a_signed_mcp_tool_call_is_accepted(shop, signer_agent):
    params = {"name": "get_wallet", "arguments": {}, "_meta": modern_meta()}
    message = rpc_request("tools/call", params)
    request = requests.Request("POST", shop.url("/mcp"), data=json.dumps(message).encode(), headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        **modern_headers("tools/call", params)}).prepare()
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=MappingKeyResolver(
        public_keys={}, private_keys={signer_agent.key_id: signer_agent.private_key})).sign(
        request, key_id=signer_agent.key_id, created=now(), expires=now() + dt.timedelta(minutes=1),
        nonce=secrets.token_urlsafe(16), tag=TAG, label="sig1", covered_component_ids=COVERED, body=request.body)
    r = send(request)
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result.get("isError") is not True, result
    assert result["structuredContent"]["wallet"]["agent_id"] == signer_agent.id


# --- refused --------------------------------------------------------------------------------------


def test_an_expired_signature_is_refused(shop, signer_agent):
    created = now() - dt.timedelta(minutes=10)
    r = send(wallet_request(shop, signer_agent, created=created, expires=created + dt.timedelta(minutes=5)))
    refused(r, "signature_expired")


def test_a_signature_created_in_the_future_is_refused(shop, signer_agent):
    created = now() + dt.timedelta(minutes=5)
    r = send(wallet_request(shop, signer_agent, created=created, expires=created + dt.timedelta(minutes=5)))
    refused(r, "signature_not_yet_valid")


def test_a_replayed_nonce_is_refused(shop, signer_agent):
    request = wallet_request(shop, signer_agent)
    assert send(request).status_code == 200
    refused(send(request), "replayed_nonce")
    # A new signature (new created) that reuses the nonce is a replay too.
    nonce = request.headers["Signature-Input"].split('nonce="')[1].split('"')[0]
    again = wallet_request(shop, signer_agent, created=now() + dt.timedelta(seconds=1), nonce=nonce)
    refused(send(again), "replayed_nonce")


def test_a_nonce_is_required(shop, signer_agent):
    refused(send(wallet_request(shop, signer_agent, nonce=None)), "missing_nonce")


def test_a_signature_by_another_key_under_the_agents_keyid_is_refused(shop, signer_agent):
    impostor = Ed25519PrivateKey.generate()
    request = signed("POST", shop.url("/tools/get_wallet"), private_key=impostor, key_id=signer_agent.key_id, body={})
    refused(send(request), "invalid_signature")


def test_an_unknown_key_is_refused(shop):
    stranger = Ed25519PrivateKey.generate()
    kid = rfc7638_thumbprint(ed25519_jwk(stranger))
    refused(send(signed("POST", shop.url("/tools/get_wallet"), private_key=stranger, key_id=kid, body={})), "unknown_key")


@pytest.mark.parametrize("tag", ["web-bot-auth-v2", "other", None])
def test_a_signature_for_another_profile_is_refused(shop, signer_agent, tag):
    refused(send(wallet_request(shop, signer_agent, tag=tag)), "wrong_signature_tag")


def test_a_signature_must_cover_the_authority(shop, signer_agent):
    refused(send(wallet_request(shop, signer_agent, covered=("@method", "@path"))), "insufficient_coverage")


def test_a_signature_may_not_live_longer_than_a_day(shop, signer_agent):
    created = now()
    r = send(wallet_request(shop, signer_agent, created=created, expires=created + dt.timedelta(hours=25)))
    refused(r, "signature_lifetime_too_long")


def hand_signed_wallet_request(shop, agent, authority: str) -> requests.Response:
    created = int(time.time())
    params = (f'("@method" "@authority" "@path");created={created};expires={created + 60};keyid="{agent.key_id}";'
              f'alg="ed25519";nonce="{secrets.token_hex(16)}";tag="web-bot-auth"')
    base = "\n".join(['"@method": POST', f'"@authority": {authority}', '"@path": /tools/get_wallet',
                      f'"@signature-params": {params}'])
    signature = base64.b64encode(agent.private_key.sign(base.encode())).decode()
    return requests.post(shop.url("/tools/get_wallet"), data=b"{}", timeout=10, headers={
        "Host": authority, "Content-Type": "application/json",
        "Signature-Input": f"sig1={params}", "Signature": f"sig1=:{signature}:"})


def test_a_signature_made_for_another_origin_is_refused(shop, signer_agent):
    """`@authority` binds a signature to the site it was made for (why Web Bot Auth requires it):
    a request the agent signed for evil.example, replayed here with `Host: evil.example`, must not
    act as the agent. The gateway's own authority is accepted."""
    assert hand_signed_wallet_request(shop, signer_agent, f"127.0.0.1:{shop.server.port}").status_code == 200
    r = hand_signed_wallet_request(shop, signer_agent, "evil.example")
    assert r.status_code == 401, f"a signature for @authority evil.example was accepted: {r.status_code} {r.text[:200]}"


def test_a_signature_agent_header_outside_the_signature_is_refused(shop, signer_agent):
    request = wallet_request(shop, signer_agent)
    request.headers["Signature-Agent"] = '"https://evil.example.com"'
    refused(send(request), "insufficient_coverage")


def test_signature_input_without_a_signature_is_refused(shop, signer_agent):
    request = wallet_request(shop, signer_agent)
    del request.headers["Signature"]
    refused(send(request), "missing_signature")


def test_a_claimed_signature_that_does_not_verify_is_refused(shop, signer_agent):
    request = wallet_request(shop, signer_agent)
    request.headers["Signature"] = "sig1=:" + base64.b64encode(b"\x00" * 64).decode() + ":"
    refused(send(request), "invalid_signature")
    other_label = wallet_request(shop, signer_agent)
    other_label.headers["Signature"] = other_label.headers["Signature"].replace("sig1=", "sig2=", 1)
    refused(send(other_label), "missing_signature")


def test_a_signature_for_another_path_is_refused(shop, signer_agent):
    request = wallet_request(shop, signer_agent)
    request.url = shop.url("/tools/list_orders")
    refused(send(request), "invalid_signature")


def test_a_tampered_body_under_a_covered_content_digest_is_refused_and_changes_nothing(shop, signer_agent):
    before = sql(shop.store, f"SELECT COUNT(*) AS n FROM checkouts WHERE agent_id = '{signer_agent.id}'")[0]["n"]
    request = signed("POST", shop.url("/tools/create_checkout"), private_key=signer_agent.private_key,
                     key_id=signer_agent.key_id, body=ONE_GIFT_CARD)
    tampered_body = json.dumps({"items": [{"product_id": GIFT_PRODUCT, "variant_id": GIFT_SKU, "quantity": 40}]}).encode()
    # 1. new body, old digest: the digest no longer matches the body.
    swapped = request.copy()
    swapped.body = tampered_body
    swapped.headers["Content-Length"] = str(len(tampered_body))
    refused(send(swapped), "content_digest_mismatch")
    # 2. new body and a matching new digest: the signature no longer covers the digest sent.
    redigested = request.copy()
    redigested.body = tampered_body
    redigested.headers["Content-Length"] = str(len(tampered_body))
    redigested.headers["Content-Digest"] = "sha-256=:" + base64.b64encode(hashlib.sha256(tampered_body).digest()).decode() + ":"
    refused(send(redigested), "invalid_signature")
    after = sql(shop.store, f"SELECT COUNT(*) AS n FROM checkouts WHERE agent_id = '{signer_agent.id}'")[0]["n"]
    assert after == before


def test_a_revoked_agents_signatures_are_refused_on_the_next_request(shop):
    private_key = Ed25519PrivateKey.generate()
    agent = shop.register("revoked-signer@example.com", public_key=private_key)
    assert send(wallet_request(shop, agent)).status_code == 200
    shop.admin_ok("POST", f"/agents/{agent.id}/revoke")
    r = send(wallet_request(shop, agent))
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] in ("unknown_key", "agent_revoked", "revoked"), r.text


def test_refused_signatures_are_401_with_a_www_authenticate_challenge(shop, signer_agent):
    created = now() - dt.timedelta(minutes=10)
    r = send(wallet_request(shop, signer_agent, created=created, expires=created + dt.timedelta(minutes=5)))
    assert r.status_code == 401
    assert "Signature" in r.headers.get("WWW-Authenticate", ""), r.headers


def test_a_nonce_stays_used_across_a_restart(binary, tmp_path):
    own = start_shop(tmp_path)
    try:
        private_key = Ed25519PrivateKey.generate()
        agent = own.register(public_key=private_key, api_key=False)
        request = wallet_request(own, agent)
        assert send(request).status_code == 200
        own.server.stop()
        own = restart_shop(own)
        refused(send(request), "replayed_nonce")
    finally:
        own.server.kill()
