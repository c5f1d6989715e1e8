"""The reference for the MCP benchmark: the gateway's search_catalog tool served by the official MCP
Python SDK (mcp==2.3.0, MCPServer over Streamable HTTP, stateless, JSON answers).

It is the same tool, not a lookalike: it reads the same catalog (manifests/catalog.json) and the
gateway's own store file (its FTS5 index and feedback, read-only), runs the same SQL, and returns
the same result (products as summaries with ratings, total, next_cursor, categories), so both
servers do the same work per call. bench/actions.sh checks that the two answers are equal before it
measures. Like the gateway, it remembers search pages (functools.lru_cache; the index does not
change while serving) and reads ratings at most once a second; with --result-cache it also keeps
whole results by arguments and ratings version, as the gateway's result cache does.

Usage: python bench/mcp_python_server.py PORT manifests/catalog.json STORE_DB GATEWAY_BASE_URL [--result-cache]
"""

import functools
import json
import re
import sqlite3
import sys
import threading
import time
from typing import Any
from base64 import urlsafe_b64decode, urlsafe_b64encode

import uvicorn
from mcp.server.mcpserver import MCPServer

PORT = int(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    CATALOG = json.load(f)
STORE = sys.argv[3]
BASE_URL = sys.argv[4].rstrip("/")
RESULT_CACHE = "--result-cache" in sys.argv[5:]

PRODUCTS = {p["id"]: p for p in CATALOG["products"]}
CATEGORIES = [{"id": c["id"], "name": c["name"]} for c in CATALOG["categories"]]
_local = threading.local()


def db() -> sqlite3.Connection:
    if not hasattr(_local, "db"):
        _local.db = sqlite3.connect(f"file:{STORE}?mode=ro", uri=True, check_same_thread=False)
    return _local.db


# The gateway's statements (Sources/StorefrontActions/Storage/SQLiteCatalogIndex.swift).
FILTERS = """
    (?1 IS NULL OR p.category = ?1) AND (?2 IS NULL OR p.price_amount >= ?2)
    AND (?3 IS NULL OR p.price_amount <= ?3) AND (?4 IS NULL OR (p.inventory > 0) = ?4)
"""
WORD_SEARCH = f"""
    WITH hits AS MATERIALIZED (
        SELECT id, bm25(catalog_fts, 0.0, 10.0, 2.0, 5.0, 3.0, 3.0, 1.0) AS score
        FROM catalog_fts WHERE catalog_fts MATCH ?5
    )
    SELECT p.id, count(*) OVER () AS total FROM hits JOIN catalog_products p ON p.id = hits.id
    WHERE {FILTERS} ORDER BY hits.score, p.position LIMIT ?6 OFFSET ?7
"""
FILTER_SEARCH = f"""
    SELECT p.id, count(*) OVER () AS total FROM catalog_products p
    WHERE ?5 IS NULL AND {FILTERS} ORDER BY p.position LIMIT ?6 OFFSET ?7
"""
WORDS = re.compile(r"[^\W_]+")


def fts_expression(text):
    if text is None:
        return None
    words = WORDS.findall(text.lower())[:16]
    return " ".join(f'"{w}"*' for w in words) or None


def fingerprint(text, category, min_price, max_price, in_stock):
    key = "\x1f".join([text or "", category or "", "" if min_price is None else str(min_price),
                       "" if max_price is None else str(max_price),
                       "" if in_stock is None else ("1" if in_stock else "0")])
    h = 0xCBF29CE484222325
    for byte in key.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while True:
        h, r = divmod(h, 36)
        out = digits[r] + out
        if h == 0:
            return out


@functools.lru_cache(maxsize=2048)
def page(fts, category, min_price, max_price, in_stock, limit, offset):
    params = (category, min_price, max_price, None if in_stock is None else int(in_stock), fts, limit + 1, offset)
    rows = db().execute(WORD_SEARCH if fts else FILTER_SEARCH, params).fetchall()
    return [r[0] for r in rows], (rows[0][1] if rows else 0)


_ratings = {"at": -1.0, "values": {}, "version": 0}


def ratings():
    if _ratings["at"] < 0 or time.monotonic() - _ratings["at"] >= 1:
        values = {}
        for pid, avg, count in db().execute("SELECT product_id, avg(rating), count(*) FROM feedback GROUP BY product_id"):
            if count > 0:
                values[pid] = {"average": int(avg * 100 + 0.5) / 100, "count": count}
        if values != _ratings["values"]:
            _ratings["version"] += 1
        _ratings.update(at=time.monotonic(), values=values)
    return _ratings["values"]


def summary(p, rating):
    return {
        "rating": rating, "id": p["id"], "name": p["name"], "description": p.get("description", ""),
        "category": p["category"], "brand": p.get("brand"),
        "price": {"amount": p["price"]["amount"], "currency": p["price"]["currency"]},
        "in_stock": p.get("inventory", 0) > 0, "inventory": p.get("inventory", 0),
        "variant_count": len(p.get("variants", [])), "image": (p.get("images") or [None])[0],
        "url": f"{BASE_URL}/products/{p['id']}", "api_url": f"{BASE_URL}/catalog/{p['id']}",
    }


mcp = MCPServer("catalog-bench", version="1.0.0")


@mcp.tool()
def search_catalog(query: str | None = None, category: str | None = None, min_price: int | None = None,
                   max_price: int | None = None, in_stock: bool | None = None, limit: int = 20,
                   cursor: str | None = None) -> dict[str, Any]:
    """Find products by words, category, price range in minor units and stock (as the gateway does)."""
    if RESULT_CACHE:
        ratings()
        return cached_search(query, category, min_price, max_price, in_stock, limit, cursor, _ratings["version"])
    return search(query, category, min_price, max_price, in_stock, limit, cursor)


@functools.lru_cache(maxsize=1024)
def cached_search(query, category, min_price, max_price, in_stock, limit, cursor, version):
    return search(query, category, min_price, max_price, in_stock, limit, cursor)


def search(query, category, min_price, max_price, in_stock, limit, cursor):
    print_key = fingerprint(query, category, min_price, max_price, in_stock)
    offset = 0
    if cursor:
        version, value, key = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        if version != "v1" or key != print_key:
            raise ValueError("cursor is not one this store issued for this search")
        offset = int(value)
    ids, total = page(fts_expression(query), category, min_price, max_price, in_stock, limit, offset)
    next_cursor = None
    if len(ids) > limit:
        ids = ids[:limit]
        next_cursor = urlsafe_b64encode(f"v1:{offset + limit}:{print_key}".encode()).decode().rstrip("=")
    found = ratings()
    return {
        "products": [summary(PRODUCTS[i], found.get(i)) for i in ids if i in PRODUCTS],
        "total": total,
        "next_cursor": next_cursor,
        "categories": CATEGORIES,
    }


if __name__ == "__main__":
    app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
