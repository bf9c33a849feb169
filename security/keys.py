"""API keys for systems (a CRM, a station system, an SMS provider's receipt callback), stored hashed.

A key is `pck_<key id>_<secret>`: the key id (12 hex digits) is public and names the key in lists
and logs; the secret is 32 random bytes (256 bits, URL-safe base64). The record keeps the key id and
the SHA-256 of the whole key, never the key: it is shown once, when it is made.

Why SHA-256 and not a password hash (bcrypt, scrypt, Argon2): those are slow on purpose, so that a
stolen table of hashes of *guessable* passwords costs years to reverse. A key here is not guessable:
256 random bits cannot be searched, fast hash or slow. A slow hash would only make every request
slower; one SHA-256 and a constant-time comparison cost microseconds.

    python -m security.keys create --name crm-best --role client --carrier best
    python -m security.keys create --name station-sh-pd-01 --role station --station SH-PD-01
    python -m security.keys create --name aliyun-receipts --role sms_provider --provider aliyun
    python -m security.keys create --name prometheus --role metrics --out /run/secrets/parcelcare-metrics.key
    python -m security.keys list [--all]
    python -m security.keys revoke <key id>

The database is PARCELCARE_DATABASE_URL's (migrated: `make migrate`). A key's name is the actor its
calls are recorded under, so names are never reused, even after a key is revoked.

Every request looks its key up (a revoked key is refused from its next request on). While the record
cannot be reached, a key this process verified within the last OUTAGE_GRACE_SECONDS keeps working
(nobody can revoke one meanwhile either: revoking writes to the same record), so a CRM can still open
tickets through a database outage, as the API promises; a key not seen lately gets a 503.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import hmac
import os
import re
import secrets
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from security.access import Principal, Role, ScopeKind, scope_kind
from store.models import ApiKeyRow

PREFIX = "pck_"
_KEY = re.compile(r"pck_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SCOPE_VALUE = re.compile(r"\*|[A-Za-z0-9_-]{1,64}")
OUTAGE_GRACE_SECONDS = 600.0
_OUTAGES = (OperationalError, InterfaceError, PoolTimeout)


class CredentialRefused(Exception):
    """The credential does not let anyone in; the message says why, for the caller (never the key)."""


class KeyRefused(ValueError):
    """A key that cannot be made as asked; the message says why."""


class KeyInfo(BaseModel):
    """A key as lists show it: never the key, never its hash."""

    key_id: str
    name: str
    roles: list[Role]
    carriers: list[str] = []
    stations: list[str] = []
    providers: list[str] = []
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """(key id, key): 48 bits of public id, 256 bits of secret."""
    key_id = secrets.token_hex(6)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def _values(kind: str, given: Iterable[str]) -> list[str]:
    values = sorted({v.strip() for v in given if v.strip()})
    bad = [v for v in values if not _SCOPE_VALUE.fullmatch(v)]
    if bad:
        raise KeyRefused(f"{kind}: {', '.join(map(repr, bad))} is not a code (letters, digits, - and _), nor *")
    return values


class KeyStore:
    def __init__(self, engine: AsyncEngine, outage_grace: float = OUTAGE_GRACE_SECONDS) -> None:
        self.engine = engine
        self.outage_grace = outage_grace
        self._verified: dict[str, tuple[Principal, float]] = {}  # key hash -> (principal, when verified)

    async def create(self, name: str, roles: Iterable[Role | str], carriers: Iterable[str] = (),
                     stations: Iterable[str] = (), providers: Iterable[str] = (), by: str = "cli",
                     at: datetime | None = None) -> tuple[KeyInfo, str]:
        """Make a key; returns its description and the key itself, which nothing keeps (show it once)."""
        if not _NAME.fullmatch(name):
            raise KeyRefused(f"{name!r} is not a key name: 1 to 100 of letters, digits, '.', '_' and '-'")
        try:
            wanted = sorted({Role(r) for r in roles})
        except ValueError as exc:
            raise KeyRefused(f"{exc}; the roles are {', '.join(r.value for r in Role)}") from None
        if not wanted:
            raise KeyRefused("a key needs at least one role")
        scopes = {ScopeKind.CARRIERS: _values("carriers", carriers), ScopeKind.STATIONS: _values("stations", stations),
                  ScopeKind.PROVIDERS: _values("providers", providers)}
        for role in wanted:  # a scoped role held for nothing could do nothing: say so now, not at its first call
            kind = scope_kind(role)
            if kind != ScopeKind.EVERYTHING and not scopes[kind]:
                raise KeyRefused(f"the role {role.value} is held for {kind.value}: name at least one "
                                 f"(--{kind.value[:-1]} CODE, or * for every one)")
        key_id, key = new_key()
        row = ApiKeyRow(key_id=key_id, name=name, key_hash=key_hash(key), roles=[r.value for r in wanted],
                        carriers=scopes[ScopeKind.CARRIERS], stations=scopes[ScopeKind.STATIONS],
                        providers=scopes[ScopeKind.PROVIDERS], created_at=at or datetime.now(UTC), created_by=by)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(ApiKeyRow.__table__.insert().values(**_columns(row)))
        except IntegrityError:
            raise KeyRefused(f"a key named {name!r} exists already (names are never reused: a name is the actor "
                             "of every step its calls recorded)") from None
        return _info(row), key

    async def list(self, include_revoked: bool = False) -> list[KeyInfo]:
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            return [_info(r) for r in (await conn.execute(query)).all()]

    async def get(self, key_id: str) -> KeyInfo | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))).first()
        return _info(row) if row is not None else None

    async def revoke(self, key_id: str, by: str, at: datetime | None = None) -> KeyInfo | None:
        """Revoke the key from its next request on; None for an unknown key id. Revoking twice keeps the first."""
        async with self.engine.begin() as conn:
            await conn.execute(update(ApiKeyRow).where(ApiKeyRow.key_id == key_id, ApiKeyRow.revoked_at.is_(None))
                               .values(revoked_at=at or datetime.now(UTC), revoked_by=by))
        return await self.get(key_id)

    async def principal(self, key: str) -> Principal:
        """The caller a key stands for; CredentialRefused when it stands for nobody."""
        match = _KEY.fullmatch(key)
        if match is None:
            raise CredentialRefused("the API key is malformed: a key is pck_<12 hex digits>_<43 characters>")
        digest = key_hash(key)
        try:
            async with self.engine.connect() as conn:
                row = (await conn.execute(select(ApiKeyRow).where(ApiKeyRow.key_id == match.group(1)))).first()
        except _OUTAGES:
            recent = self._verified.get(digest)
            if recent is not None and time.monotonic() - recent[1] < self.outage_grace:
                return recent[0]
            raise
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            raise CredentialRefused("the API key is not one of this API's keys")
        if row.revoked_at is not None:
            self._verified.pop(digest, None)
            raise CredentialRefused(f"the API key {row.key_id} was revoked")
        principal = Principal(actor=f"key:{row.name}", via="api_key", roles=frozenset(Role(r) for r in row.roles),
                              carriers=frozenset(row.carriers), stations=frozenset(row.stations),
                              providers=frozenset(row.providers))
        self._verified[digest] = (principal, time.monotonic())
        return principal


def _columns(row: ApiKeyRow) -> dict:
    return {c.name: getattr(row, c.name) for c in ApiKeyRow.__table__.columns if c.name != "id"}


def _info(row) -> KeyInfo:
    return KeyInfo(key_id=row.key_id, name=row.name, roles=row.roles, carriers=row.carriers, stations=row.stations,
                   providers=row.providers, created_at=row.created_at, created_by=row.created_by,
                   revoked_at=row.revoked_at, revoked_by=row.revoked_by)


def write_private(path: Path, text: str) -> None:
    """A file only this user can read, from its first byte (a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    path.chmod(0o600)  # a file that existed keeps its mode through O_CREAT


# --- the command ----------------------------------------------------------------------------

def _describe(info: KeyInfo) -> str:
    scopes = [f"{kind}={','.join(values)}" for kind, values in
              (("carriers", info.carriers), ("stations", info.stations), ("providers", info.providers)) if values]
    revoked = f"  REVOKED {info.revoked_at:%Y-%m-%d %H:%M}Z by {info.revoked_by}" if info.revoked_at else ""
    return (f"{info.key_id}  {info.name:<24} {','.join(info.roles):<28} {' '.join(scopes) or '-':<32} "
            f"created {info.created_at:%Y-%m-%d %H:%M}Z by {info.created_by}{revoked}")


async def _run(args: argparse.Namespace, engine: AsyncEngine) -> int:
    store = KeyStore(engine)
    by = f"cli:{getpass.getuser()}"
    if args.command == "create":
        try:
            info, key = await store.create(args.name, args.role, args.carrier, args.station, args.provider, by=by)
        except KeyRefused as exc:
            print(f"not created: {exc}", file=sys.stderr)
            return 2
        if args.out:
            write_private(Path(args.out), key + "\n")
            print(f"created {_describe(info)}\nthe key is in {args.out} (mode 0600); it is shown nowhere else")
        else:
            print(f"created {_describe(info)}\n\n{key}\n\nThis is the only time the key is shown: store it now.")
        return 0
    if args.command == "list":
        for info in await store.list(include_revoked=args.all):
            print(_describe(info))
        return 0
    info = await store.revoke(args.key_id, by=by)
    if info is None:
        print(f"no key {args.key_id}", file=sys.stderr)
        return 1
    print(f"revoked {_describe(info)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m security.keys", description="API keys of ParcelCare's callers.")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="make a key and show it once")
    create.add_argument("--name", required=True, help="the actor its calls are recorded under (never reused)")
    create.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
    create.add_argument("--carrier", action="append", default=[], help="client: a carrier code, or *")
    create.add_argument("--station", action="append", default=[], help="station, station_head: a station code, or *")
    create.add_argument("--provider", action="append", default=[], help="sms_provider: aliyun or tencent")
    create.add_argument("--out", help="write the key to this file (mode 0600) instead of printing it")
    listing = sub.add_parser("list", help="the keys, never their secrets")
    listing.add_argument("--all", action="store_true", help="revoked keys too")
    revoke = sub.add_parser("revoke", help="refuse the key from its next request on")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)

    from settings import get_settings
    from store.db import create_engine_for

    async def run() -> int:
        engine = create_engine_for(get_settings().database_url)
        try:
            return await _run(args, engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
