"""Helpers for the transacting tests (identity, wallets, checkout, trail): a gateway started with
a known admin token, agents registered through the admin API, purchases, and read-only looks at
the store file through the `sqlite3` command-line tool.

Purchases use the digital `$25 Gift Card` variant (no shipping, 100,000 in stock), so a
purchase of `quantity` costs exactly `quantity * 2500` minor units; the tests still read the
amount from the checkout's totals instead of assuming it.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
import secrets
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import stores
from support import MANIFESTS, ServerProcess, b64url_encode, launch, run_cli

GIFT_PRODUCT = "gift-card"
GIFT_SKU = "gift-card-25"
GIFT_PRICE = 2500
GIFT_INITIAL_STOCK = 100_000

_names = itertools.count(1)


def new_key() -> str:
    return "e2e-" + uuid.uuid4().hex


# --- the store file, read with the sqlite3 command line ---------------------------------------


def sql(store: Path, query: str) -> list[dict]:
    """Rows of one read-only query: `sqlite3 -json` on a file (WAL readers do not block the
    gateway), `psql` on PostgreSQL."""
    return stores.query_rows(store, query)


def sql_exec(store: Path, script: str) -> subprocess.CompletedProcess:
    """Runs statements that change the store (the tampering tests)."""
    return stores.execute(store, script)


def ledger_sum(store: Path, agent_id: str) -> int:
    return sql(store, f"SELECT COALESCE(SUM(amount), 0) AS s FROM ledger WHERE agent_id = '{agent_id}'")[0]["s"]


def ledger_rows(store: Path, agent_id: str, kind: str | None = None) -> list[dict]:
    where = f"agent_id = '{agent_id}'" + (f" AND kind = '{kind}'" if kind else "")
    return sql(store, f"SELECT id, kind, amount, reference FROM ledger WHERE {where} ORDER BY id")


def cli(*args: str, store: Path | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """`storefront ARGS... [--store STORE]` run from the repository root."""
    extra = ("--store", str(store)) if store is not None else ()
    return run_cli(*args, *extra, timeout=timeout)


def cli_json(*args: str, store: Path) -> object:
    out = cli(*args, store=store)
    assert out.returncode == 0, (args, out.returncode, out.stdout, out.stderr)
    return json.loads(out.stdout)


# --- agents and the shop ------------------------------------------------------------------------


@dataclass
class Agent:
    id: str
    api_key: str | None
    principal: str
    registration: dict
    private_key: Ed25519PrivateKey | None = None
    key_id: str | None = None

    @property
    def auth(self) -> dict:
        assert self.api_key, "this agent registered without an API key"
        return {"Authorization": f"Bearer {self.api_key}"}


def ed25519_jwk(private_key: Ed25519PrivateKey) -> dict:
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}


@dataclass
class Shop:
    """One gateway process with a known admin token, plus helpers for its admin API and tools."""

    server: ServerProcess
    admin_token: str
    token_file: Path
    extra: tuple[str, ...] = ()
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def store(self) -> Path:
        return self.server.store

    def url(self, path: str) -> str:
        return self.server.base_url + path

    # admin API
    @property
    def admin_auth(self) -> dict:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def admin(self, method: str, path: str, body=None, **kwargs) -> requests.Response:
        return self.http.request(method, self.url("/admin/api" + path), json=body, headers=self.admin_auth, timeout=30, **kwargs)

    def admin_ok(self, method: str, path: str, body=None) -> dict:
        r = self.admin(method, path, body)
        assert r.status_code in (200, 201), (method, path, body, r.status_code, r.text[:800])
        return r.json()

    def register(self, principal: str | None = None, *, name: str | None = None, public_key: Ed25519PrivateKey | None = None,
                 open_route: bool = False, **fields) -> Agent:
        n = next(_names)
        body = {"principal": principal or f"principal-{n}@example.com", "display_name": name or f"e2e agent {n}", **fields}
        if public_key is not None:
            body["public_key"] = ed25519_jwk(public_key)
        if open_route:
            r = self.http.post(self.url("/agents/register"), json=body, timeout=30)
        else:
            r = self.admin("POST", "/agents", body)
        assert r.status_code == 201, (body, r.status_code, r.text[:800])
        doc = r.json()
        return Agent(id=doc["id"], api_key=doc.get("api_key"), principal=body["principal"], registration=doc,
                     private_key=public_key, key_id=doc.get("key_id"))

    def fund(self, agent: Agent | str, amount: int, note: str | None = None) -> dict:
        agent_id = agent if isinstance(agent, str) else agent.id
        body = {"amount": amount} | ({"note": note} if note else {})
        return self.admin_ok("POST", f"/wallets/{agent_id}/fund", body)["wallet"]

    def set_limits(self, agent: Agent | str, **limits) -> dict:
        agent_id = agent if isinstance(agent, str) else agent.id
        return self.admin_ok("POST", f"/wallets/{agent_id}/limits", limits)["wallet"]

    def wallet(self, agent: Agent | str) -> dict:
        agent_id = agent if isinstance(agent, str) else agent.id
        return self.admin_ok("GET", f"/wallets/{agent_id}")["wallet"]

    def buyer(self, funds: int = 1_000_000, **limits) -> Agent:
        agent = self.register()
        if funds:
            self.fund(agent, funds)
        if limits:
            self.set_limits(agent, **limits)
        return agent

    # tools
    def call(self, agent: Agent | None, tool: str, body: dict, *, key: str | None = None,
             session: requests.Session | None = None, timeout: float = 30) -> requests.Response:
        headers = dict(agent.auth) if agent else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        return (session or self.http).post(self.url(f"/tools/{tool}"), json=body, headers=headers, timeout=timeout)

    def create_checkout(self, agent: Agent, quantity: int = 1, *, sku: str | None = GIFT_SKU, product: str = GIFT_PRODUCT,
                        session: requests.Session | None = None) -> dict:
        """A ready checkout for `quantity` of one product (`sku=None` for a product without variants)."""
        item = {"product_id": product, "quantity": quantity} | ({"variant_id": sku} if sku else {})
        r = self.call(agent, "create_checkout", {"items": [item]}, key=new_key(), session=session)
        assert r.status_code in (200, 201), (r.status_code, r.text[:800])
        checkout = r.json()["checkout"]
        assert checkout["status"] == "ready_for_complete", checkout
        return checkout

    def complete(self, agent: Agent, checkout_id: str, *, key: str | None = None,
                 session: requests.Session | None = None) -> requests.Response:
        return self.call(agent, "complete_checkout", {"checkout_id": checkout_id}, key=key or new_key(), session=session)

    def buy(self, agent: Agent, quantity: int = 1, *, session: requests.Session | None = None) -> requests.Response:
        checkout = self.create_checkout(agent, quantity, session=session)
        return self.complete(agent, checkout["id"], session=session)


def write_token_file(directory: Path) -> tuple[str, Path]:
    token = "sf_admin_e2e_" + secrets.token_urlsafe(30)
    path = directory / f"admin-token-{uuid.uuid4().hex[:8]}.txt"
    path.write_text(token + "\n")
    return token, path


def start_shop(directory: Path, *, store: Path | None = None, extra: tuple[str, ...] = (), port: int | None = None,
               manifests: Path = MANIFESTS) -> Shop:
    """`storefront serve` on a fresh (or the given) store with `--admin-token-file`."""
    directory.mkdir(parents=True, exist_ok=True)
    token, token_file = write_token_file(directory)
    args = ("--admin-token-file", str(token_file), *extra)
    server = launch(store or directory / "shop.db", manifests=manifests, port=port, extra=args)
    return Shop(server=server, admin_token=token, token_file=token_file, extra=extra)


def restart_shop(shop: Shop, *, port: int | None = None) -> Shop:
    """Starts a gateway again on the shop's store file and admin token (the old one must be gone)."""
    assert shop.server.process.poll() is not None, "the old gateway is still running"
    args = ("--admin-token-file", str(shop.token_file), *shop.extra)
    server = launch(shop.store, port=port or shop.server.port, extra=args)
    return Shop(server=server, admin_token=shop.admin_token, token_file=shop.token_file, extra=shop.extra)


