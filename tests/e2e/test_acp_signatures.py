"""ACP request signatures (issue 15). ACP leaves the algorithm to be published out of band; the
store publishes its own in `/agents` and checks it for platforms onboarded with `request_signing`
in `--acp-platforms`: `Signature` = base64url of HMAC-SHA256 (the shared secret), Ed25519 or ES256
over `Timestamp \\n METHOD \\n path \\n canonical JSON body`, `Timestamp` within 5 minutes, each
signature accepted once. Signed here with Python's `hmac` and `cryptography`, not the store's code.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives import hashes

from shop import GIFT_SKU, ed25519_jwk, restart_shop, start_shop
from support import b64url_encode, run_cli

VERSION = "2026-04-17"
SECRET = "whsec_acp_signing_e2e_0123456789"
ED_KEY = Ed25519PrivateKey.generate()
EC_KEY = ec.generate_private_key(ec.SECP256R1())
BODY = {"line_items": [{"id": GIFT_SKU}], "currency": "usd", "capabilities": {}}


def ec_jwk() -> dict:
    n = EC_KEY.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url_encode(n.x.to_bytes(32, "big")), "y": b64url_encode(n.y.to_bytes(32, "big"))}


@pytest.fixture(scope="module")
def world(binary, tmp_path_factory):
    directory = tmp_path_factory.mktemp("acp-signatures")
    s = start_shop(directory)
    agents = {name: s.register(operator=name) for name in ("hmac", "ed25519", "es256", "unsigned")}
    s.server.kill()
    platforms = {
        agents["hmac"].id: {"webhook_url": "https://hmac.example/hooks", "secret": SECRET, "request_signing": {"alg": "hmac-sha256"}},
        agents["ed25519"].id: {"webhook_url": "https://ed.example/hooks", "secret": SECRET,
                               "request_signing": {"alg": "ed25519", "public_key": ed25519_jwk(ED_KEY)}},
        agents["es256"].id: {"webhook_url": "https://ec.example/hooks", "secret": SECRET,
                             "request_signing": {"alg": "es256", "public_key": ec_jwk()}},
    }
    (directory / "acp.json").write_text(json.dumps(platforms))
    s.extra = ("--acp-platforms", str(directory / "acp.json"))
    s = restart_shop(s)
    yield s, agents
    s.server.kill()


def now(offset: int = 0) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def canonical(body) -> bytes:
    # RFC 8785 for these bodies (strings and integers): sorted keys, no whitespace, UTF-8.
    return b"" if body is None else json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(alg: str, timestamp: str, method: str, path: str, body, key: str = "") -> str:
    message = f"{timestamp}\n{method}\n{path}\n{key}\n".encode() + canonical(body)
    if alg == "hmac":
        raw = hmac.new(SECRET.encode(), message, hashlib.sha256).digest()
    elif alg == "ed25519":
        raw = ED_KEY.sign(message)
    else:
        r, s = decode_dss_signature(EC_KEY.sign(message, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def send(shop, agent, method: str, path: str, body=None, *, alg: str | None = None, timestamp: str | None = None,
         signature: str | None = None, signed_body="same", key: str | None = None) -> requests.Response:
    timestamp = timestamp or now()
    headers = {**agent.auth, "API-Version": VERSION, "Content-Type": "application/json", "Timestamp": timestamp}
    if method == "POST":
        headers["Idempotency-Key"] = key or str(uuid.uuid4())
    if alg:
        headers["Signature"] = signature or sign(alg, timestamp, method, path, body if signed_body == "same" else signed_body,
                                                 headers.get("Idempotency-Key", ""))
    data = None if body is None else json.dumps(body)
    return requests.request(method, shop.url(path), data=data, headers=headers, timeout=10)


@pytest.mark.parametrize("alg", ["hmac", "ed25519", "es256"])
def test_a_signed_platforms_requests_verify_and_unsigned_ones_are_refused(world, alg):
    shop, agents = world
    agent = agents[alg]
    r = send(shop, agent, "POST", "/checkout_sessions", BODY, alg=alg)
    assert r.status_code == 201, r.text
    session = r.json()["id"]
    assert send(shop, agent, "GET", f"/checkout_sessions/{session}", alg=alg).status_code == 200
    for refused in (
        send(shop, agent, "POST", "/checkout_sessions", BODY),  # no signature
        send(shop, agent, "POST", "/checkout_sessions", BODY, alg=alg, signed_body={**BODY, "currency": "eur"}),  # another body
        send(shop, agent, "POST", "/checkout_sessions", BODY, alg=alg, timestamp=now(-600)),  # too old
        send(shop, agent, "GET", f"/checkout_sessions/{session}", alg=alg,
             signature=sign(alg, now(), "GET", "/checkout_sessions/other", None)),  # another path
    ):
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "invalid_signature", refused.text


def test_a_captured_signature_is_not_accepted_twice(world):
    shop, agents = world
    timestamp, key = now(), str(uuid.uuid4())
    signature = sign("hmac", timestamp, "POST", "/checkout_sessions", BODY, key)
    first = send(shop, agents["hmac"], "POST", "/checkout_sessions", BODY, alg="hmac", timestamp=timestamp, signature=signature, key=key)
    assert first.status_code == 201, first.text
    again = send(shop, agents["hmac"], "POST", "/checkout_sessions", BODY, alg="hmac", timestamp=timestamp, signature=signature, key=key)
    assert again.status_code == 401 and "already used" in again.json()["message"], again.text
    # the key is signed: the same signature under another key does not verify
    other = send(shop, agents["hmac"], "POST", "/checkout_sessions", BODY, alg="hmac", timestamp=timestamp, signature=signature)
    assert other.status_code == 401 and "does not verify" in other.json()["message"], other.text


def test_another_key_does_not_verify_and_agents_not_onboarded_sign_nothing(world):
    shop, agents = world
    r = send(shop, agents["ed25519"], "POST", "/checkout_sessions", BODY, alg="hmac")  # the HMAC secret is not its key
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert send(shop, agents["unsigned"], "POST", "/checkout_sessions", BODY).status_code == 201


def test_the_algorithm_is_published_out_of_band_in_agents(world):
    shop, _ = world
    methods = requests.get(shop.url("/agents"), timeout=10).json()["authentication"]["methods"]
    published = next(m for m in methods if m["type"] == "acp_request_signature")
    assert set(published["algorithms"]) == {"hmac-sha256", "ed25519", "es256"} and "canonical JSON" in published["signed_content"]


def test_a_platform_file_with_an_unusable_request_signing_is_refused(binary, tmp_path):
    bad = tmp_path / "acp.json"
    bad.write_text(json.dumps({"agt_x": {"webhook_url": "https://p.example/h", "secret": SECRET,
                                         "request_signing": {"alg": "ed25519"}}}))
    r = run_cli("serve", "--store", str(tmp_path / "s.db"), "--port", "0", "--acp-platforms", str(bad), timeout=30)
    assert r.returncode != 0 and "request_signing" in (r.stdout + r.stderr), (r.returncode, r.stdout, r.stderr)
