"""Tickets continue as new on the real dev server, with a low suggestion threshold.

Temporal suggests continuing as new once a history grows past a limit; the
dev server takes that limit as dynamic configuration, so a ticket flooded with
messages it ignores reaches it in seconds. Every long wait of every kind
continues as new (v2) without dropping a message, a pending deadline or a
running ladder, and the step log goes on in the record.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.calendar import HolidaySource
from domain.claims import ClaimDecision, ClaimDetails, ClaimOutcome
from domain.deadlines import DeadlineKind
from domain.kinds import Kind
from domain.messages import (
    Amendment,
    CallbackOutcome,
    CallbackReport,
    CustomerContact,
    OfferAnswer,
    ParcelStatus,
    PenaltyDecision,
    ReviewResult,
    SenderDecision,
    StationReply,
)
from domain.shipment import Contents, ShipmentFacts, Signing
from domain.statuses import Status
from domain.steps import Action
from domain.ticket import ChangeAction, ChangeRequest
from domain.urgency import assess_urgency
from tests.workflows.conftest import running_worker, save_history, until
from workflows.ticket import TicketWorkflow
from workflows.visibility import SEARCH_ATTRIBUTES

DEV_SERVER = Path(sys.executable).parent / "temporal"
SUGGEST_AFTER_EVENTS = 120
FLOOD = 500


@pytest.fixture(scope="module")
async def small_history_env():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=["--log-level", "error", "--dynamic-config-value",
                               f"limit.historyCount.suggestContinueAsNew={SUGGEST_AFTER_EVENTS}"],
    )
    yield env
    await env.shutdown()


async def _runs(env, handle: WorkflowHandle) -> list[str]:
    """The ticket's runs, oldest first, followed from its first run along each continue-as-new."""
    runs = [handle.first_execution_run_id or handle.result_run_id]
    while True:
        history = await env.client.get_workflow_handle(handle.id, run_id=runs[-1]).fetch_history()
        last = history.events[-1]
        if not last.HasField("workflow_execution_continued_as_new_event_attributes"):
            return runs
        runs.append(last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)


async def test_a_ticket_flooded_with_500_ignored_messages_continues_as_new_and_closes_with_its_deadlines(
    small_history_env, ticket_store, weekly_policy, open_ticket
):
    env = small_history_env
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, weekly_policy)
        first = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        first_run = (await handle.describe()).run_id
        for n in range(0, FLOOD, 50):  # callbacks before the station answered: each recorded and ignored
            await asyncio.gather(*(handle.signal(TicketWorkflow.callback_done, CallbackReport(
                outcome=CallbackOutcome.RESOLVED, note=f"too early {i}")) for i in range(n, n + 50)))
        await _next_run(handle, first_run)  # it continues as new at this wait, before the station answers
        await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="found"))
        await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK, limit=600)
        await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
        final = await handle.result()
        runs = await _runs(env, handle)

    assert len(runs) >= 2, "the flood made the ticket continue as new"
    assert final.status == Status.CLOSED and final.resolution == "resolved"
    key = lambda d: (d.kind, d.round, d.started_at, d.due_at)  # noqa: E731
    assert [key(d) for d in final.deadlines[:2]] == [key(d) for d in first.deadlines[:2]]  # carried as they were
    assert all(d.met_at is not None and d.breached_at is None for d in final.deadlines)
    assert final.steps_before > 0 and final.steps[-1].seq == final.steps_before + len(final.steps)

    recorded = await ticket_store.get(final.ticket_id)  # the record keeps every step of every run
    assert [s.seq for s in recorded.steps] == list(range(1, final.steps[-1].seq + 1))
    flood = FLOOD + NUDGES.get(handle.id, 0)
    assert sum(s.action == Action.MESSAGE_IGNORED for s in recorded.steps) == flood  # not one message lost
    assert [s.action for s in recorded.steps][-3:] == [Action.STATION_REPLIED, Action.CLOSED][-3:] or \
        recorded.steps[-1].action == Action.CLOSED
    assert recorded.status == Status.CLOSED and recorded.deadlines == final.deadlines

    replayer = Replayer(workflows=[TicketWorkflow], data_converter=pydantic_data_converter)
    for n, run in enumerate(runs[:2] + runs[-1:], 1):
        history = await env.client.get_workflow_handle(handle.id, run_id=run).fetch_history()
        await replayer.replay_workflow(history)
        save_history(f"inquiry_flooded_continued_as_new_run{n}", history.to_json())


