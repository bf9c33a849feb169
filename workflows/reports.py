"""The scheduled quality reports (SPEC §9): a run of a Temporal Schedule stores one report, once.

`schedules.py` creates the Schedules at start-up: the weekly exception summary every Monday
morning, the monthly partner report each morning of the 1st-6th, Asia/Shanghai.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.quality import QualityActivities
    from domain.reports import ReportKind, ReportRequest
    from workflows.runtime import IO_RETRY


@workflow.defn
class QualityReportWorkflow:
    @workflow.run
    async def run(self, kind: ReportKind) -> str:
        # The instant the Schedule meant this run for (a late or retried run covers the same period).
        as_of = workflow.info().start_time
        return await workflow.execute_activity_method(
            QualityActivities.store_report, ReportRequest(kind=kind, as_of=as_of),
            start_to_close_timeout=timedelta(minutes=5), retry_policy=IO_RETRY,
            summary=f"R-KPI store the {kind} report")
