"""The SMS record: each message reserved by its key before any provider is called (R-ESC-5).

Every move of a message that may lead to, or follows, a provider call is a compare-and-set on
(state, attempt token): an attempt takes the message under a fresh token (`claim`) and writes its
result only while the message is still in "sending" under that token (`settle`). An attempt that lost
the message (timed out, its retry already holding it; a receipt came first) writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.adapters.sms import Receipt, SmsState
from store.models import SmsMessageRow


class MessageRecord(BaseModel):
    key: str
    ticket_id: str
    purpose: str
    role: str
    phone: str | None
    template: str
    params: dict[str, str]
    text: str
    driver: str
    state: SmsState
    provider_id: str | None
    error: str | None
    attempts: int
    requested_at: datetime
    updated_at: datetime
    attempt_token: str | None = None
    attempt_at: datetime | None = None
    released_by: str | None = None
    released_at: datetime | None = None
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None


def _token_is(token: str | None) -> ColumnElement[bool]:
    return SmsMessageRow.attempt_token.is_(None) if token is None else SmsMessageRow.attempt_token == token


class MessageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def reserve(self, record: MessageRecord) -> MessageRecord:
        """Take the key if nobody has; either way, the message as it stands under that key."""
        async with self.engine.begin() as conn:
            await conn.execute(
                self._insert(SmsMessageRow).values(**record.model_dump(mode="python"))
                .on_conflict_do_nothing(index_elements=[SmsMessageRow.key])
            )
            row = (await conn.execute(select(SmsMessageRow).where(SmsMessageRow.key == record.key))).one()
        return MessageRecord.model_validate(row, from_attributes=True)

    async def get(self, key: str) -> MessageRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(SmsMessageRow).where(SmsMessageRow.key == key))).first()
        return MessageRecord.model_validate(row, from_attributes=True) if row is not None else None

    async def named(self, key: str) -> list[MessageRecord]:
        """The message with this key; failing that, its recipients' messages (the key a ticket's step names is
        the request's, each recipient's adds `:<hash of the number>`)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(SmsMessageRow).where(SmsMessageRow.key == key))).all()
            if not rows:
                rows = (await conn.execute(
                    select(SmsMessageRow).where(SmsMessageRow.key.startswith(f"{key}:", autoescape=True))
                    .order_by(SmsMessageRow.id))).all()
        return [MessageRecord.model_validate(r, from_attributes=True) for r in rows]

    async def _cas(self, key: str, state: SmsState, token: str | None, values: dict) -> bool:
        """Update the message only if it is still in `state` under `token`; True if this call changed it."""
        async with self.engine.begin() as conn:
            changed = await conn.execute(
                update(SmsMessageRow)
                .where(SmsMessageRow.key == key, SmsMessageRow.state == state.value, _token_is(token))
                .values(**values)
                .returning(SmsMessageRow.id)  # rowcount is not reliable across drivers; a returned row is
            )
            return changed.first() is not None

    async def claim(self, key: str, expect: SmsState, expect_token: str | None, token: str, at: datetime) -> bool:
        """Take the message for an attempt that is about to call the provider: (expect, expect_token) ->
        sending under `token`, counted as an attempt. False: another attempt moved it first."""
        return await self._cas(key, expect, expect_token, {
            "state": SmsState.SENDING.value, "attempt_token": token, "attempt_at": at, "updated_at": at,
            "attempts": SmsMessageRow.attempts + 1})

    async def settle(self, key: str, token: str | None, state: SmsState, at: datetime,
                     provider_id: str | None = None, error: str | None = None) -> bool:
        """The outcome of the attempt under `token`, written only while the message is still sending under it.
        Back to reserved (nothing went out) the token is dropped, so the next attempt claims it afresh."""
        values: dict = {"state": state.value, "updated_at": at}
        if provider_id is not None:
            values["provider_id"] = provider_id
        if error is not None:
            values["error"] = error
        if state == SmsState.RESERVED:
            values["attempt_token"] = None
        return await self._cas(key, SmsState.SENDING, token, values)

    async def release(self, key: str, by: str, at: datetime) -> tuple[MessageRecord | None, bool]:
        """Ops: send a message whose fate is unknown (once, by a new attempt); (the message, whether this
        call released it). Only from unknown, so a second release changes nothing."""
        async with self.engine.begin() as conn:
            changed = await conn.execute(
                update(SmsMessageRow).where(SmsMessageRow.key == key, SmsMessageRow.state == SmsState.UNKNOWN.value)
                .values(state=SmsState.RELEASED.value, released_by=by, released_at=at, updated_at=at)
                .returning(SmsMessageRow.id))
            released = changed.first() is not None
        return await self.get(key), released

    async def unrelease(self, key: str, at: datetime) -> bool:
        """Undo a release whose resend could not be started (Temporal unavailable): unknown again."""
        async with self.engine.begin() as conn:
            changed = await conn.execute(
                update(SmsMessageRow).where(SmsMessageRow.key == key, SmsMessageRow.state == SmsState.RELEASED.value)
                .values(state=SmsState.UNKNOWN.value, released_by=None, released_at=None, updated_at=at)
                .returning(SmsMessageRow.id))
            return changed.first() is not None

    async def cancel(self, key: str, by: str, at: datetime) -> tuple[MessageRecord | None, bool]:
        """Ops: never send a message whose fate is unknown; (the message, whether this call cancelled it)."""
        async with self.engine.begin() as conn:
            changed = await conn.execute(
                update(SmsMessageRow).where(SmsMessageRow.key == key, SmsMessageRow.state == SmsState.UNKNOWN.value)
                .values(state=SmsState.CANCELLED.value, cancelled_by=by, cancelled_at=at, updated_at=at)
                .returning(SmsMessageRow.id))
            cancelled = changed.first() is not None
        return await self.get(key), cancelled

    async def withdraw(self, request_key: str, by: str, at: datetime) -> dict[SmsState, int]:
        """The flow no longer wants the messages of a request (its recipients' keys), whose sending has ended:
        those that never reached the provider (reserved) are cancelled; one left sending by a provider call
        that was cut off may have gone out, so it is unknown, for ops. How many end in each state."""
        mine = or_(SmsMessageRow.key == request_key, SmsMessageRow.key.startswith(f"{request_key}:", autoescape=True))
        async with self.engine.begin() as conn:
            await conn.execute(
                update(SmsMessageRow).where(mine, SmsMessageRow.state == SmsState.RESERVED.value)
                .values(state=SmsState.CANCELLED.value, cancelled_by=by, cancelled_at=at, updated_at=at,
                        attempt_token=None))
            await conn.execute(
                update(SmsMessageRow).where(mine, SmsMessageRow.state == SmsState.SENDING.value)
                .values(state=SmsState.UNKNOWN.value, updated_at=at,
                        error=f"{by}, while a provider call was cut off: it may have gone out"))
            states = (await conn.execute(select(SmsMessageRow.state).where(mine))).scalars().all()
        return {state: states.count(state.value) for state in SmsState if state.value in states}

    async def for_ticket(self, ticket_id: str) -> list[MessageRecord]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(SmsMessageRow).where(SmsMessageRow.ticket_id == ticket_id).order_by(SmsMessageRow.id)
            )).all()
        return [MessageRecord.model_validate(r, from_attributes=True) for r in rows]

    async def apply_receipt(self, receipt: Receipt, at: datetime) -> bool:
        """A provider's delivery report, matched by our key or its message id; True if one matched."""
        match = []
        if receipt.key:
            match.append(SmsMessageRow.key == receipt.key)
        if receipt.provider_id:
            match.append(SmsMessageRow.provider_id == receipt.provider_id)
        if not match:
            return False
        state = SmsState.DELIVERED if receipt.delivered else SmsState.UNDELIVERED
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(SmsMessageRow).where(or_(*match))
                .values(state=state.value, error=receipt.error, updated_at=receipt.at or at)
                .returning(SmsMessageRow.id)
            )
            return result.first() is not None
