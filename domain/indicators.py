"""The quality indicators of SPEC §9 (R-KPI), counted from the record for a period.

Each figure carries its numerator and denominator, and the ticket ids behind them, so a person can
check it by hand. Per station, per province and overall. The store selects the rows that count
(one `Counted` per ticket or deadline, with whether it is a hit); this module defines what counts
and adds them up. Deadlines superseded by the flow, and deadlines still running, count neither as
met nor as breached.

| id | indicator | numerator / denominator | period by |
|---|---|---|---|
| R-KPI-1 | 48 h timely feedback | R-CLK-4 coordination deadlines met / met or breached | due instant |
| R-KPI-2 | first-time resolution | dispatched tickets closed after one dispatch / dispatched tickets closed | closing |
| R-KPI-3 | escalation rate | tickets that reached an escalation ladder (tier >= 1) / tickets opened | opening |
| R-KPI-4 | direct dispatch 2 h timely | R-CLK-2 dispatch answers met / met or breached | due instant |
| R-KPI-5 | associated dispatch 4 h timely | R-CLK-3 dispatch answers met / met or breached | due instant |
| R-KPI-6 | appeal invalid rate | rulings upheld by arbitration against the unit / rulings issued | issuing |
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, Field

from domain.policy import IndicatorTarget


@dataclass(frozen=True)
class Indicator:
    name: str
    rule: str
    label_zh: str
    label_en: str
    definition: str


INDICATORS: tuple[Indicator, ...] = (
    Indicator("feedback_48h", "R-KPI-1", "48小时及时回复率", "48 h timely feedback",
              "R-CLK-4 coordination deadlines met / coordination deadlines due (met or breached)"),
    Indicator("first_time_resolution", "R-KPI-2", "一次解决率", "First-time resolution",
              "dispatched tickets closed without re-dispatch / dispatched tickets closed"),
    Indicator("escalation", "R-KPI-3", "升级率", "Escalation rate",
              "tickets that reached an escalation ladder / tickets opened"),
    Indicator("direct_dispatch_2h", "R-KPI-4", "直派调度2小时及时回复率", "Direct dispatch 2 h timely",
              "R-CLK-2 direct dispatch answers met / direct dispatch answers due (met or breached)"),
    Indicator("associated_dispatch_4h", "R-KPI-5", "关联调度4小时及时回复率", "Associated dispatch 4 h timely",
              "R-CLK-3 associated dispatch answers met / associated dispatch answers due (met or breached)"),
    Indicator("appeal_invalid", "R-KPI-6", "申诉无效率", "Appeal invalid rate",
              "appeals rejected by arbitration (ruling upheld against the unit) / rulings issued"),
)
BY_NAME = {i.name: i for i in INDICATORS}


@dataclass(frozen=True)
class Counted:
    """One ticket (or one of its deadlines, or its ruling) counted in an indicator's denominator."""

    ticket_id: str
    station: str
    province: str | None
    hit: bool  # in the numerator too


class Figure(BaseModel):
    numerator: int
    denominator: int
    rate: Decimal | None  # None when nothing was due: no rate, neither good nor bad
    meets_target: bool | None
    numerator_ids: list[str] | None = None  # on request: the tickets behind each number
    denominator_ids: list[str] | None = None
    missed_ids: list[str] | None = None  # counted but not in the numerator (a breach; for R-KPI-3 not escalated)


class IndicatorResult(BaseModel):
    name: str
    rule: str
    label_zh: str
    label_en: str
    definition: str
    target: Decimal
    at_most: bool
    overall: Figure
    provinces: dict[str, Figure] = Field(default_factory=dict)  # "" for tickets without a province
    stations: dict[str, Figure] = Field(default_factory=dict)


def rate(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def figure(rows: list[Counted], target: IndicatorTarget, with_ids: bool) -> Figure:
    hits = [r for r in rows if r.hit]
    value = rate(len(hits), len(rows))
    meets = None if value is None else (value <= target.target if target.at_most else value >= target.target)
    return Figure(numerator=len(hits), denominator=len(rows), rate=value, meets_target=meets,
                  numerator_ids=sorted({r.ticket_id for r in hits}) if with_ids else None,
                  denominator_ids=sorted({r.ticket_id for r in rows}) if with_ids else None,
                  missed_ids=sorted({r.ticket_id for r in rows if not r.hit}) if with_ids else None)


def indicator(name: str, rows: list[Counted], target: IndicatorTarget, with_ids: bool = False) -> IndicatorResult:
    """An indicator for the period: overall, per province and per station."""
    spec = BY_NAME[name]
    by_province: dict[str, list[Counted]] = defaultdict(list)
    by_station: dict[str, list[Counted]] = defaultdict(list)
    for r in rows:
        by_province[r.province or ""].append(r)
        by_station[r.station].append(r)
    return IndicatorResult(
        name=spec.name, rule=spec.rule, label_zh=spec.label_zh, label_en=spec.label_en, definition=spec.definition,
        target=target.target, at_most=target.at_most, overall=figure(rows, target, with_ids),
        provinces={p: figure(v, target, with_ids) for p, v in sorted(by_province.items())},
        stations={s: figure(v, target, with_ids) for s, v in sorted(by_station.items())},
    )


# What a ticket missed, per indicator whose numerator is the good case; escalation's numerator is the exception.
_EXCEPTION_WORDS = {"feedback_48h": "R-CLK-4 breached", "direct_dispatch_2h": "R-CLK-2 breached",
                    "associated_dispatch_4h": "R-CLK-3 breached"}


def exceptions(results: list[IndicatorResult]) -> list[dict[str, object]]:
    """The weekly exception summary's lines: each ticket that breached a station promise or was escalated,
    and what (from figures computed with their ids)."""
    found: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if r.name == "escalation":
            for tid in r.overall.numerator_ids or []:
                found[tid].append("escalated")
        elif r.name in _EXCEPTION_WORDS:
            for tid in r.overall.missed_ids or []:
                found[tid].append(_EXCEPTION_WORDS[r.name])
    return [{"ticket_id": tid, "what": what} for tid, what in sorted(found.items())]
