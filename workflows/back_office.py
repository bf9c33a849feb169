"""Inquiry, delay and pickup: the back office's station-and-callback cycle (R-INQ-4, R-PU).

Dispatch to the responsible station under the coordination deadline
(R-CLK-4), then call the customer back under the reply promise (R-CLK-1). A
dispute goes back to the station; an unreachable customer pauses the promise
until they answer (SPEC §4). The cycle can repeat, so it is driven by the
ticket's status and continues as new when Temporal suggests it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.base import TicketBase

with workflow.unsafe.imports_passed_through():
    from domain.flow import NextStep, after_callback
    from domain.ticket import Action, CallbackOutcome, CallbackReport, DeadlineKind, StationReply, Status, TicketOpening


class BackOffice(TicketBase):
    async def back_office(self, opening: TicketOpening) -> None:
        t = self._ticket
        while t.status != Status.CLOSED:
            if t.status == Status.OPEN:
                await self.dispatch()
            elif t.status == Status.AWAITING_STATION:
                await self.await_station_reply()
            elif t.status == Status.AWAITING_CALLBACK:
                await self.await_callback()
            elif t.status == Status.AWAITING_CUSTOMER:
                await self.await_customer()
            # Continue as new only with an empty inbox: a message the API accepted is never dropped.
            if t.status != Status.CLOSED and not self._inbox and workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(opening.model_copy(update={"carried_state": t}))

    async def await_station_reply(self) -> None:
        t = self._ticket
        await self._wait_for(self._arrived("station_reply"),
                             (DeadlineKind.COORDINATION, DeadlineKind.DISPATCH_ANSWER, DeadlineKind.REPLY),
                             f"station {t.station} to reply")
        reply: StationReply = self._inbox["station_reply"]
        self.station_answered()
        # One reply promise per round; pickup's first was made on the call itself (R-PU).
        if not any(d.kind == DeadlineKind.REPLY and d.round == t.dispatch_round for d in t.deadlines):
            await self._start(DeadlineKind.REPLY, t.dispatch_round, self._policy.clocks.reply_promise,
                              "R-CLK-1 reply promise")
        # The reply stays in the inbox until here, so a duplicate that came meanwhile was refused.
        self._set_status(Status.AWAITING_CALLBACK)
        self._take("station_reply")
        extra = {"parcel_status": reply.parcel_status.value} if reply.parcel_status else {}
        await self._step(Action.STATION_REPLIED, reply.finding, round=str(t.dispatch_round), **extra)

    async def await_callback(self) -> None:
        t = self._ticket
        await self._wait_for(self._arrived("callback"), (DeadlineKind.REPLY,), "the agent's callback to the customer")
        report: CallbackReport = self._inbox["callback"]
        decision = after_callback(t.kind, report.outcome, report.compensation_needed)
        if decision == NextStep.RETRY_CALLBACK:  # not a reply: the promise pauses instead of being met
            await self.customer_unreachable(report)
            return
        # From here the transition is synchronous: a query never sees half of it.
        t.pending(DeadlineKind.REPLY).met_at = workflow.now()
        t.callback_attempts += 1
        self._take("callback")
        agent = {"agent": report.agent} if report.agent else {}
        if decision == NextStep.CLOSE:
            await self._close(report.outcome.value, report.note, **agent)
        elif decision == NextStep.CLAIM:  # R-INQ-5
            await self._step(Action.CUSTOMER_TOLD, report.note or "apologised; compensation goes to claims", **agent)
            await self.claim("delay needing compensation (R-INQ-5)")
        else:  # NextStep.REDISPATCH
            self._set_status(Status.OPEN)
            await self._step(Action.CALLBACK_DISPUTED, report.note, **agent)

    async def customer_unreachable(self, report: CallbackReport) -> None:
        """R-INQ-4: schedule another attempt; R-CLK-1: the reply promise waits on the customer."""
        t = self._ticket
        unreachable_at, next_try = await self._due(self._policy.clocks.callback_retry, "next callback attempt")
        t.callback_attempts += 1
        t.next_callback_at = next_try
        self._take("callback")
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
        arrived = self._arrived("callback", "customer_contact")
        self._waiting_for = ("the customer (unreachable; reply promise paused), next callback attempt "
                             f"{t.next_callback_at.isoformat() if t.next_callback_at else 'now'}")
        self._publish()
        if t.next_callback_at is not None:
            remaining = t.next_callback_at - workflow.now()
            try:
                await workflow.wait_condition(arrived, timeout=max(remaining, timedelta(milliseconds=1)),
                                              timeout_summary=f"next callback attempt {t.callback_attempts + 1} (R-INQ-4)")
            except TimeoutError:
                t.next_callback_at = None
                await self._step(Action.CALLBACK_ATTEMPT_DUE, "time to call the customer again",
                                 attempt=str(t.callback_attempts + 1))
        await workflow.wait_condition(arrived)
        callback = self._inbox.get("callback")
        if callback is not None and callback.outcome == CallbackOutcome.UNREACHABLE:
            await self.customer_unreachable(callback)  # still no answer: stays paused
            return
        await self.resume_for_customer()

    async def resume_for_customer(self, status: Status = Status.AWAITING_CALLBACK) -> None:
        """R-CLK-1: the customer answered; every paused promise resumes with the paused time added back.
        A callback that reached them stays in the inbox for the next wait to take at once."""
        t = self._ticket
        now = workflow.now()
        extended = [(d, await self._extend(d, now)) for d in t.paused_deadlines()]
        contact = self._inbox.pop("customer_contact", None)
        t.next_callback_at = None
        for d, due in extended:
            d.pauses[-1].resumed_at = now
            d.due_at = due
        self._set_status(status)
        for d, due in extended:
            await self._step(Action.CLOCK_RESUMED, contact.note if contact else "the customer answered",
                             deadline=d.kind.value, rule=d.rule, paused_for=str(now - d.pauses[-1].at),
                             due_at=due.isoformat())
