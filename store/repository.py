"""Reads and idempotent writes of the record. A retried write changes nothing."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, bindparam, false, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.dispatch import DispatchOrder
from domain.steps import Action, Step
from domain.ticket import TicketState
from store.models import StationDispatchRow, TicketEventRow, TicketRow
from store.quality import sync_kpi


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    kind: str | None = None
    station: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    urgent: bool | None = None
    # What the caller may see (issue 12): tickets of these carriers, or at these stations; None for both: all.
    visible_carriers: frozenset[str] | None = None
    visible_stations: frozenset[str] | None = None
    # The desk (issue 14).
    waybill: str | None = None
    phone: str | None = None  # E.164, normalised by the caller; matched by its keyed hash on any party
    breached: bool | None = None
    overdue: bool | None = None  # True: owes a promise already past `now`; False: owes none past it
    due_before: datetime | None = None  # owes a promise due before this instant
    owner: str | None = None  # an actor id; "" for tickets nobody has taken
    closed: bool | None = None
    now: datetime | None = None  # the instant `overdue` compares with (the caller's clock)
    sort: Literal["opened", "deadline"] = "opened"  # deadline: earliest owed first (overdue ones lead)


# The development key for phone hashes, used when PARCELCARE_PHONE_HASH_KEY is unset (tests; `make run` makes
# its own under the data directory). Production sets its own; changing it needs the hashes recomputed.
DEV_PHONE_KEY = b"parcelcare development phone hash key"


def phone_digest(key: bytes, phone: str) -> str:
    """A phone (E.164) as the record indexes it: HMAC-SHA256 under the deployment's key, hex. Without the
    key a digest cannot be tested against guessed numbers (a plain hash of 11 digits could)."""
    return hmac.new(key, phone.encode("utf-8"), hashlib.sha256).hexdigest()


def desk_columns(snapshot: dict, key: bytes) -> dict[str, Any]:
    """The columns the desk's lists use, from a ticket's recorded snapshot."""
    t = TicketState.model_validate({**snapshot, "steps": []})
    return _desk_values(t, key)


def _desk_values(t: TicketState, key: bytes) -> dict[str, Any]:
    def digest(phone: str | None) -> str | None:
        return phone_digest(key, phone) if phone else None

    return {"owner": t.owner, "due_at": t.owed_due_at(), "breached": any(d.breached_at for d in t.deadlines),
            "customer_phone_hash": digest(t.customer.phone), "sender_phone_hash": digest(t.sender.phone),
            "recipient_phone_hash": digest(t.recipient.phone)}


_DISPATCH_MARKS = {
    Action.STATION_ACKNOWLEDGED: StationDispatchRow.acknowledged_at,
    Action.STATION_REPLIED: StationDispatchRow.answered_at,
}


# A step's writes, built once: every step runs them, and building a statement per call (its values coerced
# column by column) cost the worker more than running it (issue 13). Parameters come at execution.
_TICKETS, _EVENTS = TicketRow.__table__, TicketEventRow.__table__
_TAKE_WRITE_LOCK = update(_TICKETS).where(_TICKETS.c.id == bindparam("row_id")).values(last_seq=_TICKETS.c.last_seq)
_READ_FOR_STEP = select(_TICKETS.c.snapshot, _TICKETS.c.field_seqs, _TICKETS.c.last_seq).where(
    _TICKETS.c.id == bindparam("row_id"))
_UPDATE_TICKET = update(_TICKETS).where(_TICKETS.c.id == bindparam("row_id"))


class TicketStore:
    def __init__(self, engine: AsyncEngine, phone_key: bytes = DEV_PHONE_KEY) -> None:
        self.engine = engine
        self.phone_key = phone_key
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._read_for_step = _READ_FOR_STEP.with_for_update() if engine.dialect.name == "postgresql" \
            else _READ_FOR_STEP
        # rowcount is not reliable across drivers; a returned row is
        self._add_event = (self._insert(_EVENTS).on_conflict_do_nothing(index_elements=["ticket_id", "seq"])
                           .returning(_EVENTS.c.id))

    async def record(self, ticket_id: str, step: Step, changes: dict[str, Any]) -> bool:
        """Append `step` and merge the ticket fields it changed into the record; True if the step is new.

        Idempotent under retries and safe under reordering: the event is keyed by
        (ticket, seq), and each field only moves forward in seq (a ladder's step
        and the flow's may be recorded concurrently).
        """
        async with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":  # take the write lock before reading: no upgrade deadlock
                await conn.execute(_TAKE_WRITE_LOCK, {"row_id": ticket_id})
            existing = (await conn.execute(self._read_for_step, {"row_id": ticket_id})).first()
            snapshot = dict(existing.snapshot or {}) if existing else {}
            last_seq = existing.last_seq if existing else 0
            seqs = dict(existing.field_seqs or {}) if existing else {}
            for field, value in changes.items():
                if seqs.get(field, last_seq if field in snapshot else 0) <= step.seq:
                    snapshot[field] = value
                    seqs[field] = step.seq
            state = TicketState.model_validate(snapshot)
            row = {**_row_values(state, max(last_seq, step.seq)), **_desk_values(state, self.phone_key),
                   "field_seqs": seqs}
            if existing is None:
                await conn.execute(self._insert(TicketRow).values(**row))
            else:
                await conn.execute(_UPDATE_TICKET, {"row_id": ticket_id,
                                                    **{k: v for k, v in row.items() if k != "id"}})
            inserted = await conn.execute(self._add_event, {
                "ticket_id": ticket_id, "seq": step.seq, "at": step.at, "action": step.action, "note": step.note,
                "data": step.data})
            is_new = inserted.first() is not None
            # The outbox shows when the station took the dispatch on and when it answered (R-CLK-2/3, R-KPI).
            column = _DISPATCH_MARKS.get(step.action)
            if column is not None:
                await conn.execute(
                    update(StationDispatchRow)
                    .where(StationDispatchRow.ticket_id == ticket_id,
                           StationDispatchRow.round == state.dispatch_round, column.is_(None))
                    .values({column: step.at})
                )
            await self._settle_dispatches(conn, state, step)
            await sync_kpi(conn, state)  # what the indicators count (R-KPI), in the same transaction
            return is_new

    async def opened(self, state: TicketState) -> None:
        """The ticket as the API opened it, before its workflow records its first step, so that reads and lists
        find it at once without asking the workflow. Never overwrites: every field of it yields to the
        workflow's own steps (seq 0 is older than any step)."""
        async with self.engine.begin() as conn:
            await conn.execute(self._insert(TicketRow).values(**_row_values(state, 0), field_seqs={})
                               .on_conflict_do_nothing(index_elements=[TicketRow.id]))

    @staticmethod
    async def _settle_dispatches(conn, state: TicketState, step: Step) -> None:
        """Dispatches the ticket no longer waits on leave the station's pending outbox: all of a closed
        ticket or a confirmed loss, and the rounds the flow superseded."""
        moot = [r for r in range(1, state.dispatch_round + 1) if not state.awaits_station(r)]
        if not moot:
            return
        await conn.execute(
            update(StationDispatchRow)
            .where(StationDispatchRow.ticket_id == state.ticket_id, StationDispatchRow.round.in_(moot),
                   StationDispatchRow.answered_at.is_(None), StationDispatchRow.settled_at.is_(None))
            .values(settled_at=step.at))

    async def add_dispatch(self, order: DispatchOrder) -> bool:
        """Put a dispatch in the outbox once; True if it was not there yet."""
        async with self.engine.begin() as conn:
            inserted = await conn.execute(
                self._insert(StationDispatchRow)
                .values(**order.model_dump(exclude={"answered_at", "acknowledged_at", "answered_in_time",
                                                    "settled_at"}),
                        settled_at=order.dispatched_at if order.due_at is None else None)  # nothing to wait for
                .on_conflict_do_nothing(index_elements=[StationDispatchRow.ticket_id, StationDispatchRow.round])
                .returning(StationDispatchRow.id)
            )
            return inserted.first() is not None

    async def dispatches(self, station: str, pending_only: bool, limit: int,
                         offset: int) -> tuple[list[DispatchOrder], int]:
        query = select(StationDispatchRow).where(StationDispatchRow.station == station)
        if pending_only:  # still waiting for this station's answer: not answered, not moot
            query = query.where(StationDispatchRow.answered_at.is_(None), StationDispatchRow.settled_at.is_(None))
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
            # Only the steps the row already holds: a step recorded between the two reads would show without
            # its changes (the status it set), and PostgreSQL's read committed gives each statement its own view.
            events = (await conn.execute(
                select(TicketEventRow).where(TicketEventRow.ticket_id == ticket_id,
                                             TicketEventRow.seq <= row.last_seq).order_by(TicketEventRow.seq)
            )).all()
        return _to_state(row, [Step(seq=e.seq, at=e.at, action=e.action, note=e.note, data=e.data) for e in events])

    async def steps(self, ticket_id: str, up_to: int) -> list[Step]:
        """The ticket's recorded steps with seq up to `up_to`, in order."""
        async with self.engine.connect() as conn:
            events = (await conn.execute(
                select(TicketEventRow).where(TicketEventRow.ticket_id == ticket_id, TicketEventRow.seq <= up_to)
                .order_by(TicketEventRow.seq))).all()
        return [Step(seq=e.seq, at=e.at, action=e.action, note=e.note, data=e.data) for e in events]

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
        query = self._desk_filters(query, flt)
        if flt.visible_carriers is not None or flt.visible_stations is not None:
            seen = [*([TicketRow.carrier.in_(sorted(flt.visible_carriers))] if flt.visible_carriers else []),
                    *([TicketRow.station.in_(sorted(flt.visible_stations))] if flt.visible_stations else [])]
            query = query.where(or_(*seen) if seen else false())
        if flt.sort == "deadline":  # owed soonest first, the overdue leading; nothing owed last (newest first)
            order = (TicketRow.due_at.is_(None), TicketRow.due_at, TicketRow.opened_at.desc(), TicketRow.id)
        else:
            order = (TicketRow.opened_at.desc(), TicketRow.id)
        rows, total = await self._page(query.order_by(*order), limit, offset)
        return [_to_state(r, []) for r in rows], total

    def _desk_filters(self, query: Select, flt: TicketFilter) -> Select:
        if flt.waybill:
            query = query.where(TicketRow.waybill == flt.waybill)
        if flt.phone:
            digest = phone_digest(self.phone_key, flt.phone)
            query = query.where(or_(TicketRow.customer_phone_hash == digest, TicketRow.sender_phone_hash == digest,
                                    TicketRow.recipient_phone_hash == digest))
        if flt.breached is not None:
            query = query.where(TicketRow.breached == flt.breached)
        if flt.overdue is not None:
            if flt.now is None:
                raise ValueError("an overdue filter needs `now`")
            late = TicketRow.due_at < flt.now
            query = query.where(late if flt.overdue else or_(TicketRow.due_at.is_(None), ~late))
        if flt.due_before is not None:
            query = query.where(TicketRow.due_at < flt.due_before)
        if flt.owner is not None:
            query = query.where(TicketRow.owner == flt.owner if flt.owner else TicketRow.owner.is_(None))
        if flt.closed is not None:
            query = query.where(TicketRow.status == "closed" if flt.closed else TicketRow.status != "closed")
        return query

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
