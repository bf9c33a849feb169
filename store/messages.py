"""The SMS record: each message reserved by its key before any provider is called (R-ESC-5)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import or_, select, update
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

    async def mark(self, key: str, state: SmsState, at: datetime, provider_id: str | None = None,
                   error: str | None = None, attempt: bool = False,
                   only_from: tuple[SmsState, ...] | None = None) -> None:
        values: dict = {"state": state.value, "updated_at": at}
        if provider_id is not None:
            values["provider_id"] = provider_id
        if error is not None:
            values["error"] = error
        if attempt:
            values["attempts"] = SmsMessageRow.attempts + 1
        query = update(SmsMessageRow).where(SmsMessageRow.key == key)
        if only_from is not None:
            query = query.where(SmsMessageRow.state.in_([s.value for s in only_from]))
        async with self.engine.begin() as conn:
            await conn.execute(query.values(**values))

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
