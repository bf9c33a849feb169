"""Shared objects made once in the lifespan, handed to routes as Annotated dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from temporalio.client import Client

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
