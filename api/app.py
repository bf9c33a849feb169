"""The FastAPI application: one engine and one Temporal client, made in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import claims, directory, errors, messages, shipments, stations, tickets
from settings import Settings, connect_temporal, get_settings
from store.claims import ClaimStore
from store.messages import MessageStore
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.repository import TicketStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

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
    app.include_router(tickets.router)
    app.include_router(stations.router)
    app.include_router(claims.router)
    app.include_router(shipments.router)
    app.include_router(messages.router)
    app.include_router(directory.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
