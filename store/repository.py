"""Reads and idempotent writes of the record. A retried write changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ticket import Action, DispatchOrder, Step, TicketState
from store.models import StationDispatchRow, TicketEventRow, TicketRow


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    kind: str | None = None
    station: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    urgent: bool | None = None


_DISPATCH_MARKS = {
    Action.STATION_ACKNOWLEDGED: StationDispatchRow.acknowledged_at,
    Action.STATION_REPLIED: StationDispatchRow.answered_at,
}


class TicketStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def record(self, ticket: TicketState, step: Step) -> bool:
        """Append `step` and bring the ticket row up to `ticket`; True if the step is new.

        Idempotent under retries and safe under reordering: the event is keyed by
        (ticket, seq), and the row only moves forward in seq.
        """
        row = _row_values(ticket, step.seq)
        async with self.engine.begin() as conn:
            ins = self._insert(TicketRow).values(**row)
            await conn.execute(
                ins.on_conflict_do_update(
                    index_elements=[TicketRow.id],
                    set_={k: ins.excluded[k] for k in row if k != "id"},
                    where=TicketRow.last_seq < ins.excluded.last_seq,
                )
            )
            inserted = await conn.execute(
                self._insert(TicketEventRow)
                .values(ticket_id=ticket.ticket_id, seq=step.seq, at=step.at, action=step.action,
                        note=step.note, data=step.data)
                .on_conflict_do_nothing(index_elements=[TicketEventRow.ticket_id, TicketEventRow.seq])
                .returning(TicketEventRow.id)  # rowcount is not reliable across drivers; a returned row is
            )
            is_new = inserted.first() is not None
            # The outbox shows when the station took the dispatch on and when it answered (R-CLK-2/3, R-KPI).
            column = _DISPATCH_MARKS.get(step.action)
            if column is not None:
                await conn.execute(
                    update(StationDispatchRow)
                    .where(StationDispatchRow.ticket_id == ticket.ticket_id,
                           StationDispatchRow.round == ticket.dispatch_round, column.is_(None))
                    .values({column: step.at})
                )
            return is_new

    async def add_dispatch(self, order: DispatchOrder) -> bool:
        """Put a dispatch in the outbox once; True if it was not there yet."""
        async with self.engine.begin() as conn:
            inserted = await conn.execute(
                self._insert(StationDispatchRow)
                .values(**order.model_dump(exclude={"answered_at", "acknowledged_at", "answered_in_time"}))
                .on_conflict_do_nothing(index_elements=[StationDispatchRow.ticket_id, StationDispatchRow.round])
                .returning(StationDispatchRow.id)
            )
            return inserted.first() is not None

    async def dispatches(self, station: str, pending_only: bool, limit: int, offset: int) -> tuple[list[DispatchOrder], int]:
        query = select(StationDispatchRow).where(StationDispatchRow.station == station)
        if pending_only:
            query = query.where(StationDispatchRow.answered_at.is_(None))
        # Fresh and food parcels first (R-CHG), then in the order they were sent.
        order = (StationDispatchRow.priority.desc(), StationDispatchRow.id)
        rows, total = await self._page(query.order_by(*order), limit, offset)
        return [DispatchOrder.model_validate(r, from_attributes=True) for r in rows], total

    async def get(self, ticket_id: str) -> TicketState | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                select(TicketRow).where(TicketRow.id == ticket_id, TicketRow.snapshot.is_not(None)))).first()
            if row is None:
                return None
            events = (await conn.execute(
                select(TicketEventRow).where(TicketEventRow.ticket_id == ticket_id).order_by(TicketEventRow.seq)
            )).all()
        return _to_state(row, [Step(seq=e.seq, at=e.at, action=e.action, note=e.note, data=e.data) for e in events])

    async def list(self, flt: TicketFilter, limit: int, offset: int) -> tuple[list[TicketState], int]:
        """Tickets newest first, without their step logs (GET one ticket for those)."""
        query = select(TicketRow).where(TicketRow.snapshot.is_not(None))  # rows from before 0003 have none
        if flt.status:
            query = query.where(TicketRow.status == flt.status)
        if flt.kind:
            query = query.where(TicketRow.kind == flt.kind)
        if flt.station:
            query = query.where(TicketRow.station == flt.station)
        if flt.opened_from:
            query = query.where(TicketRow.opened_at >= flt.opened_from)
        if flt.opened_to:
            query = query.where(TicketRow.opened_at < flt.opened_to)
        if flt.urgent is not None:
            query = query.where(TicketRow.urgent == flt.urgent)
        rows, total = await self._page(query.order_by(TicketRow.opened_at.desc(), TicketRow.id), limit, offset)
        return [_to_state(r, []) for r in rows], total

    async def _page(self, query: Select, limit: int, offset: int) -> tuple[list, int]:
        async with self.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
            rows = (await conn.execute(query.limit(limit).offset(offset))).all()
        return rows, total


def _row_values(t: TicketState, seq: int) -> dict:
    return {
        "id": t.ticket_id, "kind": t.kind.value, "carrier": t.carrier, "waybill": t.waybill,
        "station": t.station, "status": t.status.value, "urgent": t.urgency.urgent,
        "customer_name": t.customer.name, "customer_phone": t.customer.phone,
        "customer_role": t.customer.role.value, "description": t.description,
        "policy_version": t.policy_version, "fingerprint": t.fingerprint,
        "opened_at": t.opened_at, "closed_at": t.closed_at, "resolution": t.resolution,
        "dispatch_round": t.dispatch_round, "callback_attempts": t.callback_attempts,
        "deadlines": [d.model_dump(mode="json") for d in t.deadlines], "last_seq": seq,
        "snapshot": t.model_dump(mode="json", exclude={"steps", "breaches"}),
    }


def _to_state(row, steps: list[Step]) -> TicketState:
    return TicketState.model_validate({**row.snapshot, "steps": steps})
