"""Escalation ladders and notices (SPEC §5, R-CLK-9, R-URG-2): who is told, in order, once.

Each dispatch gets its ladders as background tasks of the workflow. A tier
waits for its instant (working time, computed once), unless the station's
feedback comes first: feedback at any point stops the ladder (R-ESC-4). Each
tier's message has a deterministic key, so it goes out once per ticket and
round (R-ESC-5).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.base import TicketBase

with workflow.unsafe.imports_passed_through():
    from activities.messages import MessageActivities, MessageRequest
    from domain.escalation import CUSTOMER, ladders_for, message_key, render, scope_for
    from domain.policy import Ladder, Notice
    from domain.ticket import Action, Deadline, DeadlineKind, Status

_SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
_SEND_TIMEOUT = timedelta(seconds=60)  # a status query and a send, each with the driver's own timeout


class Escalation(TicketBase):
    _ladder_tasks: list[asyncio.Task]

    def start_ladders(self, coordination: Deadline) -> None:
        t = self._ticket
        for ladder in ladders_for(self._policy, t.kind.value, t.urgency.urgent):
            self._ladder_tasks.append(asyncio.create_task(self.run_ladder(ladder, coordination)))

    def resume_ladders(self) -> None:
        """After continue-as-new: ladders of the dispatches still unanswered go on where they were."""
        for d in self._ticket.deadlines:
            if d.kind == DeadlineKind.COORDINATION and d.met_at is None:
                self.start_ladders(d)

    def _escalated(self, ladder: str, round: int, tier: int) -> bool:
        return any(s.action == Action.ESCALATED and s.data.get("ladder") == ladder and s.data.get("round") == str(round)
                   and s.data.get("tier") == str(tier) for s in self._ticket.steps)

    def stop_ladders(self) -> None:
        for task in self._ladder_tasks:
            task.cancel()

    async def run_ladder(self, ladder: Ladder, coordination: Deadline) -> None:
        answered = lambda: coordination.met_at is not None or self._ticket.status == Status.CLOSED  # noqa: E731
        at = coordination.due_at if ladder.start == "coordination_deadline" else coordination.started_at
        for n, tier in enumerate(ladder.tiers, 1):
            _, at = await self._due(tier.after, f"{tier.rule} {ladder.name} tier {n}", start=at)
            if self._escalated(ladder.name, coordination.round, n):
                continue  # sent before this run continued as new
            summary = f"{tier.rule} {ladder.name} tier {n}: {tier.role}"
            if await self._answered_before(at, answered, summary):
                return  # R-ESC-4: feedback stops the ladder
            sent = await self.notify(Notice(rule=tier.rule, role=tier.role, template=tier.template),
                                     message_key(self._ticket.ticket_id, ladder.name, f"r{coordination.round}", f"t{n}"),
                                     f"{ladder.name} round {coordination.round} tier {n} ({tier.rule})",
                                     tier=str(n), due=coordination.due_at.isoformat())
            if sent:
                await self._step(Action.ESCALATED, f"{ladder.name} tier {n}: {tier.role} told ({tier.rule})",
                                 ladder=ladder.name, tier=str(n), rule=tier.rule, role=tier.role,
                                 round=str(coordination.round))
        last = ladder.tiers[-1]
        if last.answer_within is not None:  # R-ESC-3: HQ gets the answer within the hour, or it is a breach
            started, due = await self._due(last.answer_within, f"{last.rule} answer", start=at)
            owed = self._ticket.start_deadline(DeadlineKind.ESCALATION_ANSWER, coordination.round,
                                               last.answer_within, started, due, rule=last.rule)
            if await self._answered_before(due, answered, f"{last.rule} answer owed by {last.role}"):
                owed.met_at = workflow.now()
                return
            owed.breached_at = due
            await self._step(Action.DEADLINE_BREACHED, f"{last.rule}: {last.role} did not get an answer in time",
                             deadline=owed.kind.value, rule=last.rule, due_at=due.isoformat())

    async def _answered_before(self, at: datetime, answered, summary: str) -> bool:
        remaining = at - workflow.now()
        if remaining <= timedelta(0):
            return answered()
        try:
            await workflow.wait_condition(answered, timeout=remaining, timeout_summary=summary)
            return True
        except TimeoutError:
            return False

    async def notify(self, notice: Notice, key: str, purpose: str, **params: str) -> bool:
        """Send one message through the SMS activity; a failure retrying cannot fix is recorded on the
        ticket for ops (nobody in the role, a refused template), never silently skipped."""
        t = self._ticket
        values = {"ticket": t.ticket_id, "waybill": t.waybill or "-", "station": t.station, "kind": t.kind.value,
                  "rule": notice.rule, **params}
        template = self._policy.messages.templates[notice.template]
        request = MessageRequest(
            key=key, ticket_id=t.ticket_id, purpose=purpose, role=notice.role,
            scope=scope_for(notice.role, t.station_province, t.carrier),
            phone=t.customer.phone if notice.role == CUSTOMER else None,
            template=notice.template, params=values, text=render(template, values), requested_at=workflow.now(),
        )
        try:
            await workflow.execute_activity_method(
                MessageActivities.send_message, request, start_to_close_timeout=_SEND_TIMEOUT,
                retry_policy=_SEND_RETRY, summary=f"{notice.rule}: SMS to {notice.role}",
            )
            return True
        except ActivityError as err:
            cause = getattr(err.cause, "message", None) or str(err.cause or err)
            await self._step(Action.MESSAGE_FAILED, cause, rule=notice.rule, role=notice.role, purpose=purpose)
            return False

    async def tell_customer(self, event: str, **params: str) -> None:
        """A message to the customer at a step the manuals name, if the policy has one for it."""
        notice = self._policy.messages.customer.get(event)
        if notice is not None and await self.notify(notice, message_key(self._ticket.ticket_id, CUSTOMER, event),
                                                    f"customer {event}", **params):
            await self._step(Action.MESSAGE_SENT, f"customer told: {event}", rule=notice.rule, message=event)
