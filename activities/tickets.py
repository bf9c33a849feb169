"""The ticket workflow's I/O: record steps, dispatch to stations, compute deadlines.

No business decisions here: the workflow decides, the domain computes,
these functions carry the result to the database and the outside world.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

from activities.adapters.station import StationGateway
from domain.policy import CalendarSpec, Duration, due_at
from domain.ticket import DispatchOrder, Step, TicketState
from store.repository import TicketStore


class StepRecord(BaseModel):
    ticket: TicketState  # the ticket as it is after `step`
    step: Step


class DeadlineRequest(BaseModel):
    start: datetime
    duration: Duration
    calendar: CalendarSpec | None


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


@activity.defn
async def compute_deadline(request: DeadlineRequest) -> datetime:
    """Run as a local activity so the instant is computed once and kept in history:
    a replay, a calendar edit or a library upgrade never moves a running ticket's deadline."""
    return due_at(request.start, request.duration, request.calendar)
