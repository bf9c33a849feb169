"""The inquiry workflow under the time-skipping server: days pass in milliseconds, rules stay whole."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from domain.deadlines import DeadlineKind
from domain.dispatch import DispatchRoute
from domain.ids import workflow_id
from domain.messages import CallbackOutcome, CallbackReport, StationReply
from domain.statuses import Status
from domain.steps import Action
from domain.ticket import TicketState
from tests.conftest import make_opening
from tests.workflows.conftest import breaches, keep_history, settle_and_terminate, until
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
    """R-CLK-1 runs from the call (2 h), R-CLK-4 from the dispatch (20 working hours); once the station
    answers, the agent's call back (R-INQ-4) is a deadline of its own. Each passes, each is a breach."""
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy)
    view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
    coordination = view.pending(DeadlineKind.COORDINATION)
    reply = view.pending(DeadlineKind.REPLY)
    # R-CLK-4: 20 working hours on R-CAL-1, computed from the dispatch instant.
    assert coordination.kind == DeadlineKind.COORDINATION and coordination.rule == "R-CLK-4"
    assert coordination.due_at == weekly_policy.deadline(coordination.started_at, weekly_policy.clocks.coordination_deadline)
    assert coordination.due_at - coordination.started_at >= timedelta(hours=20)
    # R-CLK-1: 2 hours from the call, before the station was even asked.
    assert reply.rule == "R-CLK-1" and reply.due_at - reply.started_at == timedelta(hours=2)
    assert reply.started_at <= coordination.started_at

    await env.sleep(timedelta(days=4))  # far past 48 h: the station never answered
    view = await _view(handle)
    assert breaches(view, DeadlineKind.COORDINATION) == [(DeadlineKind.COORDINATION, coordination.due_at)]
    assert breaches(view, DeadlineKind.REPLY) == [(DeadlineKind.REPLY, reply.due_at)]
    assert view.status == Status.AWAITING_STATION  # a breach is recorded; the ticket is not dropped (R-REC-2)

    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="at the station"))
    view = await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK, step=timedelta(seconds=1))
    callback = view.pending(DeadlineKind.CALLBACK)
    assert callback.rule == "R-INQ-4" and callback.due_at - callback.started_at == timedelta(hours=2)

    await env.sleep(timedelta(hours=3))
    view = await _view(handle)
    assert breaches(view, DeadlineKind.CALLBACK) == [(DeadlineKind.CALLBACK, callback.due_at)]

    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED, note="told"))
    final = await handle.result()
    assert final.status == Status.CLOSED and final.resolution == "resolved"
    breached = [s.data["rule"] for s in final.steps if s.action == Action.DEADLINE_BREACHED]
    assert sorted(breached[:3]) == ["R-CLK-1", "R-CLK-2", "R-CLK-4"] and breached[3:] == ["R-INQ-4"]
    assert _actions(final)[-3:] == ["station_replied", "deadline_breached", "closed"]
    # A breach stays a breach: each deadline ended in exactly one way.
    assert all(sum(x is not None for x in (d.met_at, d.breached_at, d.superseded_at)) == 1 for d in final.deadlines)
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
    view = await until(env, handle, lambda v: v.steps[-1].action == Action.CALLBACK_UNREACHABLE,
                       step=timedelta(seconds=1))
    assert view.status == Status.AWAITING_CUSTOMER
    # R-CLK-1 was kept by the first call back (the customer heard the station's answer and disputed it):
    # nothing is left to pause; the agent's call back of round 2 (R-INQ-4) was kept by this attempt.
    assert view.pending(DeadlineKind.REPLY).met_at is not None and not view.paused_deadlines()
    assert [d.round for d in view.deadlines if d.kind == DeadlineKind.CALLBACK and d.met_at] == [1, 2]
    assert view.next_callback_at is not None  # R-INQ-4: another attempt is scheduled

    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED, agent="a17",
                                                                     actor="user:agent-17"))
    final = await handle.result()
    assert final.callback_attempts == 3 and final.breaches == []
    assert _actions(final) == ["opened", "status_checked", "customer_told", "dispatched", "station_replied",
                               "callback_disputed", "dispatched", "station_replied", "callback_unreachable", "closed"]
    # The actor the API took from the credential (issue 12); a message without one (sent before actors were
    # recorded) says so, and the workflow's own steps name the system.
    assert final.steps[-1].data == {"outcome": "resolved", "agent": "a17", "actor": "user:agent-17"}
    assert final.steps[0].data["actor"] == "unknown" and final.steps[3].data["actor"] == "system"
    await _replays(handle)
    await keep_history(handle, "inquiry_disputed_then_unreachable_then_resolved")


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
    await keep_history(handle, "inquiry_messages_ignored")


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
    key = lambda d: (d.kind, d.round, d.started_at, d.due_at)  # noqa: E731
    assert [key(d) for d in final.deadlines] == [key(d) for d in carried.deadlines]  # carried over as they were
    assert final.pending(DeadlineKind.REPLY).met_at is not None
    await keep_history(resumed, "inquiry_resumed_from_carried_state")


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
    await keep_history(handle, f"inquiry_{route.value}_dispatch_answer_breached")


async def test_an_ignored_message_keeps_its_content_on_the_record(time_skipping_env, worker, weekly_policy,
                                                                  open_ticket, ticket_store):
    """A 202 says the message reached the workflow; the step says whether it was taken, and an ignored one
    keeps what it said, so nothing an agent or station sent is lost (R-REC-1)."""
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy)
    await until(env, handle, lambda v: v.status == Status.AWAITING_STATION, step=timedelta(seconds=1))
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED,
                                                                     note="called too early", agent="a17"))
    view = await until(env, handle, lambda v: any(s.action == Action.MESSAGE_IGNORED for s in v.steps))
    ignored = next(s for s in view.steps if s.action == Action.MESSAGE_IGNORED)
    assert CallbackReport.model_validate_json(ignored.data["content"]).note == "called too early"
    for _ in range(100):  # the record is written just after the workflow takes the step
        recorded = await ticket_store.get(view.ticket_id)
        if recorded and any(s.data.get("content") == ignored.data["content"] for s in recorded.steps):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the ignored message's content never reached the record")
