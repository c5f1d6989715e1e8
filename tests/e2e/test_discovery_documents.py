"""Finding: every discovery document is served and passes the validator its ecosystem uses.

- `/agents`: the entry point, JSON for agents and HTML for browsers, the same facts in both.
- `/.well-known/agent-card.json`: a2a-sdk's strict v0.3 pydantic model, a lossless round trip,
  the 1.x client's parser and its real HTTP card resolver.
- `/.well-known/ucp`: the official UCP models (ucp-sdk) plus the registry rules of the spec.
- `/.well-known/acp.json`: the ACP discovery RFC's shape and caching rule.
- `/llms.txt`: the llmstxt.org structure, read by the reference parser and by a strict reader.
- `/robots.txt`: welcomes agents (read with the standard library's robot parser).
- `/sitemap.xml`: well-formed sitemaps.org XML listing every product page.
- `/openapi.json`: a valid OpenAPI 3.1 document; every declared path answers as declared.
- `/pricing`, `/policies`, `/status`: machine-readable, money in integer minor units.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import urllib.robotparser
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import httpx
import jsonschema
import llms_txt
import pytest
from a2a.client.card_resolver import A2ACardResolver, parse_agent_card
from a2a.compat.v0_3.types import AgentCard
from openapi_spec_validator import validate as validate_openapi

# --- /agents -----------------------------------------------------------------------------------


def test_agents_json_describes_the_store_every_document_and_every_endpoint(http, base_url, store_manifest):
    r = http.get(base_url + "/agents", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["store"]["name"] == store_manifest["name"]
    assert doc["store"]["id"] == store_manifest["id"]
    for key in ("agent_card", "ucp_profile", "acp_discovery", "capabilities", "jwks", "llms_txt",
                "robots_txt", "sitemap", "openapi", "pricing", "policies", "status", "catalog"):
        assert doc["documents"][key].startswith(base_url + "/"), key
    paths = {e["path"] for e in doc["endpoints"]}
    assert {"/agents", "/catalog", "/catalog/{id}", "/products/{id}", "/pricing", "/policies", "/status"} <= paths
    assert "authentication" in doc and "limits" in doc
    assert doc["limits"]["max_request_body_bytes"] > 0


def test_agents_without_accept_header_is_json_for_agents(http, base_url):
    r = http.get(base_url + "/agents", headers={"Accept": "*/*"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    r.json()


def test_every_document_linked_from_agents_answers_200(http, agents_doc):
    for name, url in agents_doc["documents"].items():
        r = http.get(url)
        assert r.status_code == 200, (name, url, r.status_code, r.text[:200])
        assert r.content, name


def test_every_endpoint_url_in_agents_answers_200(http, agents_doc, catalog_manifest):
    """Fixed routes give a `url`; routes with path parameters give a `url_template` (RFC 6570)."""
    some_id = catalog_manifest["products"][0]["id"]  # (the session server's trail has an entry: see conftest)
    for endpoint in agents_doc["endpoints"]:
        templated = "{" in endpoint["path"]
        assert ("url_template" in endpoint) is templated, endpoint
        assert ("url" in endpoint) is not templated, endpoint
        # A route that needs query parameters (a trail proof) gives an example_url that answers.
        url = endpoint.get("example_url") or (endpoint["url_template"] if templated else endpoint["url"]).replace("{id}", some_id)
        r = http.request(endpoint["method"], url)
        # Routes that need an agent's identity say so, and refuse an anonymous caller.
        expected = 401 if endpoint.get("requires_identity") else 200
        assert r.status_code == expected, (endpoint, r.status_code, r.text[:200])


def test_agents_html_for_browsers_states_the_same_facts(http, base_url, agents_doc):
    r = http.get(base_url + "/agents", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    html = r.text
    assert "<html" in html.lower() and "</html>" in html.lower()
    assert escape_html(agents_doc["store"]["name"]) in html
    for url in agents_doc["documents"].values():
        assert url in html, f"the HTML entry point does not link {url}"
    for endpoint in agents_doc["endpoints"]:
        assert escape_html(endpoint["path"]) in html, endpoint["path"]


def test_agents_json_and_html_are_distinct_representations(http, base_url):
    js = http.get(base_url + "/agents", headers={"Accept": "application/json"})
    ht = http.get(base_url + "/agents", headers={"Accept": "text/html"})
    assert "Accept" in js.headers.get("Vary", "")
    assert "Accept" in ht.headers.get("Vary", "")
    assert js.headers["ETag"] != ht.headers["ETag"]


# --- A2A Agent Card ---------------------------------------------------------------------------


def test_agent_card_passes_a2a_sdk_strict_model_and_round_trips_losslessly(http, base_url):
    r = http.get(base_url + "/.well-known/agent-card.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    raw = r.content
    # strict=True: no type coercion anywhere.
    card = AgentCard.model_validate_json(raw, strict=True)
    AgentCard.model_validate(json.loads(raw), strict=True)
    # The model ignores unknown keys and accepts snake_case; the round trip catches both. The one
    # key it does not know is A2A 1.0's list of interfaces (1.0 and 0.3), read by 1.0 clients.
    served = json.loads(raw)
    assert [(i["protocolBinding"], i["protocolVersion"]) for i in served.pop("supportedInterfaces")] == [
        ("JSONRPC", "1.0"), ("HTTP+JSON", "1.0"), ("JSONRPC", "0.3"), ("HTTP+JSON", "0.3")]
    assert card.model_dump(mode="json", exclude_none=True) == served


def test_agent_card_declares_protocol_transport_and_points_back_at_this_server(http, base_url, store_manifest):
    doc = http.get(base_url + "/.well-known/agent-card.json").json()
    assert doc["protocolVersion"] == "0.3.0"
    assert doc["preferredTransport"] in {"JSONRPC", "GRPC", "HTTP+JSON"}
    assert doc["name"] == store_manifest["name"]
    assert doc["url"].startswith(base_url)
    assert doc["skills"], "an agent card with no skills tells an agent nothing"
    ids = [s["id"] for s in doc["skills"]]
    assert len(ids) == len(set(ids)), ids
    for skill in doc["skills"]:
        assert skill["tags"], skill["id"]
    assert not list(nulls(doc)), f"null values break the v0.3 round trip: {list(nulls(doc))}"


def test_agent_card_is_read_by_the_a2a_1x_client_parser(http, base_url):
    doc = http.get(base_url + "/.well-known/agent-card.json").json()
    card = parse_agent_card(copy.deepcopy(doc))  # the parser consumes its argument
    assert card.name == doc["name"]
    assert [i.url for i in card.supported_interfaces][0] == doc["url"]
    assert len(card.skills) == len(doc["skills"])


def test_agent_card_is_fetched_by_the_a2a_card_resolver_over_http(base_url):
    async def resolve():
        async with httpx.AsyncClient(timeout=10) as client:
            return await A2ACardResolver(client, base_url).get_agent_card()

    card = asyncio.run(resolve())
    assert card.name
    assert card.skills


# --- UCP business profile ---------------------------------------------------------------------

UCP_NAME = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9_])?)+$")


def test_ucp_profile_passes_the_official_ucp_sdk_business_schema(http, base_url):
    from ucp_sdk.models.schemas.profile import BusinessSchema

    r = http.get(base_url + "/.well-known/ucp")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    BusinessSchema.model_validate(r.json())


def test_ucp_profile_follows_the_registry_rules_of_the_spec(http, base_url, agents_doc):
    doc = http.get(base_url + "/.well-known/ucp").json()
    ucp = doc["ucp"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", ucp["version"])
    assert isinstance(ucp["payment_handlers"], dict)
    for name, bindings in ucp["services"].items():
        assert UCP_NAME.match(name), name
        assert isinstance(bindings, list) and bindings, name
        for b in bindings:
            assert b["transport"] in {"rest", "mcp", "a2a", "embedded"}, b
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", b["version"]), b
            if b["transport"] in {"rest", "mcp", "a2a"}:
                assert b["endpoint"].startswith(("http://", "https://")), b
    for name, entries in ucp.get("capabilities", {}).items():
        assert UCP_NAME.match(name), name
        for entry in entries:
            assert "schema" in entry, (name, entry)
    # The keys published in the profile are the store's signing keys (public halves only).
    jwks = http.get(base_url + "/.well-known/jwks.json").json()
    assert doc["keys"] == jwks["keys"]
    for key in doc["keys"]:
        assert "d" not in key, "a private key component is published"


def test_ucp_spec_and_schema_urls_are_on_the_authority_their_name_claims(http, base_url):
    """UCP: the origin of `spec` and `schema` URLs must match the name's authority
    (`dev.ucp.*` -> https://ucp.dev/...)."""
    ucp = http.get(base_url + "/.well-known/ucp").json()["ucp"]
    entries = [(n, e) for n, bs in ucp["services"].items() for e in bs]
    entries += [(n, e) for n, es in ucp.get("capabilities", {}).items() for e in es]
    for name, entry in entries:
        if not name.startswith("dev.ucp."):
            continue
        for key in ("spec", "schema"):
            if key in entry:
                assert urlsplit(entry[key]).netloc == "ucp.dev", (name, key, entry[key])


# --- ACP discovery ----------------------------------------------------------------------------

ACP_DISCOVERY_SCHEMA = {
    # Written from the ACP discovery RFC (rfcs/rfc.discovery.md §4.2); no official schema file yet.
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["protocol", "api_base_url", "transports", "capabilities"],
    "properties": {
        "protocol": {
            "type": "object",
            "required": ["name", "version", "supported_versions"],
            "properties": {
                "name": {"const": "acp"},
                "version": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                "supported_versions": {
                    "type": "array", "minItems": 1,
                    "items": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                },
                "documentation_url": {"type": "string", "format": "uri"},
            },
        },
        "api_base_url": {"type": "string", "format": "uri"},
        "transports": {
            "type": "array", "contains": {"const": "rest"},
            "items": {"enum": ["rest", "mcp"]}, "uniqueItems": True,
        },
        "capabilities": {
            "type": "object",
            "required": ["services"],
            "properties": {
                "services": {"type": "array", "items": {"enum": ["checkout", "orders", "delegate_payment"]}},
                "extensions": {"type": "array", "items": {"type": "object", "required": ["name"]}},
                "intervention_types": {"type": "array", "items": {"enum": ["3ds", "biometric", "address_verification"]}},
                "supported_currencies": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]{3}$"}},
                "supported_locales": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}


def test_acp_discovery_matches_the_rfc_shape(http, base_url):
    r = http.get(base_url + "/.well-known/acp.json")
    assert r.status_code == 200
    doc = r.json()
    jsonschema.Draft202012Validator(
        ACP_DISCOVERY_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(doc)
    # The last supported version is the current one.
    assert doc["protocol"]["supported_versions"][-1] == doc["protocol"]["version"]
    assert doc["api_base_url"].startswith(base_url)


def test_acp_discovery_is_cacheable_for_an_hour_and_carries_no_secrets(http, base_url):
    r = http.get(base_url + "/.well-known/acp.json")
    directives = {d.strip() for d in r.headers["Cache-Control"].split(",")}
    assert {"public", "max-age=3600"} <= directives, r.headers["Cache-Control"]
    text = r.text.lower()
    for forbidden in ("merchant_id", "payment_handlers", '"keys"', "secret"):
        assert forbidden not in text, forbidden


# --- llms.txt ----------------------------------------------------------------------------------

LINK_ITEM = re.compile(r"^- \[(?P<name>[^\]]+)\]\((?P<url>[^)\s]+)\)(?::\s*(?P<notes>.+))?$")


def read_llms_txt_strictly(text: str) -> dict:
    """The llmstxt.org structure, enforced line by line: `# Title`, then `> summary`, then
    paragraphs or lists without headings, then `## Section`s that hold only link lists."""
    lines = text.splitlines()
    assert lines and lines[0].startswith("# ") and not lines[0].startswith("## "), "must start with an H1"
    title = lines[0][2:].strip()
    assert title
    rest = [l for l in lines[1:]]
    i = 0
    while i < len(rest) and not rest[i].strip():
        i += 1
    assert i < len(rest) and rest[i].startswith("> "), "the H1 must be followed by a > summary blockquote"
    summary = rest[i][2:].strip()
    sections: dict[str, list[dict]] = {}
    current = None
    for line in rest[i + 1:]:
        if line.startswith("#"):
            assert line.startswith("## ") and not line.startswith("### "), f"only H2 section headings allowed: {line!r}"
            current = line[3:].strip()
            assert current not in sections, f"section {current!r} appears twice"
            sections[current] = []
            continue
        if current is None or not line.strip():
            continue
        m = LINK_ITEM.match(line)
        assert m, f"section {current!r}: not a `- [name](url): notes` item: {line!r}"
        sections[current].append(m.groupdict())
    for name, items in sections.items():
        assert items, f"section {name!r} has no links"
    return {"title": title, "summary": summary, "sections": sections}


def test_llms_txt_has_title_summary_and_link_sections(http, base_url, store_manifest):
    r = http.get(base_url + "/llms.txt")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] in {"text/markdown", "text/plain"}
    parsed = read_llms_txt_strictly(r.text)
    assert parsed["title"] == store_manifest["name"]
    assert parsed["summary"]
    assert len(parsed["sections"]) >= 2


def test_llms_txt_is_read_by_the_reference_parser(http, base_url, store_manifest):
    text = http.get(base_url + "/llms.txt").text
    parsed = llms_txt.parse_llms_file(text)
    assert parsed["title"] == store_manifest["name"]
    assert parsed["summary"]
    assert parsed["sections"], parsed
    strict = read_llms_txt_strictly(text)
    assert list(parsed["sections"]) == list(strict["sections"])
    for name, links in parsed["sections"].items():
        assert [l["url"] for l in links] == [l["url"] for l in strict["sections"][name]], name


def test_llms_txt_links_are_absolute_and_every_one_answers(http, base_url):
    parsed = read_llms_txt_strictly(http.get(base_url + "/llms.txt").text)
    urls = [item["url"] for items in parsed["sections"].values() for item in items]
    assert any(u.endswith("/agents") for u in urls), "llms.txt must point at the agent entry point"
    assert any(u.endswith("/openapi.json") for u in urls)
    for url in urls:
        assert url.startswith(base_url + "/"), url
        r = http.get(url)
        assert r.status_code == 200, (url, r.status_code)


def test_llms_txt_lists_every_product_page(http, base_url, catalog_manifest):
    text = http.get(base_url + "/llms.txt").text
    for product in catalog_manifest["products"]:
        assert f"{base_url}/products/{product['id']})" in text, product["id"]


# --- robots.txt --------------------------------------------------------------------------------

AGENT_USER_AGENTS = [
    "GPTBot", "ChatGPT-User", "OAI-SearchBot", "ClaudeBot", "Claude-User", "anthropic-ai",
    "PerplexityBot", "Perplexity-User", "Google-Extended", "Googlebot", "Applebot-Extended",
    "CCBot", "Bytespider", "Amazonbot", "meta-externalagent", "*",
]


def test_robots_txt_welcomes_every_agent_to_every_public_path(http, base_url, catalog_manifest):
    r = http.get(base_url + "/robots.txt")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(r.text.splitlines())
    paths = ["/", "/agents", "/llms.txt", "/catalog", "/catalog?q=tent", "/pricing", "/policies",
             "/openapi.json", "/.well-known/agent-card.json", "/.well-known/ucp",
             "/.well-known/capabilities.json", f"/products/{catalog_manifest['products'][0]['id']}"]
    for agent in AGENT_USER_AGENTS:
        for path in paths:
            assert parser.can_fetch(agent, base_url + path), (agent, path)


def test_robots_txt_names_the_sitemap_and_the_agent_entry_point(http, base_url):
    text = http.get(base_url + "/robots.txt").text
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    assert parser.site_maps() == [base_url + "/sitemap.xml"]
    assert base_url + "/agents" in text


# --- sitemap.xml -------------------------------------------------------------------------------

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def sitemap_locs(http, base_url) -> list[str]:
    r = http.get(base_url + "/sitemap.xml")
    assert r.status_code == 200
    assert "xml" in r.headers["Content-Type"]
    root = ET.fromstring(r.content)
    assert root.tag == SITEMAP_NS + "urlset"
    urls = root.findall(SITEMAP_NS + "url")
    assert urls
    locs = []
    for url in urls:
        loc = url.find(SITEMAP_NS + "loc")
        assert loc is not None and loc.text
        locs.append(loc.text.strip())
    return locs


def test_sitemap_is_valid_sitemaps_xml_with_every_product_page(http, base_url, catalog_manifest):
    locs = sitemap_locs(http, base_url)
    assert len(locs) == len(set(locs)), "duplicate sitemap entries"
    assert len(locs) <= 50_000
    for product in catalog_manifest["products"]:
        assert f"{base_url}/products/{product['id']}" in locs, product["id"]
    assert base_url + "/agents" in locs


def test_every_sitemap_url_is_absolute_and_answers_200(http, base_url):
    for loc in sitemap_locs(http, base_url):
        assert loc.startswith(base_url + "/"), loc
        r = http.get(loc)
        assert r.status_code == 200, (loc, r.status_code)


# --- OpenAPI -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi(http, base_url) -> dict:
    r = http.get(base_url + "/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_openapi_is_a_valid_openapi_3_1_document(openapi, base_url):
    assert openapi["openapi"].startswith("3.1")
    validate_openapi(openapi)  # openapi-spec-validator picks the 3.1 validator from the version
    assert openapi["servers"][0]["url"] == base_url
    op_ids = [op["operationId"] for item in openapi["paths"].values() for op in item.values()]
    assert len(op_ids) == len(set(op_ids)), "operationIds must be unique"


def test_openapi_describes_every_endpoint_the_entry_point_lists(openapi, agents_doc):
    for endpoint in agents_doc["endpoints"]:
        item = openapi["paths"].get(endpoint["path"])
        assert item is not None, endpoint["path"]
        assert endpoint["method"].lower() in item, endpoint


def response_validator(openapi: dict, schema: dict) -> jsonschema.Draft202012Validator:
    """A validator for a schema inside the OpenAPI document: its `#/components/...` references
    resolve against the document's components."""
    return jsonschema.Draft202012Validator({**schema, "components": openapi.get("components", {})})


def check_against_declaration(openapi: dict, method: str, path: str, operation: dict, r) -> None:
    declared = operation["responses"].get(str(r.status_code))
    assert declared is not None, f"{method.upper()} {path} answered {r.status_code}, not a declared status"
    content = declared.get("content")
    if not content:
        return
    media = r.headers["Content-Type"].split(";")[0].strip()
    assert media in content, (method, path, r.status_code, media, list(content))
    schema = content[media].get("schema")
    if schema and (media == "application/json" or media.endswith("+json")):
        response_validator(openapi, schema).validate(r.json())


def test_every_declared_get_answers_200_as_declared(http, openapi, catalog_manifest):
    some_id = catalog_manifest["products"][0]["id"]
    server = openapi["servers"][0]["url"]
    for path, item in openapi["paths"].items():
        if "get" not in item:
            continue
        # Query parameters a route needs (a trail proof's) have examples.
        examples = {p["name"]: p["example"] for p in item["get"].get("parameters", []) if p["in"] == "query" and "example" in p}
        r = http.get(server + path.replace("{id}", some_id), params=examples)
        # An operation that declares 401 needs an identity; anonymously it gets that 401.
        expected = 401 if "401" in item["get"]["responses"] else 200
        assert r.status_code == expected, ("GET", path, r.status_code, r.text[:200])
        check_against_declaration(openapi, "get", path, item["get"], r)


def test_every_declared_post_answers_an_empty_request_with_a_declared_status(http, openapi):
    """POST operations take a JSON body; `{}` is either valid arguments or a declared error."""
    server = openapi["servers"][0]["url"]
    posts = [(path, item["post"]) for path, item in openapi["paths"].items() if "post" in item]
    for path, operation in posts:
        r = http.post(server + path, json={})
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        check_against_declaration(openapi, "post", path, operation, r)


def test_declared_error_responses_match_the_declared_error_schema(http, openapi):
    error_schema = openapi["components"]["schemas"]["Error"]
    server = openapi["servers"][0]["url"]
    for path, item in openapi["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        # (An operation that declares 401 refuses an anonymous caller before looking the id up.)
        if "404" in op["responses"] and "{id}" in path and "401" not in op["responses"]:
            r = http.get(server + path.replace("{id}", "no-such-product"), headers={"Accept": "application/json"})
            assert r.status_code == 404, path
            response_validator(openapi, error_schema).validate(r.json())
        query_params = [p for p in op.get("parameters", []) if p["in"] == "query"]
        if "401" in op["responses"]:
            r = http.get(server + path)
            assert r.status_code == 401, path
            response_validator(openapi, error_schema).validate(r.json())
        elif "400" in op["responses"] and query_params:
            r = http.get(server + path, params={"no_such_parameter": "1"})
            assert r.status_code == 400, path
            response_validator(openapi, error_schema).validate(r.json())


def test_openapi_declares_the_catalog_query_parameters(openapi):
    params = {p["name"]: p for p in openapi["paths"]["/catalog"]["get"]["parameters"]}
    assert set(params) == {"q", "category", "min_price", "max_price", "in_stock", "limit", "cursor"}
    assert all(p["in"] == "query" for p in params.values())
    assert params["limit"]["schema"]["maximum"] == 100


# --- pricing, policies, status -----------------------------------------------------------------


def _money_values(node, path="$"):
    """Every {"amount", "currency"} object in a document, with its path."""
    if isinstance(node, dict):
        if "amount" in node and "currency" in node:
            yield path, node
        for k, v in node.items():
            yield from _money_values(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _money_values(v, f"{path}[{i}]")


def test_pricing_lists_every_product_with_integer_minor_unit_money(http, base_url, catalog_manifest):
    r = http.get(base_url + "/pricing")
    assert r.status_code == 200
    doc = r.json()
    by_id = {p["product_id"]: p for p in doc["one_time"]}
    for product in catalog_manifest["products"]:
        assert by_id[product["id"]]["price"] == product["price"], product["id"]
    money = list(_money_values(doc))
    assert len(money) >= len(catalog_manifest["products"])
    for path, value in money:
        assert type(value["amount"]) is int, (path, value)
        assert re.fullmatch(r"[A-Z]{3}", value["currency"]), (path, value)
    assert doc["plans"], "the demo store has subscription plans"
    assert doc["usage"], "the demo store has usage-based prices"
    assert doc["contact_sales_required"] is False


def test_pricing_matches_the_pricing_manifest(http, base_url):
    from support import MANIFESTS

    manifest = json.loads((MANIFESTS / "pricing.json").read_text())
    doc = http.get(base_url + "/pricing").json()
    for key in ("plans", "usage", "volume_discounts", "free_trial"):
        if key in manifest:
            assert doc[key] == manifest[key], key


def test_policies_are_the_policies_manifest_machine_readable(http, base_url):
    from support import MANIFESTS

    manifest = json.loads((MANIFESTS / "policies.json").read_text())
    r = http.get(base_url + "/policies")
    assert r.status_code == 200
    doc = r.json()
    for key, value in manifest.items():
        assert doc[key] == value, key


def test_status_reports_health_version_uptime_and_counts(http, base_url, catalog_manifest):
    r = http.get(base_url + "/status")
    assert r.status_code == 200
    doc = r.json()
    assert doc["status"] == "ok"
    assert re.match(r"^\d+\.\d+\.\d+", doc["version"])
    assert isinstance(doc["uptime_seconds"], int) and doc["uptime_seconds"] >= 0
    assert doc["counts"]["products"] == len(catalog_manifest["products"])
    in_stock = sum(1 for p in catalog_manifest["products"] if p["inventory"] > 0)
    assert doc["counts"]["products_in_stock"] == in_stock
    assert doc["counts"]["categories"] == len(catalog_manifest["categories"])


# --- helpers -----------------------------------------------------------------------------------


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def nulls(node, path="$"):
    if node is None:
        yield path
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from nulls(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from nulls(v, f"{path}[{i}]")


# --- the entry point's public-standard links (what `storefront audit` judges by) -----------------


def test_api_catalog_is_an_rfc_9727_linkset_naming_the_openapi_description(http, base_url):
    r = http.get(f"{base_url}/.well-known/api-catalog")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/linkset+json"), r.headers
    linkset = r.json()["linkset"]  # RFC 9264 §4.2: {"linkset": [{"anchor": ..., "<rel>": [{"href": ...}]}]}
    assert isinstance(linkset, list) and len(linkset) == 1
    entry = linkset[0]
    assert entry["anchor"] == f"{base_url}/"
    described = [link["href"] for link in entry["service-desc"]]
    assert described == [f"{base_url}/openapi.json"]
    validate_openapi(http.get(described[0]).json())
    for rel in ("service-doc", "status"):
        for link in entry[rel]:
            assert http.get(link["href"]).status_code == 200, link


def test_the_entry_point_links_its_machine_readable_versions_and_answers_markdown(http, base_url):
    r = http.get(f"{base_url}/agents")
    links = {}
    for part in r.headers["Link"].split(","):
        target, *params = [p.strip() for p in part.split(";")]
        for p in params:
            if p.startswith("rel="):
                links[p[4:].strip('"')] = target.strip("<>")
    assert links["service-desc"] == f"{base_url}/openapi.json"
    assert links["api-catalog"] == f"{base_url}/.well-known/api-catalog"
    assert links["alternate"] == f"{base_url}/llms.txt"
    # Accept: text/markdown gets the Markdown guide; HTML and JSON stay what they were.
    md = http.get(f"{base_url}/", headers={"Accept": "text/markdown"})
    assert md.status_code == 200 and md.headers["Content-Type"].startswith("text/markdown"), md.headers
    assert md.text == http.get(f"{base_url}/llms.txt").text
    assert "Accept" in md.headers["Vary"]
    assert http.get(f"{base_url}/", headers={"Accept": "application/json, text/markdown"}).headers["Content-Type"].startswith("application/json")
    assert http.get(f"{base_url}/", headers={"Accept": "text/html, text/markdown"}).headers["Content-Type"].startswith("text/html")


def test_robots_txt_states_content_signals_and_pages_carry_open_graph(http, base_url):
    robots = http.get(f"{base_url}/robots.txt").text
    assert "Content-Signal: search=yes, ai-input=yes" in robots
    page = http.get(f"{base_url}/agents", headers={"Accept": "text/html"}).text
    assert '<meta property="og:title"' in page and '<meta property="og:description"' in page


def test_the_stores_own_key_directory_is_signed_with_the_key_it_lists(http, base_url):
    """draft-meunier-http-message-signatures-directory: the keys the store signs HTTP messages with
    (its webhooks' ES256 key, its Ed25519 key), the answer signed over the request's @authority."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    r = http.get(f"{base_url}/.well-known/http-message-signatures-directory")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/http-message-signatures-directory+json"
    keys = r.json()["keys"]
    assert {(k["kty"], k.get("crv")) for k in keys} == {("OKP", "Ed25519"), ("EC", "P-256")}
    # the ES256 key is the one the UCP profile names for webhook signatures
    ucp_kids = {k["kid"] for k in http.get(f"{base_url}/.well-known/ucp").json()["keys"]}
    assert {k["kid"] for k in keys} == ucp_kids
    params = r.headers["Signature-Input"].removeprefix("sig1=")
    assert params.startswith('("@authority";req);') and 'tag="http-message-signatures-directory"' in params, params
    created = int(re.search(r"created=(\d+)", params).group(1))
    expires = int(re.search(r"expires=(\d+)", params).group(1))
    assert 0 < expires - created <= 86400
    kid = re.search(r'keyid="([^"]+)"', params).group(1)
    ed = next(k for k in keys if k["kty"] == "OKP")
    assert ed["kid"] == kid
    pad = lambda s: s + "=" * (-len(s) % 4)
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(pad(ed["x"])))
    signature = base64.b64decode(re.fullmatch(r"sig1=:([^:]+):", r.headers["Signature"]).group(1))
    authority = urlsplit(base_url).netloc
    base = f'"@authority";req: {authority}\n"@signature-params": {params}'
    public.verify(signature, base.encode())  # raises when it does not verify
    with pytest.raises(Exception):
        public.verify(signature, base.replace(authority, "evil.example").encode())
