"""Change requests (R-CHG): confirmed with the sender unless the sender asks; the station arranges it."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.customer import CustomerRole
    from domain.deadlines import DeadlineKind
    from domain.dispatch import DispatchPurpose
    from domain.messages import Message, SenderDecision, StationReply
    from domain.statuses import Status
    from domain.steps import Action
    from workflows.flows.intake import Intake
    from workflows.messenger import Messenger
    from workflows.runtime import TicketRuntime, actor_of
    from workflows.stations import StationDesk


class ChangeFlow:
    def __init__(self, runtime: TicketRuntime, intake: Intake, stations: StationDesk, messenger: Messenger) -> None:
        self.rt = runtime
        self.intake = intake
        self.stations = stations
        self.messenger = messenger

    async def run(self) -> None:
        rt, t = self.rt, self.rt.ticket
        if t.dispatch_round == 0:
            await self.intake.review_if_urgent()
            if t.customer.role == CustomerRole.SENDER:
                await rt.step(Action.SENDER_DECIDED, "requested by the sender", agreed="true")
            else:
                promise = ((DeadlineKind.SENDER_DECISION, rt.policy.clocks.sender_decision, "R-CHG sender decision")
                           if rt.features.v3 else None)
                decision: SenderDecision = await rt.await_message(Status.AWAITING_SENDER, Message.SENDER_DECISION,
                                                                  "the sender's confirmation", promise=promise,
                                                                  on_breach=self.messenger.remind)
                await rt.step(Action.SENDER_DECIDED, decision.note, agreed=str(decision.agreed).lower(),
                              **actor_of(decision))
                if not decision.agreed:
                    await rt.close("refused_by_sender", decision.note, **actor_of(decision))
                    return
            await self.stations.dispatch(DispatchPurpose.ARRANGE_CHANGE)  # fresh and food first: its priority
        action = t.change.action.value if t.change else "change"
        reply = await self.stations.await_reply(f"station {t.station} to arrange the {action}")
        assert isinstance(reply, StationReply)  # no `until` timer: only the reply ends the wait
        await rt.step(Action.CUSTOMER_TOLD, reply.finding, **actor_of(reply))
        await rt.close("changed", reply.finding, **actor_of(reply))
