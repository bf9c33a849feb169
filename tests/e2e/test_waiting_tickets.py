"""Many tickets waiting on their timers, most of them beyond the worker's bounded cache, survive a killed
worker: every deadline fires once, at its due instant (R-CLK-4; issue 13).

The worker keeps at most 5 tickets in memory here (PARCELCARE_WORKER_MAX_CACHED_WORKFLOWS), so nearly
all of them wait on the server only and are rebuilt from their history when their timer fires on the
restarted worker. How late each breach reached the record is printed, not asserted (speed is
`make bench-stack`'s to measure).
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import _postgres_database
from tests.e2e.conftest import SECONDS_POLICY, make_stack
from tests.e2e.test_stack import ticket_body

pytestmark = pytest.mark.e2e

TICKETS = 40
CACHE = 5
# Long enough to open every ticket and kill the worker before the first one falls due on a busy machine.
POLICY = SECONDS_POLICY.replace('coordination_deadline = "4 working seconds on always"',
                                'coordination_deadline = "45 working seconds on always"')


@pytest.fixture
def bounded_stack(tmp_path):
    url, drop = _postgres_database()
    stack = make_stack(tmp_path, url or f"sqlite:///{tmp_path / 'data' / 'parcelcare.db'}", POLICY,
                       PARCELCARE_WORKER_MAX_CACHED_WORKFLOWS=str(CACHE))
    yield stack
    if stack.proc and stack.proc.poll() is None:
        stack.stop()
    if drop:
        drop()


async def _views(http: httpx.AsyncClient, ids: list[str]) -> dict[str, dict]:
    return {tid: (await http.get(f"/v1/tickets/{tid}")).json() for tid in ids}


async def test_r_clk_4_forty_waiting_tickets_beyond_the_cache_each_breach_once_on_time_after_a_killed_worker(
        bounded_stack):
    stack = bounded_stack
    stack.start()
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        opened = [await http.post("/v1/tickets", json=ticket_body(f"E2E-WAIT-{i % 4}")) for i in range(TICKETS)]
        assert all(r.status_code == 201 for r in opened), [r.text for r in opened if r.status_code != 201]
        ids = [r.json()["ticket_id"] for r in opened]
        deadline = time.monotonic() + 120
        while True:
            views = await _views(http, ids)
            if all(v["status"] == "awaiting_station" for v in views.values()):
                break
            assert time.monotonic() < deadline, {t: v["status"] for t, v in views.items()}
            await asyncio.sleep(0.5)
        due = {tid: datetime.fromisoformat(next(d["due_at"] for d in v["deadlines"] if d["kind"] == "coordination"))
               for tid, v in views.items()}
        assert all(v["breaches"] == [] for v in views.values())
        assert datetime.now(UTC) < min(due.values()), "the tickets were opened too slowly for this test's policy"

        # kill -9 the worker while every ticket waits; the supervisor starts a new one with an empty cache.
        before = stack.children()["worker"]
        os.kill(before, signal.SIGKILL)
        stack.wait_for_line(lambda line: line.startswith("worker restarted (pid "))
        assert stack.children()["worker"] != before

        seen: dict[str, datetime] = {}  # when the record first showed each breach
        deadline = time.monotonic() + 180
        while len(seen) < TICKETS:
            assert time.monotonic() < deadline, f"only {len(seen)} of {TICKETS} deadlines fired"
            for tid in set(ids) - set(seen):
                if (await http.get(f"/v1/tickets/{tid}")).json()["breaches"]:
                    seen[tid] = datetime.now(UTC)
            await asyncio.sleep(0.5)

        final = await _views(http, ids)
    for tid, view in final.items():
        coordination = [b for b in view["breaches"] if b["rule"] == "R-CLK-4"]
        assert len(coordination) == 1, (tid, view["breaches"])  # once, though the worker that set it died
        assert datetime.fromisoformat(coordination[0]["at"]) == due[tid]
        assert [s["action"] for s in view["steps"]].count("deadline_breached") == 1
        assert view["status"] == "awaiting_station"  # the ticket goes on waiting for its station
    late = [(seen[tid] - due[tid]).total_seconds() for tid in ids]
    print(f"\n{TICKETS} deadlines after a killed worker (cache {CACHE}): in the record "
          f"{statistics.median(late):.1f} s after due (median), {max(late):.1f} s at most (0.5 s polling)")
    assert stack.stop() == 0
