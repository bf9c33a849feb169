"""Claims (SPEC §7, R-LOSS-5, R-DMG-3..5, R-CLK-6, R-CLK-7): details, filing, the team's decision."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.base import IO_RETRY, IO_TIMEOUT, TicketBase

with workflow.unsafe.imports_passed_through():
    from activities.tickets import ClaimDecisionRecord, TicketActivities
    from domain.claims import ClaimDecision, ClaimFiling, ClaimOutcome, claim_window_open
    from domain.flow import claim_time_limit
    from domain.ticket import Action, Status


class Claims(TicketBase):
    async def collect_claim_details(self) -> None:
        """Ask the sender for what is missing; the ticket waits on the customer (its reply promise
        pauses, SPEC §4) until a PATCH gives the rest."""
        t = self._ticket
        missing = t.claim_details.missing()
        if not missing:
            return
        paused = t.pause_for_customer(workflow.now())
        self._set_status(Status.AWAITING_CLAIM_DETAILS)
        await self._step(Action.CLAIM_DETAILS_REQUESTED, "asked the sender for the claim details",
                         missing=", ".join(missing), paused=", ".join(d.rule for d in paused))
        await workflow.wait_condition(lambda: not self._ticket.claim_details.missing())
        await self._step(Action.CLAIM_DETAILS_GIVEN, "claim details complete")
        if paused:
            await self.resume_for_customer(Status.AWAITING_CLAIM_DETAILS)

    async def claim(self, reason: str) -> None:
        """File a claim with the claims team and close the ticket with their decision."""
        t = self._ticket
        await self.collect_claim_details()
        if t.shipment.ship_date is not None:
            today = await self._today()
            window = self._policy.clocks.claim_window_days
            if not claim_window_open(t.shipment.ship_date, today, window):  # R-CLK-6, R-DMG-5
                note = (f"claim refused: {(today - t.shipment.ship_date).days} days after the ship date, "
                        f"over the {window}-day limit")
                await self._step(Action.CLAIM_REFUSED, note, rule="R-CLK-6")
                await self._close("claim_refused", note)
                return
        filing = ClaimFiling(
            ticket_id=t.ticket_id, kind=t.kind, carrier=t.carrier, waybill=t.waybill or "",
            claimant=t.customer,
            details=t.claim_details, reason=reason, filed_at=workflow.now(),
        )
        t.claim_filed_at = filing.filed_at  # from now on the details are the claims team's (PATCH refused)
        try:
            await workflow.execute_activity_method(
                TicketActivities.file_claim, filing, start_to_close_timeout=IO_TIMEOUT, retry_policy=IO_RETRY,
                summary="R-CLM file the claim with the claims team",
            )
            await self._step(Action.CLAIM_FILED, reason)
        except ActivityError as err:  # refused for good: the ticket stays owned (R-REC-2), ops file it by hand
            cause = getattr(err.cause, "message", None) or str(err.cause or err)
            await self._step(Action.CLAIM_FILING_FAILED, f"{cause}; file it by hand, then post the decision")
        decision: ClaimDecision = await self._await_message(Status.AWAITING_CLAIM, "claim_decision",
                                                            "the claims team's decision")
        await self.record_claim_decision(decision)

    async def record_claim_decision(self, decision: ClaimDecision) -> None:
        t = self._ticket
        t.claim_decision = decision
        await workflow.execute_activity_method(
            TicketActivities.record_claim_decision,
            ClaimDecisionRecord(ticket_id=t.ticket_id, decision=decision, at=workflow.now()),
            start_to_close_timeout=IO_TIMEOUT, retry_policy=IO_RETRY, summary="R-CLM record the claims decision",
        )
        # R-CLK-7: the result letter reaches finance within 3 days; recorded with its instant.
        _, letter_due = await self._due(self._policy.clocks.result_letter, "R-CLK-7 result letter")
        amount = {"amount": str(decision.amount)} if decision.amount is not None else {}
        await self._step(Action.CLAIM_DECIDED, decision.reason or "", outcome=decision.outcome.value,
                         result_letter_due=letter_due.isoformat(), rule="R-CLK-7", **amount)
        paid = decision.outcome == ClaimOutcome.PAID
        await self.tell_customer("claim_decided", outcome=f"{decision.amount} yuan paid" if paid else
                                 f"rejected: {decision.reason}")
        await self._close("claim_paid" if paid else "claim_rejected", decision.reason or "")

    async def tell_claim_time_limit(self) -> None:
        await self._step(Action.CUSTOMER_TOLD, claim_time_limit(self._policy.clocks.claim_window_days),
                         rule="R-CLK-6")
