"""The desk's lists (issue 14) on SQLite and PostgreSQL: by waybill, by any party's phone (a keyed hash, never
the number), breached, overdue, due before, owner, and sorted by the earliest promise still owed."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.customer import Customer, CustomerRole
from domain.deadlines import DeadlineKind
from domain.parties import Party
from domain.policy import Duration
from domain.statuses import Status
from domain.steps import Action
from domain.ticket import TicketState
from store.models import TicketRow
from store.repository import TicketFilter, TicketStore, phone_digest
from tests.conftest import make_opening

T0 = datetime(2026, 11, 23, 2, tzinfo=UTC)
H = timedelta(hours=1)


async def _save(store, t: TicketState) -> None:
    step = t.add_step(t.opened_at, Action.OPENED)
    await store.record(t.ticket_id, step, t.model_dump(mode="json", exclude={"steps", "breaches"}))


def _ticket(policy, n: int, **overrides) -> TicketState:
    return TicketState.from_opening(make_opening(policy, f"d{n:015d}", **overrides), T0 + n * timedelta(minutes=1))


def _due(t: TicketState, at: datetime, kind=DeadlineKind.REPLY, breached=False, met=False) -> None:
    d = t.start_deadline(kind, 1, policy_measure(), T0 - 10 * H, at)
    d.breached_at = at if breached else None
    d.met_at = at if met else None


def policy_measure() -> Duration:
    return Duration.parse("2h")


async def _ids(store, **kw) -> list[str]:
    page, _ = await store.list(TicketFilter(now=T0, **kw), 50, 0)
    return [t.ticket_id for t in page]


async def test_find_by_waybill_and_by_any_partys_phone_written_any_way(store, policy):
    a = _ticket(policy, 1, waybill="111111111111")
    a.sender = Party(name="李四", phone="+8613987654321")
    b = _ticket(policy, 2, waybill="222222222222",
                customer=Customer(name="王五", phone="+8613700000001", role=CustomerRole.SENDER))
    for t in (a, b):
        await _save(store, t)
    assert await _ids(store, waybill="111111111111") == [a.ticket_id]
    assert await _ids(store, phone="+8613987654321") == [a.ticket_id]  # the sender's
    assert await _ids(store, phone="+8613812345678") == [a.ticket_id]  # the customer's
    assert await _ids(store, phone="+8613700000001") == [b.ticket_id]
    assert await _ids(store, phone="+8613000000000") == []


async def test_the_record_keeps_phone_hashes_under_its_key_never_the_number_in_them(store, policy):
    t = _ticket(policy, 3)
    await _save(store, t)
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(TicketRow).where(TicketRow.id == t.ticket_id))).one()
    assert row.customer_phone_hash == phone_digest(store.phone_key, "+8613812345678")
    assert "13812345678" not in row.customer_phone_hash
    other = TicketStore(store.engine, b"another key")  # another deployment's key finds nothing
    assert (await other.list(TicketFilter(phone="+8613812345678"), 10, 0))[1] == 0


async def test_overdue_breached_due_before_and_the_deadline_order(store, policy):
    late = _ticket(policy, 4)
    _due(late, T0 - H)  # running past its due instant: overdue
    breached = _ticket(policy, 5)
    _due(breached, T0 - 2 * H, breached=True)  # breached and still owed: overdue, longest first
    soon = _ticket(policy, 6)
    _due(soon, T0 + H)
    later = _ticket(policy, 7)
    _due(later, T0 + 5 * H)
    met = _ticket(policy, 8)
    _due(met, T0 - H, met=True)  # met: owes nothing
    closed = _ticket(policy, 9)
    _due(closed, T0 - 3 * H, breached=True)
    closed.close(T0, "resolved")
    paid_late = _ticket(policy, 20)  # breached, then answered late (R-CLK-2): still breached, owes nothing
    _due(paid_late, T0 - 4 * H, breached=True)
    paid_late.deadlines[-1].answered_late_at = T0 - H
    for t in (late, breached, soon, later, met, closed, paid_late):
        await _save(store, t)
    assert await _ids(store, overdue=True, sort="deadline") == [breached.ticket_id, late.ticket_id]
    assert set(await _ids(store, breached=True)) == {breached.ticket_id, closed.ticket_id, paid_late.ticket_id}
    assert await _ids(store, due_before=T0 + 2 * H, sort="deadline") == [
        breached.ticket_id, late.ticket_id, soon.ticket_id]
    by_deadline = await _ids(store, closed=False, sort="deadline")
    assert by_deadline[:4] == [breached.ticket_id, late.ticket_id, soon.ticket_id, later.ticket_id]
    assert set(by_deadline[4:]) == {met.ticket_id, paid_late.ticket_id}  # owing nothing, last
    assert closed.ticket_id not in await _ids(store, overdue=True)
    assert await _ids(store, closed=True) == [closed.ticket_id]


async def test_lists_filter_by_owner_and_by_nobody(store, policy):
    mine = _ticket(policy, 10)
    mine.owner = "user:agent-1"
    theirs = _ticket(policy, 11)
    theirs.owner = "user:agent-2"
    nobodys = _ticket(policy, 12)
    for t in (mine, theirs, nobodys):
        await _save(store, t)
    assert await _ids(store, owner="user:agent-1") == [mine.ticket_id]
    assert await _ids(store, owner="") == [nobodys.ticket_id]
    got = await store.get(mine.ticket_id)
    assert got is not None and got.owner == "user:agent-1" and got.status == Status.OPEN


async def test_migration_0012_fills_the_desk_columns_of_tickets_recorded_before_it(database_url, store, policy,
                                                                                   monkeypatch):
    """A ticket recorded before 0012 gets its owed instant, breach and phone hashes from its snapshot, hashed
    with the key of the process that migrates."""
    monkeypatch.setenv("PARCELCARE_PHONE_HASH_KEY", "the migrating process's key")
    from alembic import command

    from store.migrate import alembic_config, upgrade

    t = _ticket(policy, 13, waybill="131313131313")
    _due(t, T0 - H, breached=True)
    await _save(store, t)
    await store.engine.dispose()  # the migration takes the database to itself (SQLite's lock)
    command.downgrade(alembic_config(database_url), "0009_access")
    upgrade(database_url)
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(TicketRow).where(TicketRow.id == t.ticket_id))).one()
    assert row.breached is True and row.due_at == T0 - H and row.owner is None
    key = b"the migrating process's key"
    assert row.customer_phone_hash == phone_digest(key, "+8613812345678")
    assert await _ids(TicketStore(store.engine, key), phone="+8613812345678", overdue=True) == [t.ticket_id]
