"""The ticket as a long-lived entity workflow, id `ticket-<id>` (SPEC §6 inquiry).

Reads like the back-office flow chart: dispatch to the responsible station,
wait for its reply under the coordination deadline (R-CLK-4), then wait for
the agent's callback under the reply promise (R-CLK-1); the callback's outcome
closes, re-dispatches or schedules another attempt (R-INQ-4). A deadline that
passes is recorded as a breach with its instant and the wait goes on: no
ticket is dropped (R-REC-2).

Every wait is driven by the pending deadline kept in the ticket state, so a
ticket that continues as new resumes exactly where it was.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.tickets import DeadlineRequest, StepRecord, TicketActivities, compute_deadline
    from domain.inquiry import NextStep, after_callback, refusal
    from domain.policy import Duration
    from domain.ticket import (
        Action,
        CallbackReport,
        Deadline,
        DeadlineKind,
        DispatchOrder,
        StationReply,
        Status,
        TicketOpening,
        TicketState,
    )

TICKET_KIND = SearchAttributeKey.for_keyword("TicketKind")
TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
CARRIER = SearchAttributeKey.for_keyword("Carrier")
STATION = SearchAttributeKey.for_keyword("Station")
SEARCH_ATTRIBUTES = (TICKET_KIND, TICKET_STATUS, CARRIER, STATION)  # never names or phones

# I/O is retried until it succeeds: a database or station outage delays a step, never loses it.
_IO_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
_IO_TIMEOUT = timedelta(seconds=30)


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, opening: TicketOpening) -> None:
        self._opening = opening
        self._policy = opening.policy
        self._ticket = opening.carried_state or TicketState.from_opening(opening, workflow.info().start_time)
        self._station_reply: StationReply | None = None
        self._callback: CallbackReport | None = None

    @workflow.run
    async def run(self, opening: TicketOpening) -> TicketState:
        t = self._ticket
        if opening.carried_state is None:
            await self._step(Action.OPENED, "ticket recorded", station=t.station)
        while t.status != Status.CLOSED:
            if t.status == Status.OPEN:
                await self.dispatch_to_station()
            elif t.status == Status.AWAITING_STATION:
                await self.await_station_reply()
            elif t.status == Status.AWAITING_CALLBACK:
                await self.await_callback()
            if t.status != Status.CLOSED and workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(opening.model_copy(update={"carried_state": t}))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return t

    # --- messages -----------------------------------------------------------

    @workflow.query
    def view(self) -> TicketState:
        return self._ticket

    @workflow.signal
    async def station_replied(self, reply: StationReply) -> None:
        why = refusal(self._ticket.status, "station_reply")
        if why is None and reply.station != self._ticket.station:
            why = f"the reply came from station {reply.station}, but the ticket is with {self._ticket.station}"
        if why is not None or self._station_reply is not None:
            await self._step(Action.MESSAGE_IGNORED, why or "a station reply is already being handled",
                             message="station_reply")
            return
        self._station_reply = reply

    @workflow.signal
    async def callback_done(self, report: CallbackReport) -> None:
        why = refusal(self._ticket.status, "callback")
        if why is not None or self._callback is not None:
            await self._step(Action.MESSAGE_IGNORED, why or "a callback is already being handled", message="callback")
            return
        self._callback = report

    # --- the flow -----------------------------------------------------------

    async def dispatch_to_station(self) -> None:
        """R-INQ-4: query the responsible station, under the coordination deadline (R-CLK-4)."""
        t = self._ticket
        started, due = await self._due(self._policy.clocks.coordination_deadline, "coordination")
        t.dispatch_round += 1
        t.start_deadline(DeadlineKind.COORDINATION, t.dispatch_round, started, due)
        self._set_status(Status.AWAITING_STATION)
        await workflow.execute_activity_method(
            TicketActivities.dispatch_to_station,
            DispatchOrder(
                ticket_id=t.ticket_id, round=t.dispatch_round, station=t.station, kind=t.kind,
                waybill=t.waybill, description=t.description, dispatched_at=started, due_at=due,
            ),
            start_to_close_timeout=_IO_TIMEOUT,
            retry_policy=_IO_RETRY,
            summary=f"dispatch round {t.dispatch_round} to station {t.station}",
        )
        await self._step(Action.DISPATCHED, f"dispatched to station {t.station}",
                         round=str(t.dispatch_round), due_at=due.isoformat())

    async def await_station_reply(self) -> None:
        reply = await self._wait_under(DeadlineKind.COORDINATION, lambda: self._station_reply is not None,
                                       f"station {self._ticket.station} to reply")
        t = self._ticket
        started, due = await self._due(self._policy.clocks.reply_promise, "reply")
        # The reply stays in the inbox until here, so a duplicate that came meanwhile was refused.
        t.start_deadline(DeadlineKind.REPLY, t.callback_attempts + 1, started, due)
        self._set_status(Status.AWAITING_CALLBACK)
        self._station_reply = None
        extra = {"parcel_status": reply.parcel_status.value} if reply.parcel_status else {}
        await self._step(Action.STATION_REPLIED, reply.finding, round=str(t.dispatch_round), **extra)

    async def await_callback(self) -> None:
        report = await self._wait_under(DeadlineKind.REPLY, lambda: self._callback is not None,
                                        "the agent's callback to the customer")
        t = self._ticket
        decision = after_callback(report.outcome)
        if decision == NextStep.RETRY_CALLBACK:
            started, due = await self._due(self._policy.clocks.callback_retry, "next callback attempt")
        # From here the transition is synchronous: a query never sees half of it.
        t.callback_attempts += 1
        self._callback = None
        agent = {"agent": report.agent} if report.agent else {}
        match decision:
            case NextStep.CLOSE:
                t.close(workflow.now(), resolution=report.outcome.value)
                self._set_status(Status.CLOSED)
                await self._step(Action.CLOSED, report.note, outcome=report.outcome.value, **agent)
            case NextStep.REDISPATCH:
                self._set_status(Status.OPEN)
                await self._step(Action.CALLBACK_DISPUTED, report.note, **agent)
            case NextStep.RETRY_CALLBACK:
                t.start_deadline(DeadlineKind.REPLY, t.callback_attempts + 1, started, due)
                await self._step(Action.CALLBACK_UNREACHABLE, report.note, attempt=str(t.callback_attempts), **agent)

    # --- deadlines ----------------------------------------------------------

    async def _due(self, duration: Duration, what: str) -> tuple[datetime, datetime]:
        """Now and the instant `duration` later, computed once in a local activity kept in history,
        so a replay, a calendar edit or a library upgrade never moves a running ticket's deadline."""
        now = workflow.now()
        due = await workflow.execute_local_activity(
            compute_deadline,
            DeadlineRequest(start=now, duration=duration, calendar=self._policy.calendar_for(duration)),
            start_to_close_timeout=timedelta(seconds=10),
            summary=f"{what} deadline: {duration}",
        )
        return now, due

    async def _wait_under(self, kind: DeadlineKind, arrived, waiting_for: str):
        """Wait for a message; if the pending deadline passes first, record the breach and keep waiting."""
        deadline = self._pending(kind)
        workflow.set_current_details(
            f"Waiting for {waiting_for}. {deadline.rule} {kind.value} deadline: {deadline.due_at.isoformat()}"
        )
        remaining = deadline.due_at - workflow.now()
        try:
            if remaining <= timedelta(0):
                raise asyncio.TimeoutError
            await workflow.wait_condition(
                arrived, timeout=remaining,
                timeout_summary=f"{deadline.rule} {kind.value} deadline, round {deadline.round}",
            )
        except asyncio.TimeoutError:
            deadline.breached_at = deadline.due_at
            await self._step(Action.DEADLINE_BREACHED, f"{deadline.rule} {kind.value} deadline passed",
                             deadline=kind.value, rule=deadline.rule, due_at=deadline.due_at.isoformat())
            workflow.set_current_details(
                f"Waiting for {waiting_for}. {deadline.rule} breached at {deadline.due_at.isoformat()}"
            )
            await workflow.wait_condition(arrived)
        deadline.met_at = workflow.now()  # kept after a breach too: how late the answer came
        return self._station_reply if kind == DeadlineKind.COORDINATION else self._callback

    def _pending(self, kind: DeadlineKind) -> Deadline:
        return next(d for d in reversed(self._ticket.deadlines) if d.kind == kind)

    # --- recording ----------------------------------------------------------

    def _set_status(self, status: Status) -> None:
        self._ticket.status = status
        workflow.upsert_search_attributes([TICKET_STATUS.value_set(status.value)])

    async def _step(self, action: Action, note: str = "", **data: str) -> None:
        """R-REC-1: append a step to the ticket and record it with the ticket as it now is."""
        step = self._ticket.add_step(workflow.now(), action, note, **data)
        await workflow.execute_activity_method(
            TicketActivities.record_step,
            StepRecord(ticket=self._ticket.model_copy(deep=True), step=step),
            start_to_close_timeout=_IO_TIMEOUT,
            retry_policy=_IO_RETRY,
            summary=f"record step {step.seq}: {action}",
        )
