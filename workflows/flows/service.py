"""Service attitude (R-SVC): apologise; if not accepted, the station's head decides a penalty; follow up."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.deadlines import DeadlineKind
    from domain.dispatch import DispatchPurpose
    from domain.escalation import notice_key
    from domain.flow import APOLOGY_SCRIPT
    from domain.messages import CallbackOutcome, CallbackReport, Message, PenaltyDecision
    from domain.statuses import Status
    from domain.steps import Action
    from domain.ticket import ServiceTarget
    from workflows.messenger import Messenger
    from workflows.runtime import TicketRuntime, actor_of
    from workflows.stations import STATION_DEADLINES, StationDesk


class ServiceFlow:
    def __init__(self, runtime: TicketRuntime, stations: StationDesk, messenger: Messenger) -> None:
        self.rt = runtime
        self.stations = stations
        self.messenger = messenger

    async def ask_team_lead(self) -> None:
        """R-SVC: the complaint about an agent goes to the team lead through the directory (v4)."""
        rt, t = self.rt, self.rt.ticket
        t.penalty_asked = True
        rt.set_status(Status.AWAITING_PENALTY)
        notice = rt.policy.messages.service_agent
        await rt.step(Action.ESCALATED, "team lead asked to decide on the agent's attitude (R-SVC)",
                      ladder="service", tier="1", rule="R-SVC", role=notice.role if notice else "team_lead")
        if notice is not None:
            self.messenger.send_beside(notice, notice_key(t.ticket_id, notice.role, "service"),
                                       "complaint about an agent (R-SVC)")

    async def run(self) -> None:
        rt, t = self.rt, self.rt.ticket
        if t.status == Status.OPEN:
            await rt.step(Action.APOLOGISED, APOLOGY_SCRIPT)
        about_agent = rt.features.v4 and t.service_target == ServiceTarget.AGENT
        if t.dispatch_round == 0 and not t.penalty_asked:
            answer = await self.customer_says("the customer's answer to the apology")
            if answer.outcome == CallbackOutcome.RESOLVED:
                await rt.close("apology_accepted", **actor_of(answer))
                return
            if about_agent:  # R-SVC: an agent's attitude is the team lead's to judge, within 24 h (R-CLK-9)
                await self.ask_team_lead()
            else:  # a courier's or a station's: the responsible station's head
                await self.stations.dispatch(DispatchPurpose.STATION_HEAD, status=Status.AWAITING_PENALTY)
        if t.status == Status.AWAITING_PENALTY:
            if about_agent:
                penalty: PenaltyDecision = await rt.await_message(
                    Status.AWAITING_PENALTY, Message.PENALTY_DECISION, "the team lead's decision on the agent",
                    promise=(DeadlineKind.PENALTY_DECISION, rt.policy.clocks.penalty_decision,
                             "R-SVC team lead decision"), on_breach=self.messenger.remind)
            else:
                penalty = await rt.await_message(
                    Status.AWAITING_PENALTY, Message.PENALTY_DECISION, "the station head's penalty decision",
                    watch=STATION_DEADLINES)
                self.stations.answered()
            await rt.step(Action.PENALTY_DECIDED, penalty.decision, penalised=str(penalty.penalised).lower(),
                          **actor_of(penalty))
        follow_up = await self.customer_says("the follow-up on the customer's satisfaction")
        await rt.close("satisfied" if follow_up.outcome == CallbackOutcome.RESOLVED else "dissatisfied",
                       **actor_of(follow_up))

    async def customer_says(self, waiting_for: str) -> CallbackReport:
        """A callback that reaches the customer: resolved (accepts) or disputed (does not); an
        unreachable attempt is recorded and the agent tries again."""
        rt, t = self.rt, self.rt.ticket
        while True:
            report: CallbackReport = await rt.await_message(Status.AWAITING_CALLBACK, Message.CALLBACK, waiting_for)
            t.callback_attempts += 1
            if report.outcome != CallbackOutcome.UNREACHABLE:
                await rt.step(Action.CUSTOMER_TOLD, report.note, outcome=report.outcome.value, **actor_of(report))
                return report
            await rt.step(Action.CALLBACK_UNREACHABLE, report.note, attempt=str(t.callback_attempts),
                          **actor_of(report))
