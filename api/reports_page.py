"""/reports: the page a provincial customer-service head opens every morning (issue 15).

A static page and its script, served by this process with Apache ECharts vendored under
api/static/vendor/echarts (no CDN: the carriers' offices may have no reliable route to one). The page
holds no data: its script asks the API (/v1/quality/…, /v1/rulings) with the reader's credential, so
every number on it is the API's. Chinese first, English a click away; times in +08:00.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
ASSETS_URL = "/reports-assets"

# Nothing leaves this server; no inline script (ECharts sets inline styles on its elements).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "connect-src 'self'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'self'",
])


def install(app: FastAPI) -> None:
    page = (STATIC / "reports" / "index.html").read_text(encoding="utf-8")

    @app.get("/reports", include_in_schema=False)
    async def reports_page(period: str | None = Query(None, max_length=10)) -> HTMLResponse:
        """`?period=2026-11` opens that month (the page's script reads it)."""
        return HTMLResponse(page, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY,
                                           "Cache-Control": "no-store"})

    app.mount(ASSETS_URL, StaticFiles(directory=STATIC), name="reports-assets")
