"""Fixtures for the end-to-end suite: the REAL `storefront` binary on a loopback port.

Every test talks to a real process over real sockets with real third-party clients
(requests, httpx through a2a-sdk, jsonschema, cryptography, joserfc, llms_txt, ...).
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

import stores
from support import BINARY, MANIFESTS, SESSION_MAX_BODY, ServerProcess, launch, make_public_tree


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only(reason): the test is about the SQLite file itself; skipped on PostgreSQL")
    if stores.POSTGRES:
        stores.start_cluster()


def pytest_unconfigure(config):
    stores.stop_cluster()


def pytest_report_header(config):
    return f"store: {stores.BACKEND}"


def pytest_collection_modifyitems(config, items):
    if not stores.POSTGRES:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker:
            item.add_marker(pytest.mark.skip(reason="SQLite only: " + (marker.args[0] if marker.args else "")))


@pytest.fixture(scope="session")
def binary() -> Path:
    if not BINARY.exists():
        pytest.fail(f"no storefront binary at {BINARY}: run `swift build --product storefront` or set STOREFRONT_BIN")
    return BINARY


@pytest.fixture(scope="session")
def public_tree(tmp_path_factory) -> Path:
    return make_public_tree(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="session")
def server(binary, tmp_path_factory, public_tree) -> ServerProcess:
    """The demo store, served once for the whole session; stopped (and checked) at the end."""
    store = tmp_path_factory.mktemp("store") / "storefront.db"
    srv = launch(
        store,
        extra=(
            "--threads", "4",
            "--public-directory", str(public_tree),
            "--max-body-bytes", str(SESSION_MAX_BODY),
            # Small pages, so the suite walks MCP tools/list pagination (the default is one page).
            "--tools-page-size", "5",
        ),
    )
    # One agent registered at the start, so the trail has an entry whatever runs first: the
    # trail proofs' documented examples (seq=1, first=1) answer 200, even after other tests
    # have used up the anonymous registration limit.
    registered = requests.post(srv.base_url + "/agents/register",
                               json={"principal": "session@example.com", "display_name": "Session agent"}, timeout=10)
    assert registered.status_code == 201, registered.text[:300]
    yield srv
    code = srv.stop(signal.SIGTERM)
    srv.assert_stopped_cleanly(code)


@pytest.fixture(scope="session")
def base_url(server) -> str:
    return server.base_url


@pytest.fixture(scope="session")
def http() -> requests.Session:
    """One keep-alive session for the whole run. The gateway closes a connection idle for 30 s
    (`--connection-timeout`); a request sent on it just as it closes gets no answer, and RFC 9112
    (section 9.3.1) has clients retry such an idempotent request on a new connection, as browsers
    do. This session does so for GET, HEAD and OPTIONS, once; never for a write."""
    retry = Retry(total=None, connect=1, read=1, redirect=False, status=0, other=0,
                  allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}), raise_on_status=False)
    with requests.Session() as s:
        s.mount("http://", HTTPAdapter(max_retries=retry))
        yield s


@pytest.fixture(scope="session")
def catalog_manifest() -> dict:
    return json.loads((MANIFESTS / "catalog.json").read_text())


@pytest.fixture(scope="session")
def store_manifest() -> dict:
    return json.loads((MANIFESTS / "store.json").read_text())


@pytest.fixture(scope="session")
def agents_doc(http, base_url) -> dict:
    r = http.get(base_url + "/agents", headers={"Accept": "application/json"})
    assert r.status_code == 200
    return r.json()


@pytest.fixture
def manifests_copy(tmp_path) -> Path:
    """A private, editable copy of the demo manifests."""
    target = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, target)
    return target


@pytest.fixture
def start_server(binary, tmp_path):
    """Factory: start extra servers (own store, own manifests); any still running are killed
    at teardown."""
    started: list[ServerProcess] = []

    def _start(store: Path | None = None, **kwargs) -> ServerProcess:
        srv = launch(store or tmp_path / "own.db", **kwargs)
        started.append(srv)
        return srv

    yield _start
    for srv in started:
        srv.kill()


@pytest.fixture(autouse=True)
def _session_server_is_alive(request):
    """If the shared server died (crashed, or was killed from outside), say so plainly instead of
    letting every later test fail with a connection error."""
    if not {"server", "base_url"} & set(request.fixturenames):
        yield
        return
    srv = request.getfixturevalue("server")
    if srv.process.poll() is not None:
        pytest.fail(
            f"the session storefront server is gone (exit status {srv.process.returncode}; a negative "
            f"status is the signal that ended it)\nstdout:\n{srv.stdout}\nstderr:\n{srv.stderr}",
            pytrace=False,
        )
    yield
