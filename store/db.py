"""Engines from one SQLAlchemy URL: async for the service, sync for migrations."""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def _with_driver(url: str, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}; use sqlite or postgresql")
    return parsed.set(drivername=drivers[backend])


def async_url(url: str) -> URL:
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str) -> URL:
    return _with_driver(url, _SYNC_DRIVERS)


def create_engine_for(url: str, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    # hide_parameters: an error's text never quotes the values (names, phones) it was writing,
    # so neither the API's nor the worker's logs carry them (R-REC-1 data stays in the record).
    async_ = async_url(url)
    # A pool's size is a PostgreSQL matter (settings.db_pool_size); SQLite's default pool stays.
    sized = {"pool_size": pool_size, "max_overflow": max_overflow} if async_.get_backend_name() != "sqlite" else {}
    engine = create_async_engine(async_, pool_pre_ping=True, hide_parameters=True, **sized)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets the API read while the worker writes; the busy timeout rides out short locks.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


# How long the readiness probe waits for SQLite's write lock (a request waits busy_timeout).
_PROBE_BUSY_MS = 500


async def check_writable(engine: AsyncEngine) -> None:
    """Raise unless the record takes a write now: PostgreSQL answers; SQLite's write lock can be
    had (a locked file still answers reads, so SELECT 1 alone would say ready)."""
    async with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            await conn.execute(text("SELECT 1"))
            return
        await conn.exec_driver_sql(f"PRAGMA busy_timeout={_PROBE_BUSY_MS}")
        try:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")  # takes the write lock, writes nothing
            await conn.exec_driver_sql("ROLLBACK")
        finally:
            await conn.exec_driver_sql("PRAGMA busy_timeout=5000")
