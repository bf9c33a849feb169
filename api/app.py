"""The FastAPI application: one engine and one Temporal client, made in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Literal

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api import (
    auth,
    claims,
    desk,
    directory,
    docs,
    errors,
    keys,
    messages,
    metrics,
    quality,
    reports_page,
    shipments,
    stations,
    tickets,
)
from api.deps import refuse_unknown_query
from api.door import Door
from api.schemas import errors as error_responses
from security.keys import KeyStore
from settings import Settings, configure_logging, connect_temporal, get_settings
from store.audit import PiiReadStore
from store.claims import ClaimStore
from store.db import check_writable, create_engine_for
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.quality import QualityStore
from store.repository import TicketStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings, "api")
    gate = auth.Gate(settings)  # before anything starts: an identity provider set up wrong is said at once

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine_for(settings.database_url, settings.db_pool_size, settings.db_max_overflow)
        app.state.settings = settings
        app.state.store = TicketStore(engine, settings.phone_key)
        app.state.claims = ClaimStore(engine)
        app.state.directory = DirectoryStore(engine)
        app.state.messages = MessageStore(engine)
        app.state.keys = KeyStore(engine)
        app.state.audit = PiiReadStore(engine)
        app.state.quality = QualityStore(engine)
        app.state.temporal = await connect_temporal(settings)
        yield
        await engine.dispose()

    app = FastAPI(
        title="ParcelCare",
        version="0.1.0",
        summary="Customer-service tickets of a parcel carrier, run as durable Temporal workflows.",
        description="Every 4xx and 5xx answer has one shape: `{\"detail\": [{\"loc\", \"msg\", \"type\"}], "
                    "\"correlation_id\"}`, every reason listed at once.\n\n"
                    "Every route but health, readiness and these documents takes `Authorization: Bearer "
                    "<credential>`: an API key (pck_…) or an OpenID Connect access token. Each operation "
                    "says which roles may call it.",
        lifespan=lifespan,
        # Any route may meet these: an unknown query parameter or a bad body (422), too large a
        # body (413), an outage (503), a bug (500).
        responses=error_responses(413, 422, 500, 503),
        dependencies=[Depends(refuse_unknown_query)],
        generate_unique_id_function=_operation_id,
        docs_url=None, redoc_url=None,  # api/docs.py serves both with local assets instead of a CDN's
    )
    docs.install(app)
    reports_page.install(app)
    desk.install(app)  # the agent's desk (issue 14): /desk, /desk/tickets/{id}, /stations/{code}
    errors.install(app)
    app.state.access_rules = dict(auth.RULES)  # who may call what: api/auth.py
    app.add_middleware(Door, max_body_bytes=settings.max_body_bytes, gate=gate)
    app.include_router(metrics.router)
    app.include_router(tickets.router)
    app.include_router(stations.router)
    app.include_router(claims.router)
    app.include_router(shipments.router)
    app.include_router(messages.router)
    app.include_router(directory.router)
    app.include_router(keys.router)
    app.include_router(quality.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=Ready)
    async def readyz(request: Request) -> JSONResponse:
        """Ready: the database takes a write and Temporal answers; a 503 names what does not."""
        problems = []
        try:
            await check_writable(request.app.state.store.engine)
        except Exception as exc:
            problems.append(errors.problem([], f"the database does not take a write: {type(exc).__name__}",
                                           "database_unavailable"))
        try:
            await request.app.state.temporal.service_client.check_health(timeout=timedelta(seconds=2))
        except Exception as exc:
            problems.append(errors.problem([], f"Temporal does not answer: {type(exc).__name__}",
                                           "temporal_unavailable"))
        if problems:
            return errors.error_response(request, 503, problems,
                                         headers={"Retry-After": str(errors.RETRY_AFTER_SECONDS)})
        return JSONResponse({"status": "ready"})

    auth.document(app)
    return app


class Ready(BaseModel):
    status: Literal["ready"]


def _operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids are the route functions' names (open_ticket, get_ticket, …)."""
    return route.name
