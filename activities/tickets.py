"""The ticket workflow's I/O: record steps and dispatch to stations.

No business decisions here: the workflow decides, the domain computes,
these functions carry the result to the database and the outside world.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from datetime import datetime

from activities.adapters.claims import ClaimsGateway
from activities.adapters.station import StationGateway
from domain.claims import ClaimDecision, ClaimFiling
from domain.ticket import DispatchOrder, Step, TicketState
from store.claims import ClaimStore
from store.repository import TicketStore


class StepRecord(BaseModel):
    ticket: TicketState  # the ticket as it is after `step`
    step: Step


class ClaimDecisionRecord(BaseModel):
    ticket_id: str
    decision: ClaimDecision
    at: datetime


class TicketActivities:
    def __init__(self, store: TicketStore, stations: StationGateway, claims: ClaimsGateway,
                 claim_store: ClaimStore) -> None:
        self._store = store
        self._stations = stations
        self._claims = claims
        self._claim_store = claim_store

    @activity.defn
    async def record_step(self, record: StepRecord) -> None:
        """R-REC-1: every step is recorded; a retry writes nothing twice."""
        await self._store.record(record.ticket, record.step)

    @activity.defn
    async def dispatch_to_station(self, order: DispatchOrder) -> None:
        await self._stations.dispatch(order)


    @activity.defn
    async def file_claim(self, filing: ClaimFiling) -> None:
        """SPEC §7: the claim reaches the claims team once, however often this is retried. A refusal
        that retrying cannot change (4xx but timeout or rate limit) fails for ops to see, not forever."""
        try:
            await self._claims.file(filing)
        except httpx.HTTPStatusError as exc:
            code = exc.response.status_code
            if 400 <= code < 500 and code not in (408, 429):
                raise ApplicationError(f"claims system refused the claim: HTTP {code}", non_retryable=True) from exc
            raise

    @activity.defn
    async def record_claim_decision(self, record: ClaimDecisionRecord) -> None:
        await self._claim_store.record_decision(record.ticket_id, record.decision, record.at)
