"""The record of quality management (issue 15): rulings, what the indicators count, scorecard inputs, reports.

Every write is idempotent: a ruling's event is keyed by (ruling, seq) and its row only moves forward in
seq; a report is written once under its id and never changed; a scorecard input is keyed by period,
station and component (a new import of the same key replaces it, until a report pins it).
The indicators' reads select the rows behind each figure with indexed conditions (rule and due
instant, closing and opening instants, issuing instant) on SQLite and PostgreSQL alike; the
figures are counted from them by domain/indicators.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.indicators import Counted
from domain.liability import OPEN, Ruling, RulingState
from domain.scorecard import ImportedInput
from domain.ticket import TicketState
from store.models import (
    KpiDeadlineRow,
    KpiTicketRow,
    QualityReportRow,
    RulingEventRow,
    RulingRow,
    ScorecardInputRow,
)


def kpi_rows(ticket: TicketState | dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ticket as the indicators count it, and its deadlines: one derivation for every recorded step
    and for the migration that fills the tables from tickets recorded before them."""
    t = ticket if isinstance(ticket, TicketState) else TicketState.model_validate(ticket)
    row = {"ticket_id": t.ticket_id, "carrier": t.carrier, "kind": t.kind.value, "station": t.station,
           "province": t.station_province, "opened_at": t.opened_at, "closed_at": t.closed_at,
           "dispatch_rounds": t.dispatch_round, "escalation_tier": t.escalation_tier}
    deadlines = [{"ticket_id": t.ticket_id, "position": i, "kind": d.kind.value, "rule": d.rule,
                  "station": t.station, "province": t.station_province, "due_at": d.due_at, "met_at": d.met_at,
                  "breached_at": d.breached_at, "superseded_at": d.superseded_at}
                 for i, d in enumerate(t.deadlines)]
    return row, deadlines


async def sync_kpi(conn: AsyncConnection, state: TicketState) -> None:
    """Keep what the indicators count of one ticket as the record now has it (in the step's transaction)."""
    row, deadlines = kpi_rows(state)
    await conn.execute(_kpi_upsert(conn.dialect.name, tuple(row)), row)
    await conn.execute(_FORGET_KPI_DEADLINES, {"row_id": state.ticket_id})
    if deadlines:
        await conn.execute(insert(KpiDeadlineRow), deadlines)


# Built once, like a step's own writes (store/repository.py): sync_kpi runs at every step.
_FORGET_KPI_DEADLINES = delete(KpiDeadlineRow.__table__).where(
    KpiDeadlineRow.__table__.c.ticket_id == bindparam("row_id"))


@cache
def _kpi_upsert(dialect: str, columns: tuple[str, ...]):
    table = KpiTicketRow.__table__
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return stmt.on_conflict_do_update(index_elements=["ticket_id"],
                                      set_={c: stmt.excluded[c] for c in columns if c != "ticket_id"})


@dataclass(frozen=True)
class RulingFilter:
    station: str | None = None
    province: str | None = None
    state: str | None = None  # a state, or "open" for every ruling still waiting on someone
    issued_from: datetime | None = None
    issued_to: datetime | None = None
    visible_stations: frozenset[str] | None = None  # None: every station


class QualityStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # --- rulings -------------------------------------------------------------------------------

    async def record_ruling(self, ruling: Ruling, action: str, note: str, actor: str, at: datetime) -> bool:
        """The ruling as of event `ruling.seq`, once; True if the event is new. An older event never
        overwrites the row of a newer one."""
        values = {"ticket_id": ruling.ticket_id, "carrier": ruling.carrier, "kind": ruling.kind.value,
                  "station": ruling.station, "province": ruling.province, "state": ruling.state.value,
                  "issued_at": ruling.issued_at, "unit_due_at": ruling.unit_due_at,
                  "arbitration_due_at": ruling.arbitration_due_at, "decided_at": ruling.decided_at,
                  "seq": ruling.seq, "snapshot": ruling.model_dump(mode="json")}
        async with self.engine.begin() as conn:
            await conn.execute(self._insert(RulingRow).values(ruling_id=ruling.ruling_id, **values)
                               .on_conflict_do_nothing(index_elements=[RulingRow.ruling_id]))
            await conn.execute(update(RulingRow).where(RulingRow.ruling_id == ruling.ruling_id,
                                                       RulingRow.seq < ruling.seq).values(**values))
            inserted = await conn.execute(
                self._insert(RulingEventRow)
                .values(ruling_id=ruling.ruling_id, seq=ruling.seq, at=at, action=action,
                        note=note, actor=actor)
                .on_conflict_do_nothing(index_elements=[RulingEventRow.ruling_id, RulingEventRow.seq])
                .returning(RulingEventRow.id))
            return inserted.first() is not None

    async def ruling(self, ticket_id: str) -> tuple[Ruling, list[dict[str, Any]]] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(RulingRow.snapshot, RulingRow.ruling_id)
                                      .where(RulingRow.ticket_id == ticket_id))).first()
            if row is None:
                return None
            events = (await conn.execute(select(RulingEventRow).where(RulingEventRow.ruling_id == row.ruling_id)
                                         .order_by(RulingEventRow.seq))).all()
        return Ruling.model_validate(row.snapshot), [
            {"seq": e.seq, "at": e.at, "action": e.action, "note": e.note, "actor": e.actor} for e in events]

    async def rulings(self, flt: RulingFilter, limit: int, offset: int) -> tuple[list[Ruling], int]:
        query = select(RulingRow.snapshot)
        if flt.station:
            query = query.where(RulingRow.station == flt.station)
        if flt.province:
            query = query.where(RulingRow.province == flt.province)
        if flt.state == "open":
            query = query.where(RulingRow.state.in_(sorted(s.value for s in OPEN)))
        elif flt.state:
            query = query.where(RulingRow.state == flt.state)
        if flt.issued_from:
            query = query.where(RulingRow.issued_at >= flt.issued_from)
        if flt.issued_to:
            query = query.where(RulingRow.issued_at < flt.issued_to)
        if flt.visible_stations is not None:
            query = query.where(RulingRow.station.in_(sorted(flt.visible_stations)))
        async with self.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
            rows = (await conn.execute(query.order_by(RulingRow.issued_at, RulingRow.ruling_id)
                                       .limit(limit).offset(offset))).all()
        return [Ruling.model_validate(r.snapshot) for r in rows], total

    # --- what the indicators count -----------------------------------------------------------

    async def deadline_rows(self, rule: str, start: datetime, end: datetime,
                            stations: frozenset[str] | None = None) -> list[Counted]:
        """Deadlines of `rule` due in [start, end) that ended met or breached; superseded ones and ones
        still running count neither way (R-KPI)."""
        return await self._ended_deadlines(KpiDeadlineRow.rule == rule, start, end, stations)

    async def deadline_rows_of_kinds(self, kinds: Sequence[str], start: datetime, end: datetime,
                                     stations: frozenset[str] | None = None) -> list[Counted]:
        return await self._ended_deadlines(KpiDeadlineRow.kind.in_(list(kinds)), start, end, stations)

    async def _ended_deadlines(self, which, start: datetime, end: datetime,
                               stations: frozenset[str] | None) -> list[Counted]:
        d = KpiDeadlineRow
        query = (select(d.ticket_id, d.station, d.province, d.met_at, d.breached_at)
                 .where(which, d.due_at >= start, d.due_at < end, d.superseded_at.is_(None),
                        or_(d.met_at.is_not(None), d.breached_at.is_not(None)))
                 .order_by(d.ticket_id, d.position))
        if stations is not None:
            query = query.where(d.station.in_(sorted(stations)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        # A breach is a miss even where an earlier version also stamped the late answer as met.
        return [Counted(r.ticket_id, r.station, r.province, r.met_at is not None and r.breached_at is None)
                for r in rows]

    async def closed_dispatched(self, start: datetime, end: datetime,
                                stations: frozenset[str] | None = None) -> list[Counted]:
        """R-KPI-2: tickets closed in [start, end) that were dispatched; a hit when only once."""
        t = KpiTicketRow
        query = (select(t.ticket_id, t.station, t.province, t.dispatch_rounds)
                 .where(t.closed_at >= start, t.closed_at < end, t.dispatch_rounds >= 1).order_by(t.ticket_id))
        if stations is not None:
            query = query.where(t.station.in_(sorted(stations)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Counted(r.ticket_id, r.station, r.province, r.dispatch_rounds == 1) for r in rows]

    async def opened(self, start: datetime, end: datetime, stations: frozenset[str] | None = None) -> list[Counted]:
        """R-KPI-3: tickets opened in [start, end); a hit when one reached an escalation ladder."""
        t = KpiTicketRow
        query = (select(t.ticket_id, t.station, t.province, t.escalation_tier)
                 .where(t.opened_at >= start, t.opened_at < end).order_by(t.ticket_id))
        if stations is not None:
            query = query.where(t.station.in_(sorted(stations)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Counted(r.ticket_id, r.station, r.province, r.escalation_tier >= 1) for r in rows]

    async def issued_rulings(self, start: datetime, end: datetime,
                             stations: frozenset[str] | None = None) -> list[Counted]:
        """R-KPI-6: rulings issued in [start, end) (the initial rulings); a hit when an appeal was rejected."""
        r_ = RulingRow
        query = (select(r_.ticket_id, r_.station, r_.province, r_.state)
                 .where(r_.issued_at >= start, r_.issued_at < end).order_by(r_.ticket_id))
        if stations is not None:
            query = query.where(r_.station.in_(sorted(stations)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Counted(r.ticket_id, r.station, r.province, r.state == RulingState.UPHELD.value) for r in rows]

    async def station_provinces(self) -> dict[str, str | None]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(KpiTicketRow.station, func.max(KpiTicketRow.province))
                                       .group_by(KpiTicketRow.station))).all()
        return {r[0]: r[1] for r in rows}

    # --- scorecard inputs ------------------------------------------------------------------------

    async def import_inputs(self, inputs: Sequence[ImportedInput], at: datetime, by: str) -> int:
        """Store imported inputs; one already there for the same period, station and component is replaced."""
        async with self.engine.begin() as conn:
            for i in inputs:
                values = {"numerator": i.numerator, "denominator": i.denominator, "imported_at": at,
                          "imported_by": by}
                await conn.execute(self._insert(ScorecardInputRow)
                                   .values(period=i.period, station=i.station, component=i.component, **values)
                                   .on_conflict_do_update(index_elements=[ScorecardInputRow.period,
                                                                          ScorecardInputRow.station,
                                                                          ScorecardInputRow.component],
                                                          set_=values))
        return len(inputs)

    async def inputs(self, period: str, stations: frozenset[str] | None = None) -> list[ImportedInput]:
        s = ScorecardInputRow
        query = select(s).where(s.period == period).order_by(s.station, s.component)
        if stations is not None:
            query = query.where(s.station.in_(sorted(stations)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [ImportedInput(period=r.period, station=r.station, component=r.component, numerator=r.numerator,
                              denominator=r.denominator) for r in rows]

    # --- reports ---------------------------------------------------------------------------------

    async def store_report(self, report_id: str, kind: str, period: str, at: datetime, policy_version: str,
                           body: dict[str, Any]) -> bool:
        """Write a report once: a retried run, or a second run for the same id, changes nothing."""
        async with self.engine.begin() as conn:
            inserted = await conn.execute(
                self._insert(QualityReportRow)
                .values(report_id=report_id, kind=kind, period=period, created_at=at, policy_version=policy_version,
                        body=body)
                .on_conflict_do_nothing(index_elements=[QualityReportRow.report_id])
                .returning(QualityReportRow.report_id))
            return inserted.first() is not None

    async def reports(self, kind: str | None, period: str | None, limit: int,
                      offset: int) -> tuple[list[dict[str, Any]], int]:
        q = QualityReportRow
        query = select(q.report_id, q.kind, q.period, q.created_at, q.policy_version)
        if kind:
            query = query.where(q.kind == kind)
        if period:
            query = query.where(q.period == period)
        async with self.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
            rows = (await conn.execute(query.order_by(q.created_at.desc(), q.report_id).limit(limit)
                                       .offset(offset))).all()
        return [dict(r._mapping) for r in rows], total

    async def report(self, report_id: str) -> dict[str, Any] | None:
        q = QualityReportRow
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(q).where(q.report_id == report_id))).first()
        if row is None:
            return None
        return {"report_id": row.report_id, "kind": row.kind, "period": row.period, "created_at": row.created_at,
                "policy_version": row.policy_version, "body": row.body}

