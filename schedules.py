"""The Temporal Schedules of the quality reports (SPEC §9), created idempotently at every worker start.

- `quality-weekly`: every Monday at 07:00 Asia/Shanghai, the exception summary of the week before;
- `quality-monthly`: at 07:00 on each of the 1st to the 6th, the partner report of the month before
  (an edition a day; the 6th's is final).

Both are listed on the Temporal UI's Schedules page. A Schedule that exists already is updated to
this spec (so a change here reaches a running stack on its next start), never duplicated.
"""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from workflows.reports import QualityReportWorkflow

TIMEZONE = "Asia/Shanghai"
SCHEDULES = {
    "quality-weekly": ("weekly", ScheduleCalendarSpec(day_of_week=[ScheduleRange(1)], hour=[ScheduleRange(7)],
                                                      minute=[ScheduleRange(0)], second=[ScheduleRange(0)],
                                                      comment="Mondays 07:00: the week before")),
    "quality-monthly": ("monthly", ScheduleCalendarSpec(day_of_month=[ScheduleRange(1, 6)], hour=[ScheduleRange(7)],
                                                        minute=[ScheduleRange(0)], second=[ScheduleRange(0)],
                                                        comment="1st-6th 07:00: the month before")),
}


def schedule_for(schedule_id: str, task_queue: str) -> Schedule:
    kind, calendar = SCHEDULES[schedule_id]
    return Schedule(
        action=ScheduleActionStartWorkflow(QualityReportWorkflow.run, kind, id=f"{schedule_id}-report",
                                           task_queue=task_queue),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=TIMEZONE),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedules(client: Client, task_queue: str) -> list[str]:
    """Create each Schedule, or bring the one already there to this spec; returns their ids."""
    for schedule_id in SCHEDULES:
        schedule = schedule_for(schedule_id, task_queue)
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            def update(_: ScheduleUpdateInput, s: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=s)

            await client.get_schedule_handle(schedule_id).update(update)
    return list(SCHEDULES)
