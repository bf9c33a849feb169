"""Deadlines: promises with an absolute due instant, computed once when they start (SPEC §4)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.policy import Duration


class DeadlineKind(StrEnum):
    COORDINATION = "coordination"  # R-CLK-4: the station feeds back
    REPLY = "reply"  # R-CLK-1: the customer hears back
    LOSS_CONFIRMATION = "loss_confirmation"  # R-CLK-5: no result by then confirms the loss
    ESCALATION_ANSWER = "escalation_answer"  # R-ESC-3: the last tier told owes an answer
    DISPATCH_ANSWER = "dispatch_answer"  # R-CLK-2 direct / R-CLK-3 associated: the station answers the dispatch
    CALLBACK = "callback"  # R-INQ-4: the agent calls the customer back once the station has answered
    URGENT_REVIEW = "urgent_review"  # R-URG-2: the urgent-handling group reviews before dispatch
    CLAIM_DETAILS = "claim_details"  # R-DMG-3, R-LOSS-5: the sender gives what the claim needs
    OFFER_ANSWER = "offer_answer"  # R-DMG-4: the customer answers the re-shipment offer
    SENDER_DECISION = "sender_decision"  # R-CHG: the sender confirms or refuses a change
    CLAIM_DECISION = "claim_decision"  # R-CLM: the claims team decides
    RESULT_LETTER = "result_letter"  # R-CLK-7: the claim's result letter reaches finance
    SPECIALIST_DECISION = "specialist_decision"  # SPEC §7: a claims specialist decides a high-value or disputed claim
    PENALTY_DECISION = "penalty_decision"  # R-SVC: the team lead decides on a complaint about an agent


DEADLINE_RULES = {
    DeadlineKind.COORDINATION: "R-CLK-4",
    DeadlineKind.REPLY: "R-CLK-1",
    DeadlineKind.LOSS_CONFIRMATION: "R-CLK-5",
    DeadlineKind.ESCALATION_ANSWER: "R-ESC-3",
    DeadlineKind.DISPATCH_ANSWER: "R-CLK-2",
    DeadlineKind.CALLBACK: "R-INQ-4",
    DeadlineKind.URGENT_REVIEW: "R-URG-2",
    DeadlineKind.CLAIM_DETAILS: "R-DMG-3",
    DeadlineKind.OFFER_ANSWER: "R-DMG-4",
    DeadlineKind.SENDER_DECISION: "R-CHG",
    DeadlineKind.CLAIM_DECISION: "R-CLM",
    DeadlineKind.RESULT_LETTER: "R-CLK-7",
    DeadlineKind.SPECIALIST_DECISION: "R-CLM",
    DeadlineKind.PENALTY_DECISION: "R-SVC",
}
# Deadlines whose passing is an event of the flow, not a promise broken.
TIMERS = frozenset({DeadlineKind.LOSS_CONFIRMATION})

# R-CLK-1, SPEC §4: what we owe the customer pauses while we wait on the customer;
# what a station owes (R-CLK-4) is never paused by the customer.
PAUSED_BY_CUSTOMER = frozenset({DeadlineKind.REPLY})

# What the station's feedback answers: every open one of these, of every round (R-ESC-4).
ANSWERED_BY_STATION = frozenset({DeadlineKind.COORDINATION, DeadlineKind.DISPATCH_ANSWER})
# What the station and the escalation ladder owe: moot once the loss is confirmed (R-LOSS-2).
OWED_BY_STATION = ANSWERED_BY_STATION | {DeadlineKind.ESCALATION_ANSWER}


class Pause(BaseModel):
    at: datetime
    resumed_at: datetime | None = None


class Deadline(BaseModel):
    """A promise with its absolute due instant, computed once when it starts.

    A pause moves the due instant later by exactly the time paused, in the
    deadline's own measure (calendar or working time), when it is resumed.
    """

    kind: DeadlineKind
    rule: str
    round: int
    measure: Duration  # what it counts, so a resumed pause is added back the same way
    started_at: datetime
    due_at: datetime
    met_at: datetime | None = None
    breached_at: datetime | None = None  # the due instant, once it passed unmet
    # Made moot by the flow before it was met or breached (the loss was confirmed, the round replaced):
    # counted neither as met nor as breached (R-KPI).
    superseded_at: datetime | None = None
    superseded_reason: str | None = None
    # An answer that came after the deadline had ended (breached or superseded): recorded as such, not as met,
    # so the deadline still ends in exactly one way.
    answered_late_at: datetime | None = None
    pauses: list[Pause] = Field(default_factory=list)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].resumed_at is None

    @property
    def ended(self) -> bool:
        """Met, breached or superseded: it ended in exactly one of the three."""
        return self.met_at is not None or self.breached_at is not None or self.superseded_at is not None

    def answered(self, at: datetime) -> None:
        """The owed answer came: the deadline is met if still open; after a breach it is paid late (owed no
        more, still breached); a superseded one stays as it was."""
        if not self.ended:
            self.met_at = at
        elif self.breached_at is not None and self.answered_late_at is None:
            self.answered_late_at = at

    @property
    def running(self) -> bool:
        """Not ended, and not paused: its timer is live."""
        return not self.ended and not self.paused


class Breach(BaseModel):
    kind: DeadlineKind
    rule: str
    round: int
    at: datetime
