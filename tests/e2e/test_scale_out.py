"""Issue 13: two workers and two API processes on one Temporal server and one PostgreSQL, as `make run` starts
them with PARCELCARE_WORKER_PROCESSES=2 and PARCELCARE_API_PROCESSES=2.

Tickets are opened through one API and answered through the other while both workers take tasks from the
same queue. Whatever process does what, each ticket gets each step once, each dispatch round once, one claim
and each SMS once (R-ESC-5); and both workers did part of the work.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta

import httpx
import pytest
from temporalio.client import Client

from domain.ids import workflow_id
from tests.conftest import _postgres_database
from tests.e2e.conftest import make_stack
from tests.e2e.test_promises_over_http import PEOPLE, POLICY, _directory
from tests.e2e.test_stack import ticket_body, until

pytestmark = pytest.mark.e2e

INQUIRIES = 8
LOSSES = 2


@pytest.fixture
def scaled_stack(tmp_path):
    url, drop = _postgres_database()
    if url is None:
        pytest.skip("the scale-out stack runs on PostgreSQL, as in production (CI has one)")
    stack = make_stack(tmp_path, url, POLICY, PARCELCARE_WORKER_PROCESSES="2", PARCELCARE_API_PROCESSES="2")
    stack.start(timeout=180)
    yield stack
    stack.stop()
    drop()


def _apis(stack) -> list[str]:
    first = int(stack.env["PARCELCARE_API_PORT"])
    return [f"http://127.0.0.1:{first}", f"http://127.0.0.1:{first + 1}"]


async def _inquiry(opener: httpx.AsyncClient, answerer: httpx.AsyncClient, station: str) -> str:
    r = await opener.post("/v1/tickets", json=ticket_body(station))
    assert r.status_code == 201, r.text
    tid = r.json()["ticket_id"]
    await until(answerer, tid, lambda v: v["status"] == "awaiting_station", timeout=120)
    reply = await answerer.post(f"/v1/tickets/{tid}/station-replies",
                                json={"station": station, "finding": "out for delivery today"})
    assert reply.status_code == 202, reply.text
    await until(opener, tid, lambda v: v["status"] == "awaiting_callback", timeout=120)
    done = await opener.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved"})
    assert done.status_code == 202, done.text
    await until(answerer, tid, lambda v: v["status"] == "closed", timeout=120)
    return tid


async def _silent_loss(opener: httpx.AsyncClient, reader: httpx.AsyncClient, station: str) -> str:
    body = ticket_body(station, kind="loss", station_province="shanghai", origin_station=f"{station}-O",
                       sender={"name": "李四", "phone": "13987654321"},
                       shipment={"ship_date": (date.today() - timedelta(days=2)).isoformat()},
                       claim_details={"contents": "books", "declared_value": "120.00", "packaging": "box",
                                      "freight": "12.00", "insured": False})
    r = await opener.post("/v1/tickets", json=body)
    assert r.status_code == 201, r.text
    tid = r.json()["ticket_id"]
    await until(reader, tid, lambda v: v["status"] == "awaiting_claim", timeout=180)
    return tid


async def test_two_workers_and_two_apis_share_one_cluster_with_no_duplicate_step_dispatch_claim_or_sms(
        scaled_stack):
    """R-ESC-5 and the record's keys across processes: every write single, whichever process made it."""
    stack = scaled_stack
    one, two = (httpx.AsyncClient(base_url=u, timeout=30, headers=stack.auth) for u in _apis(stack))
    try:
        await _directory(one)
        inquiries = asyncio.gather(*[
            _inquiry(*((one, two) if i % 2 == 0 else (two, one)), f"SCALE-{i}") for i in range(INQUIRIES)])
        losses = asyncio.gather(*[
            _silent_loss(*((two, one) if i % 2 == 0 else (one, two)), f"SCALE-LOSS-{i}") for i in range(LOSSES)])
        closed, lost = await asyncio.gather(inquiries, losses)
        await asyncio.sleep(3)  # a late duplicate, if any, would land now

        for tid in [*closed, *lost]:
            view = (await one.get(f"/v1/tickets/{tid}")).json()
            seqs = [s["seq"] for s in view["steps"]]
            assert seqs == list(range(1, len(seqs) + 1)), (tid, seqs)  # one step per seq, none lost
            actions = Counter(s["action"] for s in view["steps"])
            assert actions["opened"] == 1 and actions["dispatched"] >= 1, (tid, actions)
            dispatched = [(s["data"].get("station", view["station"]), int(s["data"]["round"]))
                          for s in view["steps"] if s["action"] == "dispatched"]
            rows = []
            for station in {st for st, _ in dispatched}:
                outbox = (await two.get(f"/v1/stations/{station}/dispatches")).json()["items"]
                rows += [(d["station"], d["round"]) for d in outbox if d["ticket_id"] == tid]
            assert sorted(rows) == sorted(dispatched) and len(set(rows)) == len(rows), (tid, rows, dispatched)
        for tid in lost:
            claim = await two.get(f"/v1/claims/{tid}")
            assert claim.status_code == 200, claim.text  # one claim per ticket: its id is the ticket's
            texts = (await one.get(f"/v1/tickets/{tid}/messages")).json()
            per_role = Counter(m["role"] for m in texts)
            assert per_role and all(n == 1 for n in per_role.values()), (tid, per_role)
            assert set(per_role) <= {role for role, _, _ in PEOPLE} | {"customer", "sender", "recipient"}
            keys = [m["key"] for m in texts]
            assert len(keys) == len(set(keys))
    finally:
        await one.aclose()
        await two.aclose()

    # Both workers took part: the server names the poller that started each task.
    client = await Client.connect(stack.temporal_address, data_converter=stack.data_converter())
    identities: Counter[str] = Counter()
    for tid in [*closed, *lost]:
        async for event in client.get_workflow_handle(workflow_id(tid)).fetch_history_events():
            if event.HasField("workflow_task_started_event_attributes"):
                identities[event.workflow_task_started_event_attributes.identity] += 1
            elif event.HasField("activity_task_started_event_attributes"):
                identities[event.activity_task_started_event_attributes.identity] += 1
    assert len(identities) == 2, identities
