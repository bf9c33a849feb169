"""The ticket as its workflow holds it: state, inbox, recording, deadlines and waits.

Every collaborator of the workflow (the station desk, escalation, the claims
desk, the flows of each kind) receives this one object and nothing else of
the workflow's. Deadlines are computed once in local activities (kept in
history) and stored as absolute instants; waits are driven by the pending
deadlines in the state. A message is taken into the inbox only when the
domain says the ticket waits for it; otherwise it is recorded as ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.calendar import ClockActivities, DeadlineRequest, ExtensionRequest, LocalDateRequest
    from activities.tickets import StepRecord, TicketActivities
    from domain.deadlines import TIMERS, Deadline, DeadlineKind
    from domain.flow import refusal
    from domain.messages import PAYLOADS, CustomerContact, Message
    from domain.policy import Duration, Policy, due_at, extend_due
    from domain.statuses import Status
    from domain.steps import Action
    from domain.ticket import TicketOpening, TicketState
    from workflows.versions import Features
    from workflows.visibility import Visibility, details

# I/O is retried until it succeeds: a database or station outage delays a step, never loses it.
IO_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
IO_TIMEOUT = timedelta(seconds=30)
_LOCAL_TIMEOUT = timedelta(seconds=10)

Arrived = Callable[[], bool]
OnBreach = Callable[[Deadline], Awaitable[None]]
Promise = tuple[DeadlineKind, Duration, str]  # a wait on the clock: its kind, its measure, what it is

# The actor of a step nobody sent a message for: the workflow itself (a timer, a dispatch, a ladder).
SYSTEM = "system"


def actor_of(payload: BaseModel | None) -> dict[str, str]:
    """Step data naming who sent the message behind a step: the actor the API took from the caller's
    credential. A message of a run from before actors were recorded names nobody: "unknown"."""
    return {"actor": getattr(payload, "actor", None) or "unknown"}


def recorded_fields(ticket: TicketState) -> dict[str, Any]:
    """The ticket as the record keeps it, field by field (its steps are recorded one by one)."""
    return ticket.model_dump(mode="json", exclude={"steps", "breaches"})


class TicketRuntime:
    def __init__(self, opening: TicketOpening, features: Features) -> None:
        self.opening = opening
        self.policy: Policy = opening.policy
        self.features = features
        carried = opening.carried_state
        self.ticket: TicketState = carried or TicketState.from_opening(opening, workflow.info().start_time)
        self.inbox: dict[Message, BaseModel] = {
            Message(name): PAYLOADS[Message(name)].model_validate(payload)
            for name, payload in opening.carried_inbox.items()
        }
        self._held: set[Message] = set()  # taken and being dealt with: a duplicate is refused meanwhile
        self.waiting_for = ""
        self.visibility = Visibility(only_changes=features.v2)
        # What the record already has, so a step carries only what changed (linear history). A run's first
        # step carries every field: once per run, and the record heals if it ever lost the row.
        self._recorded: dict[str, Any] = {}
        self._sending = 0  # v2: ladder messages in flight; a run does not continue as new under them
        self._recording = 0  # steps being recorded: a run never continues as new under one
        self._delivering = 0  # v3: dispatches on their way to the station system
        # A run that continued as new picks up the wait it left; its "waiting for" step is on record already.
        self._resuming: Status | None = carried.status if carried else None

    # --- messages -------------------------------------------------------------

    async def deliver(self, message: Message, payload: BaseModel, why: str | None = None) -> None:
        """Signal handlers' one path: take the message if the ticket waits for it, else record why not."""
        why = why or refusal(self.ticket.status, message)
        if why is None and (message in self.inbox or message in self._held):
            why = f"a {message.words} is already being handled"
        if why is not None:  # its content stays on the record: the sender can see what was not taken
            await self.step(Action.MESSAGE_IGNORED, why, message=message.value, content=payload.model_dump_json(),
                            **actor_of(payload))
            return
        self.inbox[message] = payload

    def arrived(self, *messages: Message) -> Arrived:
        return lambda: any(m in self.inbox for m in messages)

    def peek(self, message: Message) -> BaseModel | None:
        return self.inbox.get(message)

    def take(self, message: Message, hold: bool = True) -> Any:
        """The one way a flow takes a message. Held, a duplicate is refused until the ticket moves on
        (its status changes or it waits again); v1 held only where it kept the message in the inbox."""
        payload = self.inbox.pop(message)
        if hold or self.features.v2:
            self._held.add(message)
        return payload

    def _release(self) -> None:
        self._held.clear()

    async def await_message(self, status: Status, message: Message, waiting_for: str,
                            watch: tuple[DeadlineKind, ...] = (), promise: Promise | None = None,
                            on_breach: OnBreach | None = None) -> Any:
        """Enter `status` (recorded, so lists filter on it), wait for `message` (breaching watched
        deadlines that pass), take it. With a `promise` (v3), the wait itself is on the clock: its
        deadline starts now (or goes on, for a run that picked the wait up) and the message meets it."""
        resuming = self._resuming == status
        self.set_status(status)
        if not resuming:
            await self.step(Action.AWAITING, f"waiting for {waiting_for}", message=message.value)
        owed = await self.ensure_deadline(*promise) if promise is not None else None
        await self.wait_for(self.arrived(message), watch + ((owed.kind,) if owed else ()), waiting_for,
                            on_breach=on_breach)
        if owed is not None:
            owed.answered(workflow.now())
        return self.take(message, hold=False)

    # --- deadlines ------------------------------------------------------------

    async def due(self, duration: Duration, what: str, start: datetime | None = None) -> tuple[datetime, datetime]:
        """The start (now by default) and the instant `duration` later, computed once in a local activity
        kept in history, so a replay, a calendar edit or a library upgrade never moves a deadline set."""
        now = start or workflow.now()
        calendar = self.policy.calendar_for(duration)
        if self.features.v5 and (calendar is None or calendar.holidays == "none"):
            # Pure arithmetic on the pinned policy: the same on every replay, no round trip (v5).
            return now, due_at(now, duration, calendar).at
        due = await workflow.execute_local_activity_method(
            ClockActivities.compute_deadline,
            DeadlineRequest(start=now, duration=duration, calendar=self.policy.calendar_for(duration)),
            start_to_close_timeout=_LOCAL_TIMEOUT,
            summary=f"{what} deadline: {duration}",
        )
        if due.unknown_years:
            years = ", ".join(map(str, due.unknown_years))
            workflow.logger.warning("ticket %s: no holiday data for %s", self.ticket.ticket_id, years)
            await self.step(Action.CALENDAR_FALLBACK,
                            f"no holiday data for {years}: {what} counted on the weekly pattern (R-CAL-1)",
                            years=years, due_at=due.at.isoformat())
        return now, due.at

    async def start_deadline(self, kind: DeadlineKind, round: int, measure: Duration, what: str) -> Deadline:
        started, due = await self.due(measure, what)
        return self.ticket.start_deadline(kind, round, measure, started, due)

    async def ensure_deadline(self, kind: DeadlineKind, measure: Duration, what: str) -> Deadline:
        """The open deadline of `kind`, or a new one from now (a run that continued as new keeps its own)."""
        open_one = next((d for d in reversed(self.ticket.deadlines) if d.kind == kind and not d.ended), None)
        if open_one is not None:
            return open_one
        round = 1 + sum(d.kind == kind for d in self.ticket.deadlines)
        return await self.start_deadline(kind, round, measure, what)

    async def today(self) -> date:
        """The carrier's local date now, for day-counted rules (R-CLK-6)."""
        return await workflow.execute_local_activity_method(
            ClockActivities.local_date,
            LocalDateRequest(instant=workflow.now(), timezone=self.policy.calendars["default"].timezone),
            start_to_close_timeout=_LOCAL_TIMEOUT,
            summary="R-CLK-6 the carrier's local date",
        )

    async def resume_for_customer(self, status: Status = Status.AWAITING_CALLBACK) -> None:
        """R-CLK-1: the customer answered; every paused promise resumes with the paused time added back.
        A callback that reached them stays in the inbox for the next wait to take at once."""
        t = self.ticket
        now = workflow.now()
        extended = [(d, await self._extend(d, now)) for d in t.paused_deadlines()]
        contact: CustomerContact | None = self.inbox.pop(Message.CUSTOMER_CONTACT, None)  # type: ignore[assignment]
        by = actor_of(contact if contact is not None else self.inbox.get(Message.CALLBACK))
        t.next_callback_at = None
        for d, due in extended:
            d.pauses[-1].resumed_at = now
            d.due_at = due
        self.set_status(status)
        for d, due in extended:
            await self.step(Action.CLOCK_RESUMED, contact.note if contact is not None else "the customer answered",
                            deadline=d.kind.value, rule=d.rule, paused_for=str(now - d.pauses[-1].at),
                            due_at=due.isoformat(), **by)

    async def _extend(self, deadline: Deadline, resumed_at: datetime) -> datetime:
        calendar = self.policy.calendar_for(deadline.measure)
        if self.features.v5 and (calendar is None or calendar.holidays == "none"):
            return extend_due(deadline.due_at, deadline.pauses[-1].at, resumed_at, deadline.measure, calendar)
        return await workflow.execute_local_activity_method(
            ClockActivities.extend_deadline,
            ExtensionRequest(due=deadline.due_at, paused_from=deadline.pauses[-1].at, paused_to=resumed_at,
                             measure=deadline.measure, calendar=self.policy.calendar_for(deadline.measure)),
            start_to_close_timeout=_LOCAL_TIMEOUT,
            summary=f"{deadline.rule} {deadline.kind.value} deadline: add back the time paused",
        )

    # --- waits ----------------------------------------------------------------

    async def wait_for(self, arrived: Arrived, watch: tuple[DeadlineKind, ...], waiting_for: str,
                       until: DeadlineKind | None = None, on_breach: OnBreach | None = None) -> Deadline | None:
        """Wait until `arrived()`. A watched promise that passes first is recorded as breached (and
        `on_breach` told) and the wait goes on (R-REC-2: no ticket is dropped); the `until` timer
        passing ends the wait and is returned. None means the awaited message arrived."""
        while not arrived():
            self.waiting_for = waiting_for
            self.publish()
            await self.continue_as_new_if_suggested()
            running = self.ticket.running(*watch, *((until,) if until else ()))
            if not running:
                await self.wait(arrived)
                continue
            nearest = min(running, key=lambda d: d.due_at)
            if await self.wait(arrived, until=nearest.due_at,
                               summary=f"{nearest.rule} {nearest.kind.value} deadline, round {nearest.round}"):
                continue
            if nearest.met_at is not None:  # met meanwhile by a handler (a station's acknowledgement)
                continue
            if nearest.kind in TIMERS:
                nearest.met_at = nearest.due_at
                return nearest
            nearest.breached_at = nearest.due_at
            await self.step(Action.DEADLINE_BREACHED, f"{nearest.rule} {nearest.kind.value} deadline passed",
                            deadline=nearest.kind.value, rule=nearest.rule, due_at=nearest.due_at.isoformat())
            if on_breach is not None:
                await on_breach(nearest)
        return None

    async def wait(self, arrived: Arrived, until: datetime | None = None, summary: str | None = None) -> bool:
        """Wait for `arrived()`, until an instant if given; False when the instant came first. A v2 run
        also wakes when Temporal suggests continuing as new, so the caller (which loops on `arrived()`)
        can do it."""
        self._release()
        condition = arrived
        if self.features.v2:
            condition = lambda: arrived() or workflow.info().is_continue_as_new_suggested()  # noqa: E731
        if until is None:
            await workflow.wait_condition(condition)
            return True
        remaining = until - workflow.now()
        if remaining <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(condition, timeout=remaining, timeout_summary=summary)
            return True
        except TimeoutError:
            return False

    async def continue_as_new_if_suggested(self) -> None:
        """v2: every long wait continues as new when Temporal suggests it, once every handler and ladder
        message has finished. Unread messages, deadlines and ladders' instants are carried over; the
        steps are not (the record holds them), so the next run starts small."""
        if not (self.features.v2 and workflow.info().is_continue_as_new_suggested()):
            return
        # v3 ladders and messages keep their progress in the state and pick it up in the next run; a step
        # being recorded or a dispatch on its way is waited for.
        # v8: a ladder's text on its way too, so the next run neither loses nor repeats it.
        busy = ((lambda: self._recording or self._delivering or (self.features.v8 and self._sending))
                if self.features.v3 else (lambda: self._sending))
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not busy())
        carried = self.ticket.model_copy(update={"steps": [], "steps_before": self.ticket.last_seq})
        workflow.continue_as_new(self.opening.model_copy(update={
            "carried_state": carried,
            "carried_inbox": {m.value: p.model_dump(mode="json") for m, p in self.inbox.items()},
        }))

    async def continue_as_new_v1(self) -> None:
        """v1 continued as new only between the back office's steps, with an empty inbox and every step."""
        if self.inbox or not workflow.info().is_continue_as_new_suggested():
            return
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self.opening.model_copy(update={"carried_state": self.ticket}))

    def sending(self, delta: int) -> None:
        self._sending += delta

    def delivering(self, delta: int) -> None:
        self._delivering += delta

    @property
    def busy(self) -> bool:
        """Something beside the flow is still under way: the run does not end under it."""
        return bool(self._recording or self._delivering)

    # --- recording ------------------------------------------------------------

    def set_status(self, status: Status) -> None:
        self._resuming = None
        if self.ticket.status != status:
            self.ticket.status = status
            self._release()
            self.visibility.status_changed(self.ticket)

    def publish(self) -> None:
        """Keep what ops see in the Temporal UI current: the search attributes they filter on and the
        Markdown details that say what the ticket waits for and until when."""
        self.visibility.sync(self.ticket)
        workflow.set_current_details(details(self.ticket, self.waiting_for,
                                             self.policy.calendars["default"].timezone))

    async def close(self, resolution: str, note: str = "", **data: str) -> None:
        self.set_status(Status.CLOSED)
        now = workflow.now()
        self.ticket.close(now, resolution=resolution)
        if self.features.v3:  # whatever was still owed is moot now: neither met nor breached
            await self.supersede(None, "the ticket is closed")
        await self.step(Action.CLOSED, note, outcome=resolution, **data)

    async def supersede(self, kinds: frozenset[DeadlineKind] | None, reason: str) -> None:
        """End the open deadlines of `kinds` (all if None) as made moot by the flow, and say so."""
        moot = self.ticket.supersede(kinds, workflow.now(), reason)
        if moot:
            await self.step(Action.DEADLINES_SUPERSEDED, reason,
                            deadlines=", ".join(f"{d.rule} {d.kind.value} round {d.round}" for d in moot))

    async def step(self, action: Action, note: str = "", **data: str) -> None:
        """R-REC-1: append a step to the ticket and record it with the fields it changed. Every step names
        its actor: whoever sent the message behind it (`actor_of`), else the workflow itself."""
        data.setdefault("actor", SYSTEM)
        step = self.ticket.add_step(workflow.now(), action, note, **data)
        self.publish()
        now = recorded_fields(self.ticket)
        changes = {k: v for k, v in now.items() if self._recorded.get(k, _UNSET) != v}
        self._recorded = now
        record = StepRecord(ticket_id=self.ticket.ticket_id, step=step, changes=changes)
        summary = f"R-REC-1 record step {step.seq}: {action}"
        self._recording += 1
        try:
            if self.features.v5:  # in the worker, no server round trip; idempotent, so a retry is harmless
                await workflow.execute_local_activity_method(
                    TicketActivities.record_step, record, start_to_close_timeout=IO_TIMEOUT,
                    retry_policy=IO_RETRY, summary=summary)
            else:
                await workflow.execute_activity_method(
                    TicketActivities.record_step, record, start_to_close_timeout=IO_TIMEOUT,
                    retry_policy=IO_RETRY, summary=summary)
        finally:
            self._recording -= 1


_UNSET = object()
