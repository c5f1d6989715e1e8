"""The process over time: the store file is created on first start and kept; the signing key
survives restarts; SIGTERM and SIGINT stop the server gracefully, finishing a request that is in
flight, and leave an intact SQLite store behind."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import stores
from support import STOP_TIMEOUT, b64url_decode, b64url_encode, split_detached, split_response, verify_ed25519


def jwks_of(srv) -> dict:
    r = requests.get(srv.url("/.well-known/jwks.json"), timeout=15)
    assert r.status_code == 200
    return r.json()


def integrity(path) -> str:
    """SQLite's own check of the file ("ok"); PostgreSQL keeps its pages consistent itself."""
    if stores.POSTGRES:
        return "ok"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def table_names(store) -> set[str]:
    query = ("SELECT tablename FROM pg_tables WHERE schemaname = 'public'" if stores.POSTGRES
             else "SELECT name FROM sqlite_master WHERE type='table'")
    db = stores.connect(store, readonly=True)
    try:
        return {r[0] for r in db.execute(query).fetchall()}
    finally:
        db.close()


# --- the store file ----------------------------------------------------------------------------


@pytest.mark.sqlite_only("the store file and its WAL")
def test_store_file_is_created_on_first_start(start_server, tmp_path):
    store = tmp_path / "fresh" / "first.db"
    store.parent.mkdir()
    assert not store.exists()
    srv = start_server(store)
    assert store.exists() and store.stat().st_size > 0
    srv.assert_stopped_cleanly(srv.stop())
    assert integrity(store) == "ok"


@pytest.mark.sqlite_only("the store file and its WAL")
def test_store_is_sqlite_in_wal_mode(start_server, tmp_path):
    store = tmp_path / "wal.db"
    srv = start_server(store)
    srv.assert_stopped_cleanly(srv.stop())
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_signing_key_is_kept_across_restarts_on_the_same_store(start_server, tmp_path):
    store = tmp_path / "keys.db"
    first = start_server(store)
    keys_before = jwks_of(first)
    first.assert_stopped_cleanly(first.stop())

    second = start_server(store)  # a new port, the same store
    keys_after = jwks_of(second)
    assert keys_after == keys_before

    # The manifest is re-signed for the new URLs with the same key, and still verifies.
    manifest = requests.get(second.url("/.well-known/capabilities.json"), timeout=15)
    header, encoded_header, signature = split_detached(manifest.headers["X-Capabilities-Signature"])
    assert header["kid"] == keys_before["keys"][0]["kid"]
    verify_ed25519(keys_before["keys"][0], encoded_header, manifest.content, signature)
    second.assert_stopped_cleanly(second.stop())


def test_a_new_store_gets_a_new_key(start_server, tmp_path):
    a = start_server(tmp_path / "a.db")
    b = start_server(tmp_path / "b.db")
    assert jwks_of(a)["keys"][0]["kid"] != jwks_of(b)["keys"][0]["kid"]
    a.assert_stopped_cleanly(a.stop())
    b.assert_stopped_cleanly(b.stop())


def private_keys_matching(store, public_x: str) -> list[bytes]:
    """32-byte blobs anywhere in the store whose Ed25519 public key is `public_x`."""
    found = []
    db = stores.connect(store, readonly=True)
    try:
        for table in sorted(table_names(store)):
            for row in db.execute(f'SELECT * FROM "{table}"').fetchall():
                for value in row:
                    if isinstance(value, memoryview):
                        value = bytes(value)
                    if isinstance(value, bytes) and len(value) == 32:
                        public = Ed25519PrivateKey.from_private_bytes(value).public_key()
                        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
                        if raw == b64url_decode(public_x):
                            found.append(value)
    finally:
        db.close()
    return found


