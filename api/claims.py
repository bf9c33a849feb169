"""/v1/claims: the local claims adapter's outbox, for the claims team to read (SPEC §7, R-CLM)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from api.deps import ClaimStoreDep
from api.schemas import Limit, Offset, Page, TicketId, errors
from domain.claims import ClaimQueue
from domain.escalation import masked_phone
from store.claims import FiledClaim

router = APIRouter(prefix="/v1/claims", tags=["claims"])

ClaimPage = Page[FiledClaim]


@router.get("", response_model=ClaimPage)
async def claims(
    store: ClaimStoreDep,
    pending: bool = Query(False, description="only claims the claims team has not decided yet"),
    queue: ClaimQueue | None = Query(None, description="team: the claims team's; specialist: high-value or "
                                                      "disputed claims, a claims specialist's (SPEC §7)"),
    limit: Limit = 50,
    offset: Offset = 0,
) -> ClaimPage:
    items, total = await store.claims(pending, limit, offset, queue=queue)
    return ClaimPage(items=[_masked(c) for c in items], total=total, limit=limit, offset=offset)


@router.get("/{ticket_id}", response_model=FiledClaim, responses=errors(404))
async def claim(store: ClaimStoreDep, ticket_id: TicketId) -> FiledClaim:
    filed = await store.get(ticket_id)
    if filed is None:
        raise HTTPException(404, f"no claim filed for ticket {ticket_id}")
    return _masked(filed)


def _masked(filed: FiledClaim) -> FiledClaim:
    """The claimant's phone masked (issue 12: the full number is for those who call the customer); the claims
    system behind the http adapter receives the filing whole."""
    claimant = filed.claimant.model_copy(update={"phone": masked_phone(filed.claimant.phone)})
    return filed.model_copy(update={"claimant": claimant})
