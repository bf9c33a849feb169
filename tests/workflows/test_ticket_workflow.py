"""The inquiry workflow under the time-skipping server: days pass in milliseconds, rules stay whole."""

from __future__ import annotations

import uuid

import pytest
from datetime import timedelta

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from domain.ticket import (
    Action,
    CallbackOutcome,
    CallbackReport,
    DeadlineKind,
    DispatchRoute,
    StationReply,
    Status,
    TicketState,
    workflow_id,
)
from tests.conftest import make_opening
from tests.workflows.conftest import breaches, settle_and_terminate, until
from workflows.ticket import TicketWorkflow


async def _view(handle) -> TicketState:
    return await handle.query(TicketWorkflow.view)




def _actions(view: TicketState) -> list[str]:
    return [s.action.value for s in view.steps]


async def _replays(handle) -> None:
    history = await handle.fetch_history()
    await Replayer(workflows=[TicketWorkflow], data_converter=pydantic_data_converter).replay_workflow(history)


async def test_r_clk_4_and_r_clk_1_both_deadlines_expire_then_the_ticket_closes(
    time_skipping_env, worker, weekly_policy, ticket_store, open_ticket
):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy)
    view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
    coordination = view.pending(DeadlineKind.COORDINATION)
    # R-CLK-4: 20 working hours on R-CAL-1, computed from the dispatch instant.
    assert coordination.kind == DeadlineKind.COORDINATION and coordination.rule == "R-CLK-4"
    assert coordination.due_at == weekly_policy.deadline(coordination.started_at, weekly_policy.clocks.coordination_deadline)
    assert coordination.due_at - coordination.started_at >= timedelta(hours=20)

    await env.sleep(timedelta(days=4))  # far past 48 h: the station never answered
    view = await _view(handle)
    assert breaches(view, DeadlineKind.COORDINATION) == [(DeadlineKind.COORDINATION, coordination.due_at)]
    assert view.status == Status.AWAITING_STATION  # a breach is recorded; the ticket is not dropped (R-REC-2)

    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="at the station"))
    view = await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK, step=timedelta(seconds=1))
    reply = view.pending(DeadlineKind.REPLY)
    assert reply.kind == DeadlineKind.REPLY and reply.due_at - reply.started_at == timedelta(hours=2)  # R-CLK-1

    await env.sleep(timedelta(hours=3))
    view = await _view(handle)
    assert breaches(view, DeadlineKind.COORDINATION, DeadlineKind.REPLY) == [
        (DeadlineKind.COORDINATION, coordination.due_at), (DeadlineKind.REPLY, reply.due_at)]

    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED, note="told"))
    final = await handle.result()
    assert final.status == Status.CLOSED and final.resolution == "resolved"
    assert _actions(final) == ["opened", "status_checked", "customer_told", "dispatched",
                               "deadline_breached", "deadline_breached",  # R-CLK-2 answer, then R-CLK-4
                               "station_replied", "deadline_breached", "closed"]
    assert [s.data["rule"] for s in final.steps if s.action == Action.DEADLINE_BREACHED] == [
        "R-CLK-2", "R-CLK-4", "R-CLK-1"]
    recorded = await ticket_store.get(final.ticket_id)  # the record agrees with the workflow
    assert recorded.status == Status.CLOSED
    assert [s.action for s in recorded.steps] == [s.action for s in final.steps]
    assert recorded.breaches == final.breaches
    await _replays(handle)


