"""The ticket as a long-lived entity workflow, id `ticket-<id>` (SPEC §6).

One workflow type for every kind. It records the ticket, takes the call
(intake), runs the kind's flow and closes. Its collaborators are built here
and handed what they need: the runtime (state, inbox, recording, deadlines,
waits), the messenger, escalation, the station desk, the claims desk and one
flow per kind. Answers from agents, stations, the urgent group and the claims
team arrive as signals; API clients amend a ticket through an update whose
validator refuses what the flow can no longer take; reads are a query.
"""

from __future__ import annotations

from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.quality import QualityActivities
    from domain.claims import ClaimDecision
    from domain.flow import amend_refusal
    from domain.kinds import Kind
    from domain.liability import RulingOpening, responsible_unit
    from domain.messages import (
        Amendment,
        Assignment,
        CallbackReport,
        CustomerContact,
        InternalNote,
        Message,
        OfferAnswer,
        PenaltyDecision,
        ReviewResult,
        SenderDecision,
        StationAck,
        StationReply,
    )
    from domain.statuses import Status
    from domain.steps import Action
    from domain.ticket import Note, TicketOpening, TicketState
    from domain.urgency import assess_urgency
    from workflows.claims import ClaimsDesk
    from workflows.escalation import Escalation
    from workflows.flows.back_office import BackOfficeFlow
    from workflows.flows.change import ChangeFlow
    from workflows.flows.damage import DamageFlow
    from workflows.flows.intake import BACK_OFFICE_KINDS, Intake
    from workflows.flows.loss import LossFlow
    from workflows.flows.service import ServiceFlow
    from workflows.messenger import Messenger
    from workflows.runtime import IO_RETRY, IO_TIMEOUT, TicketRuntime, actor_of
    from workflows.stations import StationDesk
    from workflows.versions import Features


