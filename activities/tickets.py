"""The ticket workflow's I/O: record steps and dispatch to stations.

No business decisions here: the workflow decides, the domain computes,
these functions carry the result to the database and the outside world.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.adapters.station import StationGateway
from domain.ticket import DispatchOrder, Step, TicketState
from store.repository import TicketStore


class StepRecord(BaseModel):
    ticket: TicketState  # the ticket as it is after `step`
    step: Step


class TicketActivities:
    def __init__(self, store: TicketStore, stations: StationGateway) -> None:
        self._store = store
        self._stations = stations

    @activity.defn
    async def record_step(self, record: StepRecord) -> None:
        """R-REC-1: every step is recorded; a retry writes nothing twice."""
        await self._store.record(record.ticket, record.step)

    @activity.defn
    async def dispatch_to_station(self, order: DispatchOrder) -> None:
        await self._stations.dispatch(order)

