"""Scheduled reports (SPEC §9): which period a run covers and the id it is stored under.

The weekly exception summary runs every Monday morning for the week before; the monthly partner
report runs each morning of the 1st to the 6th for the month before, each run an edition of its
own (`monthly-2026-10-d03`), the 6th's the final one ("ready by the 6th"). A report is stored once
under its id: a retried run changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from domain.scorecard import previous_month, previous_week

ReportKind = Literal["weekly", "monthly"]
FINAL_DAY = 6  # the monthly partner report is final on the 6th (seed 001: 次月6号前)


class ReportRequest(BaseModel):
    kind: ReportKind
    as_of: datetime  # when the run was scheduled


def report_period(kind: ReportKind, as_of: datetime, timezone: str) -> tuple[str, str, bool]:
    """The period the run covers, its report id, and whether the report is final."""
    if kind == "weekly":
        period = previous_week(as_of, timezone)
        return period, f"weekly-{period}", True
    period = previous_month(as_of, timezone)
    day = as_of.astimezone(ZoneInfo(timezone)).day
    return period, f"monthly-{period}-d{day:02d}", day >= FINAL_DAY
