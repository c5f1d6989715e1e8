"""A second OAuth client we did not write: Authlib (issue 16).

Authlib's own RFC 8414 metadata model validates the authorization server metadata field by
field, its RFC 7591 claims validate the registration answer, and its `OAuth2Session` runs the
code flow with PKCE S256 (the principal's side driven over HTTP as the page drives it), then
refreshes and revokes with the endpoints the metadata names.
"""
from __future__ import annotations

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7591.claims import ClientMetadataClaims
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from oauth_flow import REDIRECT, grant, sign_in
from shop import start_shop


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    s = start_shop(tmp_path_factory.mktemp("oauth-authlib"))
    yield s
    s.server.kill()


@pytest.fixture(autouse=True)
def loopback_is_fine(monkeypatch):
    # The gateway runs on http://127.0.0.1 in tests; Authlib insists on https otherwise.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


def metadata(shop) -> AuthorizationServerMetadata:
    meta = AuthorizationServerMetadata(requests.get(shop.url("/.well-known/oauth-authorization-server"), timeout=10).json())
    meta.validate()  # every field RFC 8414 §2 defines, as Authlib reads the RFC
    return meta


def test_authlib_validates_the_metadata_and_the_registration(shop):
    meta = metadata(shop)
    assert meta["issuer"] == shop.base_url
    r = requests.post(meta["registration_endpoint"], json={"client_name": "Authlib", "redirect_uris": [REDIRECT]}, timeout=10)
    assert r.status_code == 201
    claims = ClientMetadataClaims(r.json(), {})
    claims.validate()
    assert claims["token_endpoint_auth_method"] == "none"


def test_authlib_runs_the_code_flow_with_pkce_then_refreshes_and_revokes(shop):
    meta = metadata(shop)
    registered = requests.post(meta["registration_endpoint"], json={"client_name": "Authlib", "redirect_uris": [REDIRECT]},
                               timeout=10).json()
    session = OAuth2Session(client_id=registered["client_id"], redirect_uri=REDIRECT, scope="orders:read",
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = generate_token(64)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                  resource=shop.base_url)
    # the user agent follows the authorization URL to the principal's page, where they allow
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith(shop.base_url + "/principal/?authorize=")
    request = r.headers["Location"].split("authorize=", 1)[1]
    principal = sign_in(shop.server, "gil@example.com")
    callback = grant(principal, request)["redirect_to"]

    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier,
                                resource=shop.base_url)
    assert token["token_type"] == "Bearer" and token["scope"] == "orders:read" and token["expires_in"] == 900
    assert session.post(shop.url("/tools/list_orders"), json={}).status_code == 200

    refreshed = session.refresh_token(meta["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"] and refreshed["refresh_token"] != token["refresh_token"]
    assert session.post(shop.url("/tools/list_orders"), json={}).status_code == 200
    assert requests.post(shop.url("/tools/list_orders"), json={}, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).status_code == 200

    r = session.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
    assert r.status_code == 200
    assert session.post(shop.url("/tools/list_orders"), json={}).status_code == 401
    assert requests.post(shop.url("/tools/list_orders"), json={}, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).status_code == 401
