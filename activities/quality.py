"""Quality management's I/O (issue 15): start a ruling once, record its steps, store the scheduled reports.

No decisions here: the workflows decide, domain/ computes, these carry results to Temporal and the record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.liability import Ruling, RulingOpening, ruling_id
from domain.policy import Policy
from domain.reports import ReportRequest
from store.quality import QualityStore
from store.reports import build_report


class RulingRecord(BaseModel):
    ruling: Ruling
    action: str
    note: str = ""
    actor: str = "system"
    at: datetime


class QualityActivities:
    def __init__(self, store: QualityStore, policy: Callable[[], Policy]) -> None:
        self._store = store
        self._policy = policy  # the policy file as it is when a report runs: the report pins it

    @activity.defn
    async def start_liability_ruling(self, opening: RulingOpening) -> str:
        """R-LIA-1: the closed ticket's ruling, started exactly once however often the close is retried:
        the id is derived from the ticket's, a running one is used as it is (conflict policy) and a
        finished one is never started again (reuse policy)."""
        from workflows.ruling import RulingWorkflow  # the workflow module imports this one's models

        wid = ruling_id(opening.ticket_id)
        try:
            handle = await activity.client().start_workflow(
                RulingWorkflow.run, opening, id=wid, task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"liability ruling of ticket {opening.ticket_id}: {opening.unit.station}",
            )
        except WorkflowAlreadyStartedError:  # finished already: it stays as it ended
            return wid
        return handle.id

    @activity.defn
    async def record_ruling(self, record: RulingRecord) -> None:
        """Every step of a ruling, once; a retry writes nothing twice."""
        await self._store.record_ruling(record.ruling, record.action, record.note, record.actor, record.at)

    @activity.defn
    async def store_report(self, request: ReportRequest) -> str:
        """A scheduled report: computed from the record now and stored once under its id (never changed)."""
        policy = self._policy()
        report_id, period, body = await build_report(self._store, policy, request.kind, request.as_of)
        await self._store.store_report(report_id, request.kind, period, datetime.now(UTC), policy.version, body)
        return report_id
