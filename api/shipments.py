"""/v1/shipments: the front desk's status check (R-INQ-1..3, R-TT-1), without opening a ticket."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PolicyDep
from api.schemas import ShipmentIn, StatusCheck
from api.tickets import local_today
from domain.flow import FRONT_DESK_ANSWERS
from domain.intake import IntakeError, IntakeRejected, refuse_future_ship_date
from domain.shipment import check_status, transit_days

router = APIRouter(prefix="/v1/shipments", tags=["front desk"])


@router.post("/status-check", response_model=StatusCheck)
async def status_check(body: ShipmentIn, policy: PolicyDep) -> StatusCheck:
    """Signed? Within the transit standard? Arrived? Transport normal? What to tell the customer.
    A ship date after today is refused, as at open."""
    facts, today = body.facts(), local_today(policy)
    if facts.ship_date is not None:
        try:
            refuse_future_ship_date(facts.ship_date, today, field="ship_date")
        except IntakeError as exc:
            raise IntakeRejected([exc]) from exc
    answer = check_status(facts, today)
    standard = (transit_days(facts.origin_province, facts.destination_province)
                if facts.origin_province and facts.destination_province else None)
    return StatusCheck(answer=answer, script=FRONT_DESK_ANSWERS[answer], transit_days=standard)
