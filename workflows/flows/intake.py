"""What happens before a kind's flow: the front desk's answer, consults, pickup's promise, the urgent review."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.acceptance import Acceptance
    from domain.deadlines import DeadlineKind
    from domain.flow import ACCEPTED_SCRIPT, DELAY_ANSWERS, FRONT_DESK_ANSWERS
    from domain.kinds import Kind
    from domain.messages import Message, ReviewResult
    from domain.shipment import check_status
    from domain.statuses import Status
    from domain.steps import Action
    from domain.ticket import TicketOpening
    from workflows.messenger import Messenger
    from workflows.runtime import TicketRuntime, actor_of

# The kinds the back office follows through a station and a callback (R-INQ-4, R-PU).
BACK_OFFICE_KINDS = frozenset({Kind.INQUIRY, Kind.DELAY, Kind.PICKUP})


class Intake:
    def __init__(self, runtime: TicketRuntime, messenger: Messenger) -> None:
        self.rt = runtime
        self.messenger = messenger

    async def take_call(self, opening: TicketOpening) -> None:
        """The call itself: the front desk may answer it, a consult is answered, a pickup is promised a
        reply; the back office's kinds pass the urgent review before anything is dispatched."""
        rt, t = self.rt, self.rt.ticket
        if t.kind in (Kind.INQUIRY, Kind.DELAY):
            if await self.front_desk(opening):
                return
            if rt.features.v3:  # R-CLK-1: the caller was promised a reply within 2 hours of the call
                await rt.start_deadline(DeadlineKind.REPLY, 1, rt.policy.clocks.reply_promise,
                                        "R-CLK-1 reply promise")
        if t.kind == Kind.CONSULT:
            await self.consult(opening)
            return
        if t.kind == Kind.PICKUP:  # R-PU: the customer is told to wait and promised a reply (R-CLK-1)
            await rt.start_deadline(DeadlineKind.REPLY, 1, rt.policy.clocks.reply_promise, "R-CLK-1 reply promise")
            await rt.step(Action.CUSTOMER_TOLD, "told to wait; handed to the team lead; reply within the promise")
        if t.kind in BACK_OFFICE_KINDS:
            await self.review_if_urgent()

    async def front_desk(self, opening: TicketOpening) -> bool:
        """R-INQ-1..3: the status check's answer; True when the customer accepted it and the ticket is done."""
        rt, t = self.rt, self.rt.ticket
        answer = check_status(t.shipment, opening.opened_on)
        t.front_desk_answer = FRONT_DESK_ANSWERS[answer]
        await rt.step(Action.STATUS_CHECKED, t.front_desk_answer, answer=answer.value)
        if opening.front_desk_resolved:
            await rt.close("answered_at_front_desk", "the customer accepted the front desk's answer")
            return True
        await rt.step(Action.CUSTOMER_TOLD, ACCEPTED_SCRIPT)  # SPEC §10: accepted, we will call back
        await self.messenger.tell_customer("accepted")
        if answer in DELAY_ANSWERS:
            await self.messenger.tell_customer("possible_delay")
        return False

    async def consult(self, opening: TicketOpening) -> None:
        await self.rt.step(Action.CUSTOMER_TOLD, opening.consult_answer or "")
        await self.rt.close("answered")

    async def review_if_urgent(self) -> None:
        """R-URG-2: an urgent ticket passes the urgent-handling group's review before dispatch."""
        rt, t = self.rt, self.rt.ticket
        if not t.urgency.urgent or t.reviewed_at is not None:
            return
        promise = ((DeadlineKind.URGENT_REVIEW, rt.policy.clocks.urgent_review, "R-URG-2 urgent review")
                   if rt.features.v3 else None)
        review: ReviewResult = await rt.await_message(Status.AWAITING_REVIEW, Message.URGENT_REVIEW,
                                                      "the urgent-handling group's review (R-URG-2)",
                                                      promise=promise, on_breach=self.messenger.remind)
        if not review.approved:  # the group may judge it ordinary after all
            t.urgency = t.urgency.model_copy(update={"urgent": False})
        t.reviewed_at = workflow.now()
        rt.set_status(Status.OPEN)
        reviewer = {"reviewer": review.reviewer} if review.reviewer else {}
        await rt.step(Action.REVIEWED, review.note, approved=str(review.approved).lower(), **reviewer,
                      **actor_of(review))

    async def not_accepted(self, acceptance: Acceptance) -> None:
        """R-DMG-1, R-LOSS-4: the reason is recorded and told to the customer."""
        self.rt.ticket.not_accepted_reason = acceptance.reason
        await self.rt.step(Action.NOT_ACCEPTED, acceptance.reason, rule=acceptance.rule)
        await self.rt.close("not_accepted", acceptance.reason, rule=acceptance.rule)
