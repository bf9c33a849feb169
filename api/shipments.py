"""/v1/shipments: the front desk's status check (R-INQ-1..3, R-TT-1), without opening a ticket."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PolicyDep
from api.schemas import StatusCheck
from api.tickets import local_today
from domain.flow import FRONT_DESK_ANSWERS
from domain.shipment import ShipmentFacts, check_status, transit_days

router = APIRouter(prefix="/v1/shipments", tags=["front desk"])


@router.post("/status-check", response_model=StatusCheck)
async def status_check(facts: ShipmentFacts, policy: PolicyDep) -> StatusCheck:
    """Signed? Within the transit standard? Arrived? Transport normal? What to tell the customer."""
    answer = check_status(facts, local_today(policy))
    standard = (transit_days(facts.origin_province, facts.destination_province)
                if facts.origin_province and facts.destination_province else None)
    return StatusCheck(answer=answer, script=FRONT_DESK_ANSWERS[answer], transit_days=standard)
