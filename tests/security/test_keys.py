"""API keys (issue 12): made and shown once, kept as a SHA-256 hash, refused once revoked, managed by
`python -m security.keys`; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from security.access import Role
from security.keys import CredentialRefused, KeyRefused, KeyStore, main
from store.db import create_engine_for
from store.models import ApiKeyRow
from tests.conftest import ROOT


@pytest.fixture
def keys(engine) -> KeyStore:
    return KeyStore(engine)


async def test_a_key_is_kept_only_as_its_hash_and_stands_for_its_holder(keys, engine):
    info, key = await keys.create("crm-best", ["client"], carriers=["best"], by="tests")
    assert key.startswith(f"pck_{info.key_id}_") and len(key.split("_", 2)[2]) == 43  # 256 random bits
    async with engine.connect() as conn:
        row = (await conn.execute(select(ApiKeyRow))).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(tuple(row)) and key.split("_", 2)[2] not in str(tuple(row))
    principal = await keys.principal(key)
    assert principal.actor == "key:crm-best" and principal.roles == {Role.CLIENT}
    assert principal.carriers == {"best"} and principal.via == "api_key"


async def test_an_unknown_a_tampered_and_a_revoked_key_stand_for_nobody(keys):
    info, key = await keys.create("station-1", ["station"], stations=["SH-PD-01"])
    with pytest.raises(CredentialRefused, match="not one of"):
        await keys.principal(key[:-1] + ("A" if key[-1] != "A" else "B"))
    with pytest.raises(CredentialRefused, match="malformed"):
        await keys.principal("pck_nothex")
    assert (await keys.revoke(info.key_id, by="tests")).revoked_by == "tests"
    with pytest.raises(CredentialRefused, match="revoked"):
        await keys.principal(key)
    assert (await keys.revoke(info.key_id, by="someone else")).revoked_by == "tests"  # the first revocation stays
    assert await keys.revoke("ffffffffffff", by="tests") is None
    assert [k.name for k in await keys.list()] == [] and [k.name for k in await keys.list(True)] == ["station-1"]


@pytest.mark.parametrize("name, roles, scopes, says", [
    ("bad name!", ["ops"], {}, "not a key name"),
    ("x", [], {}, "at least one role"),
    ("x", ["root"], {}, "root"),
    ("x", ["station"], {}, "--station"),
    ("x", ["client"], {"carriers": ["best; drop"]}, "not a code"),
    ("x", ["sms_provider"], {}, "--provider"),
])
async def test_a_key_that_could_not_work_is_not_made(keys, name, roles, scopes, says):
    with pytest.raises(KeyRefused, match=says):
        await keys.create(name, roles, **scopes)


async def test_a_name_is_never_reused_even_after_revocation(keys):
    info, _ = await keys.create("crm", ["client"], carriers=["*"])
    await keys.revoke(info.key_id, by="tests")
    with pytest.raises(KeyRefused, match="never reused"):
        await keys.create("crm", ["client"], carriers=["*"])


async def test_a_key_seen_lately_works_through_a_record_outage_and_no_other(sqlite_url):
    from store.migrate import upgrade

    upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    keys = KeyStore(engine)
    _, seen = await keys.create("crm", ["client"], carriers=["best"])
    _, unseen = await keys.create("crm-2", ["client"], carriers=["best"])
    assert (await keys.principal(seen)).actor == "key:crm"
    await engine.dispose()
    keys.engine = create_engine_for("postgresql://postgres@127.0.0.1:1/test")  # refuses connections
    assert (await keys.principal(seen)).actor == "key:crm"
    with pytest.raises(OperationalError):
        await keys.principal(unseen)
    keys.outage_grace = 0
    with pytest.raises(OperationalError):
        await keys.principal(seen)
    await keys.engine.dispose()


def test_the_command_makes_shows_once_lists_and_revokes(sqlite_url, tmp_path):
    from store.migrate import upgrade

    upgrade(sqlite_url)
    env = {**os.environ, "PARCELCARE_DATABASE_URL": sqlite_url}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "security.keys", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    made = run("create", "--name", "crm-best", "--role", "client", "--carrier", "best")
    assert made.returncode == 0, made.stderr
    [key] = [line for line in made.stdout.splitlines() if line.startswith("pck_")]
    assert "only time the key is shown" in made.stdout
    out = tmp_path / "metrics.key"
    filed = run("create", "--name", "prometheus", "--role", "metrics", "--out", str(out))
    assert filed.returncode == 0 and "pck_" not in filed.stdout
    assert out.read_text().startswith("pck_") and stat.S_IMODE(out.stat().st_mode) == 0o600
    listed = run("list")
    assert "crm-best" in listed.stdout and "prometheus" in listed.stdout and "carriers=best" in listed.stdout
    assert key not in listed.stdout and key.split("_", 2)[2] not in listed.stdout
    assert run("create", "--name", "nowhere", "--role", "station").returncode == 2
    key_id = key.split("_")[1]
    revoked = run("revoke", key_id)
    assert revoked.returncode == 0 and "REVOKED" in revoked.stdout
    assert "crm-best" not in run("list").stdout and "crm-best" in run("list", "--all").stdout
    assert run("revoke", "ffffffffffff").returncode == 1


def test_main_refuses_an_unknown_role():
    with pytest.raises(SystemExit):
        main(["create", "--name", "x", "--role", "root"])
