"""/v1/stations: the local station adapter's outbox, for stations to read."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query

from api.deps import StoreDep
from api.schemas import DispatchPage

router = APIRouter(prefix="/v1/stations", tags=["stations"])


@router.get("/{station}/dispatches", response_model=DispatchPage)
async def dispatches(
    store: StoreDep,
    station: str = Path(max_length=64),
    pending: bool = Query(False, description="only dispatches the station has not answered"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> DispatchPage:
    items, total = await store.dispatches(station, pending, limit, offset)
    return DispatchPage(items=items, total=total, limit=limit, offset=offset)
