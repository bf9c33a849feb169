"""R-ESC-5 on the real dev server: a worker killed with SIGKILL while a ladder is due, then restarted,
sends each due message once (counted in the outbox and at the fake Aliyun, through the official SDK)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.directory import Contact, Role
from domain.policy import parse_policy
from domain.ticket import Action, workflow_id
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.migrate import upgrade
from tests.activities.fake_sms_providers import FakeAliyun
from tests.conftest import ROOT, make_opening
from tests.e2e.conftest import LADDER_POLICY
from workflows.base import SEARCH_ATTRIBUTES
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.e2e
DEV_SERVER = os.path.join(os.path.dirname(sys.executable), "temporal")


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _eventually(check, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError("never happened")


async def test_r_esc_5_a_worker_killed_mid_send_and_restarted_sends_each_message_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'parcelcare.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    directory = DirectoryStore(engine)
    for role, scope, phone in [(Role.PROVINCIAL_CS_DIRECTOR, "shanghai", "+8613900000001"),
                               (Role.PROVINCIAL_VP, "shanghai", "+8613900000002"), (Role.HQ_CS, "hq", "+8613900000003")]:
        await directory.put(Contact(role=role, scope=scope, name="值班", phone=phone), datetime.now(ZoneInfo("UTC")))

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES, dev_server_extra_args=["--log-level", "error"])
    fake = FakeAliyun().start()
    queue = f"kill-{uuid.uuid4().hex[:6]}"
    worker_env = {**os.environ, **fake.env(), "PARCELCARE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                  "PARCELCARE_TASK_QUEUE": queue, "PARCELCARE_DATABASE_URL": url, "PARCELCARE_SMS_SIGN_NAME": "百世快递",
                  "PARCELCARE_SMS_TEMPLATES": '{"escalation": "SMS_1001"}', "PARCELCARE_SMS_TIMEOUT_SECONDS": "1"}
    worker = _worker(worker_env)
    try:
        fake.stall_next(4.0)  # tier 1 is accepted, then the answer comes after the client gave up
        opening = make_opening(parse_policy(LADDER_POLICY), ticket_id=uuid.uuid4().hex[:16],
                               station_province="shanghai")
        handle = await env.client.start_workflow(TicketWorkflow.run, opening, id=workflow_id(opening.ticket_id),
                                                 task_queue=queue)
        await _eventually(lambda: asyncio.sleep(0, result=len(fake.received) >= 1))
        worker.send_signal(signal.SIGKILL)  # killed while tier 1 is due and in flight
        worker.wait()
        worker = _worker(worker_env)

        async def ladder_done():
            view = await handle.query(TicketWorkflow.view)
            escalated = [s for s in view.steps if s.action == Action.ESCALATED]
            return view if len(escalated) == 3 else None

        view = await _eventually(ladder_done)
        sent_keys = Counter(m["key"] for m in fake.received if m["action"] == "SendSms" and m["accepted"])
        assert len(sent_keys) == 3 and set(sent_keys.values()) == {1}  # each tier once at the provider
        records = await MessageStore(engine).for_ticket(view.ticket_id)
        assert sorted(r.role for r in records) == ["hq_cs", "provincial_cs_director", "provincial_vp"]
        assert all(r.state.value == "sent" for r in records)
        assert {r.key for r in records} == set(sent_keys)  # the OutId is our reserved key
        director = next(r for r in records if r.role == "provincial_cs_director")
        assert director.attempts == 1  # after the kill, the provider was asked, not sent to again
        worker.send_signal(signal.SIGTERM)  # graceful: finishes within its grace period and exits cleanly
        assert worker.wait(timeout=40) == 0
    finally:
        worker.kill()
        worker.wait()
        fake.stop()
        await env.shutdown()
        await engine.dispose()
