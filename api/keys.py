"""/v1/keys: the API keys of systems, for admins (issue 12). A key is shown once, when it is made;
lists never show a key or its hash. The same as `python -m security.keys`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import Field

from api.auth import AccessDep
from api.errors import invalid
from api.schemas import Strict, errors
from security.access import Role
from security.keys import KeyInfo, KeyRefused, KeyStore

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyIn(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", examples=["crm-best"],
                      description="the actor its calls are recorded under; never reused")
    roles: list[Role] = Field(min_length=1, max_length=len(Role), examples=[["client"]])
    carriers: list[str] = Field(default=[], max_length=100, examples=[["best"]],
                                description="client: the carriers it serves (* for every one)")
    stations: list[str] = Field(default=[], max_length=1000, description="station, station_head: station codes")
    providers: list[str] = Field(default=[], max_length=2, description="sms_provider: aliyun or tencent")


class NewKey(KeyInfo):
    key: str = Field(description="the key itself: shown this once, kept nowhere")


def _store(request: Request) -> KeyStore:
    return request.app.state.keys


@router.get("", response_model=list[KeyInfo])
async def keys(request: Request, all: bool = Query(False, description="revoked keys too")) -> list[KeyInfo]:
    return await _store(request).list(include_revoked=all)


@router.post("", status_code=201, response_model=NewKey)
async def create_key(body: KeyIn, request: Request, access: AccessDep) -> NewKey:
    """Make a key for a system; the answer is the only place the key is ever shown."""
    try:
        info, key = await _store(request).create(body.name, body.roles, body.carriers, body.stations,
                                                 body.providers, by=access.actor)
    except KeyRefused as exc:
        raise invalid(["body"], str(exc), "key_refused") from None
    return NewKey(**info.model_dump(), key=key)


@router.delete("/{key_id}", response_model=KeyInfo, responses=errors(404))
async def revoke_key(request: Request, access: AccessDep,
                     key_id: str = Path(min_length=1, max_length=16, pattern=r"^[0-9a-f]+$")) -> KeyInfo:
    """Refuse the key from its next request on; revoking a revoked key changes nothing."""
    info = await _store(request).revoke(key_id, by=access.actor)
    if info is None:
        raise HTTPException(404, f"no key {key_id}")
    return info
