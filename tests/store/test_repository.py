"""The record on SQLite and PostgreSQL: idempotent writes, ordering, filters, the station outbox."""

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from domain.deadlines import DeadlineKind
from domain.dispatch import DispatchOrder
from domain.statuses import Status
from domain.steps import Action
from domain.ticket import TicketState
from store.db import sync_url
from store.models import Base
from store.repository import TicketFilter
from tests.conftest import make_opening

T0 = datetime(2025, 9, 30, 2, tzinfo=UTC)


def _fields(t: TicketState, *only: str) -> dict:
    """What the workflow sends with a step: every field (a run's first step) or the ones it changed."""
    dump = t.model_dump(mode="json", exclude={"steps", "breaches"})
    return {k: v for k, v in dump.items() if not only or k in only}


async def _record(store, t: TicketState, step, *only: str) -> bool:
    return await store.record(t.ticket_id, step, _fields(t, *only))


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
    assert await _record(store, t, step) is True
    assert await _record(store, t, step) is False  # an activity retry
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
    await _record(store, t, second)
    await _record(store, older, first)  # arrives late
    got = await store.get(t.ticket_id)
    assert got.status == Status.AWAITING_STATION
    assert got.deadlines[0].due_at == T0 + timedelta(hours=20)
    assert [s.seq for s in got.steps] == [1, 2]


async def test_a_step_carries_only_the_fields_it_changed_and_the_record_stays_complete(store, policy):
    """Linear history: the first step of a run carries the ticket, later ones what they changed."""
    t = _ticket(policy)
    await _record(store, t, t.add_step(T0, Action.OPENED))
    t.status = Status.AWAITING_STATION
    t.dispatch_round = 1
    await _record(store, t, t.add_step(T0 + timedelta(seconds=1), Action.DISPATCHED), "status", "dispatch_round")
    got = await store.get(t.ticket_id)
    assert got.status == Status.AWAITING_STATION and got.dispatch_round == 1
    assert got.customer.phone == "+8613812345678" and got.description == t.description  # kept from the first


async def test_fields_changed_by_steps_recorded_out_of_order_keep_the_newest_value(store, policy):
    """A ladder's step and the flow's may be recorded concurrently: each field only moves forward in seq."""
    t = _ticket(policy)
    await _record(store, t, t.add_step(T0, Action.OPENED))
    t.status = Status.AWAITING_STATION
    older = t.add_step(T0 + timedelta(seconds=1), Action.AWAITING)
    older_fields = _fields(t, "status")
    t.status = Status.AWAITING_CALLBACK
    t.escalation_tier = 1
    newer = t.add_step(T0 + timedelta(seconds=2), Action.ESCALATED)
    await store.record(t.ticket_id, newer, _fields(t, "status", "escalation_tier"))
    await store.record(t.ticket_id, older, older_fields)  # arrives late
    got = await store.get(t.ticket_id)
    assert got.status == Status.AWAITING_CALLBACK and got.escalation_tier == 1
    assert [s.seq for s in got.steps] == [1, 2, 3]


async def test_list_filters_and_paginates_newest_first(store, policy):
    for i in range(5):
        t = _ticket(policy, f"t{i:016d}", T0 + timedelta(hours=i), station="A" if i % 2 else "B")
        if i == 4:
            t.status = Status.CLOSED
        await _record(store, t, t.add_step(t.opened_at, Action.OPENED))
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
    await _record(store, t, t.add_step(T0, Action.OPENED))
    t.dispatch_round = 1
    order = DispatchOrder(ticket_id=t.ticket_id, round=1, station="SH-PD-01", kind=t.kind, waybill=t.waybill,
                          description=t.description, dispatched_at=T0, due_at=T0 + timedelta(hours=20))
    assert await store.add_dispatch(order) is True
    assert await store.add_dispatch(order) is False
    pending, total = await store.dispatches("SH-PD-01", pending_only=True, limit=10, offset=0)
    assert total == 1 and pending[0].due_at == order.due_at and pending[0].answered_at is None
    answered_at = T0 + timedelta(hours=3)
    await _record(store, t, t.add_step(answered_at, Action.STATION_REPLIED, "found it"))
    _, pending_total = await store.dispatches("SH-PD-01", pending_only=True, limit=10, offset=0)
    everything, _ = await store.dispatches("SH-PD-01", pending_only=False, limit=10, offset=0)
    assert pending_total == 0 and everything[0].answered_at == answered_at
    assert (await store.dispatches("OTHER", False, 10, 0))[1] == 0


async def test_instants_come_back_aware_and_equal(store, policy):
    t = _ticket(policy)
    await _record(store, t, t.add_step(T0, Action.OPENED))
    got = await store.get(t.ticket_id)
    assert got.opened_at == T0 and got.opened_at.tzinfo is not None
    assert await store.get("missing") is None


async def test_a_ticket_is_in_the_record_from_its_opening_and_its_workflow_steps_take_over(store, policy):
    """Issue 13: the API writes the ticket as opened, so reads and lists find it before its worker records
    anything; the workflow's first step overrides every field, and an opening never overwrites a step."""
    t = _ticket(policy)
    await store.opened(t)
    got = await store.get(t.ticket_id)
    assert got is not None and got.status == Status.OPEN and got.steps == []
    assert [s.ticket_id for s in (await store.list(TicketFilter(station="SH-PD-01"), 10, 0))[0]] == [t.ticket_id]

    worker_view = t.model_copy(update={"opened_at": T0 + timedelta(seconds=1)}, deep=True)
    worker_view.status = Status.AWAITING_STATION
    step = worker_view.add_step(T0 + timedelta(seconds=1), Action.OPENED)
    assert await _record(store, worker_view, step) is True
    await store.opened(t)  # a late or retried opening changes nothing now
    got = await store.get(t.ticket_id)
    assert (got.status, got.opened_at, [s.action for s in got.steps]) == (
        Status.AWAITING_STATION, T0 + timedelta(seconds=1), ["opened"])
