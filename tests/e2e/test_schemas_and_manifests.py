"""The project's JSON Schemas, checked with an independent validator (Python `jsonschema`,
draft 2020-12 with format assertions): the schemas are themselves valid, the demo manifests
pass them, and the capability manifest the server publishes passes its schema."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from support import MANIFESTS, SCHEMAS

MANIFEST_FILES = ["store", "catalog", "pricing", "policies"]
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


def validator_for(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def errors_of(validator: Draft202012Validator, instance) -> list[str]:
    return [
        f"{e.json_path}: {e.message}"
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


def test_format_checker_asserts_uri():
    """Guards the suite itself: without rfc3986-validator, `format: uri` silently passes."""
    assert "uri" in FORMAT_CHECKER.checkers
    assert not FORMAT_CHECKER.conforms("http://x/{id}", "uri")


SCHEMA_FILES = sorted(str(p.relative_to(SCHEMAS)) for p in SCHEMAS.rglob("*.schema.json"))


@pytest.mark.parametrize("relative", SCHEMA_FILES)
def test_every_schema_is_a_valid_draft_2020_12_schema(relative):
    schema = json.loads((SCHEMAS / relative).read_text())
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema", relative
    Draft202012Validator.check_schema(schema)
    assert schema.get("$id", "").endswith("/" + relative.split("/")[-1]), schema.get("$id")


def test_schema_ids_are_unique():
    ids = [json.loads((SCHEMAS / r).read_text()).get("$id") for r in SCHEMA_FILES]
    assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("name", MANIFEST_FILES)
def test_demo_manifest_passes_its_schema(name):
    instance = json.loads((MANIFESTS / f"{name}.json").read_text())
    assert errors_of(validator_for(name), instance) == []


def test_demo_catalog_has_the_documented_shape(catalog_manifest):
    products = catalog_manifest["products"]
    assert len(products) >= 40
    categories = {c["id"] for c in catalog_manifest["categories"]}
    assert len(categories) >= 5
    assert {p["category"] for p in products} <= categories
    assert any(p.get("variants") for p in products), "some products must have variants"
    assert any(p["inventory"] == 0 for p in products), "some products must be sold out"
    for p in products:
        assert type(p["price"]["amount"]) is int, p["id"]


def test_served_capability_manifest_passes_its_schema(http, base_url):
    r = http.get(base_url + "/.well-known/capabilities.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert errors_of(validator_for("capabilities"), doc) == []


def test_capability_manifest_agrees_with_the_entry_point(http, base_url, agents_doc):
    doc = http.get(base_url + "/.well-known/capabilities.json").json()
    assert doc["documents"] == agents_doc["documents"]
    assert [(e["method"], e["path"]) for e in doc["endpoints"]] == [
        (e["method"], e["path"]) for e in agents_doc["endpoints"]
    ]
    # Every operation sits in exactly one journey stage, and every stage appears once.
    ops = [op for stage in doc["stages"] for op in stage["operations"]]
    assert sorted(ops) == sorted(e["operation_id"] for e in doc["endpoints"])
    assert [s["stage"] for s in doc["stages"]] == [
        "finding", "evaluating", "trust_checking", "transacting", "using", "recommending"
    ]


def test_catalog_lookup_serves_each_manifest_product_unchanged_plus_live_fields(http, base_url, catalog_manifest):
    """`/catalog/{id}` is the manifest's product plus in_stock/url; with those removed, what is
    served is the manifest's product exactly, so the served catalog passes catalog.schema.json."""
    served = []
    for product in catalog_manifest["products"]:
        r = http.get(f"{base_url}/catalog/{product['id']}")
        assert r.status_code == 200, product["id"]
        body = r.json()
        assert body["in_stock"] is (product["inventory"] > 0), product["id"]
        assert body["url"] == f"{base_url}/products/{product['id']}"
        rating = body.get("rating")
        assert rating is None or (1 <= rating["average"] <= 5 and rating["count"] >= 1), rating
        for added in ("in_stock", "url", "api_url", "category_name", "rating"):
            body.pop(added, None)
        assert body == product, product["id"]
        served.append(body)
    rebuilt = {**catalog_manifest, "products": served}
    assert errors_of(validator_for("catalog"), rebuilt) == []