# --- every long wait of every kind ------------------------------------------------------------

FLOOD_AT_A_WAIT = 60  # ignored messages at one wait: well past the threshold of one run


async def _flood(handle: WorkflowHandle, note: str) -> None:
    """Messages the ticket does not wait for at this point, each recorded as ignored; then the run that
    continued as new at this very wait, before the awaited message is sent."""
    run = (await handle.describe()).run_id
    await asyncio.gather(*(handle.signal(TicketWorkflow.customer_contacted, CustomerContact(note=f"{note} {i}"))
                           for i in range(FLOOD_AT_A_WAIT)))
    await _next_run(handle, run)


NUDGES: dict[str, int] = {}  # per workflow: extra ignored messages sent to wake a run (see _next_run)


async def _next_run(handle: WorkflowHandle, run_id: str) -> str:
    """The run that continued `run_id`. Temporal tells a run it should continue as new when a workflow task
    starts; a run whose last task pushed it over the limit learns it at its next task, so the test sends
    one more message the ticket ignores (counted) when nothing else would wake it."""
    deadline = time.monotonic() + 180  # a busy 2-core machine records hundreds of steps slowly
    attempt = 0
    while time.monotonic() < deadline:
        current = (await handle.describe()).run_id
        if current != run_id:
            return current
        if attempt % 10 == 9:
            await handle.signal(TicketWorkflow.customer_contacted, CustomerContact(note="nudge"))
            NUDGES[handle.id] = NUDGES.get(handle.id, 0) + 1
        attempt += 1
        await asyncio.sleep(0.1)
    raise AssertionError(f"the ticket did not continue as new from run {run_id}")


async def _at(env, handle, status: Status, note: str) -> None:
    """Wait until the ticket waits in `status`, then flood it there so it continues as new at that wait."""
    await until(env, handle, lambda v: v.status == status, limit=600)
    await _flood(handle, note)


def _reply(status: ParcelStatus | None = None, finding: str = "looked") -> StationReply:
    return StationReply(station="SH-PD-01", finding=finding, parcel_status=status)


FULL = ClaimDetails(contents="a phone", declared_value=Decimal("3000"), packaging="box", freight=Decimal("18"),
                    insured=False)


async def _urgent_inquiry(env, handle):
    await _at(env, handle, Status.AWAITING_REVIEW, "urgent review")
    await handle.signal(TicketWorkflow.urgent_reviewed, ReviewResult(approved=True))
    await _at(env, handle, Status.AWAITING_STATION, "station")
    await handle.signal(TicketWorkflow.station_replied, _reply(finding="on the van"))
    await _at(env, handle, Status.AWAITING_CALLBACK, "callback")
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    return 3, "resolved"


async def _loss(env, handle):
    await _at(env, handle, Status.AWAITING_STATION, "search")
    await handle.signal(TicketWorkflow.station_replied, _reply(ParcelStatus.AT_STATION, "on a shelf"))
    return 1, "found"


