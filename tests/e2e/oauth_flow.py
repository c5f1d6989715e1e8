"""OAuth helpers for the identity tests: a PKCE pair, a client registered by RFC 7591, the
principal's sign-in link read from the gateway's log (no mail leaves it in development), and the
authorization code flow driven over plain HTTP the way the principal's page drives it (sign in,
grant with limits, follow the redirect), ending in the token endpoint's answer.

The browser-driven flow (Chromium on the principal's page) is in the tests that need it; this one
is for the many tests that only need a token.
"""
from __future__ import annotations

import base64
import hashlib
import http.server
import re
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

SIGN_IN_LINK = re.compile(r"sign-in link for (\S+) \(valid until [^)]+\): (\S+)")
REDIRECT = "http://127.0.0.1:9/callback"


class Callback(http.server.BaseHTTPRequestHandler):
    """A native client's loopback redirect URI: records the query each `/callback` is sent."""

    received: list[dict] = []

    def do_GET(self):  # noqa: N802
        if urlsplit(self.path).path == "/callback":  # not the browser's /favicon.ico
            type(self).received.append({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
        body = b"<!doctype html><title>Done</title><p>You can close this window."
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_callback_server() -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/callback"


@pytest.fixture(scope="module")
def callback():
    """The loopback redirect URI of a native client (import the fixture where it is used)."""
    server, url = start_callback_server()
    yield url
    server.shutdown()


def wait_for_callback(before: int, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while len(Callback.received) == before:
        assert time.monotonic() < deadline, "the redirect URI was never called"
        time.sleep(0.05)
    return Callback.received[-1]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def register_client(base_url: str, name: str = "e2e client", redirect_uris: list[str] | None = None, **extra) -> dict:
    r = requests.post(f"{base_url}/oauth/register",
                      json={"client_name": name, "redirect_uris": redirect_uris or [REDIRECT], **extra}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def sign_in_link(server, email: str, after: int = 0, timeout: float = 5.0) -> str:
    """The newest sign-in link the gateway logged for `email` (past `after` characters of its log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m.group(2) for m in SIGN_IN_LINK.finditer(server.stderr[after:]) if m.group(1) == email.lower()]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no sign-in link for {email} in the log:\n{server.stderr[-2000:]}")


@dataclass
class Principal:
    """A signed-in principal: the browser's cookie jar and the session's CSRF token."""

    email: str
    http: requests.Session
    csrf: str
    base_url: str

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=10)

    def post(self, path: str, body: dict) -> requests.Response:
        return self.http.post(self.base_url + path, json=body, headers={"X-CSRF-Token": self.csrf}, timeout=30)


def sign_in(server, email: str) -> Principal:
    """Asks for a link, reads it from the log, spends it: a session."""
    mark = len(server.stderr)
    http = requests.Session()
    r = http.post(f"{server.base_url}/principal/api/sign-in", json={"email": email}, timeout=10)
    if r.status_code == 429:  # one link per address every few seconds
        time.sleep(int(r.headers.get("Retry-After", "10")) + 0.2)
        r = http.post(f"{server.base_url}/principal/api/sign-in", json={"email": email}, timeout=10)
    assert r.status_code == 202, r.text
    link = sign_in_link(server, email, after=mark)
    token = parse_qs(urlsplit(link).query)["link"][0]
    r = http.post(f"{server.base_url}/principal/api/session", json={"link": token}, timeout=10)
    assert r.status_code == 200, r.text
    return Principal(email=email, http=http, csrf=r.json()["csrf_token"], base_url=server.base_url)


def authorization_request(base_url: str, client_id: str, *, scope: str | None, resource: str | None,
                          challenge: str, state: str = "st-1", redirect_uri: str = REDIRECT) -> str:
    """GET /oauth/authorize: the signed request the principal's page receives."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state,
              "code_challenge": challenge, "code_challenge_method": "S256"}
    if scope is not None:
        params["scope"] = scope
    if resource is not None:
        params["resource"] = resource
    r = requests.get(f"{base_url}/oauth/authorize", params=params, allow_redirects=False, timeout=10)
    assert r.status_code == 302, (r.status_code, r.text[:500])
    location = r.headers["Location"]
    assert location.startswith(f"{base_url}/principal/?authorize="), location
    return parse_qs(urlsplit(location).query)["authorize"][0]


def grant(principal: Principal, request: str, *, scopes: list[str] | None = None, limits: dict | None = None) -> dict:
    body = {"request": request, "decision": "allow"}
    if scopes is not None:
        body["scopes"] = scopes
    if limits is not None:
        body["limits"] = limits
    r = principal.post("/principal/api/authorization", body)
    assert r.status_code == 200, r.text
    return r.json()


def code_from(redirect_to: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(redirect_to).query).items()}


def token_request(base_url: str, **form) -> requests.Response:
    return requests.post(f"{base_url}/oauth/token", data=form, timeout=10)


@dataclass
class Tokens:
    access: str
    refresh: str
    agent_id: str
    client_id: str
    answer: dict

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.access}"}


def authorize(server, principal: Principal, *, scope: str | None = "catalog:read cart:write checkout:write orders:read",
              resource: str | None = None, limits: dict | None = None, client: dict | None = None,
              scopes: list[str] | None = None) -> Tokens:
    """The whole code flow: register (unless given), authorize, grant, redeem."""
    base = server.base_url
    client = client or register_client(base)
    verifier, challenge = pkce()
    request = authorization_request(base, client["client_id"], scope=scope, resource=resource, challenge=challenge)
    granted = grant(principal, request, scopes=scopes, limits=limits)
    answer = code_from(granted["redirect_to"])
    assert answer["state"] == "st-1" and answer["iss"] == base, answer
    form = {"grant_type": "authorization_code", "code": answer["code"], "redirect_uri": REDIRECT,
            "client_id": client["client_id"], "code_verifier": verifier}
    if resource is not None:
        form["resource"] = resource
    r = token_request(base, **form)
    assert r.status_code == 200, r.text
    body = r.json()
    return Tokens(access=body["access_token"], refresh=body["refresh_token"], agent_id=granted["agent_id"],
                  client_id=client["client_id"], answer=body)
