#!/usr/bin/env python3
"""Builds Sources/StorefrontStore/Analytics/known-agents.json from the ai.robots.txt list plus the
common search engines it lacks. Run it again when the list changes:

    scripts/build-known-agents.py DIR    # DIR holds ai.robots.txt's robots.json and its LICENSE

The MIT licence is copied beside the output.
"""
import json
import pathlib
import re
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if len(sys.argv) != 2:
    sys.exit("usage: scripts/build-known-agents.py DIR  (DIR holds robots.json and LICENSE)")
SOURCE = pathlib.Path(sys.argv[1])
OUT = ROOT / "Sources" / "StorefrontStore" / "Analytics"


def category(function: str) -> str:
    f = function.lower()
    if "assistant" in f or "user-initiated" in f or "user prompts" in f or "ai agents" in f or "coding agent" in f:
        return "ai_assistant"
    if "search" in f:
        return "ai_search"
    return "ai_crawler"


def operator(text: str) -> str:
    match = re.match(r"\[([^\]]+)\]", text)
    name = match.group(1) if match else text
    name = re.split(r" to | for |[,.(]", name)[0].strip()[:60]
    return "unknown" if not name or name.lower().startswith("unclear") else name


agents = []
for token, facts in json.loads((SOURCE / "robots.json").read_text()).items():
    agents.append({"token": token, "operator": operator(facts.get("operator", "")),
                   "category": category(facts.get("function", ""))})
for token, op in [("Googlebot", "Google"), ("Bingbot", "Microsoft"), ("DuckDuckBot", "DuckDuckGo"),
                  ("YandexBot", "Yandex"), ("Baiduspider", "Baidu"), ("Slurp", "Yahoo"), ("Applebot", "Apple"),
                  ("SeznamBot", "Seznam"), ("Qwantbot", "Qwant"), ("Yeti", "Naver")]:
    if not any(a["token"].lower() == token.lower() for a in agents):
        agents.append({"token": token, "operator": op, "category": "search_engine"})
agents.sort(key=lambda a: (-len(a["token"]), a["token"]))
(OUT / "known-agents.json").write_text(json.dumps({
    "source": "ai.robots.txt (MIT, see known-agents.LICENSE) plus common search engines",
    "agents": agents}, indent=1) + "\n")
shutil.copy(SOURCE / "LICENSE", OUT / "known-agents.LICENSE")
print(f"{len(agents)} agents")
