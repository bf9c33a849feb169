"""Deadlines, computed in local activities so the instant is kept in the workflow's history.

A replay, an upgrade of chinesecalendar or an edit of the override file never
moves a deadline already set on a running ticket: the workflow reads the
recorded result instead of computing again.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from chinese_calendar import constants as cn_calendar
from pydantic import BaseModel
from temporalio import activity

from domain.clock import DayRules
from domain.holidays import apply_overrides
from domain.policy import CalendarSpec, Due, Duration, due_at, extend_due


def published_cn_rules() -> DayRules:
    """Mainland China's holidays and make-up working days as the chinesecalendar package knows them."""
    holidays = frozenset(cn_calendar.holidays)
    return DayRules(
        holidays=holidays,
        workdays=frozenset(cn_calendar.workdays),
        known_years=frozenset(d.year for d in holidays),
    )


class HolidaySource:
    """The day rules in force now: the package's, with the override file (re-read when it changes)."""

    def __init__(self, override_file: Path | None) -> None:
        self._file = override_file

    def rules(self) -> DayRules:
        if self._file is None or not self._file.exists():
            return _merged(None, 0, 0)
        stat = self._file.stat()
        return _merged(str(self._file), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _merged(path: str | None, _mtime_ns: int, _size: int) -> DayRules:
    base = published_cn_rules()
    return apply_overrides(base, Path(path).read_text(encoding="utf-8")) if path else base


class DeadlineRequest(BaseModel):
    start: datetime
    duration: Duration
    calendar: CalendarSpec | None


class ExtensionRequest(BaseModel):
    due: datetime
    paused_from: datetime
    paused_to: datetime
    measure: Duration
    calendar: CalendarSpec | None


class LocalDateRequest(BaseModel):
    instant: datetime
    timezone: str


class ClockActivities:
    def __init__(self, holidays: HolidaySource) -> None:
        self._holidays = holidays

    @activity.defn
    async def compute_deadline(self, request: DeadlineRequest) -> Due:
        due = due_at(request.start, request.duration, request.calendar, self._holidays.rules())
        if due.unknown_years:
            activity.logger.warning(
                "no holiday data for %s: %s counted on the weekly pattern", due.unknown_years, request.duration
            )
        return due

    @activity.defn
    async def local_date(self, request: LocalDateRequest) -> date:
        """The calendar date at `instant` where the carrier is, for rules counted in days (R-CLK-6)."""
        return request.instant.astimezone(ZoneInfo(request.timezone)).date()

    @activity.defn
    async def extend_deadline(self, request: ExtensionRequest) -> datetime:
        """R-CLK-1: a paused promise resumes with the paused time added back."""
        return extend_due(request.due, request.paused_from, request.paused_to, request.measure,
                          request.calendar, self._holidays.rules())