class Flow(Protocol):
    async def run(self) -> None: ...


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, opening: TicketOpening) -> None:
        self.rt = TicketRuntime(opening, Features.of_this_run())
        self.messenger = Messenger(self.rt)
        self.escalation = Escalation(self.rt, self.messenger)
        self.stations = StationDesk(self.rt, self.escalation, self.messenger)
        self.claims = ClaimsDesk(self.rt, self.messenger)
        self.intake = Intake(self.rt, self.messenger)

    def flow_for(self, kind: Kind) -> Flow | None:
        """The flow of SPEC §6 the ticket follows after intake; a consult has none (answered at once)."""
        if kind in BACK_OFFICE_KINDS:
            return BackOfficeFlow(self.rt, self.intake, self.stations, self.claims, self.messenger)
        if kind == Kind.LOSS:
            return LossFlow(self.rt, self.intake, self.stations, self.claims, self.messenger)
        if kind in (Kind.DAMAGE, Kind.SHORTAGE):
            return DamageFlow(self.rt, self.intake, self.stations, self.claims, self.messenger)
        if kind == Kind.SERVICE:
            return ServiceFlow(self.rt, self.stations, self.messenger)
        if kind == Kind.CHANGE:
            return ChangeFlow(self.rt, self.intake, self.stations, self.messenger)
        return None

    @workflow.run
    async def run(self, opening: TicketOpening) -> TicketState:
        t = self.rt.ticket
        if opening.carried_state is None:
            urgent = {"urgent": ", ".join(t.urgency.reasons)} if t.urgency.urgent else {}
            await self.rt.step(Action.OPENED, "ticket recorded", station=t.station, **urgent,
                               actor=opening.opened_by or "unknown")
            await self.intake.take_call(opening)
        else:
            self.escalation.resume()
            if self.rt.features.v3:
                self.messenger.resume()
        flow = self.flow_for(t.kind)
        if flow is not None and t.status != Status.CLOSED:
            await flow.run()
        self.escalation.stop()
        if self.rt.features.v6:
            await self.start_ruling()
        if self.rt.features.v3:  # what goes out beside the flow finishes before the run does
            await workflow.wait_condition(
                lambda: workflow.all_handlers_finished() and not self.rt.busy and not self.messenger.sending)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return t

    async def start_ruling(self) -> None:
        """v6, R-LIA-1: a closed ticket with a responsible unit produces its liability ruling, once."""
        t = self.rt.ticket
        unit = responsible_unit(t.kind, t.status, t.station, t.station_province, t.dispatch_round)
        if unit is None or t.closed_at is None:
            return
        opening = RulingOpening(ticket_id=t.ticket_id, carrier=t.carrier, kind=t.kind, unit=unit,
                                closed_at=t.closed_at, policy=self.rt.policy)
        await workflow.execute_activity_method(
            QualityActivities.start_liability_ruling, opening, start_to_close_timeout=IO_TIMEOUT,
            retry_policy=IO_RETRY, summary=f"R-LIA-1 start the liability ruling against {unit.station}")

    # --- messages -----------------------------------------------------------

    @workflow.query
    def view(self) -> TicketState:
        return self.rt.ticket

    @workflow.signal
    async def station_replied(self, reply: StationReply) -> None:
        await self.stations.reply_arrived(reply)

    @workflow.signal
    async def station_acknowledged(self, ack: StationAck) -> None:
        await self.stations.acknowledged(ack)

    @workflow.signal
    async def callback_done(self, report: CallbackReport) -> None:
        await self.rt.deliver(Message.CALLBACK, report)

    @workflow.signal
    async def customer_contacted(self, contact: CustomerContact) -> None:
        await self.rt.deliver(Message.CUSTOMER_CONTACT, contact)

    @workflow.signal
    async def urgent_reviewed(self, review: ReviewResult) -> None:
        await self.rt.deliver(Message.URGENT_REVIEW, review)

    @workflow.signal
    async def offer_answered(self, answer: OfferAnswer) -> None:
        await self.rt.deliver(Message.OFFER_ANSWER, answer)

    @workflow.signal
    async def sender_decided(self, decision: SenderDecision) -> None:
        await self.rt.deliver(Message.SENDER_DECISION, decision)

    @workflow.signal
    async def penalty_decided(self, decision: PenaltyDecision) -> None:
        await self.rt.deliver(Message.PENALTY_DECISION, decision)

    @workflow.signal
    async def claim_decided(self, decision: ClaimDecision) -> None:
        await self.rt.deliver(Message.CLAIM_DECISION, decision)

    @workflow.update
    async def amend(self, amendment: Amendment) -> TicketState:
        """PATCH: the caller gets the new state; a refused amendment changes nothing (validator)."""
        t = self.rt.ticket
        changed = amendment.changed_fields()
        if amendment.phone is not None:
            t.caller_phone_changed(amendment.phone)
        if amendment.description is not None:
            t.description = amendment.description
        if amendment.claim_details is not None:
            t.claim_details = t.claim_details.merged(amendment.claim_details)
        urgent = {}
        if amendment.shipment is not None:
            t.shipment = amendment.shipment
            if self.rt.features.v4:  # R-URG-1: the facts changed, so may their urgency
                was = t.urgency.urgent
                t.urgency = assess_urgency(t.shipment)
                if t.urgency.urgent != was:
                    urgent = {"urgent": str(t.urgency.urgent).lower()}
        await self.rt.step(Action.AMENDED, "amended by the API client", fields=", ".join(sorted(changed)),
                           **urgent, **actor_of(amendment))
        return t

    @amend.validator
    def _amend_allowed(self, amendment: Amendment) -> None:
        changed = amendment.changed_fields()
        if not changed:
            raise ValueError("nothing to change")
        t = self.rt.ticket
        why = amend_refusal(t.status, changed, t.claim_filed_at is not None)
        if why is not None:
            raise ValueError(why)

    # --- the desk (issue 14) ---------------------------------------------------
    # New update handlers: histories from before them never call them, so they replay unchanged. Each
    # records one step and schedules nothing else; a closed ticket refuses them in the validator (and once
    # its workflow has completed, the API answers 409 itself).

    @workflow.update
    async def take(self, assignment: Assignment) -> TicketState:
        """An agent takes the ticket: the owner is the caller."""
        t = self.rt.ticket
        before = t.owner
        t.owner = assignment.owner
        await self.rt.step(Action.TAKEN, "taken", owner=assignment.owner, **({"from": before} if before else {}),
                           **actor_of(assignment))
        return t

    @take.validator
    def _take_allowed(self, assignment: Assignment) -> None:
        self._desk_allowed()
        if self.rt.ticket.owner == assignment.owner:
            raise ValueError(f"the ticket is already with {assignment.owner}")

    @workflow.update
    async def hand_over(self, assignment: Assignment) -> TicketState:
        """The ticket goes to another agent."""
        t = self.rt.ticket
        before = t.owner
        t.owner = assignment.owner
        await self.rt.step(Action.HANDED_OVER, f"handed over to {assignment.owner}", owner=assignment.owner,
                           **({"from": before} if before else {}), **actor_of(assignment))
        return t

    @hand_over.validator
    def _hand_over_allowed(self, assignment: Assignment) -> None:
        self._desk_allowed()
        if self.rt.ticket.owner == assignment.owner:
            raise ValueError(f"the ticket is already with {assignment.owner}")

    @workflow.update
    async def add_note(self, note: InternalNote) -> TicketState:
        """An internal note: kept on the ticket and its step log, never sent to anyone."""
        t = self.rt.ticket
        by = actor_of(note)
        t.notes.append(Note(at=workflow.now(), actor=by["actor"], text=note.text))
        await self.rt.step(Action.NOTE_ADDED, "internal note", text=note.text, **by)
        return t

    @add_note.validator
    def _note_allowed(self, note: InternalNote) -> None:
        self._desk_allowed()

    def _desk_allowed(self) -> None:
        if self.rt.ticket.status == Status.CLOSED:
            raise ValueError("the ticket is closed")
