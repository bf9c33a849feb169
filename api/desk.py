"""The agent's desk (issue 14): `/desk`, `/desk/tickets/{id}` and `/stations/{code}`, served by the API.

Each page is a shell without data: a small vanilla-JavaScript program (api/desk_assets/desk.js, served from
`/desk-assets`, nothing from a CDN) asks the person for their credential once, keeps it in the tab's
sessionStorage and calls the same JSON routes a client calls, with `Authorization: Bearer`. So the pages
need no credential of their own (a browser's navigation cannot carry a bearer header), carry no customer
data, and every read and answer goes through the one gate and table of rules (api/auth.py).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.schemas import STATION_CODE

ASSETS = Path(__file__).resolve().parent / "desk_assets"
ASSETS_URL = "/desk-assets"

# Only this server's own script, style and API: no inline script, nothing fetched from elsewhere.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
])

_SHELL = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ParcelCare 工作台</title>
<link rel="stylesheet" href="{assets}/desk.css">
<link rel="icon" href="data:,">
<script src="{assets}/desk.js" defer></script>
</head>
<body data-page="{page}" data-id="{ident}">
<header><a href="/desk" id="home">ParcelCare</a><span id="who"></span><nav id="lang"></nav></header>
<main id="app"><noscript>This page needs JavaScript. 本页面需要启用 JavaScript。</noscript></main>
</body>
</html>
"""


def _page(page: str, ident: str = "") -> HTMLResponse:
    html = _SHELL.format(assets=ASSETS_URL, page=page, ident=escape(ident, quote=True))
    return HTMLResponse(html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY,
                                       "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


# The page's language: Chinese first, English on ?lang=en (the page remembers it for the tab); read by the script.
Lang = Annotated[Literal["zh", "en"] | None, Query(description="zh (the default) or en")]


def install(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="desk-assets")

    @app.get("/desk", include_in_schema=False)
    async def desk(lang: Lang = None) -> HTMLResponse:
        """My queue and the team's, by the earliest promise owed; search by waybill or phone."""
        return _page("queue")

    @app.get("/desk/tickets/{ticket_id}", include_in_schema=False)
    async def desk_ticket(ticket_id: str = PathParam(min_length=1, max_length=64,
                                                     pattern=r"^[A-Za-z0-9_-]+$"),
                          lang: Lang = None) -> HTMLResponse:
        """One ticket: parties, stations, deadlines, steps, notes, and the answers it waits for as forms."""
        return _page("ticket", ticket_id)

    @app.get("/stations/{station}", include_in_schema=False)
    async def station_page(station: str = PathParam(min_length=1, max_length=64,
                                                    pattern=STATION_CODE),
                           lang: Lang = None) -> HTMLResponse:
        """A station's outbox: the dispatches it still owes an answer, each with its deadline."""
        return _page("station", station)
