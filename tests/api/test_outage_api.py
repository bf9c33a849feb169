"""A database outage (issue 11): every route that needs the record answers a readable 503 (never a 500),
/readyz says not ready, /metrics still answers, and nothing accepted is lost: a ticket opened while the
record is down is recorded once it is back (the worker retries; R-REC-1, R-REC-2).

Callers authenticate with a person's OIDC token, which needs no record to verify; an API key needs the
record (security/keys.py), so a provider's receipt push is a 503 from the gate itself."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import httpx
import pytest

from activities.calendar import HolidaySource
from api.app import create_app
from settings import Settings
from store.db import create_engine_for
from store.migrate import upgrade
from store.repository import TicketStore
from tests.api.conftest import bearer, every_role_key, every_role_token, new_key, ticket_body
from tests.workflows.conftest import running_worker

REFUSING_POSTGRES = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1: connections are refused


def _client(app, credential: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test",
                             headers=bearer(credential))


def _unavailable(response, what: str = "database") -> str:
    assert response.status_code == 503, response.text
    [item] = response.json()["detail"]
    assert item["type"] == f"{what}_unavailable" and response.json()["correlation_id"]
    assert response.headers["retry-after"]
    return item["msg"]


@pytest.fixture
async def down(stack, tmp_path, issuer):
    """The API on a PostgreSQL that refuses connections; Temporal and the worker are up."""
    settings = stack.model_copy(update={"database_url": REFUSING_POSTGRES, "data_dir": tmp_path})
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client(app, every_role_token(issuer)) as client:
        yield client

# A well-formed key: the gate must look it up in the record to know whose it is.
SOME_KEY = "pck_0123456789ab_" + "A" * 43


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/v1/tickets", None),
    ("GET", "/v1/claims", None),
    ("GET", "/v1/claims/0123456789abcdef", None),
    ("GET", "/v1/directory", None),
    ("PUT", "/v1/directory/hq_cs/hq", {"name": "钱七", "phone": "010 6512 3456"}),
    ("DELETE", "/v1/directory/hq_cs/hq/13812345678", None),
    ("GET", "/v1/stations/SH-PD-01/dispatches", None),
    ("GET", "/v1/tickets/0123456789abcdef", None),  # unknown to Temporal: the record is asked, and is down
    ("POST", f"/v1/sms/receipts/aliyun?key={SOME_KEY}", [{"out_id": "k1", "success": True}]),
    ("POST", f"/v1/sms/receipts/tencent?key={SOME_KEY}", [{"sid": "s1", "report_status": "SUCCESS"}]),
])
async def test_every_route_on_the_record_answers_503_while_postgresql_refuses(down, method, path, body):
    msg = _unavailable(await down.request(method, path, json=body))
    assert "try again" in msg


async def test_readyz_says_not_ready_and_metrics_still_answer(down):
    r = await down.get("/readyz")
    assert r.status_code == 503
    assert [item["type"] for item in r.json()["detail"]] == ["database_unavailable"]
    metrics = await down.get("/metrics")
    assert metrics.status_code == 200 and "parcelcare_record_up 0.0" in metrics.text
    await down.get("/v1/tickets")
    assert 'route="/v1/tickets",status="503"' in (await down.get("/metrics")).text


async def test_a_ticket_opens_while_postgresql_refuses_and_its_messages_say_503(down):
    """Opening needs Temporal only; the workflow's own writes wait for the record (the worker retries)."""
    r = await down.post("/v1/tickets", json=ticket_body(), headers={"Idempotency-Key": new_key()})
    assert r.status_code == 201, r.text
    ticket_id = r.json()["ticket_id"]
    view = (await down.get(f"/v1/tickets/{ticket_id}")).json()
    assert view["source"] == "workflow"
    # The full phone is shown only where its read is recorded: with the record down, it is masked.
    assert view["customer"]["phone"] == "+86138****5678"
    _unavailable(await down.get(f"/v1/tickets/{ticket_id}/messages"))


@pytest.fixture
async def locked_sqlite(dev_server, stack, tmp_path):
    """The API and a worker on a SQLite record that another process can lock (BEGIN EXCLUSIVE)."""
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    upgrade(url)
    key = await every_role_key(url)  # a locked SQLite file still answers reads: keys are still checked
    engine = create_engine_for(url)
    async with running_worker(dev_server, TicketStore(engine), HolidaySource(None)) as queue:
        settings = Settings(database_url=url, data_dir=tmp_path, task_queue=queue,
                            temporal_address=stack.temporal_address)
        app = create_app(settings)
        async with app.router.lifespan_context(app), _client(app, key) as client:
            yield client, str(tmp_path / "locked.db"), TicketStore(engine)
    await engine.dispose()


async def test_a_locked_sqlite_record_is_not_ready_writes_503_and_nothing_accepted_is_lost(locked_sqlite):
    http, path, record = locked_sqlite
    assert (await http.get("/readyz")).status_code == 200
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        _unavailable(await http.get("/readyz"))
        opened = await http.post("/v1/tickets", json=ticket_body(), headers={"Idempotency-Key": new_key()})
        assert opened.status_code == 201, opened.text  # taken: Temporal has it
        ticket_id = opened.json()["ticket_id"]
        started = time.monotonic()
        _unavailable(await http.put("/v1/directory/hq_cs/hq", json={"name": "钱七", "phone": "010 6512 3456"}))
        assert time.monotonic() - started < 15  # the busy timeout, then a readable answer
        assert await record.get(ticket_id) is None  # reads still work: nothing written yet
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (await http.get("/readyz")).status_code == 200
    for _ in range(300):  # the worker's retries record the ticket once the lock is gone
        if await record.get(ticket_id) is not None:
            break
        await asyncio.sleep(0.1)
    recorded = await record.get(ticket_id)
    assert recorded is not None and recorded.steps[0].action == "opened"
    listed = (await http.get("/v1/tickets")).json()
    assert ticket_id in [t["ticket_id"] for t in listed["items"]]
