"""Who read a customer's full phone number (need to know, issue 12): one row per read, never the number."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import PiiReadRow


class PiiRead(BaseModel):
    at: datetime
    actor: str
    ticket_id: str
    field: str
    route: str
    correlation_id: str


class PiiReadStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(self, read: PiiRead) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(PiiReadRow.__table__.insert().values(**read.model_dump()))

    async def reads(self, ticket_id: str) -> list[PiiRead]:
        """The ticket's recorded reads, oldest first."""
        query = select(PiiReadRow).where(PiiReadRow.ticket_id == ticket_id).order_by(PiiReadRow.at, PiiReadRow.id)
        async with self.engine.connect() as conn:
            return [PiiRead.model_validate(r, from_attributes=True) for r in (await conn.execute(query)).all()]
