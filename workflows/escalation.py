"""Escalation ladders (SPEC §5, R-CLK-9): who is told, in order, once, while a station stays silent.

A dispatch that needs an answer gets its ladders as background tasks of the
workflow. A tier waits for its instant (working time, computed once and kept
on the ticket), unless what resolves it comes first. Each tier's message has
a deterministic key, so it goes out once (R-ESC-5).

v3: a ladder runs once per ticket, keyed without the dispatch round, and the
first feedback, a confirmed loss, a filed claim or the close stop every ladder
for good (R-ESC-4). Each escalation role is told of a ticket once. A tier with
`answer_within` starts a deadline of its own (R-ESC-3: HQ's hour; R-CLK-9:
the team lead's 24 h), met by the station's feedback, superseded by the rest.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.deadlines import Deadline, DeadlineKind
    from domain.escalation import escalation_stop, ladder_key, ladders_for, message_key
    from domain.policy import Ladder, Notice
    from domain.statuses import Status
    from domain.steps import Action
    from workflows.messenger import Messenger
    from workflows.runtime import Arrived, TicketRuntime


class Escalation:
    def __init__(self, runtime: TicketRuntime, messenger: Messenger) -> None:
        self.rt = runtime
        self.messenger = messenger
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, coordination: Deadline) -> None:
        t = self.rt.ticket
        if self.rt.features.v3 and escalation_stop(t) is not None:
            return
        for ladder in ladders_for(self.rt.policy, t.kind.value, t.urgency.urgent):
            if not self.rt.features.v3:
                self._tasks.append(asyncio.create_task(self.run_ladder(ladder, coordination)))
            elif not any(p.ladder == ladder.name for p in t.ladders):  # once per ticket
                t.ladder(ladder.name, coordination.round)
                self._tasks.append(asyncio.create_task(self.climb(ladder, coordination)))

    def resume(self) -> None:
        """After continue-as-new: the ladders still climbing go on where they were."""
        t = self.rt.ticket
        if not self.rt.features.v3:
            for d in t.deadlines:
                if d.kind == DeadlineKind.COORDINATION and d.met_at is None:
                    self.start(d)
            return
        if escalation_stop(t) is not None:
            return
        for ladder in ladders_for(self.rt.policy, t.kind.value, t.urgency.urgent):
            progress = next((p for p in t.ladders if p.ladder == ladder.name), None)
            coordination = next((d for d in t.deadlines if progress and d.kind == DeadlineKind.COORDINATION
                                 and d.round == progress.round), None)
            if progress is not None and coordination is not None:
                self._tasks.append(asyncio.create_task(self.climb(ladder, coordination)))
        for owed in t.deadlines:
            if owed.kind == DeadlineKind.ESCALATION_ANSWER and not owed.ended:
                self._tasks.append(asyncio.create_task(self._owed(owed)))

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def run_ladder(self, ladder: Ladder, coordination: Deadline) -> None:
        rt = self.rt
        progress = rt.ticket.ladder(ladder.name, coordination.round)
        answered: Arrived = lambda: coordination.met_at is not None or rt.ticket.status == Status.CLOSED  # noqa: E731
        at = coordination.due_at if ladder.start == "coordination_deadline" else coordination.started_at
        for n, tier in enumerate(ladder.tiers, 1):
            if rt.features.v2 and len(progress.due) >= n:
                at = progress.due[n - 1]  # computed before this run continued as new: it stays
            else:
                _, at = await rt.due(tier.after, f"{tier.rule} {ladder.name} tier {n}", start=at)
                if len(progress.due) < n:
                    progress.due.append(at)
            if rt.ticket.told(ladder.name, coordination.round, n):
                continue  # sent before this run continued as new
            summary = f"{tier.rule} {ladder.name} tier {n}: {tier.role}"
            if await self._answered_before(at, answered, summary):
                return  # R-ESC-4: feedback stops the ladder
            rt.sending(+1)
            try:
                sent = await self.messenger.notify(
                    Notice(rule=tier.rule, role=tier.role, template=tier.template),
                    message_key(rt.ticket.ticket_id, ladder.name, f"r{coordination.round}", f"t{n}"),
                    f"{ladder.name} round {coordination.round} tier {n} ({tier.rule})",
                    tier=str(n), due=coordination.due_at.isoformat())
                if sent:
                    progress.told.append(n)
                    await rt.step(Action.ESCALATED, f"{ladder.name} tier {n}: {tier.role} told ({tier.rule})",
                                  ladder=ladder.name, tier=str(n), rule=tier.rule, role=tier.role,
                                  round=str(coordination.round))
            finally:
                rt.sending(-1)
        last = ladder.tiers[-1]
        if last.answer_within is not None:  # R-ESC-3: HQ gets the answer within the hour, or it is a breach
            owed = next((d for d in rt.ticket.deadlines if d.kind == DeadlineKind.ESCALATION_ANSWER
                         and d.round == coordination.round and d.rule == last.rule), None) if rt.features.v2 else None
            if owed is None:
                started, due = await rt.due(last.answer_within, f"{last.rule} answer", start=at)
                owed = rt.ticket.start_deadline(DeadlineKind.ESCALATION_ANSWER, coordination.round,
                                                last.answer_within, started, due, rule=last.rule)
            if owed.met_at is not None or owed.breached_at is not None:
                return
            if await self._answered_before(owed.due_at, answered, f"{last.rule} answer owed by {last.role}"):
                owed.met_at = workflow.now()
                return
            owed.breached_at = owed.due_at
            await rt.step(Action.DEADLINE_BREACHED, f"{last.rule}: {last.role} did not get an answer in time",
                          deadline=owed.kind.value, rule=last.rule, due_at=owed.due_at.isoformat())

    # --- v3 -----------------------------------------------------------------------------------

    async def climb(self, ladder: Ladder, coordination: Deadline) -> None:
        """Tell each tier's role at its instant, unless the ladder is stopped for good first."""
        rt, t = self.rt, self.rt.ticket
        progress = next(p for p in t.ladders if p.ladder == ladder.name)
        stopped = lambda: escalation_stop(t) is not None  # noqa: E731
        at = coordination.due_at if ladder.start == "coordination_deadline" else coordination.started_at
        for n, tier in enumerate(ladder.tiers, 1):
            if len(progress.due) >= n:
                at = progress.due[n - 1]  # computed before: it stays
            else:
                _, at = await rt.due(tier.after, f"{tier.rule} {ladder.name} tier {n}", start=at)
                progress.due.append(at)
            if n in progress.told:
                continue
            if await self._answered_before(at, stopped, f"{tier.rule} {ladder.name} tier {n}: {tier.role}"):
                return  # R-ESC-4: stopped for good
            if tier.role in t.told_roles:  # told of this ticket already (another ladder, R-LOSS-1): not twice
                progress.told.append(n)
                continue
            t.told_roles.append(tier.role)  # taken before the send: a rule asking at the same instant waits
            notice = Notice(rule=tier.rule, role=tier.role, template=tier.template)
            key, purpose = ladder_key(t.ticket_id, ladder.name, n), f"{ladder.name} tier {n} ({tier.rule})"
            if rt.features.v8:  # stopped while the text is still on its way (the provider down): withdrawn
                rt.sending(+1)
                try:
                    sent = await self.messenger.notify_unless(stopped, notice, key, purpose, tier=str(n),
                                                              due=coordination.due_at.isoformat())
                finally:
                    rt.sending(-1)
            else:
                sent = await self.messenger.notify(notice, key, purpose, tier=str(n),
                                                   due=coordination.due_at.isoformat())
            progress.told.append(n)
            if sent is None:
                await rt.step(Action.ESCALATION_WITHDRAWN, f"{ladder.name} tier {n}: the text to {tier.role} was "
                              f"still on its way when the ladder stopped: {escalation_stop(t)}; not sent",
                              ladder=ladder.name, tier=str(n), rule=tier.rule, role=tier.role, key=key)
                return
            if not sent:
                continue
            owed = None
            if tier.answer_within is not None and not stopped():  # this role owes an answer by a deadline
                started, due = await rt.due(tier.answer_within, f"{tier.rule} answer", start=at)
                owed = t.start_deadline(DeadlineKind.ESCALATION_ANSWER, coordination.round, tier.answer_within,
                                        started, due, rule=tier.rule)
            await rt.step(Action.ESCALATED, f"{ladder.name} tier {n}: {tier.role} told ({tier.rule})",
                          ladder=ladder.name, tier=str(n), rule=tier.rule, role=tier.role,
                          round=str(coordination.round))
            if owed is not None:
                self._tasks.append(asyncio.create_task(self._owed(owed)))

    async def _owed(self, owed: Deadline) -> None:
        """A role told owes an answer by `owed`: met by the station's feedback, superseded when the ticket
        moves past it, breached if neither comes first."""
        if await self._answered_before(owed.due_at, lambda: owed.ended, f"{owed.rule} answer owed"):
            return
        owed.breached_at = owed.due_at
        await self.rt.step(Action.DEADLINE_BREACHED, f"{owed.rule}: the answer owed did not come in time",
                           deadline=owed.kind.value, rule=owed.rule, due_at=owed.due_at.isoformat())

    @staticmethod
    async def _answered_before(at: datetime, answered: Arrived, summary: str) -> bool:
        """Whether the answer came by `at` (a ladder's own wait: it never continues the run as new)."""
        remaining = at - workflow.now()
        if remaining <= timedelta(0):
            return answered()
        try:
            await workflow.wait_condition(answered, timeout=remaining, timeout_summary=summary)
            return True
        except TimeoutError:
            return False
