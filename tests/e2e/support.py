"""Helpers shared by the end-to-end tests: start the REAL `storefront` binary, run its CLI,
build fixture folders, and check the project's JSON error shape.

The binary is `$STOREFRONT_BIN`, else `<repo>/.build/debug/storefront` (`swift build --product
storefront`). It runs with the repository root as its working directory, so it finds `schemas/`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from stores import store_arg, store_args
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = REPO_ROOT / "manifests"
SCHEMAS = REPO_ROOT / "schemas"
BINARY = Path(os.environ.get("STOREFRONT_BIN") or REPO_ROOT / ".build" / "debug" / "storefront")

# How long the server may take to answer /status after it was started, and to stop.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0

# The session server refuses bodies larger than this (small, so 413 tests stay cheap).
SESSION_MAX_BODY = 4096


def free_port() -> int:
    """A port nobody listens on right now: bind port 0, read it back, close."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Runs `storefront ARGS...` to completion (for validate, --help, failing starts)."""
    return subprocess.run(
        [str(BINARY), *store_args(args)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )


@dataclass
class ServerProcess:
    """One running `storefront serve`, with its output captured."""

    process: subprocess.Popen
    port: int
    store: Path
    base_url: str
    stdout_lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    _readers: list[threading.Thread] = field(default_factory=list)

    def _pump(self, stream, sink: list[str]) -> None:
        for line in iter(stream.readline, ""):
            sink.append(line)
        stream.close()

    def start_readers(self) -> None:
        for stream, sink in ((self.process.stdout, self.stdout_lines), (self.process.stderr, self.stderr_lines)):
            t = threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
            t.start()
            self._readers.append(t)

    @property
    def stdout(self) -> str:
        return "".join(self.stdout_lines)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def url(self, path: str) -> str:
        return self.base_url + path

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.join_readers()
                raise AssertionError(
                    f"storefront exited with {self.process.returncode} before answering /status\n"
                    f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
                )
            try:
                r = requests.get(self.url("/status"), timeout=2)
                if r.status_code == 200:
                    return
            except requests.RequestException as error:  # not listening yet
                last_error = error
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"storefront did not answer /status within {START_TIMEOUT}s: {last_error}\n{self.stderr}")

    def join_readers(self, timeout: float = 5.0) -> None:
        for t in self._readers:
            t.join(timeout)

    def send(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Sends `sig` (SIGTERM by default), waits for the exit, returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"storefront did not stop within {STOP_TIMEOUT}s of signal {sig}")
        self.join_readers()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.join_readers()

    def assert_stopped_cleanly(self, code: int) -> None:
        assert code == 0, f"exit status {code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        assert "storefront: stopped cleanly" in self.stdout, self.stdout


def launch(
    store: Path,
    *,
    manifests: Path = MANIFESTS,
    port: int | None = None,
    extra: tuple[str, ...] = (),
    wait: bool = True,
) -> ServerProcess:
    """Starts `storefront serve` on 127.0.0.1 and (by default) waits until /status answers."""
    if not BINARY.exists():
        pytest.fail(f"no storefront binary at {BINARY}: run `swift build --product storefront` or set STOREFRONT_BIN")
    port = port or free_port()
    args = [
        str(BINARY), "serve",
        "--manifests", str(manifests),
        "--store", store_arg(store),
        "--host", "127.0.0.1",
        "--port", str(port),
        *extra,
    ]
    process = subprocess.Popen(
        args, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    server = ServerProcess(process=process, port=port, store=store, base_url=f"http://127.0.0.1:{port}")
    server.start_readers()
    if wait:
        server.wait_until_ready()
    return server


# --- the dashboard fixture folder (static files and escape attempts) -------------------------

SECRET_TEXT = "TOP SECRET: outside the public folder"


def make_public_tree(root: Path) -> Path:
    """A `public/` folder with one file of each common type, a folder without an index, a folder
    with one, and two symlinks: one that stays inside, one that points outside. Next to it, a
    `secret.txt` that must never be served."""
    public = root / "public"
    (public / "assets").mkdir(parents=True)
    (public / "docs").mkdir()
    (public / "empty-dir").mkdir()
    (public / "index.html").write_text("<!doctype html><title>Dashboard</title><h1>Dashboard</h1>\n")
    (public / "assets" / "app.js").write_text("console.log('dashboard');\n")
    (public / "assets" / "style.css").write_text("body { color: #222; }\n")
    (public / "assets" / "data.json").write_text('{"ok": true}\n')
    (public / "assets" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    (public / "assets" / "pixel.png").write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    )
    (public / "assets" / "notes.txt").write_text("plain text\n")
    (public / "docs" / "index.html").write_text("<!doctype html><title>Docs</title>\n")
    (public / "empty-dir" / "file-in-dir.txt").write_text("listed?\n")
    (root / "secret.txt").write_text(SECRET_TEXT + "\n")
    os.symlink(root / "secret.txt", public / "escape-link.txt")
    os.symlink(root, public / "escape-dir")
    os.symlink(public / "assets" / "notes.txt", public / "inside-link.txt")
    return public


# The `type` values of the design's wire conventions.
ERROR_TYPES = {"invalid_request", "authentication_error", "permission_error", "rate_limited",
               "payment_required", "processing_error", "service_unavailable"}


def assert_json_error(response: requests.Response, status: int, *, code: str | None = None,
                      param: str | None = None, type_: str = "invalid_request") -> dict:
    """The project's REST error shape: {"error": {"type", "code", "message", "param"?}}."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"type", "code", "message"} <= set(error), error
    assert error["type"] in ERROR_TYPES, error
    assert error["type"] == type_, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and len(error["message"]) >= 10, error
    if "param" in error:
        assert isinstance(error["param"], str), error
    if code is not None:
        assert error["code"] == code, error
    if param is not None:
        assert error.get("param") == param, error
    # Never a stack trace or an internal file path.
    for needle in ("Traceback", ".swift", "Fatal error", "/Sources/"):
        assert needle not in error["message"], error
    return error


class _JSONLDCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "script" and (dict(attrs).get("type") or "").lower() == "application/ld+json":
            self._inside = True
            self.blocks.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.blocks[-1] += data


def json_ld_blocks(html: str) -> list:
    """Every `<script type="application/ld+json">` block of a page, parsed."""
    collector = _JSONLDCollector()
    collector.feed(html)
    collector.close()
    return [json.loads(block) for block in collector.blocks]


def raw_exchange(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Sends raw bytes, returns everything the server sends until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


# --- JWS / JWK helpers (RFC 7515 Appendix F detached JWS, RFC 7638 thumbprints) ---------------


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rfc7638_thumbprint(jwk: dict) -> str:
    """SHA-256 over the required OKP members, lexicographic order, no whitespace."""
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


def split_detached(compact: str) -> tuple[dict, str, bytes]:
    parts = compact.split(".")
    assert len(parts) == 3, compact
    encoded_header, payload, signature = parts
    assert payload == "", "the payload must be detached (RFC 7515 Appendix F)"
    header = json.loads(b64url_decode(encoded_header))
    return header, encoded_header, b64url_decode(signature)


def verify_ed25519(jwk: dict, encoded_header: str, payload: bytes, signature: bytes) -> None:
    key = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    key.verify(signature, (encoded_header + "." + b64url_encode(payload)).encode())
