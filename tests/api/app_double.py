"""The real API app, on a migrated SQLite database, with a test double for its Temporal client.

For tests of what the API does before it reaches Temporal (routes, validation, the docs pages):
starting a workflow is recorded and succeeds; anything else asked of Temporal fails as unavailable,
which the API answers with a 503.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.service import RPCError, RPCStatusCode

import api.app
from settings import Settings
from store.migrate import upgrade


class _UnavailableHandle:
    def __getattr__(self, name: str):
        async def unavailable(*_args, **_kwargs):
            raise RPCError(f"test double: no Temporal server ({name})", RPCStatusCode.UNAVAILABLE, b"")
        return unavailable


class TemporalDouble:
    def __init__(self) -> None:
        self.started: list[tuple[object, dict]] = []

    async def start_workflow(self, _workflow, arg, **kwargs) -> None:
        self.started.append((arg, kwargs))

    def get_workflow_handle_for(self, *_args, **_kwargs) -> _UnavailableHandle:
        return _UnavailableHandle()

    get_workflow_handle = get_workflow_handle_for


def app_with_double(tmp_path: Path, monkeypatch) -> tuple:
    """(app, double): create_app() itself, whose lifespan gets the double instead of a connection."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    upgrade(url)
    double = TemporalDouble()

    async def connect(_settings, runtime=None) -> TemporalDouble:
        return double

    monkeypatch.setattr(api.app, "connect_temporal", connect)
    # create_app() sets up logging for a real API process; the test process keeps its own.
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.access")]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.filters[:]) for lg in loggers]
    app = api.app.create_app(Settings(database_url=url, data_dir=tmp_path))
    for lg, handlers, level, propagate, filters in saved:
        lg.handlers[:], lg.filters[:], lg.propagate = handlers, filters, propagate
        lg.setLevel(level)
    return app, double


@asynccontextmanager
async def running(app):
    """The app's lifespan (engine, stores, the Temporal client) around the block."""
    async with app.router.lifespan_context(app):
        yield app
