"""The ticket's append-only log: every step taken is recorded (R-REC-1)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Action(StrEnum):
    """What a step did; the event log's vocabulary."""

    OPENED = "opened"
    DISPATCHED = "dispatched"
    STATION_REPLIED = "station_replied"
    DEADLINE_BREACHED = "deadline_breached"
    CALENDAR_FALLBACK = "calendar_fallback"  # no holiday data for a year: counted on the weekly pattern
    CLOCK_PAUSED = "clock_paused"
    CLOCK_RESUMED = "clock_resumed"
    CALLBACK_ATTEMPT_DUE = "callback_attempt_due"
    CALLBACK_DISPUTED = "callback_disputed"
    CALLBACK_UNREACHABLE = "callback_unreachable"
    CLOSED = "closed"
    MESSAGE_IGNORED = "message_ignored"  # a message the ticket was not waiting for
    STATUS_CHECKED = "status_checked"  # the front desk's answer (R-INQ-1..3)
    NOT_ACCEPTED = "not_accepted"  # R-DMG-1, R-LOSS-4: reason recorded and told
    REVIEWED = "reviewed"  # R-URG-2
    CUSTOMER_TOLD = "customer_told"  # a script of SPEC §10 or a manual's message to the customer
    LOSS_CONFIRMED = "loss_confirmed"  # R-LOSS-2
    CLAIM_DETAILS_REQUESTED = "claim_details_requested"
    CLAIM_DETAILS_GIVEN = "claim_details_given"
    OFFER_MADE = "offer_made"  # R-DMG-4
    OFFER_ANSWERED = "offer_answered"
    CLAIM_FILED = "claim_filed"
    CLAIM_REFUSED = "claim_refused"  # R-CLK-6: out of the window
    CLAIM_DECIDED = "claim_decided"
    SENDER_DECIDED = "sender_decided"  # R-CHG
    APOLOGISED = "apologised"  # R-SVC
    PENALTY_DECIDED = "penalty_decided"
    AMENDED = "amended"  # PATCH: fields changed by the API client
    ESCALATED = "escalated"  # a ladder tier's message went out (R-ESC, R-CLK-9)
    # a ladder tier's message was still on its way (the provider down) when the ladder was stopped: not sent
    ESCALATION_WITHDRAWN = "escalation_withdrawn"
    MESSAGE_SENT = "message_sent"  # a notice: urgent dispatch (R-URG-2) or a message to the customer
    MESSAGE_FAILED = "message_failed"  # nobody in the role, or the provider refused for good: for ops
    STATION_ACKNOWLEDGED = "station_acknowledged"  # R-CLK-2/3: the dispatch was taken on
    AWAITING = "awaiting"  # the ticket now waits for a message (review, offer answer, decision…)
    CLAIM_FILING_FAILED = "claim_filing_failed"  # the claims system refused the filing: for ops
    DISPATCH_UNDELIVERED = "dispatch_undelivered"  # R-ESC-6: the station system could not be reached
    DEADLINES_SUPERSEDED = "deadlines_superseded"  # made moot by the flow: neither met nor breached
    REMINDED = "reminded"  # an internal wait passed its deadline: the role that owes it was reminded
    MESSAGE_UNKNOWN = "message_unknown"  # the provider's answer never came: ops release or cancel it
    RESULT_LETTER_HANDED = "result_letter_handed"  # R-CLK-7: the claim's result letter went to finance
    TAKEN = "taken"  # issue 14: an agent took the ticket (owner = the caller)
    HANDED_OVER = "handed_over"  # issue 14: the ticket went to another agent
    NOTE_ADDED = "note_added"  # issue 14: an internal note, never sent to anyone


class Step(BaseModel):
    """One entry of the ticket's append-only log; seq numbers it within the ticket."""

    seq: int
    at: datetime
    action: Action
    note: str = ""
    data: dict[str, str] = Field(default_factory=dict)
