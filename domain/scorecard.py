"""The station (alliance partner) scorecard of SPEC §9 (seed 001), and the periods reports cover.

Customer service 30 % (order response, trace speed, exception response, perfect proof of delivery),
delivery 40 % (on-time departure, quantity accuracy), complaints 30 % (claims promises kept, courier
attitude). Weights and components are policy (`[[quality.scorecard]]`). A component is a rate: from
the tickets where the ticket system knows it (R-KPI-7), else imported as a numerator and a
denominator per station and period (CSV, R-KPI-8). A component's score is its rate x 100; a group's
the weighted mean of its components that have data; the station's the weighted sum of its groups,
re-weighted over the groups that have data, and marked incomplete with the components missing.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError

from domain.indicators import Counted, rate
from domain.policy import ScoreGroup

# R-KPI-7: components the ticket system knows: the deadlines of these kinds met / met or breached at the station.
TICKET_COMPONENTS: dict[str, tuple[str, ...]] = {
    "trace_speed": ("dispatch_answer",),  # R-CLK-2 / R-CLK-3: how fast the station takes a trace on
    "exception_response": ("coordination",),  # R-CLK-4: the station's feedback on an exception
    "claims_promises": ("claim_decision", "specialist_decision", "result_letter"),  # SPEC §7, R-CLK-7
}

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")
CSV_COLUMNS = ("period", "station", "component", "numerator", "denominator")


class PeriodError(ValueError):
    pass


def period_bounds(period: str, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a month (`2026-11`) or an ISO week (`2026-W47`), in the carrier's time zone."""
    tz = ZoneInfo(timezone)
    if m := _MONTH.match(period):
        y, mo = int(m[1]), int(m[2])
        start = date(y, mo, 1)
        end = date(y + (mo == 12), mo % 12 + 1, 1)
    elif m := _WEEK.match(period):
        try:
            start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError as exc:
            raise PeriodError(f"{period!r} is not a week of {m[1]}") from exc
        end = start + timedelta(days=7)
    else:
        raise PeriodError(f"period {period!r}: write a month (2026-11) or an ISO week (2026-W47)")
    return (datetime.combine(start, datetime.min.time(), tz).astimezone(UTC),
            datetime.combine(end, datetime.min.time(), tz).astimezone(UTC))


