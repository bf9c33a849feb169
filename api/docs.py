"""/docs (Swagger UI) and /redoc, whose JavaScript and CSS this process serves itself.

FastAPI's own pages load them from a CDN, which is unreachable offline and unreliable from mainland
China: the page stays blank. The files come from the PyPI package fastapi-offline (pinned in
requirements.lock), which vendors swagger-ui-dist and ReDoc's standalone bundle; we use only its
files, not its FastAPI factory. Nothing on these pages is fetched from outside this server.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"

# validatorUrl None: Swagger UI would otherwise send the spec to validator.swagger.io for its badge.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}

# ReDoc's bundle shows Redocly's logo in its footer, from their CDN: we serve it with a blank image instead.
_REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
_BLANK_IMAGE = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="

# And the browser itself keeps both pages on this server, whatever a later bundle asks for. Inline
# scripts and styles are how FastAPI's pages and both bundles work; ReDoc's search runs in a blob: worker.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self' 'unsafe-inline'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:", "font-src 'self' data:", "worker-src 'self' blob:", "connect-src 'self'",
    "base-uri 'self'", "form-action 'self'", "frame-ancestors 'self'",
])


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def install(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Mount the assets and add both pages; the app must be made with docs_url=None and redoc_url=None."""
    redoc_js = (ASSETS / "redoc.standalone.js").read_text(encoding="utf-8").replace(_REDOCLY_LOGO, _BLANK_IMAGE)

    @app.get(f"{ASSETS_URL}/redoc.local.js", include_in_schema=False)
    async def redoc_bundle() -> Response:
        return Response(redoc_js, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    oauth2_redirect_url = f"{docs_url}/oauth2-redirect"

    def base(request: Request) -> str:
        return request.scope.get("root_path", "")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = base(request)
        return _local_only(get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        ))

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = base(request)
        return _local_only(get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.local.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,  # fonts.googleapis.com: blocked in mainland China, absent offline
        ))
