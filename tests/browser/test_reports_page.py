"""/reports in a real headless browser (issue 15): it loads from this server alone with no console error,
shows the seeded figures (R-KPI-1..6, the scorecard, breached and escalated tickets, open rulings) and
every number on it equals the API's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from domain.kinds import Kind
from domain.liability import Ruling, RulingOpening, Unit
from domain.scorecard import ImportedInput
from settings import get_settings, load_policy
from store.db import create_engine_for
from store.quality import QualityStore
from store.repository import TicketStore
from tests.api.app_double import app_with_double
from tests.api.conftest import every_role_key
from tests.browser.conftest import serving
from tests.store.test_quality import T0, _rulings, _seed


async def _seeded(tmp_path, monkeypatch):
    app, _ = app_with_double(tmp_path, monkeypatch)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    policy = load_policy(get_settings().policy)
    engine = create_engine_for(url)
    quality = QualityStore(engine)
    await _seed(TicketStore(engine), policy)
    await _rulings(quality, policy)
    # One ruling still open, with its deadline on the page in +08:00.
    opening = RulingOpening(ticket_id="t000000000000005", carrier="best", kind=Kind.INQUIRY,
                            unit=Unit(station="HZ-XH-02", province="zhejiang"), closed_at=T0, policy=policy)
    open_one = Ruling.issued(opening, T0 + timedelta(days=5))
    open_one.unit_due_at, open_one.seq = datetime(2026, 11, 13, 2, tzinfo=UTC), 1  # 13 Nov 10:00 +08:00
    await quality.record_ruling(open_one, "issued", "", "system", open_one.issued_at)
    await quality.import_inputs([ImportedInput(period="2026-11", station="HZ-XH-02", component="on_time_departure",
                                               numerator=45, denominator=50)], T0, "tests")
    await engine.dispose()
    return app, await every_role_key(url)


async def test_the_reports_page_shows_the_apis_numbers_offline_in_chinese_and_english(page, context, tmp_path,
                                                                                      monkeypatch):
    app, key = await _seeded(tmp_path, monkeypatch)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    async with serving(app) as base:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as api:
            indicators = (await api.get("/v1/quality/indicators", params={"period": "2026-11", "ids": "true"})).json()
            card = (await api.get("/v1/quality/scorecard", params={"period": "2026-11"})).json()
        response = await page.goto(f"{base}/reports?period=2026-11")
        assert response is not None and response.status == 200, (response and response.status, await page.content())
        assert await page.locator("h1").inner_text() == "质量报表"  # Chinese first
        await page.fill("#credential", key)
        await page.click("#load")
        await page.wait_for_selector("body[data-state=loaded]", timeout=30_000)

        # The six indicators: each card's numerator and denominator are the API's, and they are the seeded ones.
        shown = {}
        for k in indicators["indicators"]:
            el = page.locator(f'.card[data-name="{k["name"]}"]')
            shown[k["name"]] = await el.locator(".fraction").inner_text()
            assert shown[k["name"]] == f'{k["overall"]["numerator"]}/{k["overall"]["denominator"]}'
        assert shown == {"feedback_48h": "2/3", "first_time_resolution": "2/3", "escalation": "1/4",
                         "direct_dispatch_2h": "1/2", "associated_dispatch_4h": "1/2", "appeal_invalid": "1/4"}
        assert await page.locator('.card[data-name="feedback_48h"] .rate').inner_text() == "66.67%"

        # Stations ranked by score, as the API ranks them.
        rows = page.locator("#scores tbody tr")
        assert await rows.count() == len(card["stations"]) == 2
        for n, s in enumerate(card["stations"]):
            row = rows.nth(n)
            assert await row.get_attribute("data-station") == s["station"]
            assert await row.locator("td.score").inner_text() == (s["score"] or "—")

        # Breached and escalated tickets of the period, each a link; the open ruling with its deadline in +08:00.
        exceptions = {await r.get_attribute("data-ticket") for r in await page.locator("#exceptions tbody tr").all()}
        assert exceptions == {"t000000000000002", "t000000000000004"}
        assert await page.locator('#exceptions a[href="#ticket-t000000000000002"]').count() == 1
        ruling = page.locator('#rulings tbody tr[data-ticket="t000000000000005"]')
        assert await ruling.locator("td.due").inner_text() == "2026-11-13 10:00 +08:00"

        # Charts drawn (ECharts canvases), then the same page in English.
        assert await page.locator("#kpi-chart canvas").count() >= 1
        assert await page.locator("#trend-chart canvas").count() >= 1
        await page.click("#lang")
        assert await page.locator("h1").inner_text() == "Quality reports"
        assert "48 h timely feedback" in await page.locator('.card[data-name="feedback_48h"] .name').inner_text()
    assert errors == []
    assert context.requests.leaving() == []
    assert any(r.url.endswith("/reports-assets/vendor/echarts/echarts.min.js") for r in context.requests)
