"""Web Bot Auth key directories (issue 16): a signed agent that is not registered here names its
operator's origin in `Signature-Agent`; the gateway fetches that origin's
`/.well-known/http-message-signatures-directory` and verifies the RFC 9421 signature (made here
by `http-message-signatures`, a client we did not write) with the directory's key.

- verified, the agent browses and analytics files it under its operator (not its User-Agent);
  buying still needs registration or OAuth;
- the directory rotates its key: the old key's signatures then fail;
- both `Signature-Agent` forms (the quoted string, and the working group's dictionary member
  covered as `"signature-agent";key="sig1"`); Visa TAP's `agent-browser-auth` tag with its
  8-minute bound and single-use nonce;
- a directory that redirects, is too big, is not a key set, or is on a loopback address without
  the test switch is not used; a directory is fetched once while it is fresh.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from documents import DocumentServer
from shop import ed25519_jwk, start_shop
from support import assert_json_error, rfc7638_thumbprint

DIRECTORY = "/.well-known/http-message-signatures-directory"
MEDIA_TYPE = "application/http-message-signatures-directory+json"


@pytest.fixture(scope="module")
def operator():
    """An agent operator's origin on loopback: its key directory, as each test publishes it."""
    server = DocumentServer()
    yield server
    server.close()


def publish(operator: DocumentServer, keys: list[dict], *, max_age: int = 1, status: int = 200, headers: dict | None = None,
            body: bytes | None = None) -> None:
    operator.publish(DIRECTORY, body or {"keys": keys}, status=status, content_type=MEDIA_TYPE,
                     headers={"Cache-Control": f"max-age={max_age}", **(headers or {})})


def jwk_of(key: Ed25519PrivateKey, **extra) -> dict:
    return {**ed25519_jwk(key), "kid": rfc7638_thumbprint(ed25519_jwk(key)), **extra}


@pytest.fixture
def directory(operator):
    """A fresh key published (max-age=1) and the origin."""
    key = Ed25519PrivateKey.generate()
    publish(operator, [jwk_of(key, use="sig")])
    time.sleep(1.1)  # what the previous test published has expired from the gateway's cache
    return key, operator.base


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("web-bot-auth"), extra=("--allow-private-fetches",))
    yield s
    s.server.kill()


def signed(url: str, key: Ed25519PrivateKey, origin: str, *, method: str = "GET", body=None, dictionary: bool = False,
           tag: str = "web-bot-auth", lifetime: int = 300, nonce: str | None = "fresh", covered=None,
           user_agent: str = "ExampleBot/1.0") -> requests.PreparedRequest:
    headers = {"User-Agent": user_agent,
               "Signature-Agent": f'sig1="{origin}"' if dictionary else f'"{origin}"'}
    request = requests.Request(method, url, json=body, headers=headers).prepare()
    agent_component = '"signature-agent";key="sig1"' if dictionary else "signature-agent"
    covered = covered or ("@authority", "@path", agent_component)
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    key_id = rfc7638_thumbprint(ed25519_jwk(key))
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                      key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key})).sign(
        request, key_id=key_id, created=created, expires=created + dt.timedelta(seconds=lifetime),
        nonce=secrets.token_urlsafe(32) if nonce == "fresh" else nonce, tag=tag, label="sig1",
        covered_component_ids=covered)
    return request


def send(request: requests.PreparedRequest) -> requests.Response:
    with requests.Session() as s:
        return s.send(request, timeout=15)


def refused(response: requests.Response, code: str) -> dict:
    return assert_json_error(response, 401, code=code, type_="authentication_error")


def families(shop) -> dict:
    deadline = time.monotonic() + 10
    while True:
        summary = shop.admin_ok("GET", "/analytics/summary")
        points = shop.admin_ok("GET", "/analytics/timeseries?by=family")["points"]
        if summary["queue_depth"] == 0:
            out: dict = {}
            for p in points:
                out[p["key"]] = out.get(p["key"], 0) + p["requests"]
            return out
        assert time.monotonic() < deadline
        time.sleep(0.5)


