"""The claims outbox on SQLite and PostgreSQL: filed once, listed newest first, decided once, exact amounts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from domain.claims import ClaimDecision, ClaimDetails, ClaimFiling, ClaimOutcome
from domain.customer import Customer, CustomerRole
from domain.kinds import Kind
from store.claims import ClaimStore
from store.db import sync_url
from store.models import Base

T0 = datetime(2025, 9, 30, 2, tzinfo=UTC)


@pytest.fixture
def claims(engine) -> ClaimStore:
    return ClaimStore(engine)


def _filing(ticket_id="t0000000000000001", filed_at=T0, **changes) -> ClaimFiling:
    return ClaimFiling(
        ticket_id=ticket_id, kind=Kind.LOSS, carrier="best", waybill="123456789012",
        claimant=Customer(name="李四", phone="+8613912345678", role=CustomerRole.SENDER),
        details=ClaimDetails(contents="a camera", declared_value=Decimal("3999.90"), packaging="carton",
                             freight=Decimal("12.50"), insured=True),
        reason="loss confirmed by the station", filed_at=filed_at,
    ).model_copy(update=changes)


def test_migrations_still_build_exactly_the_models(database_url, claims):
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


async def test_a_claim_is_filed_once_even_when_retried(claims):
    first = _filing()
    assert await claims.file(first) is True
    # a retry, even one carrying different data, changes nothing
    assert await claims.file(_filing(reason="something else", filed_at=T0 + timedelta(hours=1))) is False
    items, total = await claims.claims(pending_only=False, limit=10, offset=0)
    assert total == 1
    assert items[0].reason == first.reason and items[0].filed_at == T0


async def test_get_returns_the_filing_as_given_with_no_decision_yet(claims):
    filing = _filing()
    await claims.file(filing)
    got = await claims.get(filing.ticket_id)
    assert got is not None
    assert ClaimFiling.model_validate(got.model_dump(include=set(ClaimFiling.model_fields))) == filing
    assert got.details.declared_value == Decimal("3999.90") and str(got.details.freight) == "12.50"
    assert got.filed_at.tzinfo is not None
    assert (got.decided_at, got.outcome, got.amount, got.decision_reason) == (None, None, None, None)
    assert await claims.get("missing") is None


async def test_claims_list_newest_first_with_pending_filter_and_pagination(claims):
    for i in range(5):
        await claims.file(_filing(f"t{i:016d}", T0 + timedelta(hours=i)))
    await claims.record_decision(
        "t0000000000000003", ClaimDecision(outcome=ClaimOutcome.REJECTED, reason="not insured"), T0 + timedelta(days=1)
    )
    page, total = await claims.claims(pending_only=False, limit=2, offset=0)
    assert total == 5 and [c.ticket_id for c in page] == ["t0000000000000004", "t0000000000000003"]
    page, total = await claims.claims(pending_only=False, limit=2, offset=4)
    assert total == 5 and [c.ticket_id for c in page] == ["t0000000000000000"]
    pending, total = await claims.claims(pending_only=True, limit=2, offset=1)
    assert total == 4 and [c.ticket_id for c in pending] == ["t0000000000000002", "t0000000000000001"]


async def test_a_decision_is_recorded_once_with_its_exact_amount(claims):
    await claims.file(_filing())
    decided_at = T0 + timedelta(days=2)
    paid = ClaimDecision(outcome=ClaimOutcome.PAID, amount=Decimal("1234567890.10"), decided_by="claims-01")
    assert await claims.record_decision("t0000000000000001", paid, decided_at) is True
    second = ClaimDecision(outcome=ClaimOutcome.REJECTED, reason="changed our mind")
    assert await claims.record_decision("t0000000000000001", second, decided_at + timedelta(hours=1)) is False
    got = await claims.get("t0000000000000001")
    assert got.outcome == ClaimOutcome.PAID and got.decided_at == decided_at
    assert got.amount == Decimal("1234567890.10") and str(got.amount) == "1234567890.10"  # no float on the way
    assert got.decision_reason is None
    assert (await claims.claims(pending_only=True, limit=10, offset=0))[1] == 0


async def test_a_rejection_keeps_its_reason_and_an_unfiled_ticket_takes_no_decision(claims):
    await claims.file(_filing())
    rejected = ClaimDecision(outcome=ClaimOutcome.REJECTED, reason="packaging unfit for fragile contents")
    assert await claims.record_decision("t0000000000000001", rejected, T0) is True
    got = await claims.get("t0000000000000001")
    assert got.outcome == ClaimOutcome.REJECTED and got.amount is None
    assert got.decision_reason == "packaging unfit for fragile contents"
    assert await claims.record_decision("never-filed", rejected, T0) is False
    assert await claims.get("never-filed") is None
