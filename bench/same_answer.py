"""Checks that two MCP servers give the same structured answer to the benchmark's tools/call (the
body bench/mcp_call.lua sends) and to a few more searches, so the benchmark compares equal work.

Usage: python bench/same_answer.py GATEWAY_MCP_URL PYTHON_MCP_URL
"""

import json
import sys
import urllib.request

META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "same-answer", "version": "1"}}
CALLS = [{"query": "tent", "limit": 10}, {"query": "rain jacket"}, {"category": "footwear", "in_stock": True},
         {"min_price": 1000, "max_price": 20000, "limit": 5}, {"query": "zzzz-nothing"}]


def call(url: str, arguments: dict) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "search_catalog", "arguments": arguments, "_meta": META}}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "search_catalog"})
    with urllib.request.urlopen(request, timeout=10) as response:
        result = json.load(response)["result"]
    if result.get("isError"):
        raise SystemExit(f"{url} answered an error for {arguments}: {result}")
    if json.loads(result["content"][0]["text"]) != result["structuredContent"]:
        raise SystemExit(f"{url}: the text content is not the structured content for {arguments}")
    return result["structuredContent"]


def main() -> int:
    gateway, python = sys.argv[1], sys.argv[2]
    for arguments in CALLS:
        a, b = call(gateway, arguments), call(python, arguments)
        if a != b:
            print(f"different answers to {arguments}:\n gateway: {json.dumps(a)[:600]}\n python:  {json.dumps(b)[:600]}",
                  file=sys.stderr)
            return 1
        print(f"same answer to {json.dumps(arguments)}: {len(a['products'])} products, total {a['total']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
