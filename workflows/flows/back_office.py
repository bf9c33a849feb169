"""Inquiry, delay and pickup: the back office's station-and-callback cycle (R-INQ-4, R-INQ-5, R-PU).

Dispatch to the responsible station under the coordination deadline
(R-CLK-4), then call the customer back under the reply promise (R-CLK-1). A
dispute goes back to the station; an unreachable customer pauses the promise
until they answer (SPEC §4); a delay needing compensation goes to claims.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.deadlines import DeadlineKind
    from domain.flow import NextStep, after_callback
    from domain.messages import CallbackOutcome, CallbackReport, Message
    from domain.statuses import Status
    from domain.steps import Action
    from workflows.claims import CLAIM_STATUSES
    from workflows.flows.desks import DeskFlow
    from workflows.runtime import actor_of
    from workflows.stations import STATION_DEADLINES


class BackOfficeFlow(DeskFlow):
    async def run(self) -> None:
        rt, t = self.rt, self.rt.ticket
        while t.status != Status.CLOSED:
            if t.status == Status.OPEN:
                await self.stations.dispatch()
            elif t.status == Status.AWAITING_REVIEW:
                await self.intake.review_if_urgent()
            elif t.status == Status.AWAITING_STATION:
                await self.await_station_reply()
            elif t.status == Status.AWAITING_CALLBACK:
                await self.await_callback()
            elif t.status == Status.AWAITING_CUSTOMER:
                await self.await_customer()
            elif t.status in CLAIM_STATUSES:
                await self.claims.resume()
            else:
                raise RuntimeError(f"the back office cannot go on from status {t.status}")
            # mypy narrowed the status before the awaits above moved it
            if not rt.features.v2 and t.status != Status.CLOSED:  # type: ignore[comparison-overlap]
                await rt.continue_as_new_v1()

    async def await_station_reply(self) -> None:
        t = self.rt.ticket
        await self.stations.await_reply(f"station {t.station} to reply", (*STATION_DEADLINES, DeadlineKind.REPLY),
                                        before_recording=self.promise_reply, hold=True)

    async def promise_reply(self) -> None:
        """The back office now owes the customer a call. v3: the reply promise (R-CLK-1) runs from the call;
        the agent's call back after the station's answer is a deadline of its own (R-INQ-4), one per round.
        v2 started the reply promise here, one per round; pickup's first was made on the call (R-PU)."""
        rt, t = self.rt, self.rt.ticket
        if rt.features.v3:
            if not t.has_deadline(DeadlineKind.CALLBACK, t.dispatch_round):
                await rt.start_deadline(DeadlineKind.CALLBACK, t.dispatch_round, rt.policy.clocks.callback,
                                        "R-INQ-4 call back")
        elif not t.has_deadline(DeadlineKind.REPLY, t.dispatch_round):
            await rt.start_deadline(DeadlineKind.REPLY, t.dispatch_round, rt.policy.clocks.reply_promise,
                                    "R-CLK-1 reply promise")
        rt.set_status(Status.AWAITING_CALLBACK)

    async def await_callback(self) -> None:
        rt, t = self.rt, self.rt.ticket
        watch = (DeadlineKind.REPLY, DeadlineKind.CALLBACK) if rt.features.v3 else (DeadlineKind.REPLY,)
        await rt.wait_for(rt.arrived(Message.CALLBACK), watch, "the agent's callback to the customer",
                          on_breach=self.messenger.remind if rt.features.v3 else None)
        report: CallbackReport = rt.take(Message.CALLBACK)
        decision = after_callback(t.kind, report.outcome, report.compensation_needed)
        if rt.features.v3 and t.has_deadline(DeadlineKind.CALLBACK):
            # the agent called: R-INQ-4 kept, whatever the outcome
            t.pending(DeadlineKind.CALLBACK).answered(workflow.now())
        if decision == NextStep.RETRY_CALLBACK:  # not a reply: the promise pauses instead of being met
            await self.customer_unreachable(report)
            return
        # From here the transition is synchronous: a query never sees half of it.
        reply = t.pending(DeadlineKind.REPLY)
        if not rt.features.v3:
            reply.met_at = workflow.now()
        else:  # R-CLK-1: the customer heard back; a breach stays a breach
            reply.answered(workflow.now())
        t.callback_attempts += 1
        agent = {"agent": report.agent} if report.agent else {}
        agent |= actor_of(report)
        if decision == NextStep.CLOSE:
            await rt.close(report.outcome.value, report.note, **agent)
        elif decision == NextStep.CLAIM:  # R-INQ-5
            await rt.step(Action.CUSTOMER_TOLD, report.note or "apologised; compensation goes to claims", **agent)
            await self.claims.claim("delay needing compensation (R-INQ-5)")
        else:  # NextStep.REDISPATCH
            rt.set_status(Status.OPEN)
            await rt.step(Action.CALLBACK_DISPUTED, report.note, **agent)

    async def customer_unreachable(self, report: CallbackReport) -> None:
        """R-INQ-4: schedule another attempt; R-CLK-1: the reply promise waits on the customer."""
        rt, t = self.rt, self.rt.ticket
        unreachable_at, next_try = await rt.due(rt.policy.clocks.callback_retry, "next callback attempt")
        t.callback_attempts += 1
        t.next_callback_at = next_try
        newly_paused = t.pause_for_customer(unreachable_at)
        rt.set_status(Status.AWAITING_CUSTOMER)
        agent = {"agent": report.agent} if report.agent else {}
        agent |= actor_of(report)
        await rt.step(Action.CALLBACK_UNREACHABLE, report.note, attempt=str(t.callback_attempts),
                      next_attempt_at=next_try.isoformat(), **agent)
        for d in newly_paused:
            await rt.step(Action.CLOCK_PAUSED, f"{d.rule} {d.kind.value} deadline paused: waiting on the customer",
                          deadline=d.kind.value, rule=d.rule)

    async def await_customer(self) -> None:
        """Paused on the customer: remind at the next attempt, resume when the customer answers."""
        rt, t = self.rt, self.rt.ticket
        arrived = rt.arrived(Message.CALLBACK, Message.CUSTOMER_CONTACT)
        rt.waiting_for = ("the customer (unreachable; reply promise paused), next callback attempt "
                          f"{t.next_callback_at.isoformat() if t.next_callback_at else 'now'}")
        rt.publish()
        if t.next_callback_at is not None:
            until = max(t.next_callback_at, workflow.now() + timedelta(milliseconds=1))
            summary = f"next callback attempt {t.callback_attempts + 1} (R-INQ-4)"
            woke = await rt.wait(arrived, until=until, summary=summary)
            while woke and not arrived():  # v2: woken to continue as new
                await rt.continue_as_new_if_suggested()
                woke = await rt.wait(arrived, until=until, summary=summary)
            if not woke:
                t.next_callback_at = None
                await rt.step(Action.CALLBACK_ATTEMPT_DUE, "time to call the customer again",
                              attempt=str(t.callback_attempts + 1))
        await rt.wait(arrived)
        while not arrived():
            await rt.continue_as_new_if_suggested()
            await rt.wait(arrived)
        callback = rt.peek(Message.CALLBACK)
        if isinstance(callback, CallbackReport) and callback.outcome == CallbackOutcome.UNREACHABLE:
            await self.customer_unreachable(rt.take(Message.CALLBACK))  # still no answer: stays paused
            return
        await rt.resume_for_customer()
