"""UCP's own JSON Schemas (tests/e2e/fixtures/ucp, Apache-2.0), loaded offline.

Request shapes are derived as UCP specifies: a property annotated `ucp_request: omit` is
dropped, `required` is added to `required`, `optional` is removed from it (per operation when the
annotation is an object: {"create": …, "update": …, "complete": …})."""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).parent / "fixtures" / "ucp"
BASE = "https://ucp.dev/schemas/"


def _annotation(value, op):
    if value is None or isinstance(value, str):
        return value
    return value.get(op)


def _resolve(node, key: str, op: str | None):
    if isinstance(node, list):
        return [_resolve(x, key, op) for x in node]
    if not isinstance(node, dict):
        return node
    node = {k: _resolve(v, key, op) for k, v in node.items()}
    properties = node.get("properties")
    if isinstance(properties, dict):
        required = list(node.get("required", []))
        kept = {}
        for name, sub in properties.items():
            visibility = _annotation(sub.get(key) if isinstance(sub, dict) else None, op)
            if visibility == "omit":
                required = [r for r in required if r != name]
                continue
            if visibility == "required" and name not in required:
                required.append(name)
            if visibility == "optional":
                required = [r for r in required if r != name]
            kept[name] = sub
        node["properties"] = kept
        if required or "required" in node:
            node["required"] = required
    return node


@lru_cache(maxsize=None)
def registry(direction: str | None = None, op: str | None = None) -> Registry:
    resources = []
    for path in sorted((ROOT / "schemas").rglob("*.json")):
        document = json.loads(path.read_text())
        if direction:
            document = _resolve(copy.deepcopy(document), f"ucp_{direction}", op)
        resources.append((document["$id"], Resource.from_contents(document, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def validator(ref: str, direction: str | None = None, op: str | None = None) -> Draft202012Validator:
    return Draft202012Validator({"$ref": BASE + ref}, registry=registry(direction, op), format_checker=FormatChecker())


def errors(ref: str, instance, direction: str | None = None, op: str | None = None) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator(ref, direction, op).iter_errors(instance)]


def examples(schema: str, direction: str, op: str | None = None) -> list[tuple[str, dict]]:
    out = []
    for path in sorted((ROOT / "examples").glob("*.json")):
        example = json.loads(path.read_text())
        note = example["_annotation"]
        # An example the document does not call a request is a response.
        if "def" in note:
            continue
        if note["schema"] == schema and note.get("direction", "response") == direction and (op is None or note.get("op") == op):
            out.append((example["_source"], example["instance"]))
    return out
