"""`make run` keeps going when one process dies, and the API's access log keeps phones out."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_stack import ticket_body, until

pytestmark = pytest.mark.e2e


async def _answering(http: httpx.AsyncClient, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("the restarted API never answered")


async def test_a_killed_worker_and_api_come_back_and_the_ticket_goes_on(sqlite_stack):
    stack = sqlite_stack
    stack.start()
    station = "E2E-SUPERVISED"
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, headers=stack.auth) as http:
        opened = await http.post("/v1/tickets", json=ticket_body(station))
        assert opened.status_code == 201, opened.text
        tid = opened.json()["ticket_id"]
        await until(http, tid, lambda v: v["status"] == "awaiting_station")

        # kill -9 the worker: it is restarted, and the 4-second coordination deadline still fires.
        before = stack.children()
        os.kill(before["worker"], signal.SIGKILL)
        said = stack.wait_for_line(lambda line: line.startswith("worker exited (killed by SIGKILL)"))
        assert "restarting it in 1s" in said
        restarted = stack.wait_for_line(lambda line: line.startswith("worker restarted (pid "))
        after = stack.children()
        assert after["worker"] != before["worker"] and f"(pid {after['worker']})" in restarted
        others = ("api", "codec", "temporal")
        assert {k: after[k] for k in others} == {k: before[k] for k in others}
        # An activity that was running on the killed worker is retried once its timeout (30 s) has passed.
        view = await until(http, tid, lambda v: v["breaches"], timeout=90)
        assert view["breaches"][0]["rule"] == "R-CLK-4"

        # kill -9 the API: it comes back on its port, and the ticket is answered through it to its end.
        os.kill(after["api"], signal.SIGKILL)
        stack.wait_for_line(lambda line: line.startswith("api restarted (pid "))
        await _answering(http)
        assert (await http.get(f"/v1/tickets/{tid}")).json()["status"] == "awaiting_station"
        reply = await http.post(f"/v1/tickets/{tid}/station-replies",
                                json={"station": station, "finding": "on the van"})
        assert reply.status_code == 202
        await until(http, tid, lambda v: v["status"] == "awaiting_callback")
        await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved"})
        final = await until(http, tid, lambda v: v["status"] == "closed")
        assert final["resolution"] == "resolved"
        # A query string with a phone in it, as a search would send.
        await http.get("/v1/tickets", params={"station": station, "phone": "13812345678"})
    assert stack.stop() == 0

    # The access log: one line a request with its time, ticket ids in paths, no query values, no phone.
    log = (Path(stack.env["PARCELCARE_DATA_DIR"]) / "logs" / "api.log").read_text()
    assert f'"POST /v1/tickets/{tid}/station-replies HTTP/1.1" 202' in log
    assert '"POST /v1/tickets HTTP/1.1" 201' in log
    assert '"GET /v1/tickets?station=*&phone=* HTTP/1.1"' in log
    assert "13812345678" not in log and "张三" not in log
    access = [line for line in log.splitlines() if "uvicorn.access" in line]
    assert access and all(line[:4].isdigit() and " api uvicorn.access INFO " in line for line in access)
    assert "exited (killed by SIGKILL)" in (Path(stack.env["PARCELCARE_DATA_DIR"]) / "logs" / "worker.log").read_text()