def week_of(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def previous_week(as_of: datetime, timezone: str) -> str:
    """The ISO week before the one `as_of` falls in, where the carrier is (the Monday summary's week)."""
    return week_of(as_of.astimezone(ZoneInfo(timezone)).date() - timedelta(days=7))


def previous_month(as_of: datetime, timezone: str) -> str:
    """The month before the one `as_of` falls in (the partner report of the 1st-6th)."""
    first = as_of.astimezone(ZoneInfo(timezone)).date().replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


class ImportedInput(BaseModel):
    """R-KPI-8: a component the ticket system does not know, for one station and period."""

    period: str
    station: str = Field(min_length=1, max_length=64)
    component: str
    numerator: int = Field(ge=0)
    denominator: int = Field(gt=0)


def parse_inputs(text: str, scorecard: list[ScoreGroup]) -> tuple[list[ImportedInput], list[str]]:
    """The CSV import: a header `period,station,component,numerator,denominator`, then one row per input.
    Every problem is listed at once (line numbers as a spreadsheet shows them); nothing is taken if any."""
    imported = {c.name for g in scorecard for c in g.components if c.source == "import"}
    try:
        return _parse_rows(text, imported)
    except csv.Error as exc:
        return [], [f"not CSV: {exc}"]


def _parse_rows(text: str, imported: set[str]) -> tuple[list[ImportedInput], list[str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        return [], [f"line 1: the header must be {','.join(CSV_COLUMNS)}"]
    found: list[ImportedInput] = []
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for n, row in enumerate(reader, start=2):
        try:
            period_bounds(row["period"] or "", "UTC")
            numbers = [(row[k] or "").strip() for k in ("numerator", "denominator")]
            if not all(v.isdigit() for v in numbers):
                raise PeriodError(f"the numerator and denominator are whole numbers, not {', '.join(numbers)!r}")
            item = ImportedInput(period=row["period"], station=(row["station"] or "").strip(),
                                 component=(row["component"] or "").strip(), numerator=int(numbers[0]),
                                 denominator=int(numbers[1]))
        except PeriodError as exc:
            problems.append(f"line {n}: {exc}")
            continue
        except ValidationError as exc:  # the model's own checks (a blank station, a denominator of 0)
            problems.append(f"line {n}: " + "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
            continue
        if item.component not in imported:
            names = ", ".join(sorted(imported))
            problems.append(f"line {n}: {item.component!r} is not an imported component ({names})")
        elif item.numerator > item.denominator:
            problems.append(f"line {n}: the numerator {item.numerator} exceeds the denominator {item.denominator}")
        elif (key := (item.period, item.station, item.component)) in seen:
            problems.append(f"line {n}: {item.station} {item.component} {item.period} is given twice")
        else:
            seen.add(key)
            found.append(item)
    if not found and not problems:
        problems.append("no rows")
    return ([], problems) if problems else (found, [])


class ComponentScore(BaseModel):
    name: str
    label: str
    group: str
    source: str
    weight: Decimal
    numerator: int
    denominator: int
    rate: Decimal | None
    score: Decimal | None  # rate x 100
    ticket_ids: list[str] | None = None  # tickets behind a ticket-sourced component, on request


class GroupScore(BaseModel):
    name: str
    label: str
    weight: Decimal
    score: Decimal | None


class StationScore(BaseModel):
    rank: int | None
    station: str
    province: str | None
    score: Decimal | None
    complete: bool
    missing: list[str]
    groups: list[GroupScore]
    components: list[ComponentScore]


def _q(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def score_stations(scorecard: list[ScoreGroup], from_tickets: dict[str, list[Counted]],
                   imports: list[ImportedInput], provinces: dict[str, str | None],
                   with_ids: bool = False) -> list[StationScore]:
    """Every station with any data, ranked by score (stations with no score last)."""
    ticket_rows: dict[tuple[str, str], list[Counted]] = defaultdict(list)
    for component, rows in from_tickets.items():
        for r in rows:
            ticket_rows[(r.station, component)].append(r)
            provinces.setdefault(r.station, r.province)
    imported = {(i.station, i.component): i for i in imports}
    stations = sorted({s for s, _ in ticket_rows} | {s for s, _ in imported})
    scores: list[StationScore] = []
    for station in stations:
        components: list[ComponentScore] = []
        groups: list[GroupScore] = []
        for g in scorecard:
            weighted, weights = Decimal(0), Decimal(0)
            for c in g.components:
                if c.source == "tickets":
                    rows = ticket_rows.get((station, c.name), [])
                    num, den = sum(r.hit for r in rows), len(rows)
                    ids = sorted({r.ticket_id for r in rows}) if with_ids else None
                else:
                    i = imported.get((station, c.name))
                    num, den, ids = (i.numerator, i.denominator, None) if i else (0, 0, None)
                value = rate(num, den)
                score = None if value is None else _q(value * 100)
                components.append(ComponentScore(name=c.name, label=c.label, group=g.name, source=c.source,
                                                 weight=c.weight, numerator=num, denominator=den, rate=value,
                                                 score=score, ticket_ids=ids))
                if score is not None:
                    weighted += c.weight * score
                    weights += c.weight
            groups.append(GroupScore(name=g.name, label=g.label, weight=g.weight,
                                     score=_q(weighted / weights) if weights else None))
        known = [gr for gr in groups if gr.score is not None]
        total_weight = sum((gr.weight for gr in known), Decimal(0))
        station_score = _q(sum((gr.weight * gr.score for gr in known if gr.score is not None), Decimal(0))
                           / total_weight) if total_weight else None
        missing = [c.name for c in components if c.score is None]
        scores.append(StationScore(rank=None, station=station, province=provinces.get(station), score=station_score,
                                   complete=not missing, missing=missing, groups=groups, components=components))
    ranked = sorted(scores, key=lambda s: (s.score is None, -(s.score or 0), s.station))
    for n, s in enumerate(ranked, start=1):
        s.rank = n if s.score is not None else None
    return ranked