def error_of(response: requests.Response) -> dict:
    body = response.json()
    assert "error" in body, (response.status_code, body)
    return body["error"]


# --- time windows -------------------------------------------------------------------------------


def away_from_utc_midnight(margin: float = 30.0) -> None:
    """Daily/weekly/monthly windows are UTC calendar periods: a test that fills one must not
    straddle midnight UTC. Sleeps past midnight when closer than `margin` seconds to it."""
    now = dt.datetime.now(dt.timezone.utc)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    left = (midnight - now).total_seconds()
    if left < margin:
        time.sleep(left + 1.0)


# --- many requests at once ----------------------------------------------------------------------


def run_parallel(jobs: Iterable, work: Callable[[requests.Session, object], object], *, connections: int = 16) -> list:
    """Runs `work(session, job)` for every job on `connections` threads, each with its own
    keep-alive `requests.Session` (one TCP connection per thread); results in job order."""
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            with lock:
                sessions.append(local.session)
        return local.session

    try:
        with ThreadPoolExecutor(max_workers=connections) as pool:
            return list(pool.map(lambda job: work(session(), job), list(jobs)))
    finally:
        for s in sessions:
            s.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- the principal's confirmation links -----------------------------------------------------------

CONFIRMATION_LINK = re.compile(r"confirmation link for (\S+) \(checkout (chk_\w+), approval (apr_\w+), valid until [^)]+\): (\S+)")


def confirmation_link(shop: Shop, checkout_id: str, timeout: float = 5.0) -> tuple[str, str]:
    """The confirmation link the gateway logged for a checkout (no mail leaves it in development),
    and the principal it was for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for match in CONFIRMATION_LINK.finditer(shop.server.stderr):
            if match.group(2) == checkout_id:
                return match.group(4), match.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no confirmation link for {checkout_id} in the log:\n{shop.server.stderr[-2000:]}")
