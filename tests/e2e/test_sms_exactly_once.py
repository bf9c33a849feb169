"""R-ESC-5 on the real dev server: a worker killed with SIGKILL while a ladder is due, then restarted,
sends each due message once (counted in the outbox and at the fake Aliyun, through the official SDK).

The worker is killed at each point of the send path: with the message reserved and not yet taken (before
the compare-and-set), taken but not at the provider (after the compare-and-set, before the provider got
the call), and accepted by the provider before its answer was written. Each time the heartbeat timeout
(10 s), not the 60 s start-to-close, brings the send back, and each message reaches the provider once.
A Tencent-like provider that can neither confirm nor deny (a switched-off phone) leaves the message
unknown on the ticket instead of texting it twice."""

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
from domain.ids import workflow_id
from domain.policy import parse_policy
from domain.steps import Action
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.migrate import upgrade
from tests.activities.fake_sms_providers import FakeAliyun, FakeTencent
from tests.conftest import ROOT, make_opening
from tests.e2e.conftest import LADDER_POLICY
from workflows.ticket import TicketWorkflow
from workflows.visibility import SEARCH_ATTRIBUTES

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


async def _ladder_setup(tmp_path):
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
    return url, engine, env


def _env_for(env, fake, url: str) -> dict[str, str]:
    return {**os.environ, **fake.env(), "PARCELCARE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "PARCELCARE_TASK_QUEUE": f"kill-{uuid.uuid4().hex[:6]}", "PARCELCARE_DATABASE_URL": url,
            "PARCELCARE_SMS_SIGN_NAME": "百世快递", "PARCELCARE_SMS_TEMPLATES": '{"escalation": "SMS_1001"}',
            "PARCELCARE_SMS_TIMEOUT_SECONDS": "1", "PARCELCARE_SMS_STATUS_GRACE_SECONDS": "3"}


async def _open(env, queue: str):
    opening = make_opening(parse_policy(LADDER_POLICY), ticket_id=uuid.uuid4().hex[:16], station_province="shanghai")
    return await env.client.start_workflow(TicketWorkflow.run, opening, id=workflow_id(opening.ticket_id),
                                           task_queue=queue)


async def _director(messages: MessageStore, ticket_id: str):
    return next((r for r in await messages.for_ticket(ticket_id) if r.role == "provincial_cs_director"), None)


@pytest.mark.parametrize("point", ["before_cas", "after_cas", "after_accept"])
async def test_r_esc_5_a_worker_killed_at_each_point_of_the_send_path_sends_once_within_the_heartbeat(
        tmp_path, point):
    url, engine, env = await _ladder_setup(tmp_path)
    messages = MessageStore(engine)
    fake = FakeAliyun(listed_after=1.5).start()  # QuerySendDetails lists a message only 1.5 s after acceptance
    worker_env = _env_for(env, fake, url)
    worker = _worker(worker_env)
    try:
        if point == "before_cas":
            fake.fail_next("Throttling.User")  # "not now" (retry in 2 s): back to reserved, its token dropped
        elif point == "after_cas":
            fake.drop_next(4.0)  # taken under a token, the call never reaches the provider
        else:
            fake.stall_next(4.0)  # accepted, its answer lost: the client gives up after 1 s
        handle = await _open(env, worker_env["PARCELCARE_TASK_QUEUE"])
        view = await _eventually(lambda: handle.query(TicketWorkflow.view))
        await _eventually(lambda: asyncio.sleep(0, result=len(fake.received) >= 1))
        if point == "before_cas":
            async def reserved():
                record = await _director(messages, view.ticket_id)
                return record is not None and record.state.value == "reserved"
            await _eventually(reserved, timeout=10)
        else:
            record = await _director(messages, view.ticket_id)
            assert record.state.value == "sending" and record.attempt_token is not None
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed_at = time.monotonic()
        assert len(fake.accepted()) == (1 if point == "after_accept" else 0)
        worker = _worker(worker_env)

        async def director_settled():
            record = await _director(messages, view.ticket_id)
            return record if record is not None and record.state.value == "sent" else None

        director = await _eventually(director_settled)
        settled_in = time.monotonic() - killed_at
        assert settled_in < 45, settled_in  # the heartbeat timeout (10 s) noticed the kill, not the 60 s timeout

        async def ladder_done():
            v = await handle.query(TicketWorkflow.view)
            return v if len([s for s in v.steps if s.action == Action.ESCALATED]) == 3 else None

        done = await _eventually(ladder_done)
        sent_keys = Counter(m["key"] for m in fake.received if m["action"] == "SendSms" and m["accepted"])
        records = await messages.for_ticket(done.ticket_id)
        assert {r.key for r in records} == set(sent_keys) and set(sent_keys.values()) == {1}  # each once, none lost
        assert all(r.state.value == "sent" for r in records) and len(records) == 3
        # A second provider call only where the first certainly did not reach it: refused, or lost on the way in.
        assert director.attempts == (1 if point == "after_accept" else 2)
    finally:
        worker.kill()
        worker.wait()
        fake.stop()
        await env.shutdown()
        await engine.dispose()


async def test_r_esc_5_a_switched_off_phone_on_tencent_is_texted_once_and_its_ticket_says_unknown(tmp_path):
    """The status pull lists a message only once the receipt is in; a switched-off phone has none. The answer to
    the send is lost: the message is marked unknown, a step on the ticket says so, and it is not sent again."""
    url, engine, env = await _ladder_setup(tmp_path)
    messages = MessageStore(engine)
    fake = FakeTencent(delivered=None).start()  # no receipt ever: never listed by the status pull
    worker_env = _env_for(env, fake, url)
    worker = _worker(worker_env)
    try:
        fake.stall_next(4.0)
        handle = await _open(env, worker_env["PARCELCARE_TASK_QUEUE"])

        async def unknown_step():
            v = await handle.query(TicketWorkflow.view)
            return v if any(s.action == Action.MESSAGE_UNKNOWN for s in v.steps) else None

        view = await _eventually(unknown_step, timeout=60)
        (step,) = [s for s in view.steps if s.action == Action.MESSAGE_UNKNOWN]
        director = await _director(messages, view.ticket_id)
        assert director.state.value == "unknown" and director.attempts == 1
        assert step.data["role"] == "provincial_cs_director" and "release" in step.note
        await asyncio.sleep(4)  # long past the grace: still one provider call for it, nothing resent
        assert sum(1 for m in fake.accepted() if m["key"] == director.key) == 1
        assert (await messages.get(director.key)).state.value == "unknown"
    finally:
        worker.kill()
        worker.wait()
        fake.stop()
        await env.shutdown()
        await engine.dispose()
