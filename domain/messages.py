"""What reaches a ticket from outside: the messages it may wait for, and amendments.

Each message has one name (`Message`), used by the API that sends it, the
domain rule that says when a ticket takes it, and the workflow that waits
for it. Payloads are pydantic models; the claims team's decision lives with
the claims (domain/claims.py).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from domain.claims import ClaimDecision, ClaimDetails
from domain.shipment import ShipmentFacts


class Message(StrEnum):
    """The messages a ticket takes, each by one name."""

    STATION_REPLY = "station_reply"
    STATION_ACK = "station_ack"
    CALLBACK = "callback"
    CUSTOMER_CONTACT = "customer_contact"
    URGENT_REVIEW = "urgent_review"
    OFFER_ANSWER = "offer_answer"
    SENDER_DECISION = "sender_decision"
    PENALTY_DECISION = "penalty_decision"
    CLAIM_DECISION = "claim_decision"

    @property
    def words(self) -> str:
        """How a person reads it: "station reply"."""
        return self.value.replace("_", " ")


class ParcelStatus(StrEnum):
    """What the station found when it looked."""

    IN_TRANSIT = "in_transit"
    AT_STATION = "at_station"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    NOT_FOUND = "not_found"


class StationReply(BaseModel):
    """Signal: the responsible station's feedback on a dispatch."""

    station: str
    finding: str = Field(min_length=1, max_length=4000)
    parcel_status: ParcelStatus | None = None
    station_suspended: bool = False  # the station is suspended (停业): R-LOSS-1 brings in the network manager
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)


class StationAck(BaseModel):
    """Signal: the station answered the dispatch (took it on), before its feedback (R-CLK-2/3)."""

    station: str
    note: str = Field(default="", max_length=2000)
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)


class CallbackOutcome(StrEnum):
    RESOLVED = "resolved"
    DISPUTED = "disputed"  # the customer does not accept the station's answer
    UNREACHABLE = "unreachable"


class CallbackReport(BaseModel):
    """Signal: the back-office agent called the customer back (R-INQ-4)."""

    outcome: CallbackOutcome
    note: str = Field(default="", max_length=4000)
    agent: str | None = Field(default=None, max_length=100)
    compensation_needed: bool = False  # delay complaints: resolved, but compensation is owed (R-INQ-5)
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)


class CustomerContact(BaseModel):
    """Signal: the customer got in touch (called back in, answered a message) while we waited on them."""

    note: str = Field(default="", max_length=4000)
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)


class ReviewResult(BaseModel):
    """Signal: the urgent-handling group reviewed an urgent ticket before dispatch (R-URG-2)."""

    approved: bool = True
    note: str = Field(default="", max_length=4000)
    reviewer: str | None = Field(default=None, max_length=100)
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)


class OfferAnswer(BaseModel):
    """Signal: the customer's answer to the free re-shipment offer (R-DMG-4)."""

    accepted: bool
    note: str = Field(default="", max_length=4000)
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)


class SenderDecision(BaseModel):
    """Signal: the sender agreed to or refused a redirect, return or change (R-CHG)."""

    agreed: bool
    note: str = Field(default="", max_length=4000)
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)


class PenaltyDecision(BaseModel):
    """Signal: what the responsible station's head decided about the complaint (R-SVC)."""

    penalised: bool
    decision: str = Field(min_length=1, max_length=4000)
    decided_by: str | None = Field(default=None, max_length=100)
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)


class Amendment(BaseModel):
    """Update: what an API client changes on an open ticket (PATCH). The phone is normalised at the API."""

    phone: str | None = None
    description: str | None = Field(default=None, min_length=1, max_length=4000)
    claim_details: ClaimDetails | None = None  # merged field by field into what is known
    shipment: ShipmentFacts | None = None  # replaces the shipment facts
    actor: str | None = Field(default=None, max_length=200)  # who sent it, from their credential (never the body)

    def changed_fields(self) -> set[str]:
        return {name for name in Amendment.model_fields if name != "actor" and getattr(self, name) is not None}


class Assignment(BaseModel):
    """Update (issue 14): who owns the ticket from now on. `owner` is an actor id (`user:…`, `key:…`); a take
    names the caller, a hand-over the colleague. `actor` is the caller, from their credential."""

    owner: str = Field(min_length=1, max_length=200)
    actor: str | None = Field(default=None, max_length=200)


class InternalNote(BaseModel):
    """Update (issue 14): an agent's note on the ticket, for colleagues only: never sent to anyone."""

    text: str = Field(min_length=1, max_length=4000)
    actor: str | None = Field(default=None, max_length=200)


# What each message carries, to read back a message carried over by continue-as-new.
PAYLOADS: dict[Message, type[BaseModel]] = {
    Message.STATION_REPLY: StationReply,
    Message.STATION_ACK: StationAck,
    Message.CALLBACK: CallbackReport,
    Message.CUSTOMER_CONTACT: CustomerContact,
    Message.URGENT_REVIEW: ReviewResult,
    Message.OFFER_ANSWER: OfferAnswer,
    Message.SENDER_DECISION: SenderDecision,
    Message.PENALTY_DECISION: PenaltyDecision,
    Message.CLAIM_DECISION: ClaimDecision,
}
