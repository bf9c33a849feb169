"""Liability rulings (SPEC §8, R-LIA; R-CLK-8): who answers for a closed ticket, and how it is settled.

A closed ticket with a responsible unit produces a ruling against that unit (R-LIA-1). The unit has
5 working days (R-CLK-8) to accept it, detailing the liability down to city, link and smallest unit
(R-LIA-2), or to appeal to HQ arbitration with reasons and evidence (R-LIA-3). Arbitration decides
within 5 working days (R-CLK-8): no liability cancels the ruling, liability is detailed down
(R-LIA-4). Silence past the unit's deadline is a breach and the ruling stands (R-LIA-5); a missed
arbitration deadline is a breach too, and arbitration still decides (R-LIA-6, R-REC-2). An appeal
that arbitration rejects is an invalid appeal (R-KPI-6: upheld against the unit).

Pure: no I/O, no clock reads. The ruling workflow asks this module what to do.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from domain.kinds import Kind
from domain.policy import Policy
from domain.statuses import Status


class RulingState(StrEnum):
    AWAITING_UNIT = "awaiting_unit"  # the unit has 5 working days to accept or appeal (R-CLK-8)
    ACCEPTED = "accepted"  # the unit accepted and detailed the liability (R-LIA-2)
    STOOD = "stood"  # the unit kept silent past its deadline: breached, the ruling stands (R-LIA-5)
    IN_ARBITRATION = "in_arbitration"  # appealed to HQ arbitration (R-LIA-3)
    CANCELLED = "cancelled"  # arbitration found no liability (R-LIA-4)
    UPHELD = "upheld"  # arbitration upheld the ruling against the unit: the appeal was invalid (R-LIA-4)


FINAL = frozenset({RulingState.ACCEPTED, RulingState.STOOD, RulingState.CANCELLED, RulingState.UPHELD})
OPEN = frozenset({RulingState.AWAITING_UNIT, RulingState.IN_ARBITRATION})


class Link(StrEnum):
    """The link of the parcel's journey the liability lies in (责任环节)."""

    PICKUP = "pickup"  # 揽收
    SORTING = "sorting"  # 分拣
    TRANSPORT = "transport"  # 运输
    DELIVERY = "delivery"  # 投递
    CUSTOMER_SERVICE = "customer_service"  # 客服
    OTHER = "other"  # 其他


class LiabilityDetail(BaseModel):
    """Liability detailed down (责任细化): the city, the link and the smallest unit (最小生产机构)."""

    city: str = Field(min_length=1, max_length=100)
    link: Link
    unit: str = Field(min_length=1, max_length=100)


class Unit(BaseModel):
    """The responsible unit a ruling is against: the responsible station and its province."""

    station: str
    province: str | None = None


def responsible_unit(kind: Kind, status: Status, station: str, province: str | None,
                     dispatch_round: int) -> Unit | None:
    """R-LIA-1: the unit a closed ticket's ruling is against: the responsible station it was dispatched to.
    A ticket never dispatched (a consult, a call the front desk resolved) has no responsible unit."""
    if status != Status.CLOSED or dispatch_round < 1 or kind == Kind.CONSULT:
        return None
    return Unit(station=station, province=province)


def ruling_id(ticket_id: str) -> str:
    """The ruling's workflow id, derived from the ticket's: one ruling per ticket (R-LIA-1)."""
    return f"ruling-{ticket_id}"


class RulingOpening(BaseModel):
    """The ruling workflow's input: the closed ticket, its unit, the policy pinned on the ticket."""

    ticket_id: str
    carrier: str
    kind: Kind
    unit: Unit
    closed_at: datetime
    policy: Policy


class Acceptance(BaseModel):
    detail: LiabilityDetail
    actor: str | None = None


class Appeal(BaseModel):
    reasons: str = Field(min_length=1, max_length=4000)
    evidence: list[str] = Field(default_factory=list, max_length=50)  # references: file ids, URLs, photo numbers
    actor: str | None = None


