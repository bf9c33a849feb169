"""The machinery every ticket flow stands on: state, inbox, deadlines, recording.

Deadlines are computed once in local activities (kept in history) and stored
as absolute instants on the ticket; waits are driven by the pending deadlines
in the ticket state. A message is taken into the inbox only when the domain
says the ticket is waiting for it; otherwise it is recorded as ignored.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.calendar import ClockActivities, DeadlineRequest, ExtensionRequest, LocalDateRequest
    from activities.tickets import StepRecord, TicketActivities
    from domain.flow import refusal
    from domain.policy import Duration, Policy
    from domain.ticket import (
        DISPATCH_RULES,
        TIMERS,
        Action,
        Deadline,
        DeadlineKind,
        DispatchOrder,
        DispatchPurpose,
        DispatchRoute,
        Status,
        TicketState,
    )

TICKET_KIND = SearchAttributeKey.for_keyword("TicketKind")
TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
CARRIER = SearchAttributeKey.for_keyword("Carrier")
STATION = SearchAttributeKey.for_keyword("Station")
PROVINCE = SearchAttributeKey.for_keyword("Province")
URGENT = SearchAttributeKey.for_bool("Urgent")
ESCALATION_TIER = SearchAttributeKey.for_int("EscalationTier")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
BREACHED = SearchAttributeKey.for_bool("Breached")
# What ops filter on in the Temporal UI; never names or phones (search attributes are not encrypted).
SEARCH_ATTRIBUTES = (TICKET_KIND, TICKET_STATUS, CARRIER, STATION, PROVINCE, URGENT, ESCALATION_TIER, NEXT_DEADLINE,
                     BREACHED)

# I/O is retried until it succeeds: a database or station outage delays a step, never loses it.
IO_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
IO_TIMEOUT = timedelta(seconds=30)
_LOCAL_TIMEOUT = timedelta(seconds=10)


class TicketBase:
    _ticket: TicketState
    _policy: Policy
    _inbox: dict[str, BaseModel]

    # --- inbox --------------------------------------------------------------

    async def _deliver(self, message: str, payload: BaseModel, why: str | None = None) -> None:
        """Signal handlers' one path: take the message if the ticket waits for it, else record why not."""
        why = why or refusal(self._ticket.status, message)
        if why is None and message in self._inbox:
            why = f"a {message.replace('_', ' ')} is already being handled"
        if why is not None:
            await self._step(Action.MESSAGE_IGNORED, why, message=message)
            return
        self._inbox[message] = payload

    def _arrived(self, *messages: str):
        return lambda: any(m in self._inbox for m in messages)

    def _take(self, message: str):
        return self._inbox.pop(message)

    async def _await_message(self, status: Status, message: str, waiting_for: str,
                             watch: tuple[DeadlineKind, ...] = ()) -> BaseModel:
        """Enter `status` (recorded, so lists filter on it), wait for `message` (breaching watched
        deadlines that pass), take it."""
        self._set_status(status)
        await self._step(Action.AWAITING, f"waiting for {waiting_for}", message=message)
        await self._wait_for(self._arrived(message), watch, waiting_for)
        return self._take(message)

    # --- deadlines ----------------------------------------------------------

    async def _due(self, duration: Duration, what: str, start: datetime | None = None) -> tuple[datetime, datetime]:
        """The start (now by default) and the instant `duration` later, computed once in a local activity
        kept in history, so a replay, a calendar edit or a library upgrade never moves a deadline set."""
        now = start or workflow.now()
        due = await workflow.execute_local_activity_method(
            ClockActivities.compute_deadline,
            DeadlineRequest(start=now, duration=duration, calendar=self._policy.calendar_for(duration)),
            start_to_close_timeout=_LOCAL_TIMEOUT,
            summary=f"{what} deadline: {duration}",
        )
        if due.unknown_years:
            years = ", ".join(map(str, due.unknown_years))
            workflow.logger.warning("ticket %s: no holiday data for %s", self._ticket.ticket_id, years)
            await self._step(Action.CALENDAR_FALLBACK,
                             f"no holiday data for {years}: {what} counted on the weekly pattern (R-CAL-1)",
                             years=years, due_at=due.at.isoformat())
        return now, due.at

    async def _start(self, kind: DeadlineKind, round: int, measure: Duration, what: str) -> Deadline:
        started, due = await self._due(measure, what)
        return self._ticket.start_deadline(kind, round, measure, started, due)

    async def _extend(self, deadline: Deadline, resumed_at: datetime) -> datetime:
        return await workflow.execute_local_activity_method(
            ClockActivities.extend_deadline,
            ExtensionRequest(due=deadline.due_at, paused_from=deadline.pauses[-1].at, paused_to=resumed_at,
                             measure=deadline.measure, calendar=self._policy.calendar_for(deadline.measure)),
            start_to_close_timeout=_LOCAL_TIMEOUT,
            summary=f"{deadline.rule} {deadline.kind.value} deadline: add back the time paused",
        )

    async def _today(self):
        """The carrier's local date now, for day-counted rules (R-CLK-6)."""
        return await workflow.execute_local_activity_method(
            ClockActivities.local_date,
            LocalDateRequest(instant=workflow.now(), timezone=self._policy.calendars["default"].timezone),
            start_to_close_timeout=_LOCAL_TIMEOUT,
            summary="R-CLK-6 the carrier's local date",
        )

    def _running(self, kinds: tuple[DeadlineKind, ...]) -> list[Deadline]:
        latest = [self._ticket.pending(k) for k in kinds if any(d.kind == k for d in self._ticket.deadlines)]
        return [d for d in latest if d.met_at is None and d.breached_at is None and not d.paused]

    async def _wait_for(self, arrived, watch: tuple[DeadlineKind, ...], waiting_for: str,
                        until: DeadlineKind | None = None, on_breach=None) -> Deadline | None:
        """Wait until `arrived()`. A watched promise that passes first is recorded as breached (and
        `on_breach` told) and the wait goes on (R-REC-2: no ticket is dropped); the `until` timer
        passing ends the wait and is returned. None means the awaited message arrived."""
        while not arrived():
            running = self._running(watch + ((until,) if until else ()))
            self._waiting_for = waiting_for
            self._publish()
            if not running:
                await workflow.wait_condition(arrived)
                return None
            nearest = min(running, key=lambda d: d.due_at)
            remaining = nearest.due_at - workflow.now()
            try:
                if remaining <= timedelta(0):
                    raise asyncio.TimeoutError
                await workflow.wait_condition(
                    arrived, timeout=remaining,
                    timeout_summary=f"{nearest.rule} {nearest.kind.value} deadline, round {nearest.round}",
                )
            except asyncio.TimeoutError:
                if nearest.met_at is not None:  # met meanwhile by a handler (a station's acknowledgement)
                    continue
                if nearest.kind in TIMERS:
                    nearest.met_at = nearest.due_at
                    return nearest
                nearest.breached_at = nearest.due_at
                await self._step(Action.DEADLINE_BREACHED, f"{nearest.rule} {nearest.kind.value} deadline passed",
                                 deadline=nearest.kind.value, rule=nearest.rule, due_at=nearest.due_at.isoformat())
                if on_breach is not None:
                    await on_breach(nearest)
        return None

    # --- stations -----------------------------------------------------------

    async def dispatch(self, purpose: DispatchPurpose = DispatchPurpose.VERIFY,
                       status: Status | None = Status.AWAITING_STATION) -> Deadline:
        """Send the ticket to the responsible station: it takes the dispatch on under R-CLK-2 (direct) or
        R-CLK-3 (associated) and feeds back under the coordination deadline (R-CLK-4), ladders watching.
        A loss declaration needs no answer: its deadlines are recorded as met."""
        t = self._ticket
        clocks = self._policy.clocks
        route = t.dispatch_route
        answer_measure = clocks.direct_dispatch_answer if route == DispatchRoute.DIRECT else clocks.associated_dispatch_answer
        started, due = await self._due(clocks.coordination_deadline, "R-CLK-4 coordination")
        _, answer_due = await self._due(answer_measure, f"{DISPATCH_RULES[route]} dispatch answer", start=started)
        t.dispatch_round += 1
        deadline = t.start_deadline(DeadlineKind.COORDINATION, t.dispatch_round, clocks.coordination_deadline,
                                    started, due)
        answer = t.start_deadline(DeadlineKind.DISPATCH_ANSWER, t.dispatch_round, answer_measure, started,
                                  answer_due, rule=DISPATCH_RULES[route])
        needs_answer = purpose != DispatchPurpose.DECLARE_LOSS
        if not needs_answer:
            deadline.met_at = answer.met_at = started
        if status is not None:  # a station reply is taken only while the flow will read it
            self._set_status(status)
        await workflow.execute_activity_method(
            TicketActivities.dispatch_to_station,
            DispatchOrder(
                ticket_id=t.ticket_id, round=t.dispatch_round, station=t.station, kind=t.kind,
                waybill=t.waybill, description=t.description, dispatched_at=started, due_at=due,
                purpose=purpose, priority=t.shipment.fresh_or_food, route=route, answer_due_at=answer_due,
            ),
            start_to_close_timeout=IO_TIMEOUT,
            retry_policy=IO_RETRY,
            summary=f"R-CLK-4 dispatch round {t.dispatch_round} ({purpose.value}, {route.value}) to station {t.station}",
        )
        await self._step(Action.DISPATCHED, f"dispatched to station {t.station} ({purpose.value}, {route.value})",
                         round=str(t.dispatch_round), purpose=purpose.value, route=route.value,
                         due_at=due.isoformat(), answer_due_at=answer_due.isoformat())
        if needs_answer:
            self.start_ladders(deadline)
        urgent = self._policy.messages.urgent_dispatch
        if t.urgency.urgent and urgent is not None and t.dispatch_round == 1:  # R-URG-2: at dispatch
            if await self.notify(urgent, f"{t.ticket_id}:urgent-dispatch", "urgent dispatch (R-URG-2)"):
                await self._step(Action.MESSAGE_SENT, f"{urgent.role} told of the urgent dispatch", rule=urgent.rule)
        return deadline

    def station_answered(self) -> None:
        """The station's feedback meets every open coordination and dispatch-answer deadline, of every
        round: feedback at any point stops every ladder (R-ESC-4)."""
        now = workflow.now()
        for deadline in self._ticket.deadlines:
            if deadline.kind in (DeadlineKind.COORDINATION, DeadlineKind.DISPATCH_ANSWER) and deadline.met_at is None:
                deadline.met_at = now  # kept after a breach too: how late the answer came

    # --- recording ----------------------------------------------------------

    def _set_status(self, status: Status) -> None:
        if self._ticket.status != status:
            self._ticket.status = status
            workflow.upsert_search_attributes([TICKET_STATUS.value_set(status.value)])

    def _publish(self) -> None:
        """Keep what ops see in the Temporal UI current at every step: the search attributes they
        filter on and the Markdown details that say what the ticket waits for and until when."""
        t = self._ticket
        running = [d for d in t.deadlines if d.met_at is None and d.breached_at is None and not d.paused]
        nearest = min(running, key=lambda d: d.due_at) if running and t.status != Status.CLOSED else None
        tier = max((int(s.data["tier"]) for s in t.steps if s.action == Action.ESCALATED), default=0)
        workflow.upsert_search_attributes([
            URGENT.value_set(t.urgency.urgent), BREACHED.value_set(bool(t.breaches)),
            ESCALATION_TIER.value_set(tier),
            NEXT_DEADLINE.value_set(nearest.due_at) if nearest else NEXT_DEADLINE.value_unset(),
        ])
        lines = [f"**{t.kind.value}** ticket, status **{t.status.value}**" + (" · **urgent**" if t.urgency.urgent else "")]
        if getattr(self, "_waiting_for", None) and t.status != Status.CLOSED:
            lines.append(f"Waiting for {self._waiting_for}.")
        if nearest:
            lines.append(f"Next deadline: {nearest.rule} {nearest.kind.value}, due {nearest.due_at.isoformat()}")
        if t.breaches:
            lines.append("Breached: " + ", ".join(f"{b.rule} at {b.at.isoformat()}" for b in t.breaches))
        if tier:
            lines.append(f"Escalation tier {tier} reached")
        workflow.set_current_details("\n\n".join(lines))

    async def _close(self, resolution: str, note: str = "", **data: str) -> None:
        self._set_status(Status.CLOSED)  # first: it upserts the search attribute only on a change
        self._ticket.close(workflow.now(), resolution=resolution)
        await self._step(Action.CLOSED, note, outcome=resolution, **data)

    async def _step(self, action: Action, note: str = "", **data: str) -> None:
        """R-REC-1: append a step to the ticket and record it with the ticket as it now is."""
        step = self._ticket.add_step(workflow.now(), action, note, **data)
        self._publish()
        await workflow.execute_activity_method(
            TicketActivities.record_step,
            StepRecord(ticket=self._ticket.model_copy(deep=True), step=step),
            start_to_close_timeout=IO_TIMEOUT,
            retry_policy=IO_RETRY,
            summary=f"R-REC-1 record step {step.seq}: {action}",
        )
