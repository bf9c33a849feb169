"""The responsible station: dispatches, its acknowledgement and its reply (R-CLK-2/3/4, R-URG-2, R-ESC-6).

A dispatch that needs an answer starts the coordination deadline (R-CLK-4)
and the dispatch-answer deadline of its route (R-CLK-2 direct, R-CLK-3
associated), with the escalation ladders watching. The station's feedback
meets every open one of them, of every round (R-ESC-4).

v3: deadlines and ladders start at the dispatch instant whether or not the
station system takes the delivery; delivery goes beside the flow with retries
bounded by policy, a refusal (4xx) is not retried, and a dispatch that cannot
be delivered is recorded and its network manager told through the directory
(R-ESC-6). A dispatch that needs no answer (the loss declaration) has no
deadlines and no ladders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.tickets import TicketActivities
    from domain.deadlines import ANSWERED_BY_STATION, OWED_BY_STATION, Deadline, DeadlineKind
    from domain.dispatch import DISPATCH_RULES, DispatchOrder, DispatchPurpose, DispatchRoute
    from domain.escalation import notice_key
    from domain.flow import refusal
    from domain.messages import Message, StationAck, StationReply
    from domain.statuses import Status
    from domain.steps import Action
    from workflows.escalation import Escalation
    from workflows.messenger import Messenger
    from workflows.runtime import IO_RETRY, IO_TIMEOUT, OnBreach, TicketRuntime, actor_of

# What a station owes once dispatched: the dispatch taken on, and its feedback.
STATION_DEADLINES = (DeadlineKind.COORDINATION, DeadlineKind.DISPATCH_ANSWER)
# Dispatches that tell the station something and wait for nothing (v3: no deadlines, no ladders).
NEEDS_NO_ANSWER = frozenset({DispatchPurpose.DECLARE_LOSS})
# A station system that refuses a dispatch is not asked again; one that is down is, within the policy's bound.
_DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1),
                              non_retryable_error_types=["DispatchRefused"])


class StationDesk:
    def __init__(self, runtime: TicketRuntime, escalation: Escalation, messenger: Messenger) -> None:
        self.rt = runtime
        self.escalation = escalation
        self.messenger = messenger
        self._tasks: list[asyncio.Future[None]] = []

    async def dispatch(self, purpose: DispatchPurpose = DispatchPurpose.VERIFY,
                       status: Status | None = Status.AWAITING_STATION) -> Deadline | None:
        """Send the ticket to the responsible station: it takes the dispatch on under R-CLK-2 (direct) or
        R-CLK-3 (associated) and feeds back under the coordination deadline (R-CLK-4), ladders watching."""
        if self.rt.features.v3:
            return await self._dispatch(purpose, status)
        return await self._dispatch_v2(purpose, status)

    async def _dispatch(self, purpose: DispatchPurpose, status: Status | None) -> Deadline | None:
        rt, t = self.rt, self.rt.ticket
        route = t.dispatch_route
        deadline = answer = None
        if purpose not in NEEDS_NO_ANSWER:
            deadline, answer = await self._next_round_with_deadlines()
        else:
            t.dispatch_round += 1
        now = workflow.now()
        if status is not None:  # a station reply is taken only while the flow will read it
            rt.set_status(status)
        # R-LOSS-2: the origin station declares a confirmed loss (v4); everything else goes to the responsible one.
        station = (t.origin_station or t.station) if rt.features.v4 and purpose == DispatchPurpose.DECLARE_LOSS \
            else t.station
        order = DispatchOrder(
            ticket_id=t.ticket_id, round=t.dispatch_round, station=station, kind=t.kind, waybill=t.waybill,
            description=t.description, dispatched_at=deadline.started_at if deadline else now,
            due_at=deadline.due_at if deadline else None, purpose=purpose, priority=t.shipment.fresh_or_food,
            route=route, answer_due_at=answer.due_at if answer else None,
        )
        times = ({"due_at": deadline.due_at.isoformat(), "answer_due_at": answer.due_at.isoformat()}
                 if deadline and answer else {})
        await rt.step(Action.DISPATCHED, f"dispatched to station {station} ({purpose.value}, {route.value})",
                      round=str(t.dispatch_round), purpose=purpose.value, route=route.value, station=station,
                      **times)
        if deadline is not None:
            self.escalation.start(deadline)
        self._spawn(self._deliver(order))
        urgent = rt.policy.messages.urgent_dispatch
        if t.urgency.urgent and urgent is not None and t.dispatch_round == 1:  # R-URG-2: at dispatch
            self.messenger.send_beside(urgent, f"{t.ticket_id}:urgent-dispatch", "urgent dispatch (R-URG-2)")
        return deadline

    def _spawn(self, work: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(work))

    async def _deliver(self, order: DispatchOrder) -> None:
        """Beside the flow: the station system gets the dispatch, or the network manager hears it cannot."""
        rt = self.rt
        rt.delivering(+1)
        try:
            await workflow.execute_activity_method(
                TicketActivities.dispatch_to_station, order,
                start_to_close_timeout=IO_TIMEOUT,
                schedule_to_close_timeout=rt.policy.clocks.dispatch_delivery.amount,
                retry_policy=_DELIVERY_RETRY,
                summary=f"R-CLK-4 deliver dispatch round {order.round} ({order.purpose.value}) to station "
                        f"{order.station}",
            )
        except ActivityError as err:
            cause = getattr(err.cause, "message", None) or str(err.cause or err)
            await rt.step(Action.DISPATCH_UNDELIVERED, f"the station system did not take the dispatch: {cause}",
                          round=str(order.round), rule="R-ESC-6")
            await self.tell_network_manager("the station system cannot be reached", "R-ESC-6")
        finally:
            rt.delivering(-1)

    async def tell_network_manager(self, why: str, rule: str) -> None:
        """R-ESC-6, R-LOSS-1: the network manager is told through the directory (not the silent station's own
        outbox) to check the station and help; once a ticket, whichever rule asks first."""
        rt, t = self.rt, self.rt.ticket
        notice = rt.policy.messages.station_unreachable
        if notice is None or notice.role in t.told_roles:
            return
        t.told_roles.append(notice.role)
        t.network_manager_asked = True
        await rt.step(Action.ESCALATED, f"{notice.role} asked to assist: {why} ({rule})", ladder="assist",
                      tier="1", rule=rule, role=notice.role)
        self.messenger.send_beside(notice.model_copy(update={"rule": rule}),
                                   notice_key(t.ticket_id, notice.role, "assist"), f"{why} ({rule})")

    async def _next_round_with_deadlines(self) -> tuple[Deadline, Deadline]:
        """The next dispatch round and its two deadlines from one instant: coordination (R-CLK-4) and the
        station's answer by the route (R-CLK-2 direct, R-CLK-3 associated)."""
        rt, t = self.rt, self.rt.ticket
        clocks, route = rt.policy.clocks, t.dispatch_route
        answer_measure = (clocks.direct_dispatch_answer if route == DispatchRoute.DIRECT
                          else clocks.associated_dispatch_answer)
        started, due = await rt.due(clocks.coordination_deadline, "R-CLK-4 coordination")
        _, answer_due = await rt.due(answer_measure, f"{DISPATCH_RULES[route]} dispatch answer", start=started)
        t.dispatch_round += 1
        deadline = t.start_deadline(DeadlineKind.COORDINATION, t.dispatch_round, clocks.coordination_deadline,
                                    started, due)
        answer = t.start_deadline(DeadlineKind.DISPATCH_ANSWER, t.dispatch_round, answer_measure, started,
                                  answer_due, rule=DISPATCH_RULES[route])
        return deadline, answer

    async def _dispatch_v2(self, purpose: DispatchPurpose, status: Status | None) -> Deadline:
        rt, t = self.rt, self.rt.ticket
        route = t.dispatch_route
        deadline, answer = await self._next_round_with_deadlines()
        started = deadline.started_at
        needs_answer = purpose != DispatchPurpose.DECLARE_LOSS
        if not needs_answer:
            deadline.met_at = answer.met_at = started
        if status is not None:  # a station reply is taken only while the flow will read it
            rt.set_status(status)
        await workflow.execute_activity_method(
            TicketActivities.dispatch_to_station,
            DispatchOrder(
                ticket_id=t.ticket_id, round=t.dispatch_round, station=t.station, kind=t.kind,
                waybill=t.waybill, description=t.description, dispatched_at=started, due_at=deadline.due_at,
                purpose=purpose, priority=t.shipment.fresh_or_food, route=route, answer_due_at=answer.due_at,
            ),
            start_to_close_timeout=IO_TIMEOUT,
            retry_policy=IO_RETRY,
            summary=(f"R-CLK-4 dispatch round {t.dispatch_round} ({purpose.value}, {route.value}) "
                     f"to station {t.station}"),
        )
        await rt.step(Action.DISPATCHED, f"dispatched to station {t.station} ({purpose.value}, {route.value})",
                      round=str(t.dispatch_round), purpose=purpose.value, route=route.value,
                      due_at=deadline.due_at.isoformat(), answer_due_at=answer.due_at.isoformat())
        if needs_answer:
            self.escalation.start(deadline)
        urgent = rt.policy.messages.urgent_dispatch
        if t.urgency.urgent and urgent is not None and t.dispatch_round == 1:  # R-URG-2: at dispatch
            if await self.messenger.notify(urgent, f"{t.ticket_id}:urgent-dispatch", "urgent dispatch (R-URG-2)"):
                await rt.step(Action.MESSAGE_SENT, f"{urgent.role} told of the urgent dispatch", rule=urgent.rule)
        return deadline

    # --- what the station sends --------------------------------------------------

    async def reply_arrived(self, reply: StationReply) -> None:
        """Signal: the station's reply goes to the inbox, if it is from the ticket's station."""
        t = self.rt.ticket
        other = (f"the reply came from station {reply.station}, but the ticket is with {t.station}"
                 if reply.station != t.station else None)
        await self.rt.deliver(Message.STATION_REPLY, reply, why=other)

    async def acknowledged(self, ack: StationAck) -> None:
        """Signal, R-CLK-2/3: the station took the dispatch on; its feedback (R-CLK-4) is still owed."""
        rt, t = self.rt, self.rt.ticket
        why = refusal(t.status, Message.STATION_ACK)
        if why is None and ack.station != t.station:
            why = f"the acknowledgement came from station {ack.station}, but the ticket is with {t.station}"
        answer = t.pending(DeadlineKind.DISPATCH_ANSWER) if why is None else None
        if answer is not None and (answer.met_at is not None or answer.answered_late_at is not None):
            why = "this dispatch was already answered"
        if why is not None or answer is None:
            await rt.step(Action.MESSAGE_IGNORED, why or "", message=Message.STATION_ACK.value,
                          content=ack.model_dump_json(), **actor_of(ack))
            return
        in_time = answer.breached_at is None
        answer.answered(workflow.now())  # breached before the station took it on: it stays breached
        await rt.step(Action.STATION_ACKNOWLEDGED, ack.note, rule=answer.rule, round=str(t.dispatch_round),
                      in_time=str(in_time).lower(), **actor_of(ack))

    async def await_reply(self, waiting_for: str, watch: tuple[DeadlineKind, ...] = STATION_DEADLINES,
                          until: DeadlineKind | None = None, on_breach: OnBreach | None = None,
                          before_recording: Callable[[], Awaitable[None]] | None = None,
                          hold: bool = False) -> StationReply | Deadline:
        """Wait for the station's reply under its deadlines; take it, meet the station's deadlines and record
        it. Returns the reply, or the `until` timer if that passed first."""
        rt = self.rt
        fell_due = await rt.wait_for(rt.arrived(Message.STATION_REPLY), watch, waiting_for, until=until,
                                     on_breach=on_breach)
        if fell_due is not None:
            return fell_due
        reply: StationReply = rt.take(Message.STATION_REPLY, hold=hold)
        self.answered()
        if before_recording is not None:
            await before_recording()
        extra = {"parcel_status": reply.parcel_status.value} if reply.parcel_status else {}
        await rt.step(Action.STATION_REPLIED, reply.finding, round=str(rt.ticket.dispatch_round), **extra,
                      **actor_of(reply))
        return reply

    def answered(self) -> None:
        """The station's feedback meets every open coordination and dispatch-answer deadline, of every
        round: feedback at any point stops every ladder (R-ESC-4). v3: for good, and it is the answer
        the escalated roles owed; a breached deadline stays breached (it ends in exactly one way)."""
        now = workflow.now()
        t = self.rt.ticket
        if not self.rt.features.v3:
            for deadline in t.deadlines:
                if deadline.kind in ANSWERED_BY_STATION and deadline.met_at is None:
                    deadline.met_at = now  # kept after a breach too: how late the answer came
            return
        if t.station_fed_back_at is None:
            t.station_fed_back_at = now
        for deadline in t.deadlines:
            if deadline.kind in OWED_BY_STATION:
                deadline.answered(now)
