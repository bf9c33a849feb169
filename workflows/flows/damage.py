"""Damage and shortage (R-DMG-1..5): accept or not, claim details, the courier's account, the offer, claims."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.acceptance import damage_acceptance
    from domain.deadlines import DeadlineKind
    from domain.messages import Message, OfferAnswer
    from domain.statuses import Status
    from domain.steps import Action
    from workflows.flows.desks import DeskFlow
    from workflows.runtime import actor_of


class DamageFlow(DeskFlow):
    async def run(self) -> None:
        rt, t = self.rt, self.rt.ticket
        if t.dispatch_round == 0:
            if t.status == Status.AWAITING_CLAIM_DETAILS:  # continued as new while the sender was asked
                await self.claims.resume_details()
            else:
                acceptance = damage_acceptance(t.shipment.signing)
                if not acceptance.accepted:
                    await self.intake.not_accepted(acceptance)
                    return
                await self.intake.review_if_urgent()
                await self.claims.collect_claim_details()  # R-DMG-3: ask the sender
            await self.stations.dispatch()  # R-DMG-3: verify with the courier
        if t.status == Status.AWAITING_STATION:
            await self.stations.await_reply("the courier's account, through the station")
            await self.claims.tell_claim_time_limit()
            await rt.step(Action.OFFER_MADE, "free re-shipment worth the freight of the damaged part",
                          rule="R-DMG-4")
        if t.status in (Status.AWAITING_STATION, Status.AWAITING_OFFER_ANSWER):
            promise = ((DeadlineKind.OFFER_ANSWER, rt.policy.clocks.offer_answer, "R-DMG-4 offer answer")
                       if rt.features.v3 else None)
            answer: OfferAnswer = await rt.await_message(Status.AWAITING_OFFER_ANSWER, Message.OFFER_ANSWER,
                                                         "the customer's answer to the offer", promise=promise,
                                                         on_breach=self.messenger.remind)
            await rt.step(Action.OFFER_ANSWERED, answer.note, accepted=str(answer.accepted).lower(),
                          **actor_of(answer))
            if answer.accepted:
                await rt.close("reshipped", answer.note, **actor_of(answer))
                return
            await self.claims.claim("re-shipment offer refused; supervisor and claims representative (R-DMG-4)")
        else:
            await self.claims.resume()
