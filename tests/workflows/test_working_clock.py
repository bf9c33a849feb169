"""Deadlines on the working-hours clock, under the time-skipping server (R-CAL-1, R-CAL-2, R-CLK-1, R-CLK-4)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from activities.calendar import HolidaySource, published_cn_rules
from domain.deadlines import DeadlineKind
from domain.messages import CallbackOutcome, CallbackReport, CustomerContact, StationReply
from domain.statuses import Status
from domain.steps import Action
from tests.workflows.conftest import breaches, keep_history, running_worker, until
from workflows.ticket import TicketWorkflow

SHANGHAI = ZoneInfo("Asia/Shanghai")




def _last(action):
    return lambda v: v.steps[-1].action == action


async def _travel_to(env, instant: datetime) -> None:
    now = await env.get_current_time()
    assert instant > now, "the time-skipping server only moves forward"
    await env.sleep(instant - now)


async def test_r_clk_1_paused_reply_promise_fires_later_by_exactly_the_paused_time(
    time_skipping_env, worker, weekly_policy, open_ticket
):
    env = time_skipping_env
    handle = await open_ticket(env, worker, weekly_policy)
    await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="on the van"))
    view = await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
    original_due = view.pending(DeadlineKind.REPLY).due_at  # R-CLK-1: 2 h from the call

    await env.sleep(timedelta(minutes=30))
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.UNREACHABLE))
    await until(env, handle, _last(Action.CLOCK_PAUSED))
    await env.sleep(timedelta(hours=5))  # past the original due instant: paused, so no breach
    view = await handle.query(TicketWorkflow.view)
    assert view.breaches == [] and view.status == Status.AWAITING_CUSTOMER
    assert Action.CALLBACK_ATTEMPT_DUE in [s.action for s in view.steps]  # the agent is reminded (R-INQ-4)

    await handle.signal(TicketWorkflow.customer_contacted, CustomerContact(note="customer called in"))
    view = await until(env, handle, _last(Action.CLOCK_RESUMED))
    promise = view.pending(DeadlineKind.REPLY)
    pause = promise.pauses[0]
    assert promise.due_at == original_due + (pause.resumed_at - pause.at)
    assert view.status == Status.AWAITING_CALLBACK

    await env.sleep(timedelta(hours=3))
    view = await handle.query(TicketWorkflow.view)
    assert [(b.kind, b.at) for b in view.breaches] == [(DeadlineKind.REPLY, original_due + (pause.resumed_at - pause.at))]
    await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
    final = await handle.result()
    assert [s.action.value for s in final.steps][-6:] == [
        "callback_unreachable", "clock_paused", "callback_attempt_due", "clock_resumed", "deadline_breached", "closed"]
    await keep_history(handle, "inquiry_reply_promise_paused_and_resumed")


def _next_national_day_eve(now: datetime) -> datetime:
    year = now.astimezone(SHANGHAI).year
    while (eve := datetime(year, 9, 30, 10, tzinfo=SHANGHAI)) <= now:
        year += 1
    return eve


async def test_r_clk_4_coordination_deadline_opened_on_national_day_eve_fires_on_the_right_working_instant(
    fresh_env, ticket_store, cn_policy, tmp_path, open_ticket
):
    """20 working hours from 30 Sep 10:00 on R-CAL-1 with the holiday: 8 h that day, none 1-7 Oct,
    10 h on 8 Oct, 2 h on 9 Oct. The year's notice comes from the override file, as it would before
    chinesecalendar ships it; the make-up days are stated so the test holds whatever the package learns."""
    env = fresh_env
    eve = _next_national_day_eve(await env.get_current_time())
    y = eve.year
    override = tmp_path / "holidays.toml"
    override.write_text(f'known_years = [{y}]\nclosed = ["{y}-10-01..{y}-10-07"]\nworking = [{y}-10-08, {y}-10-09]\n')
    holidays = HolidaySource(override)
    async with running_worker(env, ticket_store, holidays) as queue:
        await _travel_to(env, eve)
        handle = await open_ticket(env, queue, cn_policy)
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        deadline = view.pending(DeadlineKind.COORDINATION)
        late_by = deadline.started_at - eve  # the workflow started a moment after 10:00
        assert timedelta(0) <= late_by < timedelta(minutes=1)
        assert deadline.due_at == datetime(y, 10, 9, 10, tzinfo=SHANGHAI) + late_by

        # The company closes 8 October too: deadlines already set do not move.
        override.write_text(override.read_text().replace(f"working = [{y}-10-08, ", "working = [").replace(
            f'closed = ["{y}-10-01..{y}-10-07"]', f'closed = ["{y}-10-01..{y}-10-08"]'))
        assert cn_policy.deadline(deadline.started_at, cn_policy.clocks.coordination_deadline, holidays.rules()) \
            == datetime(y, 10, 10, 10, tzinfo=SHANGHAI) + late_by  # what a new ticket would get now

        await _travel_to(env, datetime(y, 10, 9, 9, 59, tzinfo=SHANGHAI))
        assert breaches(await handle.query(TicketWorkflow.view), DeadlineKind.COORDINATION) == []
        await env.sleep(timedelta(minutes=5))
        view = await handle.query(TicketWorkflow.view)
        assert breaches(view, DeadlineKind.COORDINATION) == [(DeadlineKind.COORDINATION, deadline.due_at)]

        await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="found"))
        await until(env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
        await handle.signal(TicketWorkflow.callback_done, CallbackReport(outcome=CallbackOutcome.RESOLVED))
        final = await handle.result()
        assert final.pending(DeadlineKind.COORDINATION).due_at == deadline.due_at
        await keep_history(handle, "inquiry_national_day_eve")


async def test_r_cal_1_a_year_nobody_knows_falls_back_to_the_weekly_pattern_visibly(
    fresh_env, ticket_store, cn_policy, caplog, open_ticket
):
    env = fresh_env
    unknown = max(published_cn_rules().known_years) + 1
    start = datetime(unknown, 3, 2, 10, tzinfo=SHANGHAI)  # a Tuesday in March
    now = await env.get_current_time()
    if now < start:
        await env.sleep(start - now)
    caplog.set_level(logging.WARNING)
    async with running_worker(env, ticket_store, HolidaySource(None)) as queue:
        handle = await open_ticket(env, queue, cn_policy)
        view = await until(env, handle, lambda v: v.status == Status.AWAITING_STATION)
        await keep_history(handle, "inquiry_calendar_fallback")
    fallback = [s for s in view.steps if s.action == Action.CALENDAR_FALLBACK]
    assert fallback and all(str(unknown) in s.data["years"] for s in fallback)  # coordination, dispatch answer
    assert "weekly pattern" in fallback[0].note
    # Counted on the weekly pattern, the ticket still has its deadline: 20 working hours later.
    deadline = view.pending(DeadlineKind.COORDINATION)
    assert cn_policy.calendar("default").working_time_between(deadline.started_at, deadline.due_at) == timedelta(hours=20)
    assert any("no holiday data" in r.getMessage() for r in caplog.records)
