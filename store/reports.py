"""Reads that compose the record and the domain: the indicators, the scorecard and a whole report.

The API serves these and the scheduled reports store them, so a stored report and the live page
are the same computation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.indicators import Counted, IndicatorResult, exceptions, indicator
from domain.liability import Ruling
from domain.policy import Policy
from domain.reports import ReportKind, report_period
from domain.scorecard import TICKET_COMPONENTS, StationScore, period_bounds, score_stations
from store.quality import QualityStore, RulingFilter


async def indicators(store: QualityStore, policy: Policy, start: datetime, end: datetime,
                     stations: frozenset[str] | None = None, with_ids: bool = False) -> list[IndicatorResult]:
    """The six indicators of SPEC §9 (R-KPI-1..6) for [start, end)."""
    rows: dict[str, list[Counted]] = {
        "feedback_48h": await store.deadline_rows("R-CLK-4", start, end, stations),
        "first_time_resolution": await store.closed_dispatched(start, end, stations),
        "escalation": await store.opened(start, end, stations),
        "direct_dispatch_2h": await store.deadline_rows("R-CLK-2", start, end, stations),
        "associated_dispatch_4h": await store.deadline_rows("R-CLK-3", start, end, stations),
        "appeal_invalid": await store.issued_rulings(start, end, stations),
    }
    return [indicator(name, found, policy.quality.targets[name], with_ids) for name, found in rows.items()]


async def scorecard(store: QualityStore, policy: Policy, period: str, stations: frozenset[str] | None = None,
                    with_ids: bool = False) -> list[StationScore]:
    """Every station's score for a month or a week (R-KPI-7, R-KPI-8), ranked."""
    start, end = period_bounds(period, policy.calendars["default"].timezone)
    needed = {c.name for g in policy.quality.scorecard for c in g.components if c.source == "tickets"}
    from_tickets = {name: await store.deadline_rows_of_kinds(kinds, start, end, stations)
                    for name, kinds in TICKET_COMPONENTS.items() if name in needed}
    imports = await store.inputs(period, stations)
    return score_stations(policy.quality.scorecard, from_tickets, imports, await store.station_provinces(), with_ids)


async def build_report(store: QualityStore, policy: Policy, kind: ReportKind,
                       as_of: datetime) -> tuple[str, str, dict[str, Any]]:
    """A whole report for the period a run at `as_of` covers: its id, period and body (JSON mode)."""
    tz = policy.calendars["default"].timezone
    period, report_id, final = report_period(kind, as_of, tz)
    start, end = period_bounds(period, tz)
    figures = await indicators(store, policy, start, end, with_ids=True)
    open_rulings, _ = await store.rulings(RulingFilter(state="open"), limit=1000, offset=0)
    body: dict[str, Any] = {
        "report_id": report_id, "kind": kind, "period": period, "final": final,
        "from": start.isoformat(), "to": end.isoformat(), "as_of": as_of.isoformat(),
        "policy_version": policy.version,
        "scorecard_spec": [g.model_dump(mode="json") for g in policy.quality.scorecard],  # pinned per report
        "indicators": [f.model_dump(mode="json") for f in figures],
        "exceptions": exceptions(figures),  # the weekly exception summary: breached and escalated tickets
        "open_rulings": [_ruling_line(r) for r in open_rulings],
    }
    body["scorecard"] = [s.model_dump(mode="json") for s in await scorecard(store, policy, period)]
    return report_id, period, body


def _ruling_line(r: Ruling) -> dict[str, Any]:
    return {"ticket_id": r.ticket_id, "station": r.station, "province": r.province, "state": r.state.value,
            "due_at": (r.arbitration_due_at or r.unit_due_at).isoformat() if (r.arbitration_due_at or r.unit_due_at)
            else None}
