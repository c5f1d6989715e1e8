"""HTTP semantics every agent relies on: conditional GET (ETag/304), caching headers, HEAD for
every GET, CORS on public discovery documents, and JSON errors for 404/405/413.

Raw sockets are used where a client library would hide the bytes on the wire (HEAD bodies,
chunked uploads)."""

from __future__ import annotations

import pytest
import requests

from support import SESSION_MAX_BODY, assert_json_error, raw_exchange, split_response

# Public documents: cacheable, validated by ETag, CORS `*`.
PUBLIC_DOCUMENTS = [
    "/agents",
    "/.well-known/agent-card.json",
    "/.well-known/ucp",
    "/.well-known/acp.json",
    "/.well-known/capabilities.json",
    "/.well-known/capabilities.json.jws",
    "/.well-known/jwks.json",
    "/llms.txt",
    "/robots.txt",
    "/sitemap.xml",
    "/openapi.json",
    "/pricing",
    "/policies",
]

# Public pages that are also documents crawlers and agents cache (listed in the sitemap).
PRODUCT_DOCUMENTS = [
    "/products/ridgeline-2p-tent",
    "/catalog/ridgeline-2p-tent",
]

EVERY_GET_ROUTE = PUBLIC_DOCUMENTS + PRODUCT_DOCUMENTS + [
    "/status",
    "/catalog",
    "/catalog?q=tent&limit=5",
    "/products/granite-mid-hiking-boot",
]


# --- ETag and 304 ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_DOCUMENTS + PRODUCT_DOCUMENTS)
def test_document_has_etag_and_cache_control_and_answers_if_none_match_with_304(http, base_url, path):
    first = http.get(base_url + path)
    assert first.status_code == 200
    etag = first.headers.get("ETag")
    assert etag, f"{path} has no ETag"
    assert etag.startswith(('"', 'W/"')) and etag.endswith('"'), etag
    assert "Cache-Control" in first.headers, path
    assert "no-store" not in first.headers["Cache-Control"], path

    again = http.get(base_url + path)
    assert again.headers["ETag"] == etag, "the ETag must be stable while the document is"

    not_modified = http.get(base_url + path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304, path
    assert not_modified.content == b""
    assert not_modified.headers.get("ETag") == etag
    assert "Cache-Control" in not_modified.headers


@pytest.mark.parametrize("path", ["/agents", "/.well-known/capabilities.json", "/llms.txt"])
def test_if_none_match_accepts_lists_weak_tags_and_star(http, base_url, path):
    etag = http.get(base_url + path).headers["ETag"]
    for header in (f'"stale", {etag}', f"W/{etag}", "*"):
        r = http.get(base_url + path, headers={"If-None-Match": header})
        assert r.status_code == 304, (header, r.status_code)


@pytest.mark.parametrize("path", ["/agents", "/pricing", "/robots.txt"])
def test_stale_etag_gets_the_full_document(http, base_url, path):
    r = http.get(base_url + path, headers={"If-None-Match": '"not-the-current-tag"'})
    assert r.status_code == 200
    assert r.content


def test_head_with_matching_etag_is_also_304(http, base_url):
    etag = http.get(base_url + "/openapi.json").headers["ETag"]
    r = http.head(base_url + "/openapi.json", headers={"If-None-Match": etag})
    assert r.status_code == 304


# --- HEAD --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EVERY_GET_ROUTE)
def test_head_answers_every_get_with_the_same_headers_and_no_body(server, http, path):
    get = http.get(server.url(path))
    assert get.status_code == 200
    raw = raw_exchange(
        server.port, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    status, headers, body = split_response(raw)
    assert status == 200, raw[:300]
    assert body == b"", f"HEAD {path} sent {len(body)} body bytes"
    assert headers.get("content-type") == get.headers["Content-Type"]
    assert int(headers["content-length"]) == len(get.content)
    for name in ("ETag", "Cache-Control", "Access-Control-Allow-Origin"):
        assert headers.get(name.lower()) == get.headers.get(name), (path, name)


def test_head_on_unknown_route_is_404_without_body(server):
    raw = raw_exchange(server.port, b"HEAD /no/such/thing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == 404
    assert body == b""


# --- CORS --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_DOCUMENTS)
def test_public_discovery_documents_allow_any_origin(http, base_url, path):
    r = http.get(base_url + path, headers={"Origin": "https://agent.example"})
    assert r.headers.get("Access-Control-Allow-Origin") == "*", path


def test_cors_preflight_on_a_discovery_document_is_answered(http, base_url):
    r = http.options(
        base_url + "/.well-known/agent-card.json",
        headers={"Origin": "https://agent.example", "Access-Control-Request-Method": "GET"},
    )
    assert r.status_code in (200, 204)
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
    assert "GET" in r.headers.get("Access-Control-Allow-Methods", "")


# --- content types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,media",
    [
        ("/agents", "application/json"),
        ("/.well-known/agent-card.json", "application/json"),
        ("/.well-known/ucp", "application/json"),
        ("/.well-known/acp.json", "application/json"),
        ("/.well-known/capabilities.json", "application/json"),
        ("/.well-known/capabilities.json.jws", "application/jose"),
        ("/openapi.json", "application/json"),
        ("/pricing", "application/json"),
        ("/policies", "application/json"),
        ("/status", "application/json"),
        ("/catalog", "application/json"),
        ("/robots.txt", "text/plain"),
        ("/products/ridgeline-2p-tent", "text/html"),
    ],
)
def test_documents_are_served_with_their_media_type(http, base_url, path, media):
    r = http.get(base_url + path)
    assert r.headers["Content-Type"].split(";")[0].strip() == media
    if media.startswith("text/"):
        assert "charset=utf-8" in r.headers["Content-Type"].lower().replace(" ", "")


# --- 404 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/nope", "/agents/extra", "/.well-known/nothing.json", "/catalog/no-such-product",
     "/products/no-such-product", "/catalog/ridgeline-2p-tent/variants", "/%00", "/.git/config"],
)
def test_unknown_resources_are_404_json_errors(http, base_url, path):
    r = http.get(base_url + path, headers={"Accept": "application/json"})
    assert_json_error(r, 404, code="not_found")


