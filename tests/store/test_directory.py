"""Who is who on SQLite and PostgreSQL: put, rename, remove and reactivate; only active contacts are named."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from domain.directory import Contact, Role
from store.db import sync_url
from store.directory import DirectoryStore
from store.models import DirectoryEntryRow

T0 = datetime(2025, 9, 30, 2, tzinfo=UTC)
WANG = Contact(role=Role.PROVINCIAL_CS_DIRECTOR, scope="jiangsu", name="王五", phone="+8613812345678")
ZHAO = Contact(role=Role.PROVINCIAL_CS_DIRECTOR, scope="jiangsu", name="赵六", phone="+8613912345678")


@pytest.fixture
def directory(engine) -> DirectoryStore:
    return DirectoryStore(engine)


def _rows(database_url) -> list[tuple]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        rows = conn.execute(
            select(DirectoryEntryRow.name, DirectoryEntryRow.phone, DirectoryEntryRow.active,
                   DirectoryEntryRow.updated_at).order_by(DirectoryEntryRow.id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


async def test_put_adds_once_and_a_repeat_changes_nothing(directory, database_url):
    assert await directory.put(WANG, T0) is True
    assert await directory.put(WANG, T0 + timedelta(hours=1)) is False
    assert await directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu") == [WANG]
    [(name, phone, active, updated_at)] = _rows(database_url)
    assert (name, phone, active) == ("王五", "+8613812345678", True)
    assert updated_at == T0  # the repeat did not touch the row


async def test_put_with_a_new_name_renames_the_same_entry(directory, database_url):
    await directory.put(WANG, T0)
    renamed = WANG.model_copy(update={"name": "王小五"})
    assert await directory.put(renamed, T0 + timedelta(hours=1)) is True
    assert await directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu") == [renamed]
    assert _rows(database_url) == [("王小五", "+8613812345678", True, T0 + timedelta(hours=1))]


async def test_remove_deactivates_and_put_reactivates(directory, database_url):
    await directory.put(WANG, T0)
    await directory.put(ZHAO, T0)
    assert await directory.remove(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu", WANG.phone, T0 + timedelta(hours=1)) is True
    assert await directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu") == [ZHAO]
    # a second removal, or one of an entry that never was, changes nothing
    assert await directory.remove(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu", WANG.phone, T0 + timedelta(hours=2)) is False
    assert await directory.remove(Role.PROVINCIAL_VP, "jiangsu", WANG.phone, T0) is False
    assert [r[2] for r in _rows(database_url)] == [False, True]
    # the row is kept: putting it back reactivates it, same name or not, and it keeps its place
    assert await directory.put(WANG, T0 + timedelta(hours=3)) is True
    assert await directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu") == [WANG, ZHAO]
    assert _rows(database_url)[0] == ("王五", "+8613812345678", True, T0 + timedelta(hours=3))
    assert len(_rows(database_url)) == 2


async def test_contacts_are_only_the_active_ones_of_that_role_and_scope_oldest_first(directory):
    await directory.put(ZHAO, T0)
    await directory.put(WANG, T0)
    await directory.put(WANG.model_copy(update={"role": Role.PROVINCIAL_VP}), T0)
    await directory.put(WANG.model_copy(update={"scope": "zhejiang"}), T0)
    await directory.remove(Role.PROVINCIAL_CS_DIRECTOR, "zhejiang", WANG.phone, T0)
    assert await directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu") == [ZHAO, WANG]
    assert [c.role for c in await directory.contacts(Role.PROVINCIAL_VP, "jiangsu")] == [Role.PROVINCIAL_VP]
    assert await directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "zhejiang") == []
    assert await directory.contacts(Role.HQ_CS, "hq") == []


async def test_entries_filter_by_role_and_scope_and_page(directory):
    hq = Contact(role=Role.HQ_CS, scope="hq", name="钱七", phone="+861065123456")
    lead = Contact(role=Role.TEAM_LEAD, scope="best", name="孙八", phone="+8613712345678")
    zj = ZHAO.model_copy(update={"scope": "zhejiang"})
    gone = Contact(role=Role.V_CARE, scope="hq", name="周九", phone="+8613612345678")
    for c in (lead, WANG, hq, zj, ZHAO, gone):
        await directory.put(c, T0)
    await directory.remove(Role.V_CARE, "hq", gone.phone, T0)

    everything, total = await directory.entries(None, None, limit=10, offset=0)
    assert total == 5  # the removed one is not listed
    assert everything == [hq, WANG, ZHAO, zj, lead]  # by role, scope, then oldest entry first
    page, total = await directory.entries(None, None, limit=2, offset=2)
    assert total == 5 and page == [ZHAO, zj]
    page, total = await directory.entries(None, None, limit=2, offset=4)
    assert total == 5 and page == [lead]
    by_role, total = await directory.entries(Role.PROVINCIAL_CS_DIRECTOR, None, limit=10, offset=0)
    assert total == 3 and by_role == [WANG, ZHAO, zj]
    by_scope, total = await directory.entries(None, "hq", limit=10, offset=0)
    assert total == 1 and by_scope == [hq]
    both, total = await directory.entries(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu", limit=1, offset=1)
    assert total == 2 and both == [ZHAO]
    assert await directory.entries(Role.PROVINCIAL_VP, None, limit=10, offset=0) == ([], 0)


async def test_role_scope_and_phone_are_unique(directory, database_url):
    await directory.put(WANG, T0)
    # the same phone may hold another role, or the same role elsewhere
    assert await directory.put(WANG.model_copy(update={"role": Role.NETWORK_MANAGER}), T0) is True
    assert await directory.put(WANG.model_copy(update={"scope": "anhui"}), T0) is True
    engine = create_engine(sync_url(database_url))
    try:
        with pytest.raises(IntegrityError):
            with engine.begin() as conn:
                conn.execute(insert(DirectoryEntryRow).values(
                    role=WANG.role.value, scope=WANG.scope, name="someone else", phone=WANG.phone, updated_at=T0,
                ))
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(DirectoryEntryRow)).scalar_one() == 3
        with engine.begin() as conn:  # a row written without `active` is active (the server default)
            conn.execute(insert(DirectoryEntryRow).values(
                role=ZHAO.role.value, scope=ZHAO.scope, name=ZHAO.name, phone=ZHAO.phone, updated_at=T0,
            ))
        assert await directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu") == [WANG, ZHAO]
    finally:
        engine.dispose()
