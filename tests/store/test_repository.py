"""The record on SQLite and PostgreSQL: idempotent writes, ordering, filters, the station outbox."""

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from domain.ticket import Action, DeadlineKind, DispatchOrder, Status, TicketState
from store.db import sync_url
from store.models import Base
from store.repository import TicketFilter
from tests.conftest import make_opening

T0 = datetime(2025, 9, 30, 2, tzinfo=UTC)


def _ticket(policy, ticket_id="t0000000000000001", opened_at=T0, station="SH-PD-01") -> TicketState:
    return TicketState.from_opening(make_opening(policy, ticket_id, station), opened_at)


def test_migrations_build_exactly_the_models(database_url, store):
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


async def test_r_rec_1_every_step_is_recorded_once_even_when_retried(store, policy):
    t = _ticket(policy)
    step = t.add_step(T0, Action.OPENED, "ticket recorded")
    assert await store.record(t, step) is True
    assert await store.record(t, step) is False  # an activity retry
    got = await store.get(t.ticket_id)
    assert [s.action for s in got.steps] == ["opened"]
    assert got.customer.phone == "+8613812345678"


async def test_an_older_snapshot_never_overwrites_a_newer_one(store, policy):
    t = _ticket(policy)
    first = t.add_step(T0, Action.OPENED)
    older = t.model_copy(deep=True)
    t.status = Status.AWAITING_STATION
    t.start_deadline(DeadlineKind.COORDINATION, 1, policy.clocks.coordination_deadline, T0, T0 + timedelta(hours=20))
    second = t.add_step(T0 + timedelta(seconds=1), Action.DISPATCHED)
    await store.record(t, second)
    await store.record(older, first)  # arrives late
    got = await store.get(t.ticket_id)
    assert got.status == Status.AWAITING_STATION
    assert got.deadlines[0].due_at == T0 + timedelta(hours=20)
    assert [s.seq for s in got.steps] == [1, 2]


async def test_list_filters_and_paginates_newest_first(store, policy):
    for i in range(5):
        t = _ticket(policy, f"t{i:016d}", T0 + timedelta(hours=i), station="A" if i % 2 else "B")
        if i == 4:
            t.status = Status.CLOSED
        await store.record(t, t.add_step(t.opened_at, Action.OPENED))
    page, total = await store.list(TicketFilter(), limit=2, offset=0)
    assert total == 5 and [t.ticket_id for t in page] == ["t0000000000000004", "t0000000000000003"]
    page, total = await store.list(TicketFilter(), limit=2, offset=4)
    assert total == 5 and [t.ticket_id for t in page] == ["t0000000000000000"]
    _, total = await store.list(TicketFilter(station="A"), 10, 0)
    assert total == 2
    page, _ = await store.list(TicketFilter(status="closed"), 10, 0)
    assert [t.ticket_id for t in page] == ["t0000000000000004"]
    page, _ = await store.list(TicketFilter(opened_from=T0 + timedelta(hours=1), opened_to=T0 + timedelta(hours=3)), 10, 0)
    assert [t.ticket_id for t in page] == ["t0000000000000002", "t0000000000000001"]
    page, _ = await store.list(TicketFilter(kind="loss"), 10, 0)
    assert page == []


async def test_station_outbox_takes_a_dispatch_once_and_marks_it_answered(store, policy):
    t = _ticket(policy)
    await store.record(t, t.add_step(T0, Action.OPENED))
    t.dispatch_round = 1
    order = DispatchOrder(ticket_id=t.ticket_id, round=1, station="SH-PD-01", kind=t.kind, waybill=t.waybill,
                          description=t.description, dispatched_at=T0, due_at=T0 + timedelta(hours=20))
    assert await store.add_dispatch(order) is True
    assert await store.add_dispatch(order) is False
    pending, total = await store.dispatches("SH-PD-01", pending_only=True, limit=10, offset=0)
    assert total == 1 and pending[0].due_at == order.due_at and pending[0].answered_at is None
    answered_at = T0 + timedelta(hours=3)
    await store.record(t, t.add_step(answered_at, Action.STATION_REPLIED, "found it"))
    _, pending_total = await store.dispatches("SH-PD-01", pending_only=True, limit=10, offset=0)
    everything, _ = await store.dispatches("SH-PD-01", pending_only=False, limit=10, offset=0)
    assert pending_total == 0 and everything[0].answered_at == answered_at
    assert (await store.dispatches("OTHER", False, 10, 0))[1] == 0


async def test_instants_come_back_aware_and_equal(store, policy):
    t = _ticket(policy)
    await store.record(t, t.add_step(T0, Action.OPENED))
    got = await store.get(t.ticket_id)
    assert got.opened_at == T0 and got.opened_at.tzinfo is not None
    assert await store.get("missing") is None