def test_unknown_product_page_for_a_browser_is_still_404(http, base_url):
    r = http.get(base_url + "/products/no-such-product", headers={"Accept": "text/html"})
    assert r.status_code == 404


# --- 405 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/agents"),
        ("PUT", "/.well-known/jwks.json"),
        ("DELETE", "/catalog/ridgeline-2p-tent"),
        ("PATCH", "/pricing"),
        ("POST", "/catalog"),
        ("DELETE", "/status"),
        ("POST", "/products/ridgeline-2p-tent"),
    ],
)
def test_wrong_method_on_a_known_route_is_405_with_allow(http, base_url, method, path):
    r = http.request(method, base_url + path, data=b"{}" if method in ("POST", "PUT", "PATCH") else None)
    error = assert_json_error(r, 405, code="method_not_allowed")
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allow
    assert method not in allow
    assert method in error["message"]


def test_unknown_route_with_unusual_method_is_404_not_405(http, base_url):
    r = http.request("DELETE", base_url + "/no-such-route")
    assert_json_error(r, 404)


# --- 413 ---------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413_json_error(http, base_url):
    r = http.post(base_url + "/agents", data=b"x" * (SESSION_MAX_BODY + 1),
                  headers={"Content-Type": "application/octet-stream"})
    assert_json_error(r, 413, code="body_too_large")


def test_the_body_limit_is_published_in_the_entry_point(agents_doc):
    assert agents_doc["limits"]["max_request_body_bytes"] == SESSION_MAX_BODY


def test_body_at_the_limit_is_not_refused_as_too_large(http, base_url):
    r = http.post(base_url + "/agents", data=b"x" * SESSION_MAX_BODY)
    assert r.status_code == 405, "a body within the limit reaches the router (POST /agents is 405)"


def test_big_body_is_refused_without_being_read_to_the_end(http, base_url):
    r = http.post(base_url + "/catalog", data=b"{" * (8 * 1024 * 1024),
                  headers={"Content-Type": "application/json"}, timeout=30)
    assert_json_error(r, 413)


def test_chunked_body_over_the_limit_is_413(server):
    """No Content-Length: the cap must hold while the body streams in."""
    chunk = b"y" * 1024
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(SESSION_MAX_BODY // 1024 + 4)) + b"0\r\n\r\n"
    raw = raw_exchange(
        server.port,
        b"POST /agents HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + body,
    )
    status, headers, payload = split_response(raw)
    assert status == 413, raw[:300]
    assert headers["content-type"].startswith("application/json")
    assert b'"body_too_large"' in payload


def test_server_still_serves_after_refusing_big_bodies(http, base_url):
    for _ in range(3):
        http.post(base_url + "/agents", data=b"z" * (SESSION_MAX_BODY * 4))
    assert http.get(base_url + "/status").status_code == 200


# --- malformed requests ------------------------------------------------------------------------


def test_garbage_request_line_gets_a_4xx_and_does_not_hurt_the_server(server, http):
    raw = raw_exchange(server.port, b"THIS IS NOT HTTP\r\n\r\n")
    if raw:
        status, _, _ = split_response(raw)
        assert 400 <= status < 500
    assert http.get(server.url("/status")).status_code == 200


def test_every_response_has_a_request_id(http, base_url):
    a = http.get(base_url + "/status").headers.get("X-Request-Id")
    b = http.get(base_url + "/nope").headers.get("X-Request-Id")
    assert a and b and a != b


def test_keep_alive_connection_serves_many_requests(base_url):
    with requests.Session() as s:
        for path in ["/agents", "/llms.txt", "/catalog?limit=1", "/nope", "/status"] * 4:
            r = s.get(base_url + path)
            assert r.status_code in (200, 404)


# --- Header size ----------------------------------------------------------------------------------


def test_headers_up_to_16_kib_are_served_and_larger_than_32_kib_are_refused_with_431(server, http):
    # Signatures, cookies and tokens fit with room to spare…
    padding = "a" * 16_000
    raw = raw_exchange(server.port, f"GET /agents HTTP/1.1\r\nHost: x\r\nX-Padding: {padding}\r\n"
                                    f"Connection: close\r\n\r\n".encode())
    assert split_response(raw)[0] == 200, raw[:200]
    # …headers beyond the per-connection memory (32 KiB) are refused, and the connection closed…
    raw = raw_exchange(server.port, f"GET /agents HTTP/1.1\r\nHost: x\r\nX-Padding: {'a' * 40_000}\r\n\r\n".encode())
    status, headers, _ = split_response(raw)
    assert status == 431 and headers.get("connection") == "close", raw[:200]
    # …and the server goes on serving.
    assert http.get(server.url("/agents")).status_code == 200
