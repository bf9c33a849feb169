"""Claims (SPEC §7, R-CLM): what a claim carries, when it may be filed, what the claims team decides."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.customer import Customer
from domain.kinds import Kind


class ClaimDetails(BaseModel):
    """R-LOSS-5, R-DMG-3, R-CLM: contents, declared value, packaging, freight, insured or not."""

    model_config = ConfigDict(frozen=True)

    contents: str | None = Field(default=None, min_length=1, max_length=1000)
    declared_value: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)  # yuan
    packaging: str | None = Field(default=None, min_length=1, max_length=200)
    freight: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)  # yuan
    insured: bool | None = None
    # SPEC §7 and R-CLK-6: when the customer's written claim was received, if it came later than the call,
    # and whether the claim is disputed (a specialist's, like a high-value one).
    written_claim_on: date | None = None
    disputed: bool | None = None

    def missing(self) -> list[str]:
        """The fields still to be asked of the customer, in the order the manuals list them."""
        return [name for name in CLAIM_DATA if getattr(self, name) is None]

    def merged(self, newer: ClaimDetails) -> ClaimDetails:
        """These details with every field `newer` gives taking its place."""
        return self.model_copy(update=newer.model_dump(exclude_none=True))


# Kinds that compensate the sender, who is the claimant and is asked for the claim (R-LOSS-5, R-DMG-3).
SENDER_IS_CLAIMANT = frozenset({Kind.LOSS, Kind.DAMAGE, Kind.SHORTAGE})

# R-LOSS-5, R-DMG-3: what the sender is asked for before a claim can be filed.
CLAIM_DATA = ("contents", "declared_value", "packaging", "freight", "insured")


class ClaimQueue(StrEnum):
    TEAM = "team"  # the claims team
    SPECIALIST = "specialist"  # SPEC §7: high-value or disputed claims go to a claims specialist


class ClaimFiling(BaseModel):
    """What the claims team receives (through the claims adapter)."""

    ticket_id: str
    kind: Kind
    carrier: str
    waybill: str
    claimant: Customer  # the sender: the company compensates the sender (R-LOSS-5)
    details: ClaimDetails
    reason: str  # why the claim is filed: confirmed loss, accepted damage, refused re-shipment offer…
    filed_at: datetime
    queue: ClaimQueue = ClaimQueue.TEAM


class ClaimOutcome(StrEnum):
    PAID = "paid"
    REJECTED = "rejected"


class ClaimDecision(BaseModel):
    """Signal: the claims team's decision (SPEC §7); it closes the ticket with that outcome."""

    outcome: ClaimOutcome
    amount: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)  # yuan, when paid
    reason: str | None = Field(default=None, min_length=1, max_length=2000)  # when rejected
    decided_by: str | None = Field(default=None, max_length=100)
    actor: str | None = Field(default=None, max_length=200)  # who decided, from their credential (never the body)

    @model_validator(mode="after")
    def _complete(self) -> ClaimDecision:
        if self.outcome == ClaimOutcome.PAID and self.amount is None:
            raise ValueError("a paid claim needs its amount")
        if self.outcome == ClaimOutcome.REJECTED and not self.reason:
            raise ValueError("a rejected claim needs its reason")
        return self


class ResultLetter(BaseModel):
    """R-CLK-7: the claim's result, agreed with the customer, handed to finance by its due instant."""

    ticket_id: str
    decision: ClaimDecision
    decided_at: datetime
    due_at: datetime


def claim_queue(details: ClaimDetails, specialist_from: Decimal | None) -> ClaimQueue:
    """SPEC §7: a claim of at least the policy's value, or a disputed one, goes to a claims specialist."""
    value = details.declared_value
    high = specialist_from is not None and value is not None and value >= specialist_from
    return ClaimQueue.SPECIALIST if high or details.disputed else ClaimQueue.TEAM


def claimed_on(details: ClaimDetails, opened_on: date) -> date:
    """R-CLK-6: the day the customer claimed: the call that reported it, or a written claim received later."""
    return details.written_claim_on or opened_on


def claim_window_open(ship_date: date, on: date, window_days: int) -> bool:
    """R-CLK-6 / R-DMG-5: a claim must be filed within `window_days` (15) of the ship date."""
    return (on - ship_date).days <= window_days
