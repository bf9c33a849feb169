"""Shared fixtures: databases (SQLite always, PostgreSQL when one answers), the policy, a ticket."""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from domain.customer import Customer, CustomerRole
from domain.kinds import Kind
from domain.policy import Policy, parse_policy
from domain.ticket import TicketOpening
from store.db import create_engine_for, sync_url
from store.migrate import upgrade
from store.repository import TicketStore
from tests.identity import TestIssuer

ROOT = Path(__file__).resolve().parents[1]

# CI runs a fixed, larger set of examples so a red run is reproducible; locally each run explores anew.
hypothesis_settings.register_profile("ci", derandomize=True, max_examples=300, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")
POSTGRES_URL = os.environ.get("PARCELCARE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_database():
    """A throwaway database on the PostgreSQL server, or None when none answers."""
    admin = create_engine(sync_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"parcelcare_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"CI must have PostgreSQL at {POSTGRES_URL}: {exc}")
        return None, None
    url = sync_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'parcelcare.db'}"
        return
    url, drop = _postgres_database()
    if url is None:
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_URL} (CI has one)")
    yield url
    drop()


@pytest.fixture
async def engine(database_url):
    """An async engine on a freshly migrated database (each backend of `database_url`)."""
    upgrade(database_url)
    migrated = create_engine_for(database_url)
    yield migrated
    await migrated.dispose()


@pytest.fixture
def store(engine) -> TicketStore:
    return TicketStore(engine)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'parcelcare.db'}"


@pytest.fixture(scope="session")
def issuer():
    """An OpenID Connect issuer on a local port: its JWKS over real HTTP, tokens signed with its RSA key."""
    served = TestIssuer()
    yield served
    served.close()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return parse_policy((ROOT / "policy" / "default.toml").read_text())


@pytest.fixture(scope="session")
def cn_policy() -> Policy:
    """The default policy on a calendar that closes on mainland China's public holidays (holidays = "cn")."""
    text = (ROOT / "policy" / "default.toml").read_text()
    default = 'hours = { daily = ["08:00-18:00"] }\nholidays = "none"'
    assert text.count(default) == 1
    return parse_policy(text.replace(default, 'hours = { daily = ["08:00-18:00"] }\nholidays = "cn"'))


def make_opening(policy: Policy, ticket_id: str = "t0000000000000001", station: str = "SH-PD-01",
                 **overrides) -> TicketOpening:
    fields = dict(
        ticket_id=ticket_id, kind=Kind.INQUIRY, carrier="best", waybill="123456789012", station=station,
        customer=Customer(name="张三", phone="+8613812345678", role=CustomerRole.RECIPIENT),
        description="where is my parcel", policy=policy, fingerprint="f" * 64, opened_on=date.today(),
    )
    return TicketOpening(**{**fields, **overrides})
