"""The claims outbox (SPEC §7, R-CLM): each ticket's claim, filed once, and the claims team's decision, set once.

A retried write changes nothing: filing is keyed by ticket, and a decision only lands on an undecided claim.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.claims import ClaimDecision, ClaimDetails, ClaimFiling, ClaimOutcome, ClaimQueue
from domain.customer import Customer
from store.models import ClaimFilingRow


class FiledClaim(ClaimFiling):
    """A filing as the record holds it, with the claims team's decision once there is one."""

    decided_at: datetime | None = None
    outcome: ClaimOutcome | None = None
    amount: Decimal | None = None  # yuan, exact, when paid
    decision_reason: str | None = None
    letter_handed_at: datetime | None = None  # R-CLK-7: the result letter reached finance


class ClaimStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def file(self, filing: ClaimFiling) -> bool:
        """Put the ticket's claim in the outbox once; True if it was not there yet."""
        async with self.engine.begin() as conn:
            inserted = await conn.execute(
                self._insert(ClaimFilingRow)
                .values(**_filing_values(filing))
                .on_conflict_do_nothing(index_elements=[ClaimFilingRow.ticket_id])
                .returning(ClaimFilingRow.id)  # rowcount is not reliable across drivers; a returned row is
            )
            return inserted.first() is not None

    async def claims(self, pending_only: bool, limit: int, offset: int,
                     queue: ClaimQueue | None = None) -> tuple[list[FiledClaim], int]:
        """Claims newest first; `pending_only` keeps those the claims team has not decided yet; `queue` the
        claims team's or the specialists' (SPEC §7)."""
        query = select(ClaimFilingRow)
        if pending_only:
            query = query.where(ClaimFilingRow.decided_at.is_(None))
        if queue is not None:
            query = query.where(ClaimFilingRow.queue == queue.value)
        query = query.order_by(ClaimFilingRow.filed_at.desc(), ClaimFilingRow.id.desc())
        async with self.engine.connect() as conn:
            total = (await conn.execute(_count(query))).scalar_one()
            rows = (await conn.execute(query.limit(limit).offset(offset))).all()
        return [_to_claim(r) for r in rows], total

    async def get(self, ticket_id: str) -> FiledClaim | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(ClaimFilingRow).where(ClaimFilingRow.ticket_id == ticket_id))).first()
        return None if row is None else _to_claim(row)

    async def record_decision(self, ticket_id: str, decision: ClaimDecision, at: datetime) -> bool:
        """Set the decision on the ticket's filed claim once; True if it landed.

        False, changing nothing, when the claim is already decided (a retry or a second decision)
        or when no claim was filed for the ticket.
        """
        async with self.engine.begin() as conn:
            updated = await conn.execute(
                update(ClaimFilingRow)
                .where(ClaimFilingRow.ticket_id == ticket_id, ClaimFilingRow.decided_at.is_(None))
                .values(
                    decided_at=at,
                    outcome=decision.outcome.value,
                    amount=None if decision.amount is None else f"{decision.amount:f}",  # plain digits, exact
                    decision_reason=decision.reason,
                )
                .returning(ClaimFilingRow.id)
            )
            return updated.first() is not None


    async def hand_result_letter(self, ticket_id: str, at: datetime) -> None:
        """R-CLK-7: the local outbox is finance's inbox: mark the letter handed, once."""
        async with self.engine.begin() as conn:
            await conn.execute(update(ClaimFilingRow).where(ClaimFilingRow.ticket_id == ticket_id,
                                                            ClaimFilingRow.letter_handed_at.is_(None))
                               .values(letter_handed_at=at))


def _count(query: Select) -> Select:
    return select(func.count()).select_from(query.order_by(None).subquery())


def _filing_values(f: ClaimFiling) -> dict:
    return {
        "ticket_id": f.ticket_id, "kind": f.kind.value, "carrier": f.carrier, "waybill": f.waybill,
        "claimant_name": f.claimant.name, "claimant_phone": f.claimant.phone,
        "claimant_role": f.claimant.role.value, "details": f.details.model_dump(mode="json"),
        "reason": f.reason, "filed_at": f.filed_at, "queue": f.queue.value,
    }


def _to_claim(row) -> FiledClaim:
    return FiledClaim(
        ticket_id=row.ticket_id, kind=row.kind, carrier=row.carrier, waybill=row.waybill,
        claimant=Customer(name=row.claimant_name, phone=row.claimant_phone, role=row.claimant_role),
        details=ClaimDetails.model_validate(row.details), reason=row.reason, filed_at=row.filed_at,
        decided_at=row.decided_at, outcome=row.outcome,
        amount=None if row.amount is None else Decimal(row.amount), decision_reason=row.decision_reason,
        letter_handed_at=row.letter_handed_at, queue=row.queue,
    )
