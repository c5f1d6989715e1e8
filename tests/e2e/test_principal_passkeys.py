"""Passkeys on the principal's page (issue 16: "the human signs in (passkey via WebAuthn, or an
emailed one-time link …)"), driven in Chromium with its virtual authenticator (CTAP2, resident
keys, user verification): signed in once by the link, the person enrols a passkey; signed out,
they sign in with the passkey alone. Over HTTP: what a ceremony the store did not start, for a
credential it does not know, from another site, gets.

WebAuthn refuses IP addresses as relying party ids, so this gateway's public URL is
`http://localhost:PORT` (a secure context, as loopback is).
"""
from __future__ import annotations

import base64
import json

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from chromium import browser  # noqa: F401 (the fixture)
from oauth_flow import sign_in, sign_in_link
from shop import sql, start_shop
from support import free_port


@pytest.fixture(scope="module")
def shop(binary, tmp_path_factory):
    port = free_port()
    s = start_shop(tmp_path_factory.mktemp("passkeys"), port=port, extra=("--public-url", f"http://localhost:{port}"))
    yield s
    s.server.kill()


def page(shop) -> str:
    return f"http://localhost:{shop.server.port}/principal/"


def test_enrol_a_passkey_then_sign_in_with_it_alone(shop, browser):
    email = "hana@example.com"
    options = VirtualAuthenticatorOptions()
    options.protocol = VirtualAuthenticatorOptions.Protocol.CTAP2
    options.transport = VirtualAuthenticatorOptions.Transport.INTERNAL
    options.has_resident_key = True
    options.has_user_verification = True
    options.is_user_verified = True
    browser.get(page(shop))
    browser.delete_all_cookies()
    browser.add_virtual_authenticator(options)
    try:
        wait = WebDriverWait(browser, 15)
        browser.get(page(shop))
        wait.until(EC.visibility_of_element_located((By.ID, "sign-in")))
        mark = len(shop.server.stderr)
        browser.find_element(By.ID, "email").send_keys(email)
        browser.find_element(By.ID, "send-link").click()
        wait.until(EC.visibility_of_element_located((By.ID, "sent")))
        browser.get(sign_in_link(shop.server, email, after=mark).replace("127.0.0.1", "localhost"))
        wait.until(EC.element_to_be_clickable((By.ID, "use-link"))).click()
        wait.until(EC.visibility_of_element_located((By.ID, "passkeys-panel")))

        browser.find_element(By.ID, "add-passkey").click()
        wait.until(lambda d: "Passkey added" in d.find_element(By.ID, "status").text or "not" in d.find_element(By.ID, "status").text)
        assert "Passkey added" in browser.find_element(By.ID, "status").text, browser.find_element(By.ID, "status").text
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.passkey")) == 1)
        stored = sql(shop.store, "SELECT principal, sign_count FROM principal_passkeys")
        assert [row["principal"] for row in stored] == [email]
        assert len(browser.get_credentials()) == 1

        # signed out, the passkey alone signs the person in: no link, no mail
        browser.find_element(By.ID, "sign-out").click()
        wait.until(EC.visibility_of_element_located((By.ID, "sign-in")))
        before = len(shop.server.stderr)
        browser.find_element(By.ID, "passkey-sign-in").click()
        wait.until(lambda d: d.find_element(By.ID, "signed-in-as").text == f"Signed in as {email}")
        assert "sign-in link" not in shop.server.stderr[before:]
        wait.until(lambda d: "not used yet" not in d.find_element(By.CSS_SELECTOR, "li.passkey").text)
    finally:
        browser.remove_virtual_authenticator()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_what_the_store_did_not_ask_for_signs_no_one_in(shop):
    base = f"http://localhost:{shop.server.port}"
    options = requests.post(f"{base}/principal/api/passkeys/options", json={"purpose": "sign-in"}, timeout=10).json()
    assert options["rpId"] == "localhost" and options["allowCredentials"] == []
    client = {"type": "webauthn.get", "challenge": options["challenge"], "origin": base}
    forged = {"id": b64url(b"\x01" * 16), "response": {
        "clientDataJSON": b64url(json.dumps(client).encode()), "authenticatorData": b64url(b"\x00" * 37),
        "signature": b64url(b"\x30\x06\x02\x01\x01\x02\x01\x01"), "userHandle": ""}}
    r = requests.post(f"{base}/principal/api/passkeys/sign-in", json=forged, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "passkey_refused", r.text
    # a challenge the store never issued
    bad = json.loads(json.dumps(forged))
    bad["response"]["clientDataJSON"] = b64url(json.dumps({**client, "challenge": b64url(b"made up")}).encode())
    r = requests.post(f"{base}/principal/api/passkeys/sign-in", json=bad, timeout=10)
    assert r.status_code == 401 and "challenge" in r.json()["error"]["message"]
    # another site's page
    r = requests.post(f"{base}/principal/api/passkeys/sign-in", json=forged, headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin"
    # enrolment needs a signed-in principal and their CSRF token
    r = requests.post(f"{base}/principal/api/passkeys/options", json={"purpose": "register"}, timeout=10)
    assert r.status_code == 401
    principal = sign_in(shop.server, "ivo@example.com")  # (its session cookie is for 127.0.0.1, the address it signed in at)
    r = principal.http.post(f"{shop.base_url}/principal/api/passkeys/options", json={"purpose": "register"},
                            headers={"X-CSRF-Token": principal.csrf}, timeout=10)
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["rp"]["id"] == "localhost" and created["pubKeyCredParams"] == [{"type": "public-key", "alg": -7}]
    assert created["user"]["name"] == "ivo@example.com" and "ivo" not in created["user"]["id"]
