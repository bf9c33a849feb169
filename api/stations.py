"""/v1/stations: the local station adapter's outbox, for stations to read."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query

from api.deps import StoreDep
from api.schemas import STATION_CODE, DispatchPage, Limit, Offset

router = APIRouter(prefix="/v1/stations", tags=["stations"])


@router.get("/{station}/dispatches", response_model=DispatchPage)
async def dispatches(
    store: StoreDep,
    station: str = Path(min_length=1, max_length=64, pattern=STATION_CODE),
    pending: bool = Query(False, description="only dispatches the station has not answered"),
    limit: Limit = 50,
    offset: Offset = 0,
) -> DispatchPage:
    items, total = await store.dispatches(station, pending, limit, offset)
    return DispatchPage(items=items, total=total, limit=limit, offset=offset)
