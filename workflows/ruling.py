"""A liability ruling as its own durable workflow, id `ruling-<ticket id>` (SPEC §8, R-LIA, R-CLK-8).

Started once by the ticket's close (activities/quality.py). The responsible unit has 5 working days
on the policy's calendar to accept (detailing the liability) or appeal; silence past the instant is a
breach and the ruling stands. An appeal goes to HQ arbitration with its own 5 working days; a missed
arbitration deadline is recorded as a breach and arbitration still decides. Every step is recorded.
Deadlines are computed once in a local activity (the holiday source), kept in history.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.calendar import ClockActivities, DeadlineRequest
    from activities.quality import QualityActivities, RulingRecord
    from domain.liability import (
        Acceptance,
        Appeal,
        Arbitration,
        Ruling,
        RulingAnswer,
        RulingOpening,
        RulingState,
        answer_refusal,
    )
    from domain.policy import Duration
    from workflows.runtime import IO_RETRY, IO_TIMEOUT

_LOCAL_TIMEOUT = timedelta(seconds=10)


@workflow.defn
class RulingWorkflow:
    @workflow.init
    def __init__(self, opening: RulingOpening) -> None:
        self.opening = opening
        self.ruling = Ruling.issued(opening, workflow.info().start_time)
        self.answer: tuple[RulingAnswer, BaseModel] | None = None
        self._ignored: list[tuple[RulingAnswer, BaseModel, str]] = []

    @workflow.run
    async def run(self, opening: RulingOpening) -> Ruling:
        r = self.ruling
        r.unit_due_at = await self._due(opening.policy.clocks.liability_ruling, r.issued_at, "R-CLK-8 unit's answer")
        await self._record("issued", f"ruling against {r.station}: accept or appeal by {r.unit_due_at.isoformat()}")
        if not await self._wait_answer(r.unit_due_at, "R-CLK-8 the unit accepts or appeals"):
            r.stand()  # R-LIA-5: silence is a breach, and the ruling stands
            await self._record("unit_deadline_breached", "no answer within 5 working days: the ruling stands "
                               "(R-LIA-5, R-CLK-8)", at=r.unit_breached_at)
            return await self._finish()
        kind, payload = self._take()
        now = workflow.now()
        if kind == RulingAnswer.ACCEPT:
            assert isinstance(payload, Acceptance)
            r.accept(payload, now)
            await self._record("accepted", "liability accepted and detailed down (R-LIA-2)", actor=payload.actor)
            return await self._finish()
        assert isinstance(payload, Appeal)
        due = await self._due(opening.policy.clocks.liability_arbitration, now, "R-CLK-8 arbitration")
        r.appeal_to_hq(payload, now, due)
        await self._record("appealed", f"appealed to HQ arbitration, which decides by {due.isoformat()} (R-LIA-3)",
                           actor=payload.actor)
        if not await self._wait_answer(due, "R-CLK-8 HQ arbitration decides"):
            r.arbitration_breached_at = due
            await self._record("arbitration_deadline_breached", "HQ arbitration did not decide within 5 working "
                               "days (R-LIA-6): still waiting for its decision", at=due)
            await self._wait_answer(None, "HQ arbitration decides (late)")
        kind, payload = self._take()
        assert isinstance(payload, Arbitration)
        r.arbitrated(payload, workflow.now())
        if payload.liable:
            await self._record("upheld", "arbitration upheld the ruling: the appeal was invalid (R-LIA-4, R-KPI-6)",
                               actor=payload.actor)
        else:
            await self._record("cancelled", "arbitration found no liability: the ruling is cancelled (R-LIA-4)",
                               actor=payload.actor)
        return await self._finish()

    # --- answers -----------------------------------------------------------------------------

    @workflow.query
    def view(self) -> Ruling:
        return self.ruling

    @workflow.signal
    async def accept(self, acceptance: Acceptance) -> None:
        await self._deliver(RulingAnswer.ACCEPT, acceptance)

    @workflow.signal
    async def appeal(self, appeal: Appeal) -> None:
        await self._deliver(RulingAnswer.APPEAL, appeal)

    @workflow.signal
    async def arbitrate(self, decision: Arbitration) -> None:
        await self._deliver(RulingAnswer.ARBITRATE, decision)

    async def _deliver(self, kind: RulingAnswer, payload: BaseModel) -> None:
        why = answer_refusal(self.ruling.state, kind)
        if why is None and self.answer is not None:
            why = "an answer is already being handled"
        if why is not None:  # kept on the record: the sender can see what was not taken
            await self._record("answer_ignored", f"{kind.value} not taken: {why}",
                               actor=getattr(payload, "actor", None))
            return
        self.answer = (kind, payload)

    def _take(self) -> tuple[RulingAnswer, BaseModel]:
        assert self.answer is not None
        taken, self.answer = self.answer, None
        return taken

    async def _wait_answer(self, until: datetime | None, summary: str) -> bool:
        """Wait for the answer the state takes; False when `until` came first."""
        if until is None:
            await workflow.wait_condition(lambda: self.answer is not None)
            return True
        remaining = until - workflow.now()
        if remaining <= timedelta(0):
            return self.answer is not None
        try:
            await workflow.wait_condition(lambda: self.answer is not None, timeout=remaining, timeout_summary=summary)
        except TimeoutError:
            return self.answer is not None
        return True

    async def _finish(self) -> Ruling:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.ruling

    # --- recording and deadlines -------------------------------------------------------------

    async def _due(self, duration: Duration, start: datetime, what: str) -> datetime:
        policy = self.opening.policy
        due = await workflow.execute_local_activity_method(
            ClockActivities.compute_deadline,
            DeadlineRequest(start=start, duration=duration, calendar=policy.calendar_for(duration)),
            start_to_close_timeout=_LOCAL_TIMEOUT, summary=f"{what} deadline: {duration}")
        return due.at

    async def _record(self, action: str, note: str, actor: str | None = None, at: datetime | None = None) -> None:
        self.ruling.seq += 1
        workflow.set_current_details(f"**{self.ruling.state.value}**: {note}")
        await workflow.execute_activity_method(
            QualityActivities.record_ruling,
            RulingRecord(ruling=self.ruling.model_copy(deep=True), action=action, note=note,
                         actor=actor or "system", at=at or workflow.now()),
            start_to_close_timeout=IO_TIMEOUT, retry_policy=IO_RETRY, summary=f"R-LIA record ruling: {action}")


__all__ = ["RulingWorkflow", "RulingState"]
