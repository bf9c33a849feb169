"""Quality management (issue 15): liability rulings, the indicators, the scorecard, stored reports.

Translation only: the rules are in domain/ (liability, indicators, scorecard, reports), the reads in
store/quality.py and store/reports.py, the ruling's flow in workflows/ruling.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from temporalio.service import RPCError, RPCStatusCode

from api.auth import AccessDep
from api.deps import ClientDep, PolicyDep
from api.errors import invalid, problem
from api.schemas import Instant, Limit, Offset, TicketId, errors
from domain.indicators import IndicatorResult
from domain.liability import (
    Acceptance,
    Appeal,
    Arbitration,
    LiabilityDetail,
    Ruling,
    RulingAnswer,
    RulingState,
    answer_refusal,
    ruling_id,
)
from domain.scorecard import PeriodError, StationScore, parse_inputs, period_bounds
from security.access import Access
from store.quality import QualityStore, RulingFilter
from store.reports import indicators, scorecard
from workflows.ruling import RulingWorkflow

router = APIRouter(tags=["quality"])
STRICT = ConfigDict(extra="forbid")
Period = Annotated[str | None, Query(max_length=10, description="a month (2026-11) or an ISO week (2026-W47)",
                                     examples=["2026-11"])]


def _store(request: Request) -> QualityStore:
    return request.app.state.quality


def _stations(access: Access) -> frozenset[str] | None:
    """The stations the caller's figures are narrowed to (a station head's own); None: every one."""
    return access.visible().stations if not access.visible().everything else None


# --- rulings ---------------------------------------------------------------------------------------

class RulingEvent(BaseModel):
    seq: int
    at: datetime
    action: str
    note: str
    actor: str


class RulingOut(Ruling):
    events: list[RulingEvent] = Field(default_factory=list)


class RulingPage(BaseModel):
    items: list[Ruling]
    total: int
    limit: int
    offset: int


class AcceptanceIn(BaseModel):
    model_config = STRICT
    detail: LiabilityDetail


class AppealIn(BaseModel):
    model_config = STRICT
    reasons: str = Field(min_length=1, max_length=4000)
    evidence: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=50, description="references to the evidence: file ids, URLs, photo numbers")


class ArbitrationIn(BaseModel):
    model_config = STRICT
    liable: bool
    detail: LiabilityDetail | None = Field(None, description="required when liable: city, link, smallest unit")
    reasons: str = Field(default="", max_length=4000)


class RulingAccepted(BaseModel):
    ruling_id: str
    ticket_id: str
    state: RulingState = Field(description="the ruling's state when the answer was sent")


@router.get("/v1/rulings", response_model=RulingPage)
async def list_rulings(
    request: Request, access: AccessDep,
    station: str | None = Query(None, max_length=64), province: str | None = Query(None, max_length=40),
    state: Literal["open", "awaiting_unit", "accepted", "stood", "in_arbitration", "cancelled", "upheld"] | None = None,
    issued_from: Instant | None = Query(None, description="inclusive"),
    issued_to: Instant | None = Query(None, description="exclusive"),
    limit: Limit = 50, offset: Offset = 0,
) -> RulingPage:
    """Liability rulings (SPEC §8), oldest first; `state=open` for those still waiting on the unit or HQ.
    A station head sees its own stations' only."""
    flt = RulingFilter(station, province, state, issued_from, issued_to, visible_stations=_stations(access))
    items, total = await _store(request).rulings(flt, limit, offset)
    return RulingPage(items=items, total=total, limit=limit, offset=offset)


async def _ruling(request: Request, access: Access, ticket_id: str) -> tuple[Ruling, list[dict[str, Any]]]:
    found = await _store(request).ruling(ticket_id)
    if found is None or not access.sees_ticket(found[0].carrier, found[0].station):
        raise HTTPException(404, f"no liability ruling for ticket {ticket_id}")
    return found


@router.get("/v1/rulings/{ticket_id}", response_model=RulingOut, responses=errors(404))
async def get_ruling(ticket_id: TicketId, request: Request, access: AccessDep) -> RulingOut:
    """A ticket's liability ruling and every step of it."""
    ruling, events = await _ruling(request, access, ticket_id)
    return RulingOut(**ruling.model_dump(), events=[RulingEvent(**e) for e in events])


