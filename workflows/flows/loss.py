"""Loss (R-LOSS-1..5, R-CLK-5): search with the station for 7 days, then confirm, declare and claim."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.acceptance import loss_acceptance
    from domain.customer import CustomerRole
    from domain.deadlines import OWED_BY_STATION, Deadline, DeadlineKind
    from domain.dispatch import DispatchPurpose
    from domain.flow import COMPENSATION_TO_SENDER, claim_time_limit, parcel_found
    from domain.statuses import Status
    from domain.steps import Action
    from workflows.claims import CLAIM_STATUSES
    from workflows.flows.desks import DeskFlow
    from workflows.runtime import actor_of


class LossFlow(DeskFlow):
    async def run(self) -> None:
        rt, t = self.rt, self.rt.ticket
        if t.dispatch_round == 0:
            acceptance = loss_acceptance(t.shipment)
            if not acceptance.accepted:
                await self.intake.not_accepted(acceptance)
                return
            await self.intake.review_if_urgent()
            await rt.start_deadline(DeadlineKind.LOSS_CONFIRMATION, 1, rt.policy.clocks.loss_confirmation,
                                    "R-CLK-5 loss confirmation")
            await self.stations.dispatch()  # R-LOSS-1: verify with the responsible link
        if t.status == Status.AWAITING_STATION and t.pending(DeadlineKind.LOSS_CONFIRMATION).met_at is None:
            await self.search()
        elif t.status in CLAIM_STATUSES:
            await self.claims.resume()

    async def search(self) -> None:
        """R-LOSS-1: the station searches until the parcel is found (R-LOSS-3) or the loss is confirmed."""
        rt, t = self.rt, self.rt.ticket
        while True:
            outcome = await self.stations.await_reply("the station's search for the parcel",
                                                      until=DeadlineKind.LOSS_CONFIRMATION,
                                                      on_breach=self.station_silent)
            if isinstance(outcome, Deadline):
                await self.confirm_loss()
                return
            if parcel_found(outcome.parcel_status):  # R-LOSS-3
                t.pending(DeadlineKind.LOSS_CONFIRMATION).met_at = workflow.now()
                await rt.step(Action.CUSTOMER_TOLD, f"parcel found: {outcome.finding}", **actor_of(outcome))
                await rt.close("found", outcome.finding, **actor_of(outcome))
                return
            if outcome.station_suspended:
                await self.ask_network_manager("the station is suspended")
            # Not found yet: the search goes on until the loss is confirmed.

    async def station_silent(self, deadline: Deadline) -> None:
        if deadline.kind == DeadlineKind.COORDINATION:
            await self.ask_network_manager("the station did not answer by the coordination deadline")

    async def ask_network_manager(self, why: str) -> None:
        """R-LOSS-1: the network manager checks the station and helps locate the parcel (once a ticket).
        v3: told through the directory, not the silent station's own outbox, and never twice (R-ESC-6)."""
        rt, t = self.rt, self.rt.ticket
        if rt.features.v3:
            await self.stations.tell_network_manager(why, "R-LOSS-1")
            return
        if t.network_manager_asked or any(s.data.get("purpose") == DispatchPurpose.NETWORK_MANAGER for s in t.steps):
            return
        t.network_manager_asked = True
        await rt.step(Action.CUSTOMER_TOLD, f"network manager asked to assist: {why}", rule="R-LOSS-1")
        await self.stations.dispatch(DispatchPurpose.NETWORK_MANAGER)

    async def confirm_loss(self) -> None:
        """R-LOSS-2: 7 days without result confirm the loss; R-LOSS-5: to claims."""
        rt, t = self.rt, self.rt.ticket
        if rt.features.v3:  # the search is over: what the station and the ladders owed is moot, and stops
            t.loss_confirmed_at = workflow.now()
            await rt.supersede(OWED_BY_STATION, "the loss is confirmed (R-LOSS-2)")
        await rt.step(Action.LOSS_CONFIRMED, "no result within the loss-confirmation period", rule="R-LOSS-2")
        await self.stations.dispatch(DispatchPurpose.DECLARE_LOSS, status=None)  # the origin station declares it
        if rt.features.v4:  # R-LOSS-5: the recipient hears the sender is compensated; the sender is asked
            limit = str(rt.policy.clocks.claim_window_days)
            if t.recipient.phone or t.customer.role == CustomerRole.RECIPIENT:
                await rt.step(Action.CUSTOMER_TOLD, COMPENSATION_TO_SENDER, rule="R-LOSS-5", to="recipient")
                await self.messenger.tell_customer("compensation_to_sender", limit_days=limit)
            await rt.step(Action.CUSTOMER_TOLD, claim_time_limit(rt.policy.clocks.claim_window_days),
                          rule="R-CLK-6", to="sender")
            await self.messenger.tell_customer("written_claim", limit_days=limit)
        else:
            if t.customer.role == CustomerRole.RECIPIENT:
                await rt.step(Action.CUSTOMER_TOLD, COMPENSATION_TO_SENDER, rule="R-LOSS-5")
            await self.claims.tell_claim_time_limit()
            await self.messenger.tell_customer("loss_confirmed", limit_days=str(rt.policy.clocks.claim_window_days))
        await self.claims.claim("loss confirmed (R-LOSS-2)")