@pytest.mark.parametrize("dictionary", [False, True], ids=["quoted string", "dictionary member"])
def test_a_signature_by_a_directory_key_is_verified_and_the_operator_is_known(shop, directory, dictionary):
    key, origin = directory
    r = send(signed(shop.url("/catalog?q=stove"), key, origin, dictionary=dictionary, user_agent="ChatGPT-User/1.0"))
    assert r.status_code == 200, r.text
    # a verified but unregistered agent browses; it cannot buy
    r = send(signed(shop.url("/tools/create_checkout"), key, origin, method="POST",
                    body={"items": [{"product_id": "gift-card", "variant_id": "gift-card-25", "quantity": 1}]}))
    refused(r, "authentication_required")
    host = "127.0.0.1"
    deadline = time.monotonic() + 10
    while (seen := families(shop)).get(f"{host} (verified)", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert seen.get(f"{host} (verified)", 0) >= 2, seen


def test_the_directory_rotates_its_key_and_the_old_signature_fails(shop, directory, operator):
    old, origin = directory
    assert send(signed(shop.url("/catalog?q=lamp"), old, origin)).status_code == 200
    new = Ed25519PrivateKey.generate()
    publish(operator, [jwk_of(new)])
    time.sleep(1.2)  # the directory said max-age=1
    r = send(signed(shop.url("/catalog?q=lamp"), old, origin))
    error = refused(r, "unknown_key")
    assert origin in error["message"]
    assert send(signed(shop.url("/catalog?q=lamp"), new, origin)).status_code == 200


def test_a_fresh_directory_is_fetched_once(shop, directory, operator):
    key, origin = directory
    # `localhost` is another origin than `127.0.0.1` (the others' cache is not touched)
    origin = origin.replace("127.0.0.1", "localhost")
    publish(operator, [jwk_of(key)], max_age=300)
    before = operator.count(DIRECTORY)
    for _ in range(5):
        assert send(signed(shop.url("/catalog?q=tent"), key, origin)).status_code == 200
    assert operator.count(DIRECTORY) - before == 1


def test_a_forged_or_replayed_signature_is_refused(shop, directory):
    key, origin = directory
    stranger = Ed25519PrivateKey.generate()
    refused(send(signed(shop.url("/catalog"), stranger, origin)), "unknown_key")
    request = signed(shop.url("/catalog"), key, origin, nonce="once-only-nonce-" + secrets.token_hex(8))
    assert send(request).status_code == 200
    refused(send(request), "replayed_nonce")
    # the origin named is part of what was signed
    request = signed(shop.url("/catalog"), key, origin)
    request.headers["Signature-Agent"] = '"https://other.example"'
    assert send(request).status_code == 401
    # Web Bot Auth covers signature-agent
    refused(send(signed(shop.url("/catalog"), key, origin, covered=("@authority", "@path"))),
                      "insufficient_coverage")


def test_visa_tap_tags_are_accepted_with_their_bounds(shop, directory):
    key, origin = directory
    assert send(signed(shop.url("/catalog"), key, origin, tag="agent-browser-auth", covered=("@authority", "@path"))).status_code == 200
    assert send(signed(shop.url("/catalog"), key, origin, tag="agent-payer-auth", covered=("@authority", "@path"))).status_code == 200
    refused(send(signed(shop.url("/catalog"), key, origin, tag="agent-browser-auth", covered=("@authority", "@path"),
                                  lifetime=900)), "signature_lifetime_too_long")
    refused(send(signed(shop.url("/catalog"), key, origin, tag="agent-browser-auth", covered=("@authority", "@path"),
                                  nonce=None)), "missing_nonce")


@pytest.mark.parametrize("case", ["redirect", "too big", "not a key set", "server error", "wrong kid"])
def test_an_unusable_directory_verifies_nothing(shop, directory, operator, case):
    key, origin = directory
    keys = [jwk_of(key)]
    if case == "redirect":
        publish(operator, keys, status=302, headers={"Location": origin + "/elsewhere"})
    elif case == "too big":
        publish(operator, keys, body=json.dumps({"keys": keys, "pad": "x" * 200_000}).encode())
    elif case == "not a key set":
        publish(operator, keys, body=b"<html>keys</html>")
    elif case == "server error":
        publish(operator, keys, status=500)
    elif case == "wrong kid":
        publish(operator, [{**keys[0], "kid": "not-the-thumbprint"}])
    r = send(signed(shop.url("/catalog"), key, origin))
    assert r.status_code == 401, (case, r.status_code, r.text)
    assert r.json()["error"]["code"] in ("key_directory_unavailable", "unknown_key"), r.text


def test_without_the_test_switch_a_loopback_directory_is_not_fetched(binary, tmp_path_factory, directory, operator):
    key, origin = directory
    s = start_shop(tmp_path_factory.mktemp("web-bot-auth-strict"))
    try:
        before = operator.count(DIRECTORY)
        r = send(signed(s.url("/catalog"), key, origin))
        error = refused(r, "key_directory_unavailable")
        assert "https" in error["message"]
        assert operator.count(DIRECTORY) == before
    finally:
        s.server.kill()


def test_the_access_policy_governs_an_operator_by_its_verified_origin(binary, tmp_path_factory, directory):
    """A policy rule may name a Web Bot Auth origin's host: a request its directory verifies is that
    operator's (and counts as verified), whatever its User-Agent; the signature's nonce is spent
    once, however many parts of the gateway ask who it is (rate limits off, so nothing else asks first)."""
    key, origin = directory
    host = origin.split("//")[1].split(":")[0]
    s = start_shop(tmp_path_factory.mktemp("wba-policy"), extra=("--allow-private-fetches", "--no-rate-limits"))
    try:
        def put(rules):
            r = s.admin("PUT", "/access-policy", {"rules": rules})
            assert r.status_code == 200, r.text

        put([{"agent": host, "stage": "*", "access": "require_verification"}])
        for _ in range(2):
            r = send(signed(s.url("/tools/search_catalog"), key, origin, method="POST", body={"query": "tent"}))
            assert r.status_code == 200, r.text[:300]
        assert send(signed(s.url("/pricing"), key, origin)).status_code == 200
        put([{"agent": host, "stage": "evaluating", "access": "block"}])
        r = send(signed(s.url("/pricing"), key, origin))
        assert r.status_code == 403 and r.json()["error"]["code"] == "blocked_by_policy", r.text[:300]
        assert f"{host} (verified)" in r.json()["error"]["message"]
        assert send(signed(s.url("/policies"), key, origin)).status_code == 200
        # unsigned, the same User-Agent is an unrecognised client: the operator's rule is not its
        assert requests.get(s.url("/pricing"), headers={"User-Agent": "ExampleBot/1.0"}, timeout=10).status_code == 200
    finally:
        s.server.kill()


def test_the_auditor_reaches_the_store_as_a_signed_agent_where_claims_are_refused(binary, tmp_path_factory, directory):
    """`storefront audit --signing-key --signature-agent` adds a signed agent to its reachability
    probes. Against a store whose policy requires verification of every agent, the agents that only
    claim a name (ChatGPT-User, Claude-User, PerplexityBot) are refused and the signed one, verified
    by its directory, is let in: partly blocked, a quarter of the agents admitted."""
    import base64

    from cryptography.hazmat.primitives import serialization

    from support import run_cli

    key, origin = directory
    s = start_shop(tmp_path_factory.mktemp("wba-audit"), extra=("--allow-private-fetches", "--no-rate-limits"))
    try:
        r = s.admin("PUT", "/access-policy", {"rules": [{"agent": "*", "stage": "*", "access": "require_verification"}]})
        assert r.status_code == 200, r.text
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        key_file = tmp_path_factory.mktemp("wba-audit-key") / "agent.jwk"
        key_file.write_text(json.dumps({**ed25519_jwk(key), "d": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}))
        result = run_cli("audit", s.base_url, "--format", "json", "--timeout", "5",
                         "--signing-key", str(key_file), "--signature-agent", origin, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        reach = json.loads(result.stdout)["reachability"]
        outcomes = {c["as"]: (c["outcome"], c["evidence"]["status"]) for c in reach["clients"]}
        assert outcomes["browser"] == ("ok", 200), outcomes
        for agent in ("ChatGPT-User", "Claude-User", "PerplexityBot"):
            assert outcomes[agent] == ("refused", 403), outcomes
        assert outcomes["signed agent"] == ("ok", 200), outcomes
        assert reach["status"] == "partly_blocked" and reach["agent_access"] == 0.25, reach
        # the flags go together, and a key that is not an Ed25519 JWK is named as such
        assert run_cli("audit", s.base_url, "--signing-key", str(key_file)).returncode != 0
        bad = key_file.with_name("bad.jwk")
        bad.write_text('{"kty": "EC"}')
        refused_key = run_cli("audit", s.base_url, "--signing-key", str(bad), "--signature-agent", origin)
        assert refused_key.returncode != 0 and "not a private Ed25519 JWK" in refused_key.stderr, refused_key.stderr
    finally:
        s.server.kill()
