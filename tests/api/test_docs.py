"""/docs and /redoc work offline, and every body the docs fill in is a request the API accepts."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime

import httpx
import pytest

from tests.api.app_double import app_with_double, running
from tests.api.conftest import bearer, every_role_key

PATH_VALUES = {"ticket_id": "t0000000000000001", "scope": "shanghai"}  # what a reader types in the path fields


@pytest.fixture
async def api(tmp_path, monkeypatch):
    app, double = app_with_double(tmp_path, monkeypatch)
    key = await every_role_key(f"sqlite:///{tmp_path / 'api.db'}")  # as "Authorize" takes it in Swagger UI
    async with running(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                     headers=bearer(key)) as client:
            yield client, app, double


def sample(schema: dict, doc: dict) -> object:
    """The body Swagger UI fills in for "Try it out": the schema's own example where it has one, else a
    default, the first enum value or a placeholder ("string", 0, true, today) for each property."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if schema.get("default") is not None:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            option = next(o for o in schema[key] if o.get("type") != "null")
            return sample(option, doc)
    kind = schema.get("type", "object")
    if kind == "object":
        return {name: sample(prop, doc) for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {}), doc)]
    if kind == "string":
        return {"date": date.today().isoformat(),
                "date-time": datetime.now(UTC).isoformat()}.get(schema.get("format"), "string")
    if kind in ("integer", "number"):
        if "minimum" in schema:
            return schema["minimum"]
        return schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 0
    return True


def operations_with_a_body(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                params = {p["name"]: PATH_VALUES.get(p["name"]) or sample(p["schema"], doc)
                          for p in op.get("parameters", []) if p["in"] == "path"}
                yield method, path.format(**params), content["application/json"]["schema"]


async def test_every_body_the_docs_fill_in_is_accepted(api):
    client, app, double = api
    doc = app.openapi()
    tried = []
    for method, url, schema in operations_with_a_body(doc):
        body = sample(schema, doc)
        response = await client.request(method, url, json=body)
        # 404/409/503 come after validation (no such ticket; the double has no Temporal): the body was taken.
        assert response.status_code != 422, f"{method.upper()} {url} refuses its docs example {body}: {response.text}"
        tried.append((method.upper(), url, response.status_code))
    assert len(tried) >= 13, tried
    assert ("POST", "/v1/tickets", 201) in tried
    [(opening, _)] = double.started  # intake accepted the example and started its workflow
    assert (opening.shipment.origin_province, opening.station_province) == ("zhejiang", "shanghai")
    assert ("POST", "/v1/shipments/status-check", 200) in tried
    assert ("PUT", "/v1/directory/provincial_cs_director/shanghai", 200) in tried


async def test_without_the_examples_the_placeholders_are_refused(api):
    """What "Try it out" sent before the models had examples: provinces "string", so a 422."""
    client, app, _ = api
    doc = copy.deepcopy(app.openapi())
    for schema in doc["components"]["schemas"].values():
        schema.pop("examples", None)
    schema = doc["paths"]["/v1/shipments/status-check"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = sample(schema, doc)
    assert body["origin_province"] == "string"
    response = await client.post("/v1/shipments/status-check", json=body)
    assert response.status_code == 422 and "unknown province 'string'" in response.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_name_only_assets_this_server_serves(api, page):
    client, _, _ = api
    response = await client.get(page)
    html = response.text
    # The browser is told to fetch nothing from elsewhere, whatever a bundle asks for.
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "http:" not in html and "https:" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets), html
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200 and len(served.content) > 1000, asset
        assert "cdn.redoc.ly" not in served.text, asset  # ReDoc's footer logo, swapped for a blank image
    assert "'/openapi.json'" in html or '"/openapi.json"' in html