async def _answer(request: Request, client, access: Access, ticket_id: str, answer: RulingAnswer, signal,
                  payload: BaseModel) -> RulingAccepted:
    ruling, _ = await _ruling(request, access, ticket_id)
    why = answer_refusal(ruling.state, answer)
    if why is not None:
        raise HTTPException(409, f"ruling of ticket {ticket_id}: {why}")
    try:
        await client.get_workflow_handle(ruling_id(ticket_id)).signal(signal, payload)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # it ended between our read and the signal
            raise HTTPException(409, f"ruling of ticket {ticket_id}: it has ended") from None
        raise
    return RulingAccepted(ruling_id=ruling.ruling_id, ticket_id=ticket_id, state=ruling.state)


@router.post("/v1/rulings/{ticket_id}/acceptance", status_code=202, response_model=RulingAccepted,
             responses=errors(404, 409))
async def accept_ruling(ticket_id: TicketId, body: AcceptanceIn, request: Request, client: ClientDep,
                        access: AccessDep) -> RulingAccepted:
    """The responsible unit accepts within 5 working days (R-CLK-8), detailing the liability down to city,
    link and smallest unit (R-LIA-2)."""
    return await _answer(request, client, access, ticket_id, RulingAnswer.ACCEPT, RulingWorkflow.accept,
                         Acceptance(detail=body.detail, actor=access.actor))


@router.post("/v1/rulings/{ticket_id}/appeal", status_code=202, response_model=RulingAccepted,
             responses=errors(404, 409))
async def appeal_ruling(ticket_id: TicketId, body: AppealIn, request: Request, client: ClientDep,
                        access: AccessDep) -> RulingAccepted:
    """The responsible unit appeals to HQ arbitration within 5 working days, with reasons and evidence (R-LIA-3)."""
    return await _answer(request, client, access, ticket_id, RulingAnswer.APPEAL, RulingWorkflow.appeal,
                         Appeal(reasons=body.reasons, evidence=body.evidence, actor=access.actor))


@router.post("/v1/rulings/{ticket_id}/arbitration", status_code=202, response_model=RulingAccepted,
             responses=errors(404, 409))
async def arbitrate_ruling(ticket_id: TicketId, body: ArbitrationIn, request: Request, client: ClientDep,
                           access: AccessDep) -> RulingAccepted:
    """HQ arbitration decides an appeal (R-LIA-4): no liability cancels the ruling; liability is detailed down
    (and the appeal counts as invalid, R-KPI-6)."""
    await _ruling(request, access, ticket_id)  # an unknown ruling is a 404 before the body is judged
    try:
        decision = Arbitration(liable=body.liable, detail=body.detail, reasons=body.reasons, actor=access.actor)
    except ValueError as exc:
        raise invalid(["body", "detail"], str(exc).splitlines()[-1], "arbitration_detail") from None
    return await _answer(request, client, access, ticket_id, RulingAnswer.ARBITRATE, RulingWorkflow.arbitrate,
                         decision)


# --- indicators and scorecard --------------------------------------------------------------------------

class Indicators(BaseModel):
    period: str | None
    from_: datetime = Field(alias="from")
    to: datetime
    timezone: str
    policy_version: str
    indicators: list[IndicatorResult]

    model_config = ConfigDict(populate_by_name=True)


