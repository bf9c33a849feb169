"""/v1/claims: the local claims adapter's outbox, for the claims team to read (SPEC §7, R-CLM)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Query

from api.deps import ClaimStoreDep
from api.schemas import Page
from store.claims import FiledClaim

router = APIRouter(prefix="/v1/claims", tags=["claims"])

ClaimPage = Page[FiledClaim]


@router.get("", response_model=ClaimPage)
async def claims(
    store: ClaimStoreDep,
    pending: bool = Query(False, description="only claims the claims team has not decided yet"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> ClaimPage:
    items, total = await store.claims(pending, limit, offset)
    return ClaimPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{ticket_id}", response_model=FiledClaim)
async def claim(store: ClaimStoreDep, ticket_id: str = Path(max_length=32)) -> FiledClaim:
    filed = await store.get(ticket_id)
    if filed is None:
        raise HTTPException(404, f"no claim filed for ticket {ticket_id}")
    return filed
