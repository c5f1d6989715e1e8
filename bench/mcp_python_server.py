"""The reference for the MCP benchmark: the same search_catalog tool served by the official MCP
Python SDK (mcp==2.3.0, MCPServer over Streamable HTTP), reading the same catalog.

Usage: python bench/mcp_python_server.py PORT manifests/catalog.json
"""

import json
import re
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

PORT = int(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    CATALOG = json.load(f)["products"]

WORDS = re.compile(r"\w+")


def text_of(product: dict) -> str:
    attributes = " ".join(f"{k} {v}" for k, v in product.get("attributes", {}).items())
    return " ".join([product["name"], product.get("description", ""), " ".join(product.get("tags", [])),
                     product.get("brand", ""), product["category"], attributes]).lower()


INDEX = [(text_of(p), p) for p in CATALOG]

mcp = MCPServer("catalog-bench", version="1.0.0")


@mcp.tool()
def search_catalog(query: str = "", limit: int = 20) -> dict:
    """Find products whose text contains every word of the query (prefix match), in catalog order."""
    words = WORDS.findall(query.lower())
    hits = [p for text, p in INDEX if all(re.search(r"\b" + re.escape(w), text) for w in words)]
    products = [{"id": p["id"], "name": p["name"], "price": p["price"], "in_stock": p["inventory"] > 0,
                 "category": p["category"]} for p in hits[:limit]]
    return {"products": products, "total": len(hits)}


if __name__ == "__main__":
    app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
