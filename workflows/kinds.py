"""The flows of SPEC §6 other than the back-office cycle, each read like its flow chart."""

from __future__ import annotations

from temporalio import workflow

from workflows.base import TicketBase

with workflow.unsafe.imports_passed_through():
    from domain.acceptance import Acceptance, damage_acceptance, loss_acceptance
    from domain.flow import (
        ACCEPTED_SCRIPT,
        APOLOGY_SCRIPT,
        COMPENSATION_TO_SENDER,
        DELAY_ANSWERS,
        FRONT_DESK_ANSWERS,
        parcel_found,
    )
    from domain.shipment import check_status
    from domain.ticket import (
        Action,
        CallbackOutcome,
        CallbackReport,
        CustomerRole,
        DeadlineKind,
        DispatchPurpose,
        Kind,
        OfferAnswer,
        PenaltyDecision,
        ReviewResult,
        SenderDecision,
        StationReply,
        Status,
        TicketOpening,
    )


class KindFlows(TicketBase):
    # --- intake ---------------------------------------------------------------

    async def front_desk(self, opening: TicketOpening) -> bool:
        """R-INQ-1..3: the status check's answer; True when the customer accepted it and the ticket is done."""
        t = self._ticket
        answer = check_status(t.shipment, opening.opened_on)
        t.front_desk_answer = FRONT_DESK_ANSWERS[answer]
        await self._step(Action.STATUS_CHECKED, t.front_desk_answer, answer=answer.value)
        if opening.front_desk_resolved:
            await self._close("answered_at_front_desk", "the customer accepted the front desk's answer")
            return True
        await self._step(Action.CUSTOMER_TOLD, ACCEPTED_SCRIPT)  # SPEC §10: accepted, we will call back
        await self.tell_customer("accepted")
        if answer in DELAY_ANSWERS:
            await self.tell_customer("possible_delay")
        return False

    async def review_if_urgent(self) -> None:
        """R-URG-2: an urgent ticket passes the urgent-handling group's review before dispatch."""
        t = self._ticket
        if not t.urgency.urgent:
            return
        review: ReviewResult = await self._await_message(Status.AWAITING_REVIEW, "urgent_review",
                                                         "the urgent-handling group's review (R-URG-2)")
        if not review.approved:  # the group may judge it ordinary after all
            t.urgency = t.urgency.model_copy(update={"urgent": False})
        self._set_status(Status.OPEN)
        reviewer = {"reviewer": review.reviewer} if review.reviewer else {}
        await self._step(Action.REVIEWED, review.note, approved=str(review.approved).lower(), **reviewer)

    async def not_accepted(self, acceptance: Acceptance) -> None:
        """R-DMG-1, R-LOSS-4: the reason is recorded and told to the customer."""
        self._ticket.not_accepted_reason = acceptance.reason
        await self._step(Action.NOT_ACCEPTED, acceptance.reason, rule=acceptance.rule)
        await self._close("not_accepted", acceptance.reason, rule=acceptance.rule)

    async def await_station(self, waiting_for: str, until: DeadlineKind | None = None):
        """Wait for the station under the coordination deadline; returns its reply, or the `until` timer.
        On a loss, a station that lets the deadline pass brings in the network manager (R-LOSS-1)."""
        t = self._ticket
        on_breach = self.station_silent if t.kind == Kind.LOSS else None
        fell_due = await self._wait_for(self._arrived("station_reply"),
                                        (DeadlineKind.COORDINATION, DeadlineKind.DISPATCH_ANSWER),
                                        waiting_for, until=until, on_breach=on_breach)
        if fell_due is not None:
            return fell_due
        reply: StationReply = self._take("station_reply")
        self.station_answered()
        extra = {"parcel_status": reply.parcel_status.value} if reply.parcel_status else {}
        await self._step(Action.STATION_REPLIED, reply.finding, round=str(t.dispatch_round), **extra)
        return reply

    # --- loss (R-LOSS-1..5, R-CLK-5) ----------------------------------------------

    async def loss_flow(self) -> None:
        t = self._ticket
        acceptance = loss_acceptance(t.shipment)
        if not acceptance.accepted:
            await self.not_accepted(acceptance)
            return
        await self.review_if_urgent()
        await self._start(DeadlineKind.LOSS_CONFIRMATION, 1, self._policy.clocks.loss_confirmation,
                          "R-CLK-5 loss confirmation")
        await self.dispatch()  # R-LOSS-1: verify with the responsible link
        while True:
            outcome = await self.await_station("the station's search for the parcel",
                                               until=DeadlineKind.LOSS_CONFIRMATION)
            if not isinstance(outcome, StationReply):
                await self.confirm_loss()
                return
            if parcel_found(outcome.parcel_status):  # R-LOSS-3
                t.pending(DeadlineKind.LOSS_CONFIRMATION).met_at = workflow.now()
                await self._step(Action.CUSTOMER_TOLD, f"parcel found: {outcome.finding}")
                await self._close("found", outcome.finding)
                return
            if outcome.station_suspended:
                await self.ask_network_manager("the station is suspended")
            # Not found yet: the search goes on until the loss is confirmed.

    async def station_silent(self, deadline) -> None:
        if deadline.kind == DeadlineKind.COORDINATION:
            await self.ask_network_manager("the station did not answer by the coordination deadline")

    async def ask_network_manager(self, why: str) -> None:
        """R-LOSS-1: the network manager checks the station and helps locate the parcel (once a ticket)."""
        t = self._ticket
        if any(s.data.get("purpose") == DispatchPurpose.NETWORK_MANAGER for s in t.steps):
            return
        await self._step(Action.CUSTOMER_TOLD, f"network manager asked to assist: {why}", rule="R-LOSS-1")
        await self.dispatch(DispatchPurpose.NETWORK_MANAGER)

    async def confirm_loss(self) -> None:
        """R-LOSS-2: 7 days without result confirm the loss; R-LOSS-5: to claims."""
        t = self._ticket
        await self._step(Action.LOSS_CONFIRMED, "no result within the loss-confirmation period", rule="R-LOSS-2")
        await self.dispatch(DispatchPurpose.DECLARE_LOSS, status=None)  # the origin station declares it
        if t.customer.role == CustomerRole.RECIPIENT:
            await self._step(Action.CUSTOMER_TOLD, COMPENSATION_TO_SENDER, rule="R-LOSS-5")
        await self.tell_claim_time_limit()
        await self.tell_customer("loss_confirmed", limit_days=str(self._policy.clocks.claim_window_days))
        await self.claim("loss confirmed (R-LOSS-2)")

    # --- damage and shortage (R-DMG-1..5) ------------------------------------------

    async def damage_flow(self) -> None:
        t = self._ticket
        acceptance = damage_acceptance(t.shipment.signing)
        if not acceptance.accepted:
            await self.not_accepted(acceptance)
            return
        await self.review_if_urgent()
        await self.collect_claim_details()  # R-DMG-3: ask the sender
        await self.dispatch()  # R-DMG-3: verify with the courier
        await self.await_station("the courier's account, through the station")
        await self.tell_claim_time_limit()
        await self._step(Action.OFFER_MADE, "free re-shipment worth the freight of the damaged part",
                         rule="R-DMG-4")
        answer: OfferAnswer = await self._await_message(Status.AWAITING_OFFER_ANSWER, "offer_answer",
                                                        "the customer's answer to the offer")
        await self._step(Action.OFFER_ANSWERED, answer.note, accepted=str(answer.accepted).lower())
        if answer.accepted:
            await self._close("reshipped", answer.note)
            return
        await self.claim("re-shipment offer refused; supervisor and claims representative (R-DMG-4)")

    # --- service attitude (R-SVC) --------------------------------------------------

    async def service_flow(self) -> None:
        await self._step(Action.APOLOGISED, APOLOGY_SCRIPT)
        if await self.customer_says("the customer's answer to the apology") == CallbackOutcome.RESOLVED:
            await self._close("apology_accepted")
            return
        await self.dispatch(DispatchPurpose.STATION_HEAD, status=Status.AWAITING_PENALTY)  # the station's head
        penalty: PenaltyDecision = await self._await_message(
            Status.AWAITING_PENALTY, "penalty_decision", "the station head's penalty decision",
            watch=(DeadlineKind.COORDINATION, DeadlineKind.DISPATCH_ANSWER))
        self.station_answered()
        await self._step(Action.PENALTY_DECIDED, penalty.decision, penalised=str(penalty.penalised).lower())
        satisfied = await self.customer_says("the follow-up on the customer's satisfaction")
        await self._close("satisfied" if satisfied == CallbackOutcome.RESOLVED else "dissatisfied")

    async def customer_says(self, waiting_for: str) -> CallbackOutcome:
        """A callback that reaches the customer: resolved (accepts) or disputed (does not); an
        unreachable attempt is recorded and the agent tries again."""
        while True:
            report: CallbackReport = await self._await_message(Status.AWAITING_CALLBACK, "callback", waiting_for)
            self._ticket.callback_attempts += 1
            if report.outcome != CallbackOutcome.UNREACHABLE:
                await self._step(Action.CUSTOMER_TOLD, report.note, outcome=report.outcome.value)
                return report.outcome
            await self._step(Action.CALLBACK_UNREACHABLE, report.note, attempt=str(self._ticket.callback_attempts))

    # --- change requests (R-CHG) -------------------------------------------------

    async def change_flow(self) -> None:
        t = self._ticket
        await self.review_if_urgent()
        if t.customer.role == CustomerRole.SENDER:
            await self._step(Action.SENDER_DECIDED, "requested by the sender", agreed="true")
        else:
            decision: SenderDecision = await self._await_message(Status.AWAITING_SENDER, "sender_decision",
                                                                 "the sender's confirmation")
            await self._step(Action.SENDER_DECIDED, decision.note, agreed=str(decision.agreed).lower())
            if not decision.agreed:
                await self._close("refused_by_sender", decision.note)
                return
        await self.dispatch(DispatchPurpose.ARRANGE_CHANGE)  # fresh and food first: the dispatch's priority
        reply = await self.await_station(f"station {t.station} to arrange the {t.change.action.value}")
        await self._step(Action.CUSTOMER_TOLD, reply.finding)
        await self._close("changed", reply.finding)

    # --- consult -------------------------------------------------------------

    async def consult(self, opening: TicketOpening) -> None:
        await self._step(Action.CUSTOMER_TOLD, opening.consult_answer or "")
        await self._close("answered")
