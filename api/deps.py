"""Shared objects made once in the lifespan, handed to routes as Annotated dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from temporalio.client import Client

from api.errors import problem
from domain.policy import Policy
from settings import Settings, load_policy
from store.claims import ClaimStore
from store.directory import DirectoryStore
from store.repository import TicketStore


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _client(request: Request) -> Client:
    return request.app.state.temporal


def _store(request: Request) -> TicketStore:
    return request.app.state.store


def _claims(request: Request) -> ClaimStore:
    return request.app.state.claims


def _directory(request: Request) -> DirectoryStore:
    return request.app.state.directory


def _policy(settings: Annotated[Settings, Depends(_settings)]) -> Policy:
    return load_policy(settings.policy)  # the file as it is now: edits reach new tickets


SettingsDep = Annotated[Settings, Depends(_settings)]
ClientDep = Annotated[Client, Depends(_client)]
StoreDep = Annotated[TicketStore, Depends(_store)]
ClaimStoreDep = Annotated[ClaimStore, Depends(_claims)]
PolicyDep = Annotated[Policy, Depends(_policy)]
DirectoryStoreDep = Annotated[DirectoryStore, Depends(_directory)]


# --- every route: no query parameter it does not declare -----------------------------------

_QUERY_NAMES: dict[int, tuple[str, ...]] = {}


def _declared_query(route) -> tuple[str, ...]:
    """The query parameters a route declares, its dependencies' included: the route's own
    signature is the one list, so a filter added later is known here without a word."""
    key = id(route)
    if key not in _QUERY_NAMES:
        fields = get_flat_params(route.dependant) if route is not None else []
        _QUERY_NAMES[key] = tuple(f.alias for f in fields if isinstance(f.field_info, params.Query))
    return _QUERY_NAMES[key]


async def refuse_unknown_query(request: Request) -> None:
    """A query parameter the route does not take is a 422 naming it, never silently ignored
    (`?waybill=` on a route without that filter would otherwise list every ticket)."""
    known = _declared_query(request.scope.get("route"))
    unknown = list(dict.fromkeys(name for name in request.query_params if name not in known))
    if unknown:
        takes = f"this route takes {', '.join(known)}" if known else "this route takes no query parameters"
        raise RequestValidationError([
            problem(["query", name], f"unknown query parameter {name!r}; {takes}", "extra_forbidden")
            for name in unknown
        ])