async def test_r_inq_4_dispute_goes_back_to_the_station_and_unreachable_retries(
    time_skipping_env, worker, weekly_policy, ticket_store, open_ticket
):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy)
    await until(env, handle, lambda v: v.status == Status.AWAITING_STATION, step=timedelta(seconds=1))
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="delivered"))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK, step=timedelta(seconds=1))

    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.DISPUTED, note="not received"))
    view = await until(env, handle, lambda v: v.dispatch_round == 2 and v.status == Status.AWAITING_STATION,
                        step=timedelta(seconds=1))
    second = view.pending(DeadlineKind.COORDINATION)
    assert second.round == 2 and view.pending(DeadlineKind.DISPATCH_ANSWER).round == 2
    dispatches, _ = await ticket_store.dispatches("SH-PD-01", pending_only=False, limit=10, offset=0)
    assert [(d.round, d.answered_at is not None) for d in dispatches] == [(1, True), (2, False)]

    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="found, redelivering"))
    await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK, step=timedelta(seconds=1))
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.UNREACHABLE))
    view = await until(env, handle, lambda v: v.steps[-1].action == Action.CLOCK_PAUSED, step=timedelta(seconds=1))
    assert view.status == Status.AWAITING_CUSTOMER
    assert view.steps[-2].action == Action.CALLBACK_UNREACHABLE
    promise = view.deadlines[-1]
    assert promise.kind == DeadlineKind.REPLY and promise.paused
    assert view.next_callback_at - promise.pauses[0].at == weekly_policy.clocks.callback_retry.amount  # R-INQ-4

    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED, agent="a17"))
    final = await handle.result()
    assert final.callback_attempts == 3 and final.breaches == []
    assert _actions(final) == ["opened", "status_checked", "customer_told", "dispatched", "station_replied", "callback_disputed", "dispatched",
                               "station_replied", "callback_unreachable", "clock_paused", "clock_resumed", "closed"]
    assert final.steps[-1].data == {"outcome": "resolved", "agent": "a17"}
    await _replays(handle)


async def test_messages_the_ticket_is_not_waiting_for_are_recorded_and_ignored(
    time_skipping_env, worker, weekly_policy, open_ticket
):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy)
    await until(env, handle, lambda v: v.status == Status.AWAITING_STATION, step=timedelta(seconds=1))
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="ELSEWHERE", finding="?"))
    view = await until(env, handle, lambda v: len(v.steps) >= 4, step=timedelta(seconds=1))
    ignored = [s for s in view.steps if s.action == Action.MESSAGE_IGNORED]
    assert [s.data["message"] for s in ignored] == ["callback", "station_reply"]
    assert "waiting for a station ack or station reply" in ignored[0].note and "ELSEWHERE" in ignored[1].note
    assert view.status == Status.AWAITING_STATION


async def test_a_ticket_continued_as_new_resumes_where_it_was(
    time_skipping_env, worker, weekly_policy, open_ticket
):
    env = time_skipping_env
    first = await open_ticket(env, worker, weekly_policy)
    await until(env, first, lambda v: v.status == Status.AWAITING_STATION, step=timedelta(seconds=1))
    await first.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="here"))
    carried = await until(env, first, lambda v: v.status == Status.AWAITING_CALLBACK, step=timedelta(seconds=1))
    await settle_and_terminate(first, "handing over to a resumed run")

    opening = make_opening(weekly_policy, ticket_id=uuid.uuid4().hex[:16]).model_copy(
        update={"carried_state": carried.model_copy(update={"ticket_id": "resumed"})}
    )
    resumed = await env.client.start_workflow(TicketWorkflow.run, opening, id=workflow_id(opening.ticket_id),
                                              task_queue=worker)
    await resumed.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    final = await resumed.result()
    assert _actions(final) == ["opened", "status_checked", "customer_told", "dispatched", "station_replied", "closed"]  # no second "opened"
    assert final.deadlines[:2] == carried.deadlines[:2]  # the dispatch's deadlines, carried over as they were
    assert final.pending(DeadlineKind.REPLY).met_at is not None


@pytest.mark.parametrize("route, rule, hours", [(DispatchRoute.DIRECT, "R-CLK-2", 2),
                                               (DispatchRoute.ASSOCIATED, "R-CLK-3", 4)])
async def test_r_clk_2_and_r_clk_3_a_dispatch_is_answered_within_2_or_4_working_hours_by_route(
    time_skipping_env, worker, weekly_policy, open_ticket, route, rule, hours
):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy, dispatch_route=route)
    view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
    answer = view.pending(DeadlineKind.DISPATCH_ANSWER)
    assert answer.rule == rule
    calendar = weekly_policy.calendar("default")
    assert calendar.working_time_between(answer.started_at, answer.due_at) == timedelta(hours=hours)
    await env.sleep(timedelta(days=1))  # the station never takes it on: the breach names the route's rule
    view = await handle.query(TicketWorkflow.view)
    assert breaches(view, DeadlineKind.DISPATCH_ANSWER) == [(DeadlineKind.DISPATCH_ANSWER, answer.due_at)]
    assert next(b for b in view.breaches if b.kind == DeadlineKind.DISPATCH_ANSWER).rule == rule
