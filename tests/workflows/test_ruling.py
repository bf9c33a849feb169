"""Liability rulings (SPEC §8, R-LIA-1..6, R-CLK-8) under the time-skipping server, with exact instants.

The rulings count 5 working days on the policy's `office` calendar (Monday to Friday, 09:00-12:00 and
13:00-18:00). The tests travel to a known Friday 10:00 (Asia/Shanghai) so each instant is written out.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment

from activities.calendar import HolidaySource
from activities.quality import QualityActivities
from domain.kinds import Kind
from domain.liability import (
    Acceptance,
    Appeal,
    Arbitration,
    LiabilityDetail,
    Link,
    Ruling,
    RulingOpening,
    RulingState,
    Unit,
    ruling_id,
)
from domain.messages import CallbackOutcome, CallbackReport, StationReply
from domain.statuses import Status
from store.quality import QualityStore
from tests.workflows.conftest import running_worker, save_ruling_history, until
from workflows.ruling import RulingWorkflow
from workflows.ticket import TicketWorkflow

SHANGHAI = ZoneInfo("Asia/Shanghai")
DETAIL = LiabilityDetail(city="上海市", link=Link.DELIVERY, unit="浦东张江投递部")


def _next_friday_10(now: datetime) -> datetime:
    """A Friday 10:00 in Shanghai at least two days ahead, in a week without public holidays in the
    weekly-pattern test policy (office calendar without a holiday table)."""
    day = now.astimezone(SHANGHAI).date() + timedelta(days=2)
    while day.weekday() != 4:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI)


async def _travel_to(env, instant: datetime) -> None:
    now = await env.get_current_time()
    assert now <= instant
    await env.sleep(instant - now)


async def _start(env, queue: str, policy, at: datetime, station: str = "SH-PD-01"):
    await _travel_to(env, at)
    ticket_id = uuid.uuid4().hex[:16]
    opening = RulingOpening(ticket_id=ticket_id, carrier="best", kind=Kind.LOSS,
                            unit=Unit(station=station, province="shanghai"), closed_at=at, policy=policy)
    handle = await env.client.start_workflow(RulingWorkflow.run, opening, id=ruling_id(ticket_id), task_queue=queue)
    view = await until_ruling(env, handle, lambda r: r.unit_due_at is not None)
    return handle, view


async def until_ruling(env, handle, predicate, limit: int = 300) -> Ruling:
    view = None
    for _ in range(limit):
        view = await handle.query(RulingWorkflow.view)
        if predicate(view):
            return view
        await env.sleep(timedelta(seconds=1))
    raise AssertionError(f"never reached; last: {view}")


async def test_r_lia_2_r_clk_8_accepted_within_5_working_days_details_the_liability(fresh_env, ticket_store,
                                                                                    weekly_policy):
    """Issued Friday 10:00: the unit's deadline is the next Friday 10:00 (5 office days: Mon-Fri, the
    weekend skipped). Accepting details the liability down to city, link and smallest unit."""
    env = fresh_env
    friday = _next_friday_10(await env.get_current_time())
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle, view = await _start(env, queue, weekly_policy, friday)
        late_by = view.issued_at - friday
        assert timedelta(0) <= late_by < timedelta(minutes=1)
        assert view.unit_due_at == friday + timedelta(days=7) + late_by  # Fri 10:00 -> next Fri 10:00
        assert view.state == RulingState.AWAITING_UNIT
        await env.sleep(timedelta(days=6))  # Thursday: still in time
        await handle.signal(RulingWorkflow.accept, Acceptance(detail=DETAIL, actor="user:head-1"))
        final = await handle.result()
        await save_ruling_history(handle, "ruling_accepted")
    assert final.state == RulingState.ACCEPTED and final.detail == DETAIL and final.unit_breached_at is None
    stored, events = await QualityStore(ticket_store.engine).ruling(final.ticket_id)
    assert stored.state == RulingState.ACCEPTED and stored.detail == DETAIL
    assert [e["action"] for e in events] == ["issued", "accepted"] and events[1]["actor"] == "user:head-1"


async def test_r_lia_5_silence_past_the_exact_instant_is_a_breach_and_the_ruling_stands(fresh_env, ticket_store,
                                                                                        weekly_policy):
    env = fresh_env
    friday = _next_friday_10(await env.get_current_time())
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle, view = await _start(env, queue, weekly_policy, friday)
        due = view.unit_due_at
        assert due.astimezone(SHANGHAI).weekday() == 4 and due - view.issued_at == timedelta(days=7)
        await _travel_to(env, due - timedelta(minutes=1))
        assert (await handle.query(RulingWorkflow.view)).state == RulingState.AWAITING_UNIT
        await env.sleep(timedelta(minutes=2))
        final = await handle.result()
        await save_ruling_history(handle, "ruling_stood_after_silence")
        # A late answer is not taken: the ruling stands.
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert final.state == RulingState.STOOD and final.unit_breached_at == due and final.decided_at == due
    _, events = await QualityStore(ticket_store.engine).ruling(final.ticket_id)
    assert events[-1]["action"] == "unit_deadline_breached" and events[-1]["at"] == due


async def test_r_lia_4_an_appeal_rejected_by_arbitration_is_upheld_and_counts_as_invalid(fresh_env, ticket_store,
                                                                                        weekly_policy):
    """Appealed on Tuesday 15:00: arbitration's 5 office days end the next Tuesday 15:00. Arbitration
    misses it (a breach, R-LIA-6), then upholds the ruling: the appeal was invalid (R-KPI-6)."""
    env = fresh_env
    friday = _next_friday_10(await env.get_current_time())
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle, view = await _start(env, queue, weekly_policy, friday)
        tuesday = friday + timedelta(days=4, hours=5)  # Tuesday 15:00
        await _travel_to(env, tuesday)
        await handle.signal(RulingWorkflow.appeal, Appeal(reasons="delivered, signed by the recipient",
                                                          evidence=["pod-123.jpg"], actor="user:head-1"))
        view = await until_ruling(env, handle, lambda r: r.state == RulingState.IN_ARBITRATION)
        late_by = view.answered_at - tuesday
        assert timedelta(0) <= late_by < timedelta(minutes=1)
        assert view.arbitration_due_at == tuesday + timedelta(days=7) + late_by
        await _travel_to(env, view.arbitration_due_at + timedelta(hours=1))
        view = await until_ruling(env, handle, lambda r: r.arbitration_breached_at is not None)
        assert view.arbitration_breached_at == view.arbitration_due_at and view.state == RulingState.IN_ARBITRATION
        await handle.signal(RulingWorkflow.arbitrate, Arbitration(liable=True, detail=DETAIL, reasons="no POD photo",
                                                                  actor="user:hq-1"))
        final = await handle.result()
        await save_ruling_history(handle, "ruling_appeal_upheld")
    assert final.state == RulingState.UPHELD and final.appeal_invalid and final.detail == DETAIL
    assert final.appeal is not None and final.appeal.evidence == ["pod-123.jpg"]
    _, events = await QualityStore(ticket_store.engine).ruling(final.ticket_id)
    assert [e["action"] for e in events] == ["issued", "appealed", "arbitration_deadline_breached", "upheld"]


async def test_r_lia_4_no_liability_found_by_arbitration_cancels_the_ruling(fresh_env, ticket_store, weekly_policy):
    env = fresh_env
    friday = _next_friday_10(await env.get_current_time())
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle, view = await _start(env, queue, weekly_policy, friday)
        await handle.signal(RulingWorkflow.appeal, Appeal(reasons="weather: roads closed", actor="user:head-1"))
        view = await until_ruling(env, handle, lambda r: r.state == RulingState.IN_ARBITRATION)
        assert view.arbitration_due_at == view.answered_at + timedelta(days=7)  # Friday -> next Friday, same time
        await handle.signal(RulingWorkflow.accept, Acceptance(detail=DETAIL))  # too late for the unit: ignored
        await handle.signal(RulingWorkflow.arbitrate, Arbitration(liable=False, reasons="force majeure"))
        final = await handle.result()
        await save_ruling_history(handle, "ruling_appeal_cancelled")
    assert final.state == RulingState.CANCELLED and final.detail is None and not final.appeal_invalid
    _, events = await QualityStore(ticket_store.engine).ruling(final.ticket_id)
    assert [e["action"] for e in events] == ["issued", "appealed", "answer_ignored", "cancelled"]


async def test_r_lia_1_a_closed_dispatched_ticket_starts_its_ruling_once(time_skipping_env, worker, weekly_policy,
                                                                          ticket_store, open_ticket):
    """v6: the close starts `ruling-<ticket id>`; starting it again (a retried close) changes nothing."""
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy)
    await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="at the station"))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    ticket = await handle.result()
    ruling = env.client.get_workflow_handle(ruling_id(ticket.ticket_id))
    view = await until_ruling(env, ruling, lambda r: r.unit_due_at is not None)
    assert view.station == "SH-PD-01" and view.ticket_id == ticket.ticket_id
    first = (await ruling.describe()).run_id

    opening = RulingOpening(ticket_id=ticket.ticket_id, carrier="best", kind=ticket.kind, unit=Unit(station="SH-PD-01"),
                            closed_at=ticket.closed_at, policy=weekly_policy)
    again = await ActivityEnvironment(client=env.client).run(
        QualityActivities(QualityStore(ticket_store.engine), lambda: weekly_policy).start_liability_ruling, opening)
    assert again == ruling.id and (await ruling.describe()).run_id == first
    actions = [e.activity_task_scheduled_event_attributes.activity_type.name
               for e in (await handle.fetch_history()).events if e.HasField("activity_task_scheduled_event_attributes")]
    assert actions.count("start_liability_ruling") == 1


async def test_r_lia_1_a_consult_answered_at_once_has_no_responsible_unit_and_no_ruling(
        time_skipping_env, worker, weekly_policy, open_ticket):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, kind=Kind.CONSULT, consult_answer="answered", waybill=None)
    ticket = await handle.result()
    assert ticket.status == Status.CLOSED
    actions = [e.activity_task_scheduled_event_attributes.activity_type.name
               for e in (await handle.fetch_history()).events if e.HasField("activity_task_scheduled_event_attributes")]
    assert "start_liability_ruling" not in actions