class Arbitration(BaseModel):
    liable: bool
    detail: LiabilityDetail | None = None  # required when liable (R-LIA-4)
    reasons: str = Field(default="", max_length=4000)
    actor: str | None = None

    @model_validator(mode="after")
    def _detailed_when_liable(self) -> Arbitration:
        if self.liable and self.detail is None:
            raise ValueError("a ruling upheld by arbitration is detailed down to city, link and unit (R-LIA-4)")
        if not self.liable and self.detail is not None:
            raise ValueError("no liability has no detail: the ruling is cancelled (R-LIA-4)")
        return self


class RulingAnswer(StrEnum):
    ACCEPT = "accept"
    APPEAL = "appeal"
    ARBITRATE = "arbitrate"


def answer_refusal(state: RulingState, answer: RulingAnswer) -> str | None:
    """Why a ruling in `state` does not take `answer` (None: it does)."""
    if answer in (RulingAnswer.ACCEPT, RulingAnswer.APPEAL):
        if state == RulingState.AWAITING_UNIT:
            return None
        if state == RulingState.STOOD:
            return "the unit's 5 working days passed: the ruling stands (R-LIA-5, R-CLK-8)"
        return f"the ruling is {state.value}: the unit's answer is no longer taken"
    if state == RulingState.IN_ARBITRATION:
        return None
    return f"the ruling is {state.value}: only an appealed ruling is arbitrated (R-LIA-3)"


class Ruling(BaseModel):
    """A ruling as its workflow holds it and the record keeps it."""

    ruling_id: str
    ticket_id: str
    carrier: str
    kind: Kind
    station: str
    province: str | None = None
    policy_version: str
    state: RulingState = RulingState.AWAITING_UNIT
    issued_at: datetime
    unit_due_at: datetime | None = None  # R-CLK-8: the unit accepts or appeals by then
    unit_breached_at: datetime | None = None  # the unit's deadline, once it passed in silence (R-LIA-5)
    answered_at: datetime | None = None  # when the unit accepted or appealed
    appeal: Appeal | None = None
    arbitration_due_at: datetime | None = None  # R-CLK-8: arbitration decides by then
    arbitration_breached_at: datetime | None = None  # R-LIA-6
    decided_at: datetime | None = None  # final: accepted, stood, cancelled or upheld
    detail: LiabilityDetail | None = None
    arbitration_reasons: str | None = None
    seq: int = 0  # the number of the last event recorded

    @staticmethod
    def issued(opening: RulingOpening, at: datetime) -> Ruling:
        return Ruling(ruling_id=ruling_id(opening.ticket_id), ticket_id=opening.ticket_id, carrier=opening.carrier,
                      kind=opening.kind, station=opening.unit.station, province=opening.unit.province,
                      policy_version=opening.policy.version, issued_at=at)

    def accept(self, acceptance: Acceptance, at: datetime) -> None:
        """R-LIA-2: accepted in time, liability detailed down."""
        self.state, self.answered_at, self.decided_at, self.detail = RulingState.ACCEPTED, at, at, acceptance.detail

    def appeal_to_hq(self, appeal: Appeal, at: datetime, due: datetime) -> None:
        """R-LIA-3: appealed in time; arbitration has its own 5 working days from the appeal (R-CLK-8)."""
        self.state, self.answered_at, self.appeal, self.arbitration_due_at = (
            RulingState.IN_ARBITRATION, at, appeal, due)

    def stand(self) -> None:
        """R-LIA-5: silence past the deadline is recorded as a breach at the due instant; the ruling stands."""
        assert self.unit_due_at is not None
        self.state, self.unit_breached_at, self.decided_at = RulingState.STOOD, self.unit_due_at, self.unit_due_at

    def arbitrated(self, decision: Arbitration, at: datetime) -> None:
        """R-LIA-4: no liability cancels the ruling; liability is detailed down and the appeal was invalid."""
        self.state = RulingState.UPHELD if decision.liable else RulingState.CANCELLED
        self.detail, self.decided_at, self.arbitration_reasons = decision.detail, at, decision.reasons

    @property
    def appeal_invalid(self) -> bool:
        """R-KPI-6: an appeal that arbitration rejected (the ruling upheld against the unit)."""
        return self.state == RulingState.UPHELD
