"""/docs and /redoc in a real browser with no internet: they render from this server alone, and
"Try it out" sends bodies the API accepts."""

from __future__ import annotations

import re

from tests.api.app_double import app_with_double
from tests.api.conftest import every_role_key
from tests.browser.conftest import serving

PATH_VALUES = {"ticket_id": "t0000000000000001", "scope": "shanghai"}


def _operations(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


async def test_swagger_ui_renders_offline_and_try_it_out_is_accepted(page, context, tmp_path, monkeypatch):
    app, double = app_with_double(tmp_path, monkeypatch)
    key = await every_role_key(f"sqlite:///{tmp_path / 'api.db'}")
    doc = app.openapi()
    console = []
    page.on("console", lambda message: console.append(message.text))
    async with serving(app) as base:
        await page.goto(f"{base}/docs")
        await page.locator(".opblock").first.wait_for(timeout=30_000)
        assert await page.locator(".opblock").count() == sum(1 for _ in _operations(doc))
        assert "ParcelCare" in await page.locator(".info .title").inner_text()

        # "Authorize" with a key, as a reader does with the development key (issue 12: every call needs one).
        await page.locator(".auth-wrapper button.authorize").click()
        bearer = page.locator(".auth-container").filter(has_text="(http, Bearer)")
        await bearer.locator("input").fill(key)
        await bearer.locator("button.authorize").click()
        await bearer.locator("button.btn-done").click()

        # "Try it out" on every operation with a body, as a reader would: the body Swagger UI fills in, Execute.
        statuses = {}
        for path, method, op in _operations(doc):
            if "requestBody" not in op:
                continue
            anchor = re.sub(r"\s", "_", f'operations-{op["tags"][0]}-{op["operationId"]}')  # Swagger UI's deep-link id
            block = page.locator(f'[id="{anchor}"]')
            await block.locator(".opblock-summary-control").click()
            await block.locator("button.try-out__btn").click()
            for param in op.get("parameters", []):
                if param["in"] == "path" and param["name"] in PATH_VALUES:
                    await block.locator(f'tr[data-param-name="{param["name"]}"] input').fill(PATH_VALUES[param["name"]])
            body = await block.locator("textarea.body-param__text").input_value()
            await block.locator("button.execute").click()
            status = block.locator(".live-responses-table tr.response .response-col_status").first
            await status.wait_for(timeout=30_000)
            statuses[f"{method.upper()} {path}"] = (int((await status.inner_text()).strip()[:3]), body)
            await block.locator(".opblock-summary-control").click()  # fold it again: the page stays short

    refused = {op: body for op, (code, body) in statuses.items() if code == 422}
    assert refused == {}, f"the docs fill in bodies the API refuses: {refused}"
    assert len(statuses) >= 13
    assert statuses["POST /v1/tickets"][0] == 201 and len(double.started) == 1
    assert '"origin_province": "zhejiang"' in statuses["POST /v1/tickets"][1]
    assert statuses["POST /v1/shipments/status-check"][0] == 200
    local = [r.url for r in context.requests]
    assert any(u.endswith("/docs-assets/swagger-ui-bundle.js") for u in local), local
    assert context.requests.leaving() == []
    assert not [text for text in console if "Content Security Policy" in text], console


async def test_redoc_renders_offline(page, context, tmp_path, monkeypatch):
    app, _ = app_with_double(tmp_path, monkeypatch)
    console = []
    page.on("console", lambda message: console.append(message.text))
    async with serving(app) as base:
        await page.goto(f"{base}/redoc")
        heading = page.locator("h2", has_text="Open Ticket").first
        await heading.wait_for(timeout=30_000)
        assert await heading.is_visible()
        assert "ParcelCare" in await page.locator("h1").first.inner_text()
        await page.wait_for_load_state("networkidle")
    assert any(r.url.endswith("/docs-assets/redoc.local.js") for r in context.requests)
    assert context.requests.leaving() == []
    assert not [text for text in console if "Content Security Policy" in text], console
