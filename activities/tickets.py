"""The ticket workflow's I/O: record steps and dispatch to stations.

No business decisions here: the workflow decides, the domain computes,
these functions carry the result to the database and the outside world.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters.claims import ClaimsGateway
from activities.adapters.station import StationGateway
from domain.claims import ClaimDecision, ClaimFiling, ResultLetter
from domain.dispatch import DispatchOrder
from domain.steps import Step
from domain.ticket import TicketState
from store.claims import ClaimStore
from store.repository import TicketStore


class StepRecord(BaseModel):
    """A step and the ticket fields it changed (linear history: never the whole ticket again)."""

    ticket_id: str = ""
    step: Step
    changes: dict[str, Any] = Field(default_factory=dict)  # top-level fields of the ticket, in JSON mode
    ticket: TicketState | None = None  # v1 sent the whole ticket; kept for its activities still in flight

    def fields(self) -> tuple[str, dict[str, Any]]:
        if self.ticket is not None:
            return self.ticket.ticket_id, self.ticket.model_dump(mode="json", exclude={"steps", "breaches"})
        return self.ticket_id, self.changes


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
        ticket_id, changes = record.fields()
        await self._store.record(ticket_id, record.step, changes)

    @activity.defn
    async def dispatch_to_station(self, order: DispatchOrder) -> None:
        """Deliver the dispatch; a refusal retrying cannot change (4xx but timeout or rate limit) is not
        retried (R-ESC-6 takes over), an outage is, within the workflow's bound."""
        try:
            await self._stations.dispatch(order)
        except httpx.HTTPStatusError as exc:
            code = exc.response.status_code
            if 400 <= code < 500 and code not in (408, 429):
                raise ApplicationError(f"station system refused the dispatch: HTTP {code}", type="DispatchRefused",
                                       non_retryable=True) from exc
            raise


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
    async def hand_result_letter(self, letter: ResultLetter) -> None:
        """R-CLK-7: the result letter to finance through the claims system, once; a refusal for good fails."""
        try:
            await self._claims.hand_result_letter(letter)
        except httpx.HTTPStatusError as exc:
            code = exc.response.status_code
            if 400 <= code < 500 and code not in (408, 429):
                raise ApplicationError(f"claims system refused the result letter: HTTP {code}",
                                       non_retryable=True) from exc
            raise

    @activity.defn
    async def record_claim_decision(self, record: ClaimDecisionRecord) -> None:
        await self._claim_store.record_decision(record.ticket_id, record.decision, record.at)
