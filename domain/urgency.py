"""Whether a ticket is urgent (R-URG-1), and every reason why."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from domain.shipment import Contents, ShipmentFacts


class Urgency(BaseModel):
    model_config = ConfigDict(frozen=True)

    urgent: bool
    reasons: list[str]


INVOICE_THRESHOLD = Decimal("100000")  # yuan, R-URG-1: 以上, the amount itself included
VALUABLES_THRESHOLD = Decimal("20000")  # yuan, R-URG-1: 以上, the amount itself included

# R-URG-1, the three classes of contents that are urgent whatever their value.
_URGENT_DOCUMENTS = frozenset({
    Contents.AIR_TICKET, Contents.ID_CARD, Contents.HOUSEHOLD_REGISTER,
    Contents.PASSPORT, Contents.CONTRACT, Contents.TENDER_DOCUMENT,
})
_TIME_CRITICAL_PAPERS = frozenset({
    Contents.ACCEPTANCE_BILL, Contents.BILL_OF_LADING, Contents.WITHDRAWAL_SLIP,
    Contents.TAX_CERTIFICATE, Contents.LEGAL_DOCUMENT,
})
_SERIOUS_CONSEQUENCE = frozenset({Contents.DIPLOMA, Contents.DEGREE_CERTIFICATE, Contents.EMERGENCY_MEDICINE})


def _over(value: Decimal | None, threshold: Decimal) -> bool:
    """以上 in Chinese usage includes the amount itself. An unknown value is not taken as over: the agent
    asks, amends the shipment facts, and the ticket is assessed again."""
    return value is not None and value >= threshold


def _contents_reason(facts: ShipmentFacts) -> str | None:
    kind = facts.contents
    name = kind.value.replace("_", " ")
    if kind in _URGENT_DOCUMENTS:
        return f"urgent document: {name}"
    if kind in _TIME_CRITICAL_PAPERS:
        return f"time-critical paper: {name}"
    if kind in _SERIOUS_CONSEQUENCE:
        return f"item of serious consequence: {name}"
    if kind == Contents.INVOICE and _over(facts.declared_value, INVOICE_THRESHOLD):
        return f"invoice of ¥{INVOICE_THRESHOLD:,} or more"
    if kind == Contents.VALUABLES and _over(facts.declared_value, VALUABLES_THRESHOLD):
        return f"valuables of ¥{VALUABLES_THRESHOLD:,} or more"
    return None


def assess_urgency(facts: ShipmentFacts) -> Urgency:
    """R-URG-1: urgent by the contents, by the customer's threat, or both (contents reason first)."""
    contents = _contents_reason(facts)
    reasons = [contents] if contents else []
    if facts.external_complaint_threat:
        reasons.append("external complaint or media threat")
    return Urgency(urgent=bool(reasons), reasons=reasons)
