"""The claims desk (SPEC §7, R-LOSS-5, R-DMG-3..5, R-CLK-6, R-CLK-7): details, filing, the team's decision."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.tickets import ClaimDecisionRecord, TicketActivities
    from domain.claims import (
        SENDER_IS_CLAIMANT,
        ClaimDecision,
        ClaimFiling,
        ClaimOutcome,
        ClaimQueue,
        ResultLetter,
        claim_queue,
        claim_window_open,
        claimed_on,
    )
    from domain.customer import CustomerRole
    from domain.deadlines import Deadline, DeadlineKind
    from domain.flow import claim_time_limit
    from domain.messages import Message
    from domain.statuses import Status
    from domain.steps import Action
    from workflows.messenger import Messenger
    from workflows.runtime import IO_RETRY, IO_TIMEOUT, TicketRuntime, actor_of

# Where a claim waits: the flows hand a ticket in one of these back to the desk after continue-as-new.
CLAIM_STATUSES = frozenset({Status.AWAITING_CLAIM_DETAILS, Status.AWAITING_CLAIM})


class ClaimsDesk:
    def __init__(self, runtime: TicketRuntime, messenger: Messenger) -> None:
        self.rt = runtime
        self.messenger = messenger
        self._filing = runtime.ticket.claim_reason is not None  # a run that continued as new mid-claim

    def missing(self) -> list[str]:
        """What the claim still needs: the claim data (R-LOSS-5, R-DMG-3) and, v4, once it is to be filed, the
        ship date its time limit counts from (R-CLK-6): asked for, never the rule skipped."""
        t = self.rt.ticket
        missing = t.claim_details.missing()
        if self.rt.features.v4 and self._filing and t.shipment.ship_date is None:
            missing.append("ship_date")
        return missing

    async def collect_claim_details(self, filing: bool = False) -> None:
        """Ask the sender for what is missing; the ticket waits on the customer (its reply promise
        pauses, SPEC §4) until a PATCH gives the rest."""
        rt, t = self.rt, self.rt.ticket
        self._filing = filing or t.claim_reason is not None
        missing = self.missing()
        if not missing:
            return
        paused = t.pause_for_customer(workflow.now())
        rt.set_status(Status.AWAITING_CLAIM_DETAILS)
        await rt.step(Action.CLAIM_DETAILS_REQUESTED, "asked the sender for the claim details",
                      missing=", ".join(missing), paused=", ".join(d.rule for d in paused))
        await self._details_given(bool(paused))

    async def _details_given(self, resume: bool) -> None:
        rt = self.rt
        details_complete = lambda: not self.missing()  # noqa: E731
        rt.waiting_for = "the sender's claim details"
        if rt.features.v3:  # on the clock: the sender is chased through the team lead when it passes
            owed = await rt.ensure_deadline(DeadlineKind.CLAIM_DETAILS, rt.policy.clocks.claim_details,
                                            "R-DMG-3 claim details")
            await rt.wait_for(details_complete, (DeadlineKind.CLAIM_DETAILS,), "the sender's claim details",
                              on_breach=self.messenger.remind)
            owed.answered(workflow.now())
        else:
            if rt.features.v2:
                rt.publish()
            while not details_complete():
                await rt.continue_as_new_if_suggested()
                await rt.wait(details_complete)
        await rt.step(Action.CLAIM_DETAILS_GIVEN, "claim details complete")
        if resume:
            await rt.resume_for_customer(Status.AWAITING_CLAIM_DETAILS)

    async def claim(self, reason: str) -> None:
        """File a claim with the claims team and close the ticket with their decision."""
        self.rt.ticket.claim_reason = reason
        await self.collect_claim_details(filing=True)
        await self._file_and_decide(reason)

    async def resume_details(self) -> None:
        """Carry on waiting for claim details a run that continued as new left waiting (v2)."""
        await self._details_given(bool(self.rt.ticket.paused_deadlines()))

    async def resume(self) -> None:
        """Carry on a claim a run that continued as new left waiting (v2)."""
        t = self.rt.ticket
        reason = t.claim_reason or "claim"
        if t.status == Status.AWAITING_CLAIM_DETAILS:
            await self._details_given(bool(t.paused_deadlines()))
            await self._file_and_decide(reason)
        elif t.status == Status.AWAITING_CLAIM:
            await self._decision()

    async def _file_and_decide(self, reason: str) -> None:
        rt, t = self.rt, self.rt.ticket
        if rt.features.v4:
            await self._file_v4(reason)
            return
        if t.shipment.ship_date is not None:
            today = await rt.today()
            window = rt.policy.clocks.claim_window_days
            if not claim_window_open(t.shipment.ship_date, today, window):  # R-CLK-6, R-DMG-5
                note = (f"claim refused: {(today - t.shipment.ship_date).days} days after the ship date, "
                        f"over the {window}-day limit")
                await rt.step(Action.CLAIM_REFUSED, note, rule="R-CLK-6")
                await rt.close("claim_refused", note)
                return
        filing = ClaimFiling(
            ticket_id=t.ticket_id, kind=t.kind, carrier=t.carrier, waybill=t.waybill or "",
            claimant=t.customer, details=t.claim_details, reason=reason, filed_at=workflow.now(),
        )
        t.claim_filed_at = filing.filed_at  # from now on the details are the claims team's (PATCH refused)
        try:
            await workflow.execute_activity_method(
                TicketActivities.file_claim, filing, start_to_close_timeout=IO_TIMEOUT, retry_policy=IO_RETRY,
                summary="R-CLM file the claim with the claims team",
            )
            await rt.step(Action.CLAIM_FILED, reason)
        except ActivityError as err:  # refused for good: the ticket stays owned (R-REC-2), ops file it by hand
            cause = getattr(err.cause, "message", None) or str(err.cause or err)
            await rt.step(Action.CLAIM_FILING_FAILED, f"{cause}; file it by hand, then post the decision")
        await self._decision()

    async def _file_v4(self, reason: str) -> None:
        """R-CLK-6 on the day the customer claimed; the sender as claimant where the sender is compensated
        (R-LOSS-5, R-DMG-3); a high-value or disputed claim to a specialist (SPEC §7)."""
        rt, t = self.rt, self.rt.ticket
        window = rt.policy.clocks.claim_window_days
        claimed = claimed_on(t.claim_details, rt.opening.opened_on)
        if t.shipment.ship_date is not None and not claim_window_open(t.shipment.ship_date, claimed, window):
            note = (f"claim refused: claimed {(claimed - t.shipment.ship_date).days} days after the ship date, "
                    f"over the {window}-day limit")
            await rt.step(Action.CLAIM_REFUSED, note, rule="R-CLK-6")
            await rt.close("claim_refused", note)
            return
        claimant = (t.sender.as_customer(CustomerRole.SENDER) if t.kind in SENDER_IS_CLAIMANT else None) \
            or t.customer
        queue = claim_queue(t.claim_details, rt.policy.claims.specialist_from)
        filing = ClaimFiling(
            ticket_id=t.ticket_id, kind=t.kind, carrier=t.carrier, waybill=t.waybill or "", claimant=claimant,
            details=t.claim_details, reason=reason, filed_at=workflow.now(), queue=queue,
        )
        t.claim_filed_at = filing.filed_at  # from now on the details are the claims team's (PATCH refused)
        t.claim_queue = queue
        try:
            await workflow.execute_activity_method(
                TicketActivities.file_claim, filing, start_to_close_timeout=IO_TIMEOUT, retry_policy=IO_RETRY,
                summary=f"R-CLM file the claim with the claims {queue.value}",
            )
            await rt.step(Action.CLAIM_FILED, reason, queue=queue.value, claimant=claimant.role.value,
                          claimed_on=claimed.isoformat())
        except ActivityError as err:  # refused for good: the ticket stays owned (R-REC-2), ops file it by hand
            cause = getattr(err.cause, "message", None) or str(err.cause or err)
            await rt.step(Action.CLAIM_FILING_FAILED, f"{cause}; file it by hand, then post the decision")
        await self._decision()

    async def _decision(self) -> None:
        rt = self.rt
        if rt.features.v4 and rt.ticket.claim_queue == ClaimQueue.SPECIALIST:
            decision: ClaimDecision = await rt.await_message(
                Status.AWAITING_CLAIM, Message.CLAIM_DECISION, "the claims specialist's decision",
                promise=(DeadlineKind.SPECIALIST_DECISION, rt.policy.clocks.specialist_decision,
                         "R-CLM specialist decision"), on_breach=self.messenger.remind)
        elif rt.features.v3 or self.rt.ticket.status != Status.AWAITING_CLAIM:
            promise = ((DeadlineKind.CLAIM_DECISION, rt.policy.clocks.claim_decision, "R-CLM claims decision")
                       if rt.features.v3 else None)
            decision = await rt.await_message(
                Status.AWAITING_CLAIM, Message.CLAIM_DECISION, "the claims team's decision", promise=promise,
                on_breach=self.messenger.remind)
        else:  # v2 picked a claim's wait up without entering it again
            await rt.wait_for(rt.arrived(Message.CLAIM_DECISION), (), "the claims team's decision")
            decision = rt.take(Message.CLAIM_DECISION)
        await self.record_claim_decision(decision)

    async def record_claim_decision(self, decision: ClaimDecision) -> None:
        rt, t = self.rt, self.rt.ticket
        t.claim_decision = decision
        await workflow.execute_activity_method(
            TicketActivities.record_claim_decision,
            ClaimDecisionRecord(ticket_id=t.ticket_id, decision=decision, at=workflow.now()),
            start_to_close_timeout=IO_TIMEOUT, retry_policy=IO_RETRY, summary="R-CLM record the claims decision",
        )
        # R-CLK-7: the result letter reaches finance within 3 days; recorded with its instant.
        decided_at, letter_due = await rt.due(rt.policy.clocks.result_letter, "R-CLK-7 result letter")
        amount = {"amount": str(decision.amount)} if decision.amount is not None else {}
        await rt.step(Action.CLAIM_DECIDED, decision.reason or "", outcome=decision.outcome.value,
                      result_letter_due=letter_due.isoformat(), rule="R-CLK-7", **amount, **actor_of(decision))
        if rt.features.v3:
            letter = t.start_deadline(DeadlineKind.RESULT_LETTER, 1, rt.policy.clocks.result_letter, decided_at,
                                      letter_due)
            await self.hand_result_letter(ResultLetter(ticket_id=t.ticket_id, decision=decision,
                                                       decided_at=decided_at, due_at=letter_due), letter)
        paid = decision.outcome == ClaimOutcome.PAID
        await self.messenger.tell_customer("claim_decided", outcome=f"{decision.amount} yuan paid" if paid else
                                           f"rejected: {decision.reason}")
        await rt.close("claim_paid" if paid else "claim_rejected", decision.reason or "", **actor_of(decision))

    async def hand_result_letter(self, letter: ResultLetter, deadline: Deadline) -> None:
        """R-CLK-7: through the claims adapter to finance, retried until its due instant, then a breach."""
        rt = self.rt
        try:
            await workflow.execute_activity_method(
                TicketActivities.hand_result_letter, letter, start_to_close_timeout=IO_TIMEOUT,
                schedule_to_close_timeout=max(letter.due_at - workflow.now(), timedelta(seconds=1)),
                retry_policy=IO_RETRY, summary="R-CLK-7 hand the result letter to finance",
            )
            deadline.met_at = workflow.now()
            await rt.step(Action.RESULT_LETTER_HANDED, "result letter handed to finance", rule="R-CLK-7")
        except ActivityError as err:
            cause = getattr(err.cause, "message", None) or str(err.cause or err)
            deadline.breached_at = deadline.due_at
            await rt.step(Action.DEADLINE_BREACHED, f"R-CLK-7 result letter not handed to finance: {cause}; "
                          "hand it over by hand", deadline=deadline.kind.value, rule=deadline.rule,
                          due_at=deadline.due_at.isoformat())

    async def tell_claim_time_limit(self) -> None:
        await self.rt.step(Action.CUSTOMER_TOLD, claim_time_limit(self.rt.policy.clocks.claim_window_days),
                           rule="R-CLK-6")
