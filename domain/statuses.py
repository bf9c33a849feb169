"""Where a ticket stands: what it waits for next, or closed."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    AWAITING_REVIEW = "awaiting_review"  # urgent: the urgent-handling group reviews before dispatch (R-URG-2)
    AWAITING_STATION = "awaiting_station"
    AWAITING_CALLBACK = "awaiting_callback"
    AWAITING_CUSTOMER = "awaiting_customer"  # the customer could not be reached: the reply promise is paused
    AWAITING_CLAIM_DETAILS = "awaiting_claim_details"  # asked of the sender (R-LOSS-5, R-DMG-3)
    AWAITING_OFFER_ANSWER = "awaiting_offer_answer"  # free re-shipment offered (R-DMG-4)
    AWAITING_SENDER = "awaiting_sender"  # a change must be confirmed with the sender (R-CHG)
    AWAITING_PENALTY = "awaiting_penalty"  # the station's head decides a penalty (R-SVC)
    AWAITING_CLAIM = "awaiting_claim"  # filed; the claims team decides (SPEC §7)
    CLOSED = "closed"