def test_the_published_key_is_the_one_in_the_key_file_never_in_the_store_and_its_secret_half_is_never_served(
        start_server, tmp_path):
    store = tmp_path / "private.db"
    srv = start_server(store)
    public_x = jwks_of(srv)["keys"][0]["x"]
    docs = ["/agents", "/.well-known/jwks.json", "/.well-known/ucp", "/.well-known/capabilities.json",
            "/.well-known/agent-card.json", "/status", "/openapi.json"]
    bodies = [requests.get(srv.url(p), timeout=15).text for p in docs]
    srv.assert_stopped_cleanly(srv.stop())
    assert private_keys_matching(store, public_x) == [], "the store must not hold the signing key (issue 12)"
    key_file = json.loads(stores.key_path(store).read_text())
    secret = b64url_decode(key_file["d"])
    raw = Ed25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert raw == b64url_decode(public_x), "the key file holds the private key behind the published key"
    for body in bodies:
        assert '"d"' not in body
        assert b64url_encode(secret) not in body
        assert secret.hex() not in body


# --- graceful shutdown -------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_server_cleanly_and_leaves_an_intact_store(start_server, tmp_path, sig):
    store = tmp_path / "stop.db"
    srv = start_server(store)
    for path in ("/agents", "/catalog?q=tent", "/.well-known/jwks.json", "/status"):
        assert requests.get(srv.url(path), timeout=15).status_code == 200
    srv.assert_stopped_cleanly(srv.stop(sig))
    assert integrity(store) == "ok"
    assert "signing_keys" in table_names(store)


@pytest.mark.sqlite_only("the store file and its WAL")
def test_clean_stop_checkpoints_the_write_ahead_log(start_server, tmp_path):
    """Closing every connection cleanly folds the WAL back into the database and removes it."""
    store = tmp_path / "checkpoint.db"
    srv = start_server(store)
    requests.get(srv.url("/status"), timeout=15)
    srv.assert_stopped_cleanly(srv.stop())
    wal = store.with_name(store.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, f"{wal} left with {wal.stat().st_size} bytes"


def test_sigterm_lets_an_in_flight_request_finish(start_server, tmp_path):
    """A request whose body is still arriving when SIGTERM lands is answered in full before the
    process exits; the process then exits 0."""
    store = tmp_path / "inflight.db"
    srv = start_server(store)
    body = b'{"slow": "upload"}'
    with socket.create_connection(("127.0.0.1", srv.port), timeout=15) as s:
        s.sendall(
            b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        s.sendall(body[:5])
        time.sleep(0.5)  # the server has the headers and part of the body: a request in flight
        srv.send(signal.SIGTERM)
        time.sleep(1.0)
        assert srv.process.poll() is None, "the server exited with a request still in flight"
        s.sendall(body[5:])
        received = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
    status, headers, payload = split_response(received)
    assert status == 200, received[:300]
    assert int(headers["content-length"]) == len(payload)
    assert b'"status":"ok"' in payload.replace(b" ", b"")
    code = srv.process.wait(timeout=STOP_TIMEOUT)
    srv.join_readers()
    srv.assert_stopped_cleanly(code)
    assert integrity(store) == "ok"


def test_no_new_requests_are_served_after_the_stop_completes(start_server, tmp_path):
    srv = start_server(tmp_path / "after.db")
    srv.assert_stopped_cleanly(srv.stop())
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url("/status"), timeout=3)


def test_restart_on_the_same_port_after_a_clean_stop(start_server, tmp_path):
    first = start_server(tmp_path / "port.db")
    port = first.port
    first.assert_stopped_cleanly(first.stop())
    second = start_server(tmp_path / "port.db", port=port)
    assert requests.get(second.url("/status"), timeout=15).status_code == 200
    second.assert_stopped_cleanly(second.stop())


def test_uptime_grows_while_running(start_server, tmp_path):
    srv = start_server(tmp_path / "uptime.db")
    first = requests.get(srv.url("/status"), timeout=15).json()["uptime_seconds"]
    time.sleep(1.2)
    second = requests.get(srv.url("/status"), timeout=15).json()["uptime_seconds"]
    assert second >= first + 1
    srv.assert_stopped_cleanly(srv.stop())
