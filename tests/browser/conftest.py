"""Headless Chromium for tests of what a person sees: Debian's /usr/bin/chromium driven by Playwright.

Playwright's own browser download needs the internet; Debian's chromium comes from the package
registry (`.ci/run` installs it). Without it these tests are skipped locally, and fail in CI
(`CI` set), like the PostgreSQL cases.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, Request, async_playwright

CHROMIUM = Path(os.environ.get("PARCELCARE_CHROMIUM", "/usr/bin/chromium"))
# Flags that work on these machines: no sandbox as root, and no background traffic (updates, sync, field
# trials) that a closed network refuses, many connections at a time.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _chromium() -> Path:
    if CHROMIUM.exists() or shutil.which(str(CHROMIUM)):
        return CHROMIUM
    reason = f"no Chromium at {CHROMIUM}: install Debian's package (`apt-get install chromium`, as .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must have Chromium for the browser tests; {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = _chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_FLAGS,
                                                    headless=True)
        yield launched
        await launched.close()


class Requests(list):
    """Every request the pages of a context made (Playwright's request events), in order."""

    def leaving(self) -> list[str]:
        """Those addressed anywhere but this machine's loopback (data: and blob: URLs stay in the page)."""
        return [r.url for r in self
                if urlsplit(r.url).scheme not in ("data", "blob") and urlsplit(r.url).hostname not in LOCAL_HOSTS]


@pytest.fixture
async def context(browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile (no cookies, no local storage) whose requests are recorded in `context.requests`."""
    ctx = await browser.new_context(locale="en-US", timezone_id="Asia/Shanghai")
    ctx.requests = Requests()

    def seen(request: Request) -> None:
        ctx.requests.append(request)

    ctx.on("request", seen)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context) -> Page:
    return await context.new_page()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def serving(app) -> AsyncIterator[str]:
    """An ASGI app served over real HTTP on 127.0.0.1 (its own thread and event loop), for the browser."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            if not thread.is_alive():
                raise RuntimeError("the test server did not start")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
