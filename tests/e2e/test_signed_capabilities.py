"""Trust-checking: the capability manifest is signed with the store's Ed25519 key.

The signature is a detached compact JWS (RFC 7515 Appendix F, `header..signature`) over the exact
bytes served, given in the `X-Capabilities-Signature` header and at
`/.well-known/capabilities.json.jws`. The key is in `/.well-known/jwks.json`; its `kid` is the
RFC 7638 thumbprint. An agent verifies it with `cryptography` (and, independently, `joserfc`).
"""

from __future__ import annotations

import json

import pytest
from cryptography.exceptions import InvalidSignature
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, KeySet, OKPKey

from support import b64url_decode, rfc7638_thumbprint, split_detached, verify_ed25519


# joserfc flags "EdDSA" as deprecated by RFC 9864 (which registers "Ed25519"); verification still
# works, and the warning is not what these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


@pytest.fixture(scope="module")
def signed(http, base_url):
    manifest = http.get(base_url + "/.well-known/capabilities.json")
    assert manifest.status_code == 200
    detached = http.get(base_url + "/.well-known/capabilities.json.jws")
    assert detached.status_code == 200
    jwks = http.get(base_url + "/.well-known/jwks.json")
    assert jwks.status_code == 200
    return manifest, detached, jwks.json()


def test_jwks_publishes_the_ed25519_key_and_its_es256_sibling_with_thumbprints_as_kid(signed):
    _, _, jwks = signed
    assert [k["kty"] for k in jwks["keys"]] == ["OKP", "EC"]
    for jwk in jwks["keys"]:
        assert "d" not in jwk, "the private key must never be published"
        assert jwk.get("use", "sig") == "sig"
        if jwk["kty"] == "OKP":
            assert jwk["crv"] == "Ed25519" and len(b64url_decode(jwk["x"])) == 32
            assert jwk["kid"] == rfc7638_thumbprint(jwk) and jwk.get("alg", "EdDSA") == "EdDSA"
            # joserfc computes the same thumbprint independently.
            assert OKPKey.import_key(jwk).thumbprint() == jwk["kid"]
        else:
            # UCP's baseline (ES256): what webhooks to platforms are signed with.
            assert jwk["crv"] == "P-256" and jwk["alg"] == "ES256"
            assert len(b64url_decode(jwk["x"])) == len(b64url_decode(jwk["y"])) == 32
            assert ECKey.import_key(jwk).thumbprint() == jwk["kid"]


def test_jwks_is_served_as_a_jwk_set(http, base_url):
    r = http.get(base_url + "/.well-known/jwks.json")
    assert r.headers["Content-Type"].split(";")[0] in {"application/jwk-set+json", "application/json"}


def test_signature_header_and_jws_document_are_the_same_detached_jws(signed):
    manifest, detached, _ = signed
    header_value = manifest.headers["X-Capabilities-Signature"]
    assert detached.text.strip() == header_value
    header, _, signature = split_detached(header_value)
    assert header["alg"] == "EdDSA"
    assert len(signature) == 64
    assert header.get("b64", True) is True, "payload is base64url-encoded in the signing input"
    assert "crit" not in header


def test_capability_manifest_signature_verifies_with_cryptography_ed25519(signed):
    manifest, _, jwks = signed
    header, encoded_header, signature = split_detached(manifest.headers["X-Capabilities-Signature"])
    keys = {k["kid"]: k for k in jwks["keys"]}
    assert header["kid"] in keys, "the JWS names a key that the JWKS does not publish"
    verify_ed25519(keys[header["kid"]], encoded_header, manifest.content, signature)


def test_capability_manifest_signature_verifies_with_joserfc(signed):
    manifest, detached, jwks = signed
    key_set = KeySet.import_key_set(jwks)
    result = jws.deserialize_compact(detached.text.strip(), key_set, algorithms=["EdDSA"], payload=manifest.content)
    assert result.payload == manifest.content


def test_one_changed_byte_breaks_the_signature(signed):
    manifest, _, jwks = signed
    header, encoded_header, signature = split_detached(manifest.headers["X-Capabilities-Signature"])
    jwk = {k["kid"]: k for k in jwks["keys"]}[header["kid"]]
    tampered = manifest.content.replace(b'"manifest_version":"1.0"', b'"manifest_version":"1.1"')
    if tampered == manifest.content:
        tampered = manifest.content[:-1] + bytes([manifest.content[-1] ^ 1])
    with pytest.raises(InvalidSignature):
        verify_ed25519(jwk, encoded_header, tampered, signature)
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(manifest.headers["X-Capabilities-Signature"], KeySet.import_key_set(jwks),
                                algorithms=["EdDSA"], payload=tampered)


def test_re_serialised_json_is_not_what_was_signed(signed):
    """The signature covers the exact bytes served, so an agent must verify the raw body, not a
    re-encoding of it; a pretty-printed copy does not verify."""
    manifest, _, jwks = signed
    header, encoded_header, signature = split_detached(manifest.headers["X-Capabilities-Signature"])
    jwk = {k["kid"]: k for k in jwks["keys"]}[header["kid"]]
    pretty = json.dumps(manifest.json(), indent=2).encode()
    assert pretty != manifest.content
    with pytest.raises(InvalidSignature):
        verify_ed25519(jwk, encoded_header, pretty, signature)


def test_manifest_names_its_own_signing_key_and_where_to_fetch_it(signed, base_url):
    manifest, _, jwks = signed
    doc = manifest.json()
    header, _, _ = split_detached(manifest.headers["X-Capabilities-Signature"])
    assert doc["signature"]["alg"] == "EdDSA"
    assert doc["signature"]["kid"] == header["kid"]
    assert doc["signature"]["jwks"] == base_url + "/.well-known/jwks.json"
    assert doc["signature"]["url"] == base_url + "/.well-known/capabilities.json.jws"
    assert doc["signature"]["header"] == "X-Capabilities-Signature"


def test_signature_header_is_readable_by_browser_agents_through_cors(signed):
    manifest, _, _ = signed
    assert manifest.headers.get("Access-Control-Allow-Origin") == "*"
    exposed = {h.strip().lower() for h in manifest.headers.get("Access-Control-Expose-Headers", "").split(",")}
    assert "x-capabilities-signature" in exposed


def test_entry_point_and_ucp_profile_name_the_same_key(http, base_url, signed):
    _, _, jwks = signed
    agents = http.get(base_url + "/agents", headers={"Accept": "application/json"}).json()
    assert agents["signing"]["kid"] in {k["kid"] for k in jwks["keys"]}
    ucp = http.get(base_url + "/.well-known/ucp").json()
    assert {k["kid"] for k in ucp["keys"]} == {k["kid"] for k in jwks["keys"]}
