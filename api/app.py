"""The FastAPI application: one engine and one Temporal client, made in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api import claims, directory, errors, messages, metrics, shipments, stations, tickets
from settings import Settings, configure_logging, connect_temporal, get_settings
from store.claims import ClaimStore
from store.messages import MessageStore
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.repository import TicketStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings, "api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine_for(settings.database_url)
        app.state.settings = settings
        app.state.store = TicketStore(engine)
        app.state.claims = ClaimStore(engine)
        app.state.directory = DirectoryStore(engine)
        app.state.messages = MessageStore(engine)
        app.state.temporal = await connect_temporal(settings)
        yield
        await engine.dispose()

    app = FastAPI(
        title="ParcelCare",
        version="0.1.0",
        summary="Customer-service tickets of a parcel carrier, run as durable Temporal workflows.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.middleware("http")(metrics.record_request)
    app.include_router(metrics.router)
    app.include_router(tickets.router)
    app.include_router(stations.router)
    app.include_router(claims.router)
    app.include_router(shipments.router)
    app.include_router(messages.router)
    app.include_router(directory.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        """Ready: the database and Temporal both answer; 503 names what does not."""
        problems = {}
        try:
            async with request.app.state.store.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is reported
            problems["database"] = type(exc).__name__
        try:
            await request.app.state.temporal.service_client.check_health(timeout=timedelta(seconds=2))
        except Exception as exc:  # noqa: BLE001
            problems["temporal"] = type(exc).__name__
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app
