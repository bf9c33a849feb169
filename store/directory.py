"""Who is who (SPEC §1, §5): the people escalation SMS go to, by role and scope, managed by ops.

An entry is keyed by role, scope and phone. Removing one keeps the row, inactive, so putting it back
reactivates it; a retried write changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, false, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.directory import Contact, Role
from store.models import DirectoryEntryRow

_KEY = [DirectoryEntryRow.role, DirectoryEntryRow.scope, DirectoryEntryRow.phone]


class DirectoryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def put(self, contact: Contact, at: datetime) -> bool:
        """Add the contact, or reactivate it and take its name; True if that changed anything."""
        insert = self._insert(DirectoryEntryRow).values(
            role=contact.role.value, scope=contact.scope, name=contact.name, phone=contact.phone,
            active=True, updated_at=at,
        )
        upsert = insert.on_conflict_do_update(
            index_elements=_KEY,
            set_={"name": insert.excluded.name, "active": true(), "updated_at": insert.excluded.updated_at},
            # an active entry under the same name is left alone: no row comes back
            where=or_(DirectoryEntryRow.active == false(), DirectoryEntryRow.name != insert.excluded.name),
        ).returning(DirectoryEntryRow.id)  # rowcount is not reliable across drivers; a returned row is
        async with self.engine.begin() as conn:
            return (await conn.execute(upsert)).first() is not None

    async def remove(self, role: Role, scope: str, phone: str, at: datetime) -> bool:
        """Deactivate the entry; False, changing nothing, when there is no such active entry."""
        async with self.engine.begin() as conn:
            updated = await conn.execute(
                update(DirectoryEntryRow)
                .where(
                    DirectoryEntryRow.role == Role(role).value, DirectoryEntryRow.scope == scope,
                    DirectoryEntryRow.phone == phone, DirectoryEntryRow.active == true(),
                )
                .values(active=False, updated_at=at)
                .returning(DirectoryEntryRow.id)
            )
            return updated.first() is not None

    async def contacts(self, role: Role, scope: str) -> list[Contact]:
        """The active contacts of the role for the scope, oldest entry first."""
        query = _active().where(DirectoryEntryRow.role == Role(role).value, DirectoryEntryRow.scope == scope)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(DirectoryEntryRow.id))).all()
        return [_to_contact(r) for r in rows]

    async def entries(
        self, role: Role | None, scope: str | None, limit: int, offset: int
    ) -> tuple[list[Contact], int]:
        """Active contacts by role, scope, then oldest entry first; each filter only when given."""
        query = _active()
        if role is not None:
            query = query.where(DirectoryEntryRow.role == Role(role).value)
        if scope is not None:
            query = query.where(DirectoryEntryRow.scope == scope)
        query = query.order_by(DirectoryEntryRow.role, DirectoryEntryRow.scope, DirectoryEntryRow.id)
        async with self.engine.connect() as conn:
            total = (await conn.execute(_count(query))).scalar_one()
            rows = (await conn.execute(query.limit(limit).offset(offset))).all()
        return [_to_contact(r) for r in rows], total


def _active() -> Select:
    return select(DirectoryEntryRow).where(DirectoryEntryRow.active == true())


def _count(query: Select) -> Select:
    return select(func.count()).select_from(query.order_by(None).subquery())


def _to_contact(row) -> Contact:
    return Contact(role=row.role, scope=row.scope, name=row.name, phone=row.phone)