async def _damage(env, handle):
    await _at(env, handle, Status.AWAITING_CLAIM_DETAILS, "details")
    await handle.execute_update(TicketWorkflow.amend, Amendment(claim_details=FULL))
    await _at(env, handle, Status.AWAITING_STATION, "courier")
    await handle.signal(TicketWorkflow.station_replied, _reply(finding="dented"))
    await _at(env, handle, Status.AWAITING_OFFER_ANSWER, "offer")
    await handle.signal(TicketWorkflow.offer_answered, OfferAnswer(accepted=False))
    await _at(env, handle, Status.AWAITING_CLAIM, "claim")
    await handle.signal(TicketWorkflow.claim_decided, ClaimDecision(outcome=ClaimOutcome.PAID, amount=Decimal("50")))
    return 4, "claim_paid"


async def _service(env, handle):
    await _at(env, handle, Status.AWAITING_CALLBACK, "apology")
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.DISPUTED))
    await _at(env, handle, Status.AWAITING_PENALTY, "penalty")
    await handle.signal(TicketWorkflow.penalty_decided, PenaltyDecision(penalised=True, decision="fined"))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK and v.callback_attempts == 1, limit=600)
    await _flood(handle, "follow-up")
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    return 3, "satisfied"


async def _change(env, handle):
    await _at(env, handle, Status.AWAITING_SENDER, "sender")
    await handle.signal(TicketWorkflow.sender_decided, SenderDecision(agreed=True))
    await _at(env, handle, Status.AWAITING_STATION, "arrange")
    await handle.signal(TicketWorkflow.station_replied, _reply(finding="redirected"))
    return 2, "changed"


SCENARIOS = {
    "urgent_inquiry": (dict(shipment=ShipmentFacts(contents=Contents.PASSPORT),
                            urgency=assess_urgency(ShipmentFacts(contents=Contents.PASSPORT))), _urgent_inquiry),
    "loss": (dict(kind=Kind.LOSS), _loss),
    "damage": (dict(kind=Kind.DAMAGE, claim_details=ClaimDetails(contents="a vase"),
                    shipment=ShipmentFacts(signed=True, signing=Signing.OTHER_WITHOUT_CONSENT,
                                           ship_date=date.today() - timedelta(days=3))), _damage),
    "service": (dict(kind=Kind.SERVICE), _service),
    "change": (dict(kind=Kind.CHANGE, change=ChangeRequest(action=ChangeAction.REDIRECT, details="No. 8 Road")),
               _change),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_every_long_wait_of_every_kind_continues_as_new_and_the_ticket_ends_as_it_would_have(
    small_history_env, ticket_store, weekly_policy, open_ticket, scenario
):
    env = small_history_env
    overrides, drive = SCENARIOS[scenario]
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, weekly_policy, **overrides)
        floods, resolution = await drive(env, handle)
        final = await handle.result()
        runs = await _runs(env, handle)
    assert len(runs) > floods, f"{scenario}: continued as new at each flooded wait"
    assert final.resolution == resolution
    recorded = await ticket_store.get(final.ticket_id)
    assert [s.seq for s in recorded.steps] == list(range(1, final.steps[-1].seq + 1))
    ignored = floods * FLOOD_AT_A_WAIT + NUDGES.get(handle.id, 0)
    assert sum(s.action == Action.MESSAGE_IGNORED for s in recorded.steps) == ignored  # not one message lost
    # Each wait was entered once: a run that picks up a wait does not ask again.
    awaiting = [s.data["message"] for s in recorded.steps if s.action == Action.AWAITING]
    assert len(awaiting) == len(set(awaiting)) or scenario == "service"
    assert len([d for d in final.deadlines if d.kind == DeadlineKind.LOSS_CONFIRMATION]) <= 1
    assert recorded.deadlines == final.deadlines and recorded.status == Status.CLOSED
    replayer = Replayer(workflows=[TicketWorkflow], data_converter=pydantic_data_converter)
    for n, run in enumerate(runs, 1):
        history = await env.client.get_workflow_handle(handle.id, run_id=run).fetch_history()
        await replayer.replay_workflow(history)
        if n <= 2:
            save_history(f"{scenario}_continued_as_new_run{n}", history.to_json())
