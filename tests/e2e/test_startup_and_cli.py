"""Start-up and the command line: a bad manifests folder is refused at start with the file, the
JSON Pointer and what was expected, and a non-zero exit; `storefront validate DIR` checks a
folder without serving; `--help` works everywhere; the server announces where it listens."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from support import BINARY, REPO_ROOT, free_port, run_cli, split_detached, verify_ed25519

EX_DATAERR = 65  # sysexits.h: the input data was incorrect


def edit_json(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def serve_and_expect_refusal(manifests: Path, store: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    port = free_port()
    result = run_cli("serve", "--manifests", str(manifests), "--store", str(store),
                     "--host", "127.0.0.1", "--port", str(port), timeout=timeout)
    # It must not be listening: the process is gone and nothing answers on the port.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    return result


# Each case: how to break the folder, and what the error must name.
BROKEN_FOLDERS = {
    "price as a float": (
        lambda m: edit_json(m / "catalog.json", lambda d: d["products"][3]["price"].__setitem__("amount", 12.99)),
        "catalog.json", "/products/3/price/amount",
    ),
    "price as a string": (
        lambda m: edit_json(m / "catalog.json", lambda d: d["products"][3]["price"].__setitem__("amount", "1299")),
        "catalog.json", "/products/3/price/amount",
    ),
    "missing required name": (
        lambda m: edit_json(m / "catalog.json", lambda d: d["products"][5].pop("name")),
        "catalog.json", "/products/5",
    ),
    "unknown category": (
        lambda m: edit_json(m / "catalog.json", lambda d: d["products"][0].__setitem__("category", "kayaks")),
        "catalog.json", "/products/0/category",
    ),
    "duplicate product id": (
        lambda m: edit_json(m / "catalog.json", lambda d: d["products"][2].__setitem__("id", d["products"][1]["id"])),
        "catalog.json", "/products/2/id",
    ),
    "bad currency code": (
        lambda m: edit_json(m / "catalog.json", lambda d: d["products"][7]["price"].__setitem__("currency", "usd")),
        "catalog.json", "/products/7/price/currency",
    ),
    "store contact email not an email": (
        lambda m: edit_json(m / "store.json", lambda d: d["contact"].__setitem__("email", "not an email")),
        "store.json", "/contact/email",
    ),
    "pricing.json is not JSON": (
        lambda m: (m / "pricing.json").write_text('{"plans": [1,,2]}'),
        "pricing.json", "line 1",
    ),
    "policies.json is missing": (
        lambda m: (m / "policies.json").unlink(),
        "policies.json", "missing",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_FOLDERS))
def test_serve_refuses_a_broken_manifests_folder_naming_file_and_pointer(manifests_copy, tmp_path, case):
    breaker, file, where = BROKEN_FOLDERS[case]
    breaker(manifests_copy)
    result = serve_and_expect_refusal(manifests_copy, tmp_path / "store.db")
    assert result.returncode == EX_DATAERR, (result.returncode, result.stderr)
    assert file in result.stderr, result.stderr
    assert where in result.stderr, result.stderr
    assert "serving" not in result.stdout
    assert "Traceback" not in result.stderr and "Fatal error" not in result.stderr


def test_the_refusal_message_has_the_file_at_pointer_colon_message_form(manifests_copy, tmp_path):
    edit_json(manifests_copy / "catalog.json", lambda d: d["products"][3]["price"].__setitem__("amount", 12.99))
    result = serve_and_expect_refusal(manifests_copy, tmp_path / "store.db")
    line = next(l for l in result.stderr.splitlines() if "/products/3/price/amount" in l)
    m = re.search(r"catalog\.json at /products/3/price/amount: (.+)$", line)
    assert m, line
    assert "integer" in m.group(1), "the message says what was expected"


def test_every_problem_is_reported_in_one_pass(manifests_copy, tmp_path):
    edit_json(manifests_copy / "catalog.json", lambda d: d["products"][3]["price"].__setitem__("amount", 12.99))
    edit_json(manifests_copy / "store.json", lambda d: d["contact"].__setitem__("email", "nope"))
    result = run_cli("validate", str(manifests_copy))
    assert result.returncode == EX_DATAERR
    assert "/products/3/price/amount" in result.stderr
    assert "/contact/email" in result.stderr


def test_a_schema_problem_does_not_hide_a_broken_reference(manifests_copy):
    """A schema error in one file and a reference to nothing in another: both are listed."""
    edit_json(manifests_copy / "store.json", lambda d: d["contact"].__setitem__("email", "nope"))
    edit_json(manifests_copy / "catalog.json", lambda d: d["products"][5].__setitem__("category", "no-such-category"))
    result = run_cli("validate", str(manifests_copy))
    assert result.returncode == EX_DATAERR
    assert "/contact/email" in result.stderr, result.stderr
    assert "/products/5/category" in result.stderr, result.stderr
    assert "(2 problems)" in result.stderr, result.stderr


def test_serve_refuses_a_folder_that_does_not_exist(tmp_path):
    result = serve_and_expect_refusal(tmp_path / "no-such-folder", tmp_path / "store.db")
    assert result.returncode != 0
    assert "no-such-folder" in result.stderr


def test_a_refused_start_does_not_create_the_store(manifests_copy, tmp_path):
    edit_json(manifests_copy / "catalog.json", lambda d: d["products"][0].__setitem__("price", {"amount": -1}))
    store = tmp_path / "never.db"
    result = serve_and_expect_refusal(manifests_copy, store)
    assert result.returncode == EX_DATAERR
    assert not store.exists()


# --- validate ----------------------------------------------------------------------------------


def test_validate_accepts_the_demo_store():
    result = run_cli("validate", "manifests")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert "47 products" in result.stdout


def test_validate_accepts_an_unchanged_copy(manifests_copy):
    result = run_cli("validate", str(manifests_copy))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("case", list(BROKEN_FOLDERS))
def test_validate_refuses_a_broken_folder_naming_file_and_pointer(manifests_copy, case):
    breaker, file, where = BROKEN_FOLDERS[case]
    breaker(manifests_copy)
    result = run_cli("validate", str(manifests_copy))
    assert result.returncode == EX_DATAERR, (result.returncode, result.stdout, result.stderr)
    assert file in result.stderr and where in result.stderr, result.stderr


def test_validate_works_from_any_working_directory(tmp_path):
    """Run outside the repository: it still finds the schemas shipped with the build tree."""
    result = subprocess.run([str(BINARY), "validate", str(REPO_ROOT / "manifests")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# --- help and usage ----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["validate", "--help"]])
def test_help_is_available_everywhere(args):
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "USAGE" in result.stdout.upper()


def test_serve_help_documents_the_options():
    out = run_cli("serve", "--help").stdout
    for option in ("--manifests", "--store", "--host", "--port", "--threads"):
        assert option in out, option


def test_unknown_option_is_a_usage_error():
    result = run_cli("serve", "--no-such-option")
    assert result.returncode != 0
    assert "no-such-option" in result.stderr


def test_version_is_printed():
    result = run_cli("--version")
    assert result.returncode == 0
    assert re.match(r"^\d+\.\d+\.\d+", result.stdout.strip())


# --- announcing ------------------------------------------------------------------------------


def test_serve_announces_the_address_and_the_agent_entry_point(server):
    lines = server.stdout_lines
    assert any(re.search(rf"storefront .*: serving .* at {re.escape(server.base_url)}\b", l) for l in lines), lines
    assert f"agent entry point: {server.base_url}/agents\n" in lines, lines


def test_port_already_in_use_is_a_clear_failure(server, tmp_path):
    result = run_cli("serve", "--store", str(tmp_path / "s.db"), "--host", "127.0.0.1",
                     "--port", str(server.port), timeout=30)
    assert result.returncode != 0
    assert str(server.port) in result.stderr


def test_public_url_is_used_in_every_document_and_the_signature_still_verifies(start_server, tmp_path):
    public = "https://shop.example.com"
    srv = start_server(tmp_path / "public-url.db", extra=("--public-url", public))
    agents = requests.get(srv.url("/agents"), headers={"Accept": "application/json"}, timeout=15).json()
    assert all(url.startswith(public + "/") for url in agents["documents"].values()), agents["documents"]
    card = requests.get(srv.url("/.well-known/agent-card.json"), timeout=15).json()
    assert card["url"].startswith(public)
    assert f"Sitemap: {public}/sitemap.xml" in requests.get(srv.url("/robots.txt"), timeout=15).text
    assert requests.get(srv.url("/openapi.json"), timeout=15).json()["servers"][0]["url"] == public
    manifest = requests.get(srv.url("/.well-known/capabilities.json"), timeout=15)
    assert manifest.json()["signature"]["jwks"] == public + "/.well-known/jwks.json"
    jwks = requests.get(srv.url("/.well-known/jwks.json"), timeout=15).json()
    header, encoded_header, signature = split_detached(manifest.headers["X-Capabilities-Signature"])
    verify_ed25519({k["kid"]: k for k in jwks["keys"]}[header["kid"]], encoded_header, manifest.content, signature)
    srv.assert_stopped_cleanly(srv.stop())


def test_a_single_thread_server_still_serves(start_server, tmp_path):
    srv = start_server(tmp_path / "one-thread.db", extra=("--threads", "1"))
    for path in ("/agents", "/catalog?q=tent", "/llms.txt"):
        assert requests.get(srv.url(path), timeout=15).status_code == 200
    srv.assert_stopped_cleanly(srv.stop())


@pytest.mark.parametrize("content", [None, "short"])
def test_a_bad_admin_token_file_is_named_in_plain_words(tmp_path, content):
    token_file = tmp_path / "admin-token"
    if content is not None:
        token_file.write_text(content)
    result = subprocess.run(
        [str(BINARY), "serve", "--manifests", str(REPO_ROOT / "manifests"), "--store", str(tmp_path / "s.db"),
         "--port", "0", "--admin-token-file", str(token_file)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 78, (result.returncode, result.stderr)
    assert str(token_file) in result.stderr
    assert "AuthenticationError" not in result.stderr and "code:" not in result.stderr, result.stderr


def test_a_client_leaving_a_stream_is_not_logged_as_an_error(tmp_path):
    """Every stream ends with its client leaving: that is no error line (libmicrohttpd's
    "Failed to send ..." is filtered), while the gateway keeps serving."""
    import socket
    import time

    from shop import start_shop

    shop = start_shop(tmp_path / "quiet", extra=("--stream-keepalive", "0.2"))
    try:
        agent = shop.buyer(funds=1_000)
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", shop.server.port))
            s.sendall((f"GET /inbox HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                       f"Authorization: Bearer {agent.api_key}\r\n\r\n").encode())
            assert s.recv(64).startswith(b"HTTP/1.1 200")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # a reset, as a client that is killed
            shop.fund(agent, 100)  # an event for the stream that is gone
        time.sleep(1.5)  # keep-alives written to the closed sockets
        assert requests.get(shop.url("/status"), timeout=10).status_code == 200
        assert "Failed to send" not in shop.server.stderr, shop.server.stderr
    finally:
        shop.server.stop()
