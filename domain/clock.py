"""The business clock: working time on a calendar (R-CAL-1, R-CAL-2).

Pure arithmetic over a weekly pattern of opening intervals in one time zone,
with day rules on top: public holidays close a day, make-up working days
(调休) open one. The day rules are data handed in by the shell (the
chinesecalendar package plus the company's override file); a year they do not
cover falls back to the weekly pattern, and `unknown_years` says so.

Boundary rules, chosen once and tested:

- Counting that starts outside working hours starts at the next opening
  (R-CAL-2); counting that starts inside an interval starts at once.
- A deadline that ends exactly at a closing time stays at that closing time
  (it is not pushed to the next opening).
- Adding zero working time to an instant outside working hours gives the next
  opening: the clock has not started yet.
- N working days from an instant: counting starts at the next opening; the
  result is the same working-time offset into the Nth working day after that
  day (so Friday 10:00 + 5 working days on a Mon-Fri calendar is the next
  Friday 10:00), clipped to that day's closing time if it is shorter.

Cost is proportional to the days spanned, never to the minutes: each day
contributes its whole open intervals at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# A calendar with some working time finds it within a week; the bound only
# stops a malformed calendar from looping forever.
_MAX_DAYS_SEARCHED = 3700


class CalendarError(ValueError):
    """A calendar that cannot count working time (e.g. no opening hours)."""


@dataclass(frozen=True)
class OpeningInterval:
    """One opening interval of a day, in local wall-clock time; end may be 24:00."""

    start: time
    end_minutes: int  # minutes after midnight; 1440 means 24:00

    @property
    def start_minutes(self) -> int:
        return self.start.hour * 60 + self.start.minute

    @staticmethod
    def parse(text: str) -> OpeningInterval:
        """Parse "08:00-18:00" (end may be "24:00")."""
        try:
            a, b = (part.strip() for part in text.split("-"))
            start = _parse_hhmm(a)
            end = _parse_hhmm(b)
        except ValueError as exc:
            raise CalendarError(f"opening interval {text!r} is not HH:MM-HH:MM") from exc
        if end <= start:
            raise CalendarError(f"opening interval {text!r} ends before it starts")
        if start >= 1440:
            raise CalendarError(f"opening interval {text!r} starts at or after 24:00")
        return OpeningInterval(time(start // 60, start % 60), end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end_minutes // 60:02d}:{self.end_minutes % 60:02d}"


def _parse_hhmm(text: str) -> int:
    hh, mm = text.split(":")
    h, m = int(hh), int(mm)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m != 0):
        raise ValueError(text)
    return h * 60 + m


@dataclass(frozen=True)
class DayRules:
    """Exceptions to the weekly pattern, by local date (R-CAL-1)."""

    holidays: frozenset[date] = frozenset()  # closed, whatever the weekday
    workdays: frozenset[date] = frozenset()  # open, whatever the weekday (调休)
    known_years: frozenset[int] = frozenset()  # years whose notice is known

    def unknown_years(self, first: date, last: date) -> list[int]:
        """Years in [first, last] counted on the weekly pattern alone, for want of data."""
        return [y for y in range(first.year, last.year + 1) if y not in self.known_years]


@dataclass(frozen=True)
class WorkingCalendar:
    """Opening hours per weekday (Monday first) in one time zone, with optional day rules."""

    name: str
    timezone: str
    week: tuple[tuple[OpeningInterval, ...], ...]
    days: DayRules | None = None
    # Hours of a make-up working day that falls on a day the week keeps closed.
    makeup: tuple[OpeningInterval, ...] = ()

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError(f"calendar {self.name!r} needs 7 weekdays, got {len(self.week)}")
        if not any(self.week):
            raise CalendarError(f"calendar {self.name!r} has no opening hours at all")
        for day in self.week:
            for a, b in zip(day, day[1:], strict=False):
                if b.start_minutes < a.end_minutes:
                    raise CalendarError(f"calendar {self.name!r} has overlapping intervals {a} and {b}")
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError) as exc:
            raise CalendarError(f"calendar {self.name!r}: unknown time zone {self.timezone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hours_on(self, day: date) -> tuple[OpeningInterval, ...]:
        """The opening intervals of a local date, after holidays and make-up days."""
        pattern = self.week[day.weekday()]
        if self.days is not None:
            if day in self.days.holidays:
                return ()
            if day in self.days.workdays:
                return pattern or self.makeup
        return pattern

    def is_working_day(self, day: date) -> bool:
        return bool(self.hours_on(day))

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening intervals as aware instants."""
        tz = self.zone
        midnight = datetime.combine(day, time(0), tzinfo=tz)
        out = []
        for iv in self.hours_on(day):
            start = datetime.combine(day, iv.start, tzinfo=tz)
            end = (midnight + timedelta(minutes=iv.end_minutes)).replace(tzinfo=tz)
            out.append((start, end))
        return out

    def _intervals_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals that end after `instant`, clipped to start no earlier than it."""
        _require_aware(instant)
        local = instant.astimezone(self.zone)
        day = local.date()  # intervals never cross midnight, so today is the first candidate
        for _ in range(_MAX_DAYS_SEARCHED):
            for start, end in self.open_intervals(day):
                if end > instant:
                    yield max(start, instant), end
            day += timedelta(days=1)
        raise CalendarError(f"calendar {self.name!r} found no working time within {_MAX_DAYS_SEARCHED} days")

    def next_opening(self, instant: datetime) -> datetime:
        """The instant counting starts from: `instant` itself if open, else the next opening (R-CAL-2)."""
        for start, _end in self._intervals_from(instant):
            return start
        raise AssertionError("unreachable")  # _intervals_from raises when exhausted

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant `amount` of working time after `start` (R-CAL-2 boundary rules above)."""
        if amount < timedelta(0):
            raise CalendarError("cannot add negative working time")
        remaining = amount
        for begin, end in self._intervals_from(start):
            available = end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable")

    def add_days(self, start: datetime, days: int) -> datetime:
        """The instant `days` working days after `start` (boundary rules above)."""
        if days < 0:
            raise CalendarError("cannot add negative working days")
        begin = self.next_opening(start)
        day = begin.astimezone(self.zone).date()
        first_open = self.open_intervals(day)[0][0]
        offset = self.working_time_between(first_open, begin)
        for _ in range(days):
            day = self._next_working_day(day)
        intervals = self.open_intervals(day)
        length = sum((e - s for s, e in intervals), timedelta(0))
        if offset >= length:
            return intervals[-1][1]  # the day's closing time
        # Short of closing, an offset that falls on a break means the opening after it, as the start did.
        return self.next_opening(self.add(intervals[0][0], offset))

    def _next_working_day(self, day: date) -> date:
        for _ in range(_MAX_DAYS_SEARCHED):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise CalendarError(f"calendar {self.name!r} found no working day within {_MAX_DAYS_SEARCHED} days")

    def unknown_years(self, start: datetime, end: datetime) -> list[int]:
        """Years between two instants whose day rules are unknown (empty without day rules)."""
        if self.days is None:
            return []
        tz = self.zone
        return self.days.unknown_years(start.astimezone(tz).date(), end.astimezone(tz).date())

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in [a, b); zero when b is not after a."""
        _require_aware(b)
        total = timedelta(0)
        if b <= a:
            return total
        for begin, end in self._intervals_from(a):
            if begin >= b:
                break
            total += min(end, b) - begin
        return total


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise CalendarError("instants must carry a time zone")


def weekly_calendar(
    name: str,
    timezone: str,
    hours: dict[str, list[str]],
    days: DayRules | None = None,
    makeup_hours: list[str] | None = None,
) -> WorkingCalendar:
    """Build a calendar from per-weekday interval strings; key "daily" applies to every day.

    A make-up working day on a day the week keeps closed gets `makeup_hours`,
    by default the hours of the first weekday that has any (Monday's, usually).
    """
    unknown = set(hours) - set(WEEKDAYS) - {"daily"}
    if unknown:
        raise CalendarError(
            f"calendar {name!r}: unknown day keys {sorted(unknown)}; use daily or {', '.join(WEEKDAYS)}")
    daily = hours.get("daily", [])
    week = tuple(_intervals(hours.get(d, daily)) for d in WEEKDAYS)
    makeup = _intervals(makeup_hours) if makeup_hours is not None else next((d for d in week if d), ())
    return WorkingCalendar(name=name, timezone=timezone, week=week, days=days, makeup=makeup)


def _intervals(texts: list[str]) -> tuple[OpeningInterval, ...]:
    return tuple(sorted((OpeningInterval.parse(t) for t in texts), key=lambda iv: iv.start_minutes))
