#!/usr/bin/env python3
"""Serves ONE fixture site of the audit corpus on 127.0.0.1, for `test_audit_corpus.py`.

    python serve.py SITE_DIR [--port 0] [--log FILE] [--listener HOST:PORT]

Binds 127.0.0.1:PORT (0: a free port), prints `LISTENING <port>` (flushed) once it answers, and
serves until killed. SITE_DIR holds `site.json` and `files/`. What the server does beyond serving
`files/` is in `site.json`'s "behaviour" (see README.md beside this file for every key):

- static files under `files/`, with a content type by extension (a file without one is JSON when it
  parses as JSON, plain text otherwise); `/dir/` and `/dir` serve `dir/index.html`, `/page` serves
  `page.html` when there is no `page`; query strings are ignored;
- `{{BASE}}` (http://127.0.0.1:PORT), `{{HOST}}` (127.0.0.1:PORT) and `{{LISTENER}}` (the
  `--listener` value) replaced in every text file served;
- `Accept: text/markdown`: the `.md` twin of an HTML file (`index.md` beside `index.html`), with
  `Vary: Accept` on both answers;
- "challenge": every request answered by a Cloudflare-style challenge (403, `cf-mitigated:
  challenge`, "Just a moment..."); "user_agents": rules by User-Agent (a status, a body, or the
  challenge); "routes": per-path answers (status, headers, body, JSON, redirects, 402 payment
  requirements); "headers": headers added to answers by path (Link, Content-Signal, ...);
  "spa_fallback": unknown paths answer 200 with `index.html`, as a single-page app host does;
- "mcp": a REAL MCP server (the official SDK, `mcp==2.3.0`, low-level `Server` with its Streamable
  HTTP session manager) at a path: stateful or stateless, JSON or SSE answers, the site's tools;
- "a2a": a tiny A2A JSON-RPC endpoint (SendMessage, GetTask; `message/send`, `tasks/get` of 0.3);
- "web_bot_auth": a Web Bot Auth key directory signed per RFC 9421 on every answer.

Every request is appended to `--log` as one JSON line: method, path, query, user agent, accept.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fnmatch
import hashlib
import json
import re
import secrets
import socket
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import unquote

import uvicorn
from starlette.requests import Request
from starlette.responses import Response

TEXT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".jsonl": "application/jsonl",
    ".xml": "application/xml",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".csv": "text/csv; charset=utf-8",
}
BINARY_TYPES = {".png": "image/png", ".ico": "image/x-icon", ".jpg": "image/jpeg", ".webp": "image/webp"}

HERE = Path(__file__).resolve().parent
CHALLENGE_PAGE = HERE / "_common" / "cloudflare-challenge.html"


def matches(pattern: str, path: str) -> bool:
    """`pattern` with `*` is an fnmatch glob over the whole path (`*` crosses `/`); else exact."""
    if "*" in pattern or "?" in pattern or "[" in pattern:
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def accepts_markdown(accept: str) -> bool:
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        if fields[0].lower() != "text/markdown":
            continue
        q = next((f[2:] for f in fields[1:] if f.lower().startswith("q=")), "1")
        try:
            return float(q) > 0
        except ValueError:
            return True
    return False


class Site:
    def __init__(self, root: Path, base: str, listener: str) -> None:
        self.root = root
        self.files = (root / "files").resolve()
        self.spec = json.loads((root / "site.json").read_text())
        self.behaviour: dict = self.spec.get("behaviour", {})
        self.base = base
        self.host = base.split("://", 1)[1]
        self.listener = listener
        self.mcp = None  # (path, session manager)
        self.directory_key = None

    # --- templating ------------------------------------------------------------------------

    def fill(self, text: str) -> str:
        return text.replace("{{BASE}}", self.base).replace("{{HOST}}", self.host).replace("{{LISTENER}}", self.listener)

    def fill_json(self, value):
        return json.loads(self.fill(json.dumps(value)))

    # --- static files ----------------------------------------------------------------------

    def inside(self, path: Path) -> Path | None:
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):
            return None
        if resolved != self.files and self.files not in resolved.parents:
            return None
        return resolved if resolved.is_file() else None

    def resolve(self, url_path: str) -> Path | None:
        rel = unquote(url_path).lstrip("/")
        if "\0" in rel:
            return None
        target = self.files / rel
        candidates = [target / "index.html"] if (rel == "" or url_path.endswith("/")) else [
            target, target / "index.html", target.with_name(target.name + ".html")]
        for candidate in candidates:
            found = self.inside(candidate)
            if found:
                return found
        return None

    def content_type(self, file: Path, body: bytes) -> str:
        suffix = file.suffix.lower()
        if suffix in TEXT_TYPES:
            return TEXT_TYPES[suffix]
        if suffix in BINARY_TYPES:
            return BINARY_TYPES[suffix]
        try:
            json.loads(body)
            return "application/json"
        except ValueError:
            return "text/plain; charset=utf-8"

    def file_response(self, file: Path, status: int = 200, extra: dict | None = None) -> Response:
        raw = file.read_bytes()
        ctype = self.content_type(file, raw)
        if file.suffix.lower() not in BINARY_TYPES:
            raw = self.fill(raw.decode("utf-8")).encode("utf-8")
        headers = dict(extra or {})
        return Response(raw, status_code=status, headers=headers, media_type=ctype)

    # --- canned answers --------------------------------------------------------------------

    def challenge(self) -> Response:
        ray = secrets.token_hex(8)
        page = self.fill(CHALLENGE_PAGE.read_text()).replace("{{RAY}}", ray)
        return Response(page, status_code=403, media_type="text/html; charset=UTF-8", headers={
            "cf-mitigated": "challenge",
            "cf-ray": f"{ray}-LHR",
            "Server": "cloudflare",
            "Cache-Control": "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, pre-check=0",
            "Expires": "Thu, 01 Jan 1970 00:00:01 GMT",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "SAMEORIGIN",
            "X-Content-Type-Options": "nosniff",
            "Critical-CH": "Sec-CH-UA-Bitness, Sec-CH-UA-Arch, Sec-CH-UA-Full-Version, Sec-CH-UA-Mobile, Sec-CH-UA-Model, Sec-CH-UA-Platform-Version, Sec-CH-UA-Full-Version-List, Sec-CH-UA-Platform, Sec-CH-UA, UA-Bitness, UA-Arch, UA-Full-Version, UA-Mobile, UA-Model, UA-Platform-Version, UA-Platform, UA",
        })

    def canned(self, rule: dict, request: Request) -> Response:
        """A route's or a user-agent rule's answer."""
        headers = {k: self.fill(v) for k, v in rule.get("headers", {}).items()}
        if rule.get("challenge"):
            return self.challenge()
        if rule.get("add_slash"):  # a RELATIVE redirect to the same path with a trailing slash
            headers["Location"] = request.url.path.rsplit("/", 1)[-1] + "/"
            return Response(b"", status_code=rule.get("status", 301), headers=headers)
        if "redirect" in rule:
            headers["Location"] = self.fill(rule["redirect"]).replace("{{PATH}}", request.url.path)
            return Response(b"", status_code=rule.get("status", 301), headers=headers)
        if "payment" in rule:
            return self.payment(rule["payment"], request, headers)
        status = rule.get("status", 200)
        if "json" in rule:
            body = json.dumps(self.fill_json(rule["json"]), indent=2).encode()
            return Response(body, status_code=status, headers=headers, media_type=rule.get("content_type", "application/json"))
        if "file" in rule:
            file = self.inside(self.files / rule["file"].lstrip("/"))
            if file is None:
                raise FileNotFoundError(rule["file"])
            response = self.file_response(file, status, headers)
            if "content_type" in rule:
                response.headers["content-type"] = rule["content_type"]
            return response
        body = self.fill(rule.get("body", ""))
        return Response(body.encode(), status_code=status, headers=headers,
                        media_type=rule.get("content_type", "text/html; charset=utf-8"))

    def payment(self, spec: dict, request: Request, headers: dict) -> Response:
        """HTTP 402 as x402 v2 (PAYMENT-REQUIRED: base64 of the PaymentRequired object, and the same
        object as the body) and/or the "Payment" HTTP authentication scheme of the MPP draft
        (WWW-Authenticate: Payment id=, realm=, method=, intent=, request=, expires=)."""
        url = self.base + request.url.path + (("?" + request.url.query) if request.url.query else "")
        body: dict = {}
        if "x402" in spec:
            required = self.fill_json(spec["x402"])
            required.setdefault("resource", {}).setdefault("url", url)
            headers["PAYMENT-REQUIRED"] = base64.b64encode(json.dumps(required, separators=(",", ":")).encode()).decode()
            body = required
        if "mpp" in spec:
            mpp = self.fill_json(spec["mpp"])
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300))
            request_b64 = b64url(json.dumps(mpp["request"], separators=(",", ":")).encode())
            headers["WWW-Authenticate"] = (
                f'Payment id="{secrets.token_urlsafe(16)}", realm="{self.host}", method="{mpp["method"]}", '
                f'intent="{mpp.get("intent", "charge")}", request="{request_b64}", expires="{expires}"')
            if not body:
                body = {"type": "https://paymentauth.org/problems/payment-required", "title": "Payment Required",
                        "status": 402, "detail": mpp.get("detail", "Payment is required.")}
        headers.setdefault("Cache-Control", "no-store")
        return Response(json.dumps(body, indent=2).encode(), status_code=402, headers=headers,
                        media_type="application/problem+json" if "x402" not in spec else "application/json")

    def not_found(self) -> Response:
        return Response(b"<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
                        b"<p>The page you asked for does not exist.</p></body></html>",
                        status_code=404, media_type="text/html; charset=utf-8")

    # --- Web Bot Auth key directory ---------------------------------------------------------

    def directory(self, request: Request) -> Response:
        """A key directory (draft-meunier-http-message-signatures-directory) whose answer is signed
        per RFC 9421 over "@authority";req, with tag="http-message-signatures-directory"."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        spec = self.behaviour["web_bot_auth"]
        key = load_pem_private_key((self.root / spec["private_key"]).read_bytes(), None)
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        thumbprint = b64url(hashlib.sha256(json.dumps(
            {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":")).encode()).digest())
        authority = (request.headers.get("host") or self.host).lower()
        created = int(time.time())
        params = (f'("@authority";req);alg="ed25519";keyid="{thumbprint}";nonce="{b64url(secrets.token_bytes(32))}"'
                  f';tag="http-message-signatures-directory";created={created};expires={created + 3600}')
        base = f'"@authority";req: {authority}\n"@signature-params": {params}'
        signature = base64.b64encode(key.sign(base.encode())).decode()
        body = json.dumps({"keys": [dict(jwk, kid=thumbprint, use="sig", alg="EdDSA")]}, indent=2).encode()
        return Response(body, media_type="application/http-message-signatures-directory+json", headers={
            "Signature-Input": f"binding0={params}", "Signature": f"binding0=:{signature}:",
            "Cache-Control": "max-age=86400"})

    # --- A2A ------------------------------------------------------------------------------

    async def a2a(self, request: Request) -> Response:
        spec = self.behaviour["a2a"]
        if request.method != "POST":
            return Response(json.dumps({"jsonrpc": "2.0", "id": None, "error": {
                "code": -32600, "message": "A2A JSON-RPC: send a POST with a JSON-RPC 2.0 request"}}).encode(),
                status_code=405, headers={"Allow": "POST"}, media_type="application/json")
        try:
            call = json.loads(await request.body())
        except ValueError:
            return self.rpc(None, error=(-32700, "Parse error"))
        if not isinstance(call, dict) or call.get("jsonrpc") != "2.0" or not isinstance(call.get("method"), str):
            return self.rpc(call.get("id") if isinstance(call, dict) else None, error=(-32600, "Invalid Request"))
        version = request.headers.get("a2a-version", "")
        if version and version.split(".")[:2] not in (["1", "0"], ["0", "3"]):
            return self.rpc(call.get("id"), error=(-32009, f"VersionNotSupportedError: A2A-Version {version}"))
        method, rid, params = call["method"], call.get("id"), call.get("params") or {}
        context = str(uuid.uuid4())
        if method in ("SendMessage", "message/send"):
            text = " ".join(p.get("text", "") for p in (params.get("message") or {}).get("parts", []) if isinstance(p, dict))
            reply = self.fill(spec.get("reply", "Thank you. Here is what I found."))
            task = {"id": str(uuid.uuid4()), "contextId": context,
                    "status": {"state": "TASK_STATE_COMPLETED" if method == "SendMessage" else "completed"},
                    "artifacts": [{"artifactId": str(uuid.uuid4()), "name": "answer",
                                   "parts": [{"text": reply}] if method == "SendMessage" else [{"kind": "text", "text": reply}]}],
                    "metadata": {"asked": text[:200]}}
            if method == "message/send":
                task["kind"] = "task"
                return self.rpc(rid, result=task)
            return self.rpc(rid, result={"task": task})
        if method in ("GetTask", "tasks/get"):
            return self.rpc(rid, error=(-32001, "TaskNotFoundError: no such task"))
        return self.rpc(rid, error=(-32601, f"Method not found: {method}"))

    @staticmethod
    def rpc(rid, result=None, error=None) -> Response:
        answer = {"jsonrpc": "2.0", "id": rid}
        if error:
            answer["error"] = {"code": error[0], "message": error[1]}
        else:
            answer["result"] = result
        return Response(json.dumps(answer).encode(), media_type="application/json")

    # --- the request ------------------------------------------------------------------------

    async def answer(self, request: Request) -> Response | None:
        """The response, or None when the MCP server should take the request."""
        b = self.behaviour
        path = request.url.path
        method = request.method
        agent = request.headers.get("user-agent", "")

        challenge = b.get("challenge")
        if challenge and not any(matches(p, path) for p in (challenge.get("exempt", []) if isinstance(challenge, dict) else [])):
            return self.challenge()

        for rule in b.get("user_agents", []):
            if re.search(rule["pattern"], agent, re.I) and any(matches(p, path) for p in rule.get("paths", ["*"])):
                return self.canned(rule, request)

        for rule in b.get("routes", []):
            if matches(rule["match"], path) and method in rule.get("methods", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]):
                return self.canned(rule, request)

        if self.mcp and path.rstrip("/") == self.mcp[0].rstrip("/"):
            return None
        if "a2a" in b and path == b["a2a"]["path"]:
            return await self.a2a(request)
        if "web_bot_auth" in b and path == b["web_bot_auth"].get("path", "/.well-known/http-message-signatures-directory"):
            return self.directory(request)

        if method not in ("GET", "HEAD"):
            return Response(b"", status_code=405, headers={"Allow": "GET, HEAD"})

        file = self.resolve(path)
        if file is None and b.get("spa_fallback"):
            file = self.inside(self.files / "index.html")
        if file is None:
            return self.not_found()
        if file.suffix.lower() in (".html", ".htm"):
            twin = self.inside(file.with_suffix(".md"))
            if twin is not None:
                if accepts_markdown(request.headers.get("accept", "")):
                    response = self.file_response(twin, extra={"Vary": "Accept"})
                    body = response.body
                    response.headers["x-markdown-tokens"] = str(max(1, len(body) // 4))
                    return response
                return self.file_response(file, extra={"Vary": "Accept"})
        return self.file_response(file)

    def added_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        out = []
        for rule in self.behaviour.get("headers", []):
            if matches(rule["match"], path):
                for name, value in rule["headers"].items():
                    out.append((name.lower().encode(), self.fill(value).encode()))
        return out


# --- MCP -------------------------------------------------------------------------------------


def build_mcp(site: Site):
    """The site's MCP server: the SDK's low-level Server, tools from site.json, and the SDK's
    Streamable HTTP session manager (stateful or stateless, JSON or SSE answers)."""
    import mcp_types as types
    from mcp.server.lowlevel.server import Server
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings

    spec = site.behaviour["mcp"]
    tools = {t["name"]: t for t in spec.get("tools", [])}

    def tool_model(t: dict):
        declared = {k: v for k, v in t.items() if k not in ("result", "error")}
        return types.Tool.model_validate(site.fill_json(declared))

    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=[tool_model(t) for t in tools.values()])

    async def call_tool(ctx, params):
        tool = tools.get(params.name)
        if tool is None:
            return types.CallToolResult(content=[types.TextContent(type="text", text=f"Unknown tool: {params.name}")], is_error=True)
        schema = tool.get("inputSchema", {})
        missing = [name for name in schema.get("required", []) if name not in (params.arguments or {})]
        if missing:
            return types.CallToolResult(content=[types.TextContent(
                type="text", text=f"Missing required argument(s): {', '.join(missing)} (see the tool's inputSchema)")], is_error=True)
        if "error" in tool:
            return types.CallToolResult(content=[types.TextContent(type="text", text=site.fill(tool["error"]))], is_error=True)
        result = site.fill_json(tool.get("result", {"ok": True}))
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(result))],
                                    structured_content=result if isinstance(result, dict) else None)

    server = Server(spec.get("name", site.spec["name"]), version=spec.get("version", "1.0.0"),
                    instructions=site.fill(spec["instructions"]) if spec.get("instructions") else None,
                    on_list_tools=list_tools, on_call_tool=call_tool)
    manager = StreamableHTTPSessionManager(
        app=server, json_response=bool(spec.get("json_response", False)), stateless=bool(spec.get("stateless", False)),
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    return spec.get("path", "/mcp"), manager


# --- the ASGI app ------------------------------------------------------------------------------


def make_app(site: Site, log_path: Path | None, port: int):
    log = open(log_path, "a", buffering=1) if log_path else None

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            stack = contextlib.AsyncExitStack()
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if site.mcp:
                        await stack.enter_async_context(site.mcp[1].run())
                    await send({"type": "lifespan.startup.complete"})
                    print(f"LISTENING {port}", flush=True)
                elif message["type"] == "lifespan.shutdown":
                    await stack.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if log:
            log.write(json.dumps({"method": request.method, "path": request.url.path, "query": request.url.query,
                                  "user_agent": request.headers.get("user-agent", ""),
                                  "accept": request.headers.get("accept", ""), "time": time.time()}) + "\n")
        extra = site.added_headers(request.url.path)

        async def send_with_headers(message):
            if message["type"] == "http.response.start" and extra:
                replaced = {name for name, _ in extra}  # a rule's header replaces the answer's own
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in replaced]
                message = dict(message, headers=kept + extra)
            await send(message)

        try:
            response = await site.answer(request)
        except Exception as error:  # a broken fixture: say so plainly
            response = Response(f"fixture error: {error!r}".encode(), status_code=500, media_type="text/plain")
        if response is None:
            await site.mcp[1].handle_request(scope, receive, send_with_headers)
            return
        await response(scope, receive, send_with_headers)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--listener", default="127.0.0.2:9", help="replaces {{LISTENER}} in served files")
    args = parser.parse_args()

    site_dir = args.site.resolve()
    spec = json.loads((site_dir / "site.json").read_text())
    if spec.get("behaviour", {}).get("unreachable"):
        sys.exit("this site is unreachable on purpose: nothing is served (the test audits a closed port)")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    port = sock.getsockname()[1]

    site = Site(site_dir, f"http://127.0.0.1:{port}", args.listener)
    if "mcp" in site.behaviour:
        site.mcp = build_mcp(site)
    config = uvicorn.Config(make_app(site, args.log, port), log_level="warning", access_log=False, lifespan="on",
                            timeout_keep_alive=5, timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
