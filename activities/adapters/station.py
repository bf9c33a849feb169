"""The station system: where dispatches go and replies come from.

Local default: an outbox table that stations read through the API
(`GET /v1/stations/{station}/dispatches`) and answer through the API.
Real driver: POST to the station system's HTTP endpoint.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from domain.dispatch import DispatchOrder
from store.repository import TicketStore


class StationGateway(Protocol):
    async def dispatch(self, order: DispatchOrder) -> None:
        """Deliver `order`; delivering the same (ticket, round) twice must not ask twice."""


class OutboxStationGateway:
    def __init__(self, store: TicketStore) -> None:
        self._store = store

    async def dispatch(self, order: DispatchOrder) -> None:
        await self._store.add_dispatch(order)


class HttpStationGateway:
    """POST {base_url}/dispatches with an Idempotency-Key per (ticket, round)."""

    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=10.0)

    async def dispatch(self, order: DispatchOrder) -> None:
        response = await self._client.post(
            "/dispatches",
            json=order.model_dump(mode="json"),
            headers={"Idempotency-Key": f"{order.ticket_id}:{order.round}"},
        )
        response.raise_for_status()  # an error is retried by the activity's retry policy
