"""The ticket as a long-lived entity workflow, id `ticket-<id>` (SPEC §6 inquiry).

Reads like the back-office flow chart: dispatch to the responsible station,
wait for its reply under the coordination deadline (R-CLK-4), then wait for
the agent's callback under the reply promise (R-CLK-1); the callback's outcome
closes, re-dispatches or schedules another attempt (R-INQ-4). A deadline that
passes is recorded as a breach with its instant and the wait goes on: no
ticket is dropped (R-REC-2).

An unreachable customer pauses the reply promise (R-CLK-1, SPEC §4) until
the customer answers: a later callback that reaches them, or their own call.
The time paused is then added back; the station's deadlines never pause.

Every wait is driven by the pending deadline kept in the ticket state, so a
ticket that continues as new resumes exactly where it was.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.calendar import ClockActivities, DeadlineRequest, ExtensionRequest
    from activities.tickets import StepRecord, TicketActivities
    from domain.inquiry import NextStep, after_callback, refusal
    from domain.policy import Duration
    from domain.ticket import (
        Action,
        CallbackOutcome,
        CallbackReport,
        CustomerContact,
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
        self._customer_contact: CustomerContact | None = None

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
            elif t.status == Status.AWAITING_CUSTOMER:
                await self.await_customer()
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

    @workflow.signal
    async def customer_contacted(self, contact: CustomerContact) -> None:
        why = refusal(self._ticket.status, "customer_contact")
        if why is not None or self._customer_contact is not None:
            await self._step(Action.MESSAGE_IGNORED, why or "a customer contact is already being handled",
                             message="customer_contact")
            return
        self._customer_contact = contact

    # --- the flow -----------------------------------------------------------

    async def dispatch_to_station(self) -> None:
        """R-INQ-4: query the responsible station, under the coordination deadline (R-CLK-4)."""
        t = self._ticket
        measure = self._policy.clocks.coordination_deadline
        started, due = await self._due(measure, "R-CLK-4 coordination")
        t.dispatch_round += 1
        t.start_deadline(DeadlineKind.COORDINATION, t.dispatch_round, measure, started, due)
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
        coordination = await self._wait_under(DeadlineKind.COORDINATION, lambda: self._station_reply is not None,
                                              f"station {self._ticket.station} to reply")
        reply, t = self._station_reply, self._ticket
        coordination.met_at = workflow.now()  # kept after a breach too: how late the answer came
        measure = self._policy.clocks.reply_promise
        started, due = await self._due(measure, "R-CLK-1 reply promise")
        # The reply stays in the inbox until here, so a duplicate that came meanwhile was refused.
        t.start_deadline(DeadlineKind.REPLY, t.callback_attempts + 1, measure, started, due)
        self._set_status(Status.AWAITING_CALLBACK)
        self._station_reply = None
        extra = {"parcel_status": reply.parcel_status.value} if reply.parcel_status else {}
        await self._step(Action.STATION_REPLIED, reply.finding, round=str(t.dispatch_round), **extra)

    async def await_callback(self) -> None:
        promise = await self._wait_under(DeadlineKind.REPLY, lambda: self._callback is not None,
                                         "the agent's callback to the customer")
        report, t = self._callback, self._ticket
        decision = after_callback(report.outcome)
        if decision == NextStep.RETRY_CALLBACK:  # not a reply: the promise pauses instead of being met
            await self.customer_unreachable(report)
            return
        # From here the transition is synchronous: a query never sees half of it.
        promise.met_at = workflow.now()
        t.callback_attempts += 1
        self._callback = None
        agent = {"agent": report.agent} if report.agent else {}
        if decision == NextStep.CLOSE:
            t.close(workflow.now(), resolution=report.outcome.value)
            self._set_status(Status.CLOSED)
            await self._step(Action.CLOSED, report.note, outcome=report.outcome.value, **agent)
        else:  # NextStep.REDISPATCH
            self._set_status(Status.OPEN)
            await self._step(Action.CALLBACK_DISPUTED, report.note, **agent)

    async def customer_unreachable(self, report: CallbackReport) -> None:
        """R-INQ-4: schedule another attempt; R-CLK-1: the reply promise waits on the customer."""
        t = self._ticket
        unreachable_at, next_try = await self._due(self._policy.clocks.callback_retry, "next callback attempt")
        t.callback_attempts += 1
        t.next_callback_at = next_try
        self._callback = None
        newly_paused = t.pause_for_customer(unreachable_at)
        self._set_status(Status.AWAITING_CUSTOMER)
        agent = {"agent": report.agent} if report.agent else {}
        await self._step(Action.CALLBACK_UNREACHABLE, report.note, attempt=str(t.callback_attempts),
                         next_attempt_at=next_try.isoformat(), **agent)
        for d in newly_paused:
            await self._step(Action.CLOCK_PAUSED, f"{d.rule} {d.kind.value} deadline paused: waiting on the customer",
                             deadline=d.kind.value, rule=d.rule)

    async def await_customer(self) -> None:
        """Paused on the customer: remind at the next attempt, resume when the customer answers."""
        t = self._ticket
        arrived = lambda: self._callback is not None or self._customer_contact is not None  # noqa: E731
        workflow.set_current_details(
            f"Waiting on the customer (unreachable); reply promise paused. Next callback attempt: "
            f"{t.next_callback_at.isoformat() if t.next_callback_at else 'now'}"
        )
        remaining = (t.next_callback_at - workflow.now()) if t.next_callback_at else timedelta(0)
        try:
            if remaining <= timedelta(0):
                raise asyncio.TimeoutError
            await workflow.wait_condition(arrived, timeout=remaining,
                                          timeout_summary=f"next callback attempt {t.callback_attempts + 1} (R-INQ-4)")
        except asyncio.TimeoutError:
            if t.next_callback_at is not None:
                t.next_callback_at = None
                await self._step(Action.CALLBACK_ATTEMPT_DUE, "time to call the customer again",
                                 attempt=str(t.callback_attempts + 1))
            await workflow.wait_condition(arrived)
        if self._callback is not None and self._callback.outcome == CallbackOutcome.UNREACHABLE:
            await self.customer_unreachable(self._callback)  # still no answer: stays paused
            return
        await self.resume_for_customer()

    async def resume_for_customer(self) -> None:
        """R-CLK-1: the customer answered; every paused promise resumes with the paused time added back.
        A callback that reached them stays in the inbox for await_callback to take at once."""
        t = self._ticket
        now = workflow.now()
        extended = [(d, await self._extend(d, now)) for d in t.paused_deadlines()]
        contact, self._customer_contact = self._customer_contact, None
        t.next_callback_at = None
        for d, due in extended:
            d.pauses[-1].resumed_at = now
            d.due_at = due
        self._set_status(Status.AWAITING_CALLBACK)
        for d, due in extended:
            paused_for = now - d.pauses[-1].at
            await self._step(Action.CLOCK_RESUMED, contact.note if contact else "the customer was reached",
                             deadline=d.kind.value, rule=d.rule, paused_for=str(paused_for), due_at=due.isoformat())

    # --- deadlines ----------------------------------------------------------

    async def _due(self, duration: Duration, what: str) -> tuple[datetime, datetime]:
        """Now and the instant `duration` later, computed once in a local activity kept in history,
        so a replay, a calendar edit or a library upgrade never moves a running ticket's deadline."""
        now = workflow.now()
        due = await workflow.execute_local_activity_method(
            ClockActivities.compute_deadline,
            DeadlineRequest(start=now, duration=duration, calendar=self._policy.calendar_for(duration)),
            start_to_close_timeout=timedelta(seconds=10),
            summary=f"{what} deadline: {duration}",
        )
        if due.unknown_years:
            years = ", ".join(map(str, due.unknown_years))
            workflow.logger.warning("ticket %s: no holiday data for %s", self._ticket.ticket_id, years)
            await self._step(Action.CALENDAR_FALLBACK,
                             f"no holiday data for {years}: {what} counted on the weekly pattern (R-CAL-1)",
                             years=years, due_at=due.at.isoformat())
        return now, due.at

    async def _extend(self, deadline: Deadline, resumed_at: datetime) -> datetime:
        return await workflow.execute_local_activity_method(
            ClockActivities.extend_deadline,
            ExtensionRequest(due=deadline.due_at, paused_from=deadline.pauses[-1].at, paused_to=resumed_at,
                             measure=deadline.measure, calendar=self._policy.calendar_for(deadline.measure)),
            start_to_close_timeout=timedelta(seconds=10),
            summary=f"{deadline.rule} {deadline.kind.value} deadline: add back the time paused",
        )

    async def _wait_under(self, kind: DeadlineKind, arrived, waiting_for: str) -> Deadline:
        """Wait for a message under the pending deadline of `kind`; if the deadline passes first,
        record the breach once and keep waiting (R-REC-2: no ticket is dropped)."""
        deadline = self._ticket.pending(kind)
        if deadline.breached_at is None:
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
                return deadline
            except asyncio.TimeoutError:
                deadline.breached_at = deadline.due_at
                await self._step(Action.DEADLINE_BREACHED, f"{deadline.rule} {kind.value} deadline passed",
                                 deadline=kind.value, rule=deadline.rule, due_at=deadline.due_at.isoformat())
        workflow.set_current_details(
            f"Waiting for {waiting_for}. {deadline.rule} breached at {deadline.due_at.isoformat()}"
        )
        await workflow.wait_condition(arrived)
        return deadline

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