def _bounds(policy, period: str | None, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if period is not None:
        if start is not None or end is not None:
            raise invalid(["query", "period"], "give a period or from/to, not both", "period")
        try:
            return period_bounds(period, policy.calendars["default"].timezone)
        except PeriodError as exc:
            raise invalid(["query", "period"], str(exc), "period") from None
    if start is None or end is None:
        raise invalid(["query", "period"], "give a period (2026-11, 2026-W47) or both from and to", "period")
    if end <= start:
        raise invalid(["query", "to"], "`to` must be after `from`", "period")
    return start, end


@router.get("/v1/quality/indicators", response_model=Indicators, response_model_by_alias=True)
async def quality_indicators(
    request: Request, access: AccessDep, policy: PolicyDep, period: Period = None,
    from_: Instant | None = Query(None, alias="from", description="inclusive, ISO 8601 with its offset"),
    to: Instant | None = Query(None, description="exclusive, ISO 8601 with its offset"),
    ids: bool = Query(False, description="list the ticket ids behind each numerator and denominator"),
) -> Indicators:
    """The six indicators of SPEC §9 (R-KPI-1..6) with their targets: overall, per province and per station,
    each with its numerator and denominator (and, with `ids=true`, the tickets behind them). Superseded
    deadlines and deadlines still running count neither as met nor as breached."""
    start, end = _bounds(policy, period, from_, to)
    found = await indicators(_store(request), policy, start, end, _stations(access), ids)
    return Indicators(period=period, from_=start, to=end, timezone=policy.calendars["default"].timezone,
                      policy_version=policy.version, indicators=found)


class Scorecard(BaseModel):
    period: str
    policy_version: str
    weights: dict[str, Decimal]
    stations: list[StationScore]


@router.get("/v1/quality/scorecard", response_model=Scorecard, responses=errors(422))
async def quality_scorecard(request: Request, access: AccessDep, policy: PolicyDep,
                            period: Annotated[str, Query(max_length=10, examples=["2026-11"])],
                            ids: bool = Query(False, description="the tickets behind ticket-sourced components")
                            ) -> Scorecard:
    """The station (alliance partner) score (SPEC §9, seed 001) for a month or week, stations ranked."""
    try:
        period_bounds(period, "UTC")
    except PeriodError as exc:
        raise invalid(["query", "period"], str(exc), "period") from None
    found = await scorecard(_store(request), policy, period, _stations(access), ids)
    return Scorecard(period=period, policy_version=policy.version,
                     weights={g.name: g.weight for g in policy.quality.scorecard}, stations=found)


# The longest CSV one upload takes: even written as JSON escapes (up to 12 bytes a character), a CSV this long
# stays under the API's body limit (1 MiB), so an overlong one is a 422 that names the field, never a 413.
# About a thousand rows; a larger import goes in several uploads (each row is taken or none, per upload).
CSV_MAX_CHARS = 80_000


class ScorecardImport(BaseModel):
    model_config = STRICT
    csv: str = Field(min_length=1, max_length=CSV_MAX_CHARS, description="header period,station,component,"
                     "numerator,denominator; then one row per input (at most 80,000 characters an upload)", examples=[
                         "period,station,component,numerator,denominator\n2026-11,SH-PD-01,on_time_departure,95,100\n"])


class Imported(BaseModel):
    imported: int


@router.post("/v1/quality/scorecard-inputs", response_model=Imported, responses=errors(422))
async def import_scorecard_inputs(body: ScorecardImport, request: Request, access: AccessDep,
                                  policy: PolicyDep) -> Imported:
    """Import the scorecard inputs the ticket system does not know (R-KPI-8): every row or none."""
    inputs, problems = parse_inputs(body.csv, policy.quality.scorecard)
    if problems:
        raise RequestValidationError([problem(["body", "csv"], p, "csv_row") for p in problems])
    n = await _store(request).import_inputs(inputs, datetime.now(UTC), access.actor)
    return Imported(imported=n)


class ScorecardInputs(BaseModel):
    period: str
    items: list[dict[str, Any]]


@router.get("/v1/quality/scorecard-inputs", response_model=ScorecardInputs)
async def scorecard_inputs(request: Request, access: AccessDep,
                           period: Annotated[str, Query(max_length=10, examples=["2026-11"])]) -> ScorecardInputs:
    """The imported inputs of a period."""
    found = await _store(request).inputs(period)
    return ScorecardInputs(period=period, items=[i.model_dump() for i in found])


# --- stored reports --------------------------------------------------------------------------------------

class ReportSummary(BaseModel):
    report_id: str
    kind: str
    period: str
    created_at: datetime
    policy_version: str


class ReportPage(BaseModel):
    items: list[ReportSummary]
    total: int
    limit: int
    offset: int


class StoredReport(ReportSummary):
    body: dict[str, Any]


@router.get("/v1/quality/reports", response_model=ReportPage)
async def list_reports(request: Request, access: AccessDep, kind: Literal["weekly", "monthly"] | None = None,
                       period: Period = None, limit: Limit = 50, offset: Offset = 0) -> ReportPage:
    """The reports the Schedules stored, newest first."""
    items, total = await _store(request).reports(kind, period, limit, offset)
    return ReportPage(items=[ReportSummary(**i) for i in items], total=total, limit=limit, offset=offset)


@router.get("/v1/quality/reports/{report_id}", response_model=StoredReport, responses=errors(404))
async def get_report(report_id: Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                                        examples=["weekly-2026-W47"])],
                     request: Request, access: AccessDep) -> StoredReport:
    """A stored report, exactly as its run wrote it."""
    found = await _store(request).report(report_id)
    if found is None:
        raise HTTPException(404, f"no report {report_id}")
    return StoredReport(**found)
