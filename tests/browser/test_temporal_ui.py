"""The Temporal UI of a stack on non-default ports, in a real browser: it decodes the ticket through the
stack's codec server (CORS for that UI's origin), and the README's saved view and columns work."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from devstack import TICKET_COLUMNS, columns_snippet, view_link
from tests.conftest import ROOT
from tests.e2e.conftest import make_stack
from tests.e2e.test_stack import ticket_body, until

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(tmp_path):
    started = make_stack(tmp_path, None)
    yield started
    if started.proc and started.proc.poll() is None:
        started.stop()


async def test_the_ui_decodes_and_shows_the_ticket_view_and_columns(stack, page, context):
    stack.start()
    ui = f"http://127.0.0.1:{stack.env['PARCELCARE_TEMPORAL_UI_PORT']}"
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        tid = (await http.post("/v1/tickets", json=ticket_body("E2E-UI"))).json()["ticket_id"]
        await until(http, tid, lambda v: v["status"] == "awaiting_station")

    # The workflow's input, decrypted in the browser through the codec server of this stack.
    await page.goto(f"{ui}/namespaces/default/workflows/ticket-{tid}")
    await page.get_by_text("+8613812345678").first.wait_for(timeout=30_000)
    codec = f"http://127.0.0.1:{stack.env['PARCELCARE_CODEC_PORT']}/"
    decodes = [r for r in context.requests if r.url.startswith(codec) and urlsplit(r.url).path.endswith("/decode")]
    origins = {(await r.all_headers()).get("origin") for r in decodes}
    assert decodes and origins == {ui}  # cross-origin calls the codec server's CORS let through

    # The banner's link saves the view; the README's console line sets the columns.
    link = view_link(ui, "default", "Open tickets")
    assert link in stack.wait_for_line(lambda line: line.startswith("  Ticket view "))
    await page.goto(link)
    await page.get_by_role("button", name="Open tickets").first.wait_for(timeout=30_000)
    saved = await page.evaluate("() => JSON.parse(localStorage.getItem('saved-workflow-queries'))")
    assert [(v["name"], v["query"]) for v in saved["default"]] == [("Open tickets", "TicketStatus != 'closed'")]

    snippet = columns_snippet("default")
    assert snippet in (ROOT / "README.md").read_text()
    async with page.expect_navigation():
        await page.evaluate(f"() => {{ {snippet} }}")
    header = page.locator("thead")
    await header.get_by_text("NextDeadline").wait_for(timeout=30_000)
    headers = [h.strip() for h in await header.locator("th").all_inner_texts() if h.strip()]
    assert headers[-len(TICKET_COLUMNS):] == TICKET_COLUMNS, headers  # after the select-all checkbox
    row = page.locator("tbody tr", has_text=f"ticket-{tid}")
    assert "awaiting_station" in await row.inner_text() and "E2E-UI" in await row.inner_text()
    assert context.requests.leaving() == []
    assert stack.stop() == 0
