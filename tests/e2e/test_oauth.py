"""The gateway as an OAuth 2.1 authorization server and MCP resource server (issue 16).

- RFC 8414 and RFC 9728 documents, field by field against the RFCs and the MCP authorization
  specification; every 401 points at the protected resource metadata.
- The authorization code flow with PKCE S256 only: registration (RFC 7591), the principal's
  grant with limits, the token endpoint; codes once, verifiers checked, refresh tokens rotated
  with reuse detection, RFC 7009 revocation, RFC 8707 audiences.
- Tokens at the resources: MCP and REST accept a live token for their resource; wrong audience,
  expired, revoked and scope-less tokens get 401/403 with the right WWW-Authenticate.
- Client ID metadata documents (the client_id is the URL of its metadata), fetched under bounds.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from documents import DocumentServer
from gateway_process import ACCEPT_BOTH, LegacySession, post_json, rpc_request
from oauth_flow import (REDIRECT, authorization_request, authorize, code_from, grant, pkce, register_client, sign_in,
                        token_request)
from shop import GIFT_PRICE, GIFT_SKU, sql, start_shop

ONE_GIFT = {"items": [{"product_id": "gift-card", "variant_id": GIFT_SKU, "quantity": 1}]}


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("oauth"), extra=("--allow-private-fetches",))
    yield s
    s.server.kill()


@pytest.fixture(scope="module")
def principal(shop):
    return sign_in(shop.server, "ana@example.com")


def challenge_params(header: str) -> dict:
    """`Bearer a="b", c="d"` → {"a": "b", "c": "d"} (the scheme's own parameters)."""
    assert header.startswith("Bearer "), header
    bearer = header[len("Bearer "):].split(", Signature ")[0]
    return {m.group(1): m.group(2) for m in re.finditer(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', bearer)}


def mcp_call(url: str, tool: str, arguments: dict, headers: dict | None = None) -> requests.Response:
    """A 2025-11-25 session opened with `headers`, then one tools/call."""
    session = LegacySession.open(url, headers=headers)
    return session.post(rpc_request("tools/call", {"name": tool, "arguments": arguments}),
                        {**(headers or {}), "Idempotency-Key": str(uuid.uuid4())})


# --- discovery -----------------------------------------------------------------------------------


def test_authorization_server_metadata_follows_rfc_8414(shop):
    base = shop.base_url
    r = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    meta = r.json()
    # RFC 8414 §2: issuer is https (or our loopback http) with no query or fragment, and is
    # the URL the metadata was fetched under (§3.3).
    assert meta["issuer"] == base
    for field in ("authorization_endpoint", "token_endpoint", "registration_endpoint", "revocation_endpoint"):
        assert meta[field].startswith(base + "/"), (field, meta[field])
    assert meta["response_types_supported"] == ["code"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]
    # OAuth 2.1 and MCP: PKCE with S256 only, advertised.
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint_auth_methods_supported"] == ["none"]
    assert meta["client_id_metadata_document_supported"] is True
    assert meta["authorization_response_iss_parameter_supported"] is True
    scopes = set(meta["scopes_supported"])
    # the actions' own scopes, and UCP identity linking's
    assert {"cart:write", "checkout:write", "orders:read", "orders:write"} <= scopes
    assert {"dev.ucp.shopping.order:read", "dev.ucp.shopping.checkout:manage"} <= scopes
    assert "offline_access" not in scopes


@pytest.mark.parametrize("path", ["", "/mcp", "/ucp/mcp", "/acp/mcp"])
def test_protected_resource_metadata_follows_rfc_9728(shop, path):
    base = shop.base_url
    r = requests.get(f"{base}/.well-known/oauth-protected-resource{path}", timeout=10)
    assert r.status_code == 200, r.text
    meta = r.json()
    # RFC 9728 §3.3: the resource is the URL the metadata was derived from.
    assert meta["resource"] == base + path
    assert meta["authorization_servers"] == [base]
    assert meta["bearer_methods_supported"] == ["header"]
    assert set(meta["scopes_supported"]) == set(
        requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()["scopes_supported"])
    assert requests.get(f"{base}/.well-known/oauth-protected-resource/nowhere", timeout=10).status_code == 404


def test_an_anonymous_call_to_a_tool_that_acts_for_a_principal_is_a_401_pointing_at_the_metadata(shop):
    base = shop.base_url
    # browsing stays open
    session = LegacySession.open(base + "/mcp")
    assert session.call("tools/call", {"name": "search_catalog", "arguments": {"query": "stove"}})["isError"] is False
    r = session.post(rpc_request("tools/call", {"name": "create_checkout", "arguments": ONE_GIFT}))
    assert r.status_code == 401, r.text
    assert r.json()["error"]["message"].startswith("authentication_required")
    params = challenge_params(r.headers["WWW-Authenticate"])
    assert params["resource_metadata"] == f"{base}/.well-known/oauth-protected-resource/mcp"
    assert params["scope"] == "checkout:write"
    assert "error" not in params  # no token was presented (RFC 6750 §3.1)
    # REST says the same, for the whole API
    r = requests.post(f"{base}/tools/create_checkout", json=ONE_GIFT, timeout=10)
    assert r.status_code == 401
    assert challenge_params(r.headers["WWW-Authenticate"])["resource_metadata"] == f"{base}/.well-known/oauth-protected-resource"


# --- the code flow ----------------------------------------------------------------------------


def test_a_granted_token_buys_over_mcp_within_the_limits_the_principal_set(shop, principal):
    tokens = authorize(shop.server, principal, resource=shop.base_url + "/mcp",
                       limits={"per_transaction": 3 * GIFT_PRICE, "daily": 10 * GIFT_PRICE})
    assert tokens.answer["token_type"] == "Bearer" and tokens.answer["expires_in"] == 900
    assert set(tokens.answer["scope"].split()) == {"catalog:read", "cart:write", "checkout:write", "orders:read"}
    # the token is stored hashed only
    assert not sql(shop.store, f"SELECT 1 FROM oauth_tokens WHERE token_sha256 = '{tokens.access}'")
    agent = sql(shop.store, f"SELECT principal, status FROM agents WHERE id = '{tokens.agent_id}'")[0]
    assert agent == {"principal": "ana@example.com", "status": "active"}
    shop.fund(tokens.agent_id, 20 * GIFT_PRICE)
    wallet = shop.admin_ok("GET", f"/wallets/{tokens.agent_id}")["wallet"]
    assert wallet["windows"]["per_transaction"]["limit"]["amount"] == 3 * GIFT_PRICE

    url = shop.base_url + "/mcp"
    r = mcp_call(url, "create_checkout", ONE_GIFT, tokens.auth)
    assert r.status_code == 200, r.text
    checkout = r.json()["result"]["structuredContent"]["checkout"]
    session = LegacySession.open(url, headers=tokens.auth)
    done = session.post(rpc_request("tools/call", {"name": "complete_checkout", "arguments": {"checkout_id": checkout["id"]}}),
                        {**tokens.auth, "Idempotency-Key": str(uuid.uuid4())}).json()["result"]
    assert done["isError"] is False, done
    assert done["structuredContent"]["order"]["status"] in ("paid", "fulfilled", "confirmed"), done
    # four cards break the principal's per-purchase limit
    big = {"items": [{"product_id": "gift-card", "variant_id": GIFT_SKU, "quantity": 4}]}
    created = mcp_call(url, "create_checkout", big, tokens.auth).json()["result"]["structuredContent"]["checkout"]
    refused = session.post(rpc_request("tools/call", {"name": "complete_checkout", "arguments": {"checkout_id": created["id"]}}),
                           {**tokens.auth, "Idempotency-Key": str(uuid.uuid4())}).json()["result"]
    assert refused["isError"] is True and refused["structuredContent"]["error"]["code"] == "spend_limit_exceeded", refused


def test_a_token_for_one_resource_is_refused_at_another(shop, principal):
    base = shop.base_url
    ucp_token = authorize(shop.server, principal, resource=base + "/ucp/mcp")
    r = post_json(base + "/mcp", rpc_request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                                            "clientInfo": {"name": "t", "version": "1"}}), ucp_token.auth)
    assert r.status_code == 401, r.text
    params = challenge_params(r.headers["WWW-Authenticate"])
    assert params["error"] == "invalid_token" and "audience" in params["error_description"]
    assert params["resource_metadata"] == f"{base}/.well-known/oauth-protected-resource/mcp"
    r = requests.post(f"{base}/tools/list_orders", json={}, headers=ucp_token.auth, timeout=10)
    assert r.status_code == 401 and challenge_params(r.headers["WWW-Authenticate"])["error"] == "invalid_token"
    # at its own resource it works
    r = post_json(base + "/ucp/mcp", rpc_request("tools/list"), ucp_token.auth)
    assert r.status_code in (200, 400), r.text  # stateless or session-bound, but not refused for its token
    assert r.status_code != 401
    # a token for the whole API works everywhere
    whole = authorize(shop.server, principal, resource=None)
    assert requests.post(f"{base}/tools/list_orders", json={}, headers=whole.auth, timeout=10).status_code == 200
    assert mcp_call(base + "/mcp", "list_orders", {}, whole.auth).status_code == 200


def test_a_token_without_the_tools_scope_gets_403_insufficient_scope(shop, principal):
    base = shop.base_url
    reader = authorize(shop.server, principal, scope="orders:read", resource=base + "/mcp")
    r = mcp_call(base + "/mcp", "create_checkout", ONE_GIFT, reader.auth)
    assert r.status_code == 403, r.text
    params = challenge_params(r.headers["WWW-Authenticate"])
    assert params["error"] == "insufficient_scope" and params["scope"] == "checkout:write"
    assert params["resource_metadata"] == f"{base}/.well-known/oauth-protected-resource/mcp"
    assert mcp_call(base + "/mcp", "list_orders", {}, reader.auth).json()["result"]["isError"] is False


def test_the_principal_grants_fewer_scopes_than_asked(shop, principal):
    tokens = authorize(shop.server, principal, scopes=["orders:read"])
    assert tokens.answer["scope"] == "orders:read"
    r = requests.post(f"{shop.base_url}/tools/create_checkout", json=ONE_GIFT, headers=tokens.auth, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "missing_scope", r.text


def test_a_narrower_consent_narrows_the_older_tokens_of_the_same_agent(shop, principal):
    client = register_client(shop.base_url)
    wide = authorize(shop.server, principal, client=client, scope="orders:read checkout:write")
    assert requests.post(f"{shop.base_url}/tools/create_checkout", json=ONE_GIFT, headers=wide.auth, timeout=10).status_code == 200
    narrow = authorize(shop.server, principal, client=client, scope="orders:read")
    assert narrow.agent_id == wide.agent_id
    r = requests.post(f"{shop.base_url}/tools/create_checkout", json=ONE_GIFT, headers=wide.auth, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "missing_scope", r.text
    r = token_request(shop.base_url, grant_type="refresh_token", refresh_token=wide.refresh, client_id=client["client_id"])
    assert r.status_code == 200 and r.json()["scope"] == "orders:read", r.text


def test_ucp_scopes_stand_for_the_actions_they_cover(shop, principal):
    tokens = authorize(shop.server, principal, scope="dev.ucp.shopping.order:read")
    assert requests.post(f"{shop.base_url}/tools/list_orders", json={}, headers=tokens.auth, timeout=10).status_code == 200
    r = requests.post(f"{shop.base_url}/tools/create_checkout", json=ONE_GIFT, headers=tokens.auth, timeout=10)
    assert r.status_code == 403, r.text


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_authorization(shop, principal):
    tokens = authorize(shop.server, principal)
    base = shop.base_url
    r = token_request(base, grant_type="refresh_token", refresh_token=tokens.refresh, client_id=tokens.client_id)
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["refresh_token"] != tokens.refresh and fresh["access_token"] != tokens.access
    new_auth = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert requests.post(f"{base}/tools/list_orders", json={}, headers=new_auth, timeout=10).status_code == 200
    # narrowing is allowed, widening is not
    r = token_request(base, grant_type="refresh_token", refresh_token=fresh["refresh_token"], client_id=tokens.client_id,
                      scope="orders:read orders:write")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    # the spent refresh token again: refused, and everything of this authorization is revoked
    r = token_request(base, grant_type="refresh_token", refresh_token=tokens.refresh, client_id=tokens.client_id)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert requests.post(f"{base}/tools/list_orders", json={}, headers=new_auth, timeout=10).status_code == 401
    r = token_request(base, grant_type="refresh_token", refresh_token=fresh["refresh_token"], client_id=tokens.client_id)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # another client cannot use it either
    other = register_client(base)
    tokens2 = authorize(shop.server, principal)
    r = token_request(base, grant_type="refresh_token", refresh_token=tokens2.refresh, client_id=other["client_id"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_revocation_follows_rfc_7009(shop, principal):
    base = shop.base_url
    tokens = authorize(shop.server, principal)
    assert requests.post(f"{base}/tools/list_orders", json={}, headers=tokens.auth, timeout=10).status_code == 200
    r = requests.post(f"{base}/oauth/revoke", data={"token": tokens.access, "client_id": tokens.client_id}, timeout=10)
    assert r.status_code == 200
    r = requests.post(f"{base}/tools/list_orders", json={}, headers=tokens.auth, timeout=10)
    assert r.status_code == 401 and challenge_params(r.headers["WWW-Authenticate"])["error"] == "invalid_token"
    # an unknown token is not an error (RFC 7009 §2.2)
    assert requests.post(f"{base}/oauth/revoke", data={"token": "sf_at_nothing"}, timeout=10).status_code == 200
    # revoking the refresh token ends the access tokens of its authorization too
    second = authorize(shop.server, principal)
    assert requests.post(f"{base}/oauth/revoke", data={"token": second.refresh}, timeout=10).status_code == 200
    assert requests.post(f"{base}/tools/list_orders", json={}, headers=second.auth, timeout=10).status_code == 401
    r = token_request(base, grant_type="refresh_token", refresh_token=second.refresh, client_id=second.client_id)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_codes_need_the_verifier_the_client_and_are_used_once(shop, principal):
    base = shop.base_url
    client = register_client(base)
    verifier, challenge = pkce()
    request = authorization_request(base, client["client_id"], scope="orders:read", resource=None, challenge=challenge)
    code = code_from(grant(principal, request)["redirect_to"])["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client["client_id"]}
    r = token_request(base, **form, code_verifier=pkce()[0])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant" and "code_verifier" in r.json()["error_description"]
    r = token_request(base, **{**form, "redirect_uri": "http://127.0.0.1:9/other"}, code_verifier=verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = token_request(base, **{**form, "client_id": register_client(base)["client_id"]}, code_verifier=verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = token_request(base, **form, code_verifier=verifier)
    assert r.status_code == 200, r.text
    first = r.json()
    assert r.headers["Cache-Control"] == "no-store"
    # used twice: refused, and what the first use issued is revoked
    r = token_request(base, **form, code_verifier=verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert requests.post(f"{base}/tools/list_orders", json={},
                         headers={"Authorization": f"Bearer {first['access_token']}"}, timeout=10).status_code == 401
    # secrets are refused: these clients are public
    r = token_request(base, **form, code_verifier=verifier, client_secret="x")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = requests.post(f"{base}/oauth/token", json=form, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = token_request(base, grant_type="password", username="a", password="b", client_id=client["client_id"])
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def authorize_redirect(base: str, **params) -> requests.Response:
    return requests.get(f"{base}/oauth/authorize", params=params, allow_redirects=False, timeout=10)


def test_the_authorization_endpoint_refuses_what_oauth_2_1_forbids(shop):
    base = shop.base_url
    client = register_client(base)
    _, challenge = pkce()
    good = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT, "state": "s",
            "code_challenge": challenge, "code_challenge_method": "S256"}

    def error_of(**changes):
        # shown on the store's page, never redirected: a registered client must not turn the
        # store into a redirector (RFC 9700 §4.11.2)
        r = authorize_redirect(base, **{k: v for k, v in {**good, **changes}.items() if v is not None})
        assert r.status_code == 400 and "Location" not in r.headers, (r.status_code, r.headers)
        return re.search(r"<code>([a-z_]+)</code>", r.text).group(1)

    assert error_of(code_challenge=None) == "invalid_request"
    assert error_of(code_challenge_method="plain") == "invalid_request"
    assert error_of(code_challenge_method=None) == "invalid_request"
    assert error_of(response_type="token") == "unsupported_response_type"
    assert error_of(scope="admin:everything") == "invalid_scope"
    assert error_of(resource="https://elsewhere.example/mcp") == "invalid_target"
    # an unknown client or a redirect URI it did not register is never redirected to
    r = authorize_redirect(base, **{**good, "redirect_uri": "https://attacker.example/cb"})
    assert r.status_code == 400 and "Location" not in r.headers
    r = authorize_redirect(base, **{**good, "client_id": "sfc_unknown"})
    assert r.status_code == 400 and "Location" not in r.headers
    # a loopback redirect may come back on another port (RFC 8252 §7.3)
    r = authorize_redirect(base, **{**good, "redirect_uri": "http://127.0.0.1:55555/callback"})
    assert r.status_code == 302 and r.headers["Location"].startswith(base + "/principal/?authorize=")


@pytest.mark.parametrize("uris", [
    ["javascript:alert(1)"], ["http://example.com/cb"], ["https://example.com/cb#frag"], [], ["x" * 3000], "https://a.example/cb",
])
def test_registration_refuses_unusable_redirect_uris(shop, uris):
    r = requests.post(f"{shop.base_url}/oauth/register", json={"client_name": "bad", "redirect_uris": uris}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_redirect_uri", r.text


def test_registration_answers_a_public_client_as_rfc_7591_says(shop):
    r = requests.post(f"{shop.base_url}/oauth/register", json={
        "client_name": "Claude", "redirect_uris": ["https://claude.example/cb", "com.example.app:/cb"],
        "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "client_secret_basic",
        "application_type": "native"}, timeout=10)
    assert r.status_code == 201, r.text
    client = r.json()
    assert client["client_id"].startswith("sfc_") and "client_secret" not in client
    assert client["token_endpoint_auth_method"] == "none"  # the store issues no secrets: PKCE protects the code
    assert client["redirect_uris"] == ["https://claude.example/cb", "com.example.app:/cb"]
    assert isinstance(client["client_id_issued_at"], int)
    for body in ("not json", json.dumps({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]})):
        r = requests.post(f"{shop.base_url}/oauth/register", data=body, headers={"Content-Type": "application/json"}, timeout=10)
        assert r.status_code == 400 and r.json()["error"] in ("invalid_client_metadata",), r.text


# --- client ID metadata documents ----------------------------------------------------------------


@pytest.fixture(scope="module")
def documents():
    server = DocumentServer()
    yield server
    server.close()


def test_a_client_id_metadata_document_is_fetched_checked_and_cached(shop, principal, documents):
    url = documents.base + "/clients/agent.json"
    documents.publish("/clients/agent.json", {"client_id": url, "client_name": "Metadata Agent", "redirect_uris": [REDIRECT],
                                              "token_endpoint_auth_method": "none"}, headers={"Cache-Control": "max-age=600"})
    tokens = authorize(shop.server, principal, client={"client_id": url}, scope="orders:read")
    assert requests.post(f"{shop.base_url}/tools/list_orders", json={}, headers=tokens.auth, timeout=10).status_code == 200
    agent = sql(shop.store, f"SELECT display_name, operator FROM agents WHERE id = '{tokens.agent_id}'")[0]
    assert agent == {"display_name": "Metadata Agent", "operator": "127.0.0.1"}
    hits = documents.count("/clients/agent.json")
    authorize(shop.server, principal, client={"client_id": url}, scope="orders:read")
    assert documents.count("/clients/agent.json") == hits  # kept for its max-age


@pytest.mark.parametrize("case", ["wrong client_id", "secret", "redirect", "too big", "not json", "404"])
def test_a_bad_client_id_metadata_document_is_refused_without_a_redirect(shop, documents, case):
    path = f"/clients/bad-{case.replace(' ', '-')}.json"
    url = documents.base + path
    document = {"client_id": url, "client_name": "Bad", "redirect_uris": [REDIRECT]}
    status, headers = 200, {}
    if case == "wrong client_id":
        document["client_id"] = "https://someone.else/client.json"
    elif case == "secret":
        document["token_endpoint_auth_method"] = "client_secret_basic"
    elif case == "redirect":
        status, headers = 302, {"Location": documents.base + "/clients/agent.json"}
    elif case == "404":
        status = 404
    body = json.dumps(document).encode()
    if case == "too big":
        body = json.dumps({**document, "padding": "x" * 100_000}).encode()
    elif case == "not json":
        body = b"<html>hello</html>"
    documents.publish(path, body, status=status, headers=headers)
    _, challenge = pkce()
    r = authorize_redirect(shop.base_url, response_type="code", client_id=url, redirect_uri=REDIRECT, state="s",
                           code_challenge=challenge, code_challenge_method="S256")
    assert r.status_code == 400 and "Location" not in r.headers, (case, r.status_code, r.text[:300])


def test_without_the_test_switch_loopback_and_http_documents_are_not_fetched(binary, tmp_path_factory, documents):
    s = start_shop(tmp_path_factory.mktemp("oauth-strict"))
    try:
        url = documents.publish("/clients/strict.json", {"client_id": documents.base + "/clients/strict.json",
                                                         "redirect_uris": [REDIRECT]})
        before = documents.count("/clients/strict.json")
        _, challenge = pkce()
        r = authorize_redirect(s.base_url, response_type="code", client_id=url, redirect_uri=REDIRECT, state="s",
                               code_challenge=challenge, code_challenge_method="S256")
        assert r.status_code == 400 and "https" in r.text
        assert documents.count("/clients/strict.json") == before
    finally:
        s.server.kill()


# --- expiry --------------------------------------------------------------------------------------


def test_an_expired_access_token_is_refused_and_the_refresh_token_renews_it(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("oauth-expiry"), extra=("--oauth-access-token-ttl", "1"))
    try:
        principal = sign_in(s.server, "bo@example.com")
        tokens = authorize(s.server, principal)
        assert tokens.answer["expires_in"] == 1
        time.sleep(2.1)
        r = requests.post(f"{s.base_url}/tools/list_orders", json={}, headers=tokens.auth, timeout=10)
        assert r.status_code == 401 and challenge_params(r.headers["WWW-Authenticate"])["error"] == "invalid_token"
        r = post_json(s.base_url + "/mcp", rpc_request("tools/list"), tokens.auth)
        assert r.status_code == 401 and "resource_metadata" in r.headers["WWW-Authenticate"]
        r = token_request(s.base_url, grant_type="refresh_token", refresh_token=tokens.refresh, client_id=tokens.client_id)
        assert r.status_code == 200, r.text
        fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert requests.post(f"{s.base_url}/tools/list_orders", json={}, headers=fresh, timeout=10).status_code == 200
    finally:
        s.server.kill()


def test_the_state_comes_back_byte_for_byte(shop, principal):
    client = register_client(shop.base_url)
    _, challenge = pkce()
    state = "a+b/c=d&e f%"
    request = authorization_request(shop.base_url, client["client_id"], scope="orders:read", resource=None, challenge=challenge,
                                    state=state)
    answer = code_from(grant(principal, request)["redirect_to"])
    assert answer["state"] == state and answer["code"]
