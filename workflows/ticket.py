"""The ticket as a long-lived entity workflow, id `ticket-<id>` (SPEC §6).

One workflow type for every kind: it records the ticket, runs the kind's flow
(workflows/back_office.py, kinds.py, claims.py) and closes. Answers from
agents, stations, the urgent group and the claims team arrive as signals;
API clients amend a ticket through an update whose validator refuses what
the flow can no longer take; reads are a query.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.back_office import BackOffice
from workflows.base import (  # noqa: F401 - re-exported for the API and the worker
    BREACHED,
    CARRIER,
    ESCALATION_TIER,
    NEXT_DEADLINE,
    PROVINCE,
    SEARCH_ATTRIBUTES,
    STATION,
    TICKET_KIND,
    TICKET_STATUS,
    URGENT,
)
from workflows.claims import Claims
from workflows.escalation import Escalation
from workflows.kinds import KindFlows

with workflow.unsafe.imports_passed_through():
    from domain.claims import ClaimDecision
    from domain.flow import amend_refusal, refusal
    from domain.ticket import (
        Action,
        Amendment,
        CallbackReport,
        CustomerContact,
        DeadlineKind,
        Kind,
        OfferAnswer,
        PenaltyDecision,
        ReviewResult,
        SenderDecision,
        StationAck,
        StationReply,
        TicketOpening,
        TicketState,
    )

_BACK_OFFICE_KINDS = (Kind.INQUIRY, Kind.DELAY, Kind.PICKUP)


@workflow.defn
class TicketWorkflow(BackOffice, Claims, KindFlows, Escalation):
    @workflow.init
    def __init__(self, opening: TicketOpening) -> None:
        self._opening = opening
        self._policy = opening.policy
        self._ticket = opening.carried_state or TicketState.from_opening(opening, workflow.info().start_time)
        self._inbox = {}
        self._ladder_tasks = []

    @workflow.run
    async def run(self, opening: TicketOpening) -> TicketState:
        t = self._ticket
        if opening.carried_state is None:
            urgent = {"urgent": ", ".join(t.urgency.reasons)} if t.urgency.urgent else {}
            await self._step(Action.OPENED, "ticket recorded", station=t.station, **urgent)
            await self.intake(opening)
        else:
            self.resume_ladders()
        if t.kind in _BACK_OFFICE_KINDS:
            await self.back_office(opening)
        elif t.kind == Kind.LOSS:
            await self.loss_flow()
        elif t.kind in (Kind.DAMAGE, Kind.SHORTAGE):
            await self.damage_flow()
        elif t.kind == Kind.SERVICE:
            await self.service_flow()
        elif t.kind == Kind.CHANGE:
            await self.change_flow()
        self.stop_ladders()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return t

    async def intake(self, opening: TicketOpening) -> None:
        """What happens before the kind's back-office flow: the front desk's answer, consults,
        pickup's reply promise, the urgent review for the back-office kinds."""
        t = self._ticket
        if t.kind in (Kind.INQUIRY, Kind.DELAY) and await self.front_desk(opening):
            return
        if t.kind == Kind.CONSULT:
            await self.consult(opening)
            return
        if t.kind == Kind.PICKUP:  # R-PU: the customer is told to wait and promised a reply (R-CLK-1)
            await self._start(DeadlineKind.REPLY, 1, self._policy.clocks.reply_promise, "R-CLK-1 reply promise")
            await self._step(Action.CUSTOMER_TOLD, "told to wait; handed to the team lead; reply within the promise")
        if t.kind in _BACK_OFFICE_KINDS:
            await self.review_if_urgent()

    # --- messages -----------------------------------------------------------

    @workflow.query
    def view(self) -> TicketState:
        return self._ticket

    @workflow.signal
    async def station_replied(self, reply: StationReply) -> None:
        other = reply.station != self._ticket.station
        await self._deliver("station_reply", reply, why=(
            f"the reply came from station {reply.station}, but the ticket is with {self._ticket.station}"
            if other else None))

    @workflow.signal
    async def station_acknowledged(self, ack: StationAck) -> None:
        """R-CLK-2/3: the station took the dispatch on; its feedback (R-CLK-4) is still owed."""
        t = self._ticket
        why = refusal(t.status, "station_ack")
        if why is None and ack.station != t.station:
            why = f"the acknowledgement came from station {ack.station}, but the ticket is with {t.station}"
        answer = t.pending(DeadlineKind.DISPATCH_ANSWER) if why is None else None
        if answer is not None and answer.met_at is not None:
            why = "this dispatch was already answered"
        if why is not None:
            await self._step(Action.MESSAGE_IGNORED, why, message="station_ack")
            return
        answer.met_at = workflow.now()
        in_time = answer.breached_at is None
        await self._step(Action.STATION_ACKNOWLEDGED, ack.note, rule=answer.rule, round=str(t.dispatch_round),
                         in_time=str(in_time).lower())

    @workflow.signal
    async def callback_done(self, report: CallbackReport) -> None:
        await self._deliver("callback", report)

    @workflow.signal
    async def customer_contacted(self, contact: CustomerContact) -> None:
        await self._deliver("customer_contact", contact)

    @workflow.signal
    async def urgent_reviewed(self, review: ReviewResult) -> None:
        await self._deliver("urgent_review", review)

    @workflow.signal
    async def offer_answered(self, answer: OfferAnswer) -> None:
        await self._deliver("offer_answer", answer)

    @workflow.signal
    async def sender_decided(self, decision: SenderDecision) -> None:
        await self._deliver("sender_decision", decision)

    @workflow.signal
    async def penalty_decided(self, decision: PenaltyDecision) -> None:
        await self._deliver("penalty_decision", decision)

    @workflow.signal
    async def claim_decided(self, decision: ClaimDecision) -> None:
        await self._deliver("claim_decision", decision)

    @workflow.update
    async def amend(self, amendment: Amendment) -> TicketState:
        """PATCH: the caller gets the new state; a refused amendment changes nothing (validator)."""
        t = self._ticket
        changed = amendment.changed_fields()
        if amendment.phone is not None:
            t.customer = t.customer.model_copy(update={"phone": amendment.phone})
        if amendment.description is not None:
            t.description = amendment.description
        if amendment.claim_details is not None:
            t.claim_details = t.claim_details.merged(amendment.claim_details)
        if amendment.shipment is not None:
            t.shipment = amendment.shipment
        await self._step(Action.AMENDED, "amended by the API client", fields=", ".join(sorted(changed)))
        return t

    @amend.validator
    def _amend_allowed(self, amendment: Amendment) -> None:
        changed = amendment.changed_fields()
        if not changed:
            raise ValueError("nothing to change")
        why = amend_refusal(self._ticket.status, changed, self._ticket.claim_filed_at is not None)
        if why is not None:
            raise ValueError(why)
