"""The ticket: kinds, statuses, deadlines, steps, and the state a workflow keeps.

Every step taken is recorded on the ticket (R-REC-1); a ticket stays owned
until it is closed (R-REC-2).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field

from domain.claims import ClaimDecision, ClaimDetails
from domain.customer import Customer, CustomerRole  # noqa: F401 - re-exported
from domain.kinds import Kind
from domain.policy import Duration, Policy
from domain.shipment import ShipmentFacts
from domain.urgency import Urgency


# Kinds about one waybill; consult and some service tickets need none (SPEC §2).
WAYBILL_OPTIONAL = frozenset({Kind.CONSULT, Kind.SERVICE})


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


class ReviewResult(BaseModel):
    """Signal: the urgent-handling group reviewed an urgent ticket before dispatch (R-URG-2)."""

    approved: bool = True
    note: str = Field(default="", max_length=4000)
    reviewer: str | None = Field(default=None, max_length=100)


class OfferAnswer(BaseModel):
    """Signal: the customer's answer to the free re-shipment offer (R-DMG-4)."""

    accepted: bool
    note: str = Field(default="", max_length=4000)


class SenderDecision(BaseModel):
    """Signal: the sender agreed to or refused a redirect, return or change (R-CHG)."""

    agreed: bool
    note: str = Field(default="", max_length=4000)


class PenaltyDecision(BaseModel):
    """Signal: what the responsible station's head decided about the complaint (R-SVC)."""

    penalised: bool
    decision: str = Field(min_length=1, max_length=4000)
    decided_by: str | None = Field(default=None, max_length=100)


class Amendment(BaseModel):
    """Update: what an API client changes on an open ticket (PATCH). The phone is normalised at the API."""

    phone: str | None = None
    description: str | None = Field(default=None, min_length=1, max_length=4000)
    claim_details: ClaimDetails | None = None  # merged field by field into what is known
    shipment: ShipmentFacts | None = None  # replaces the shipment facts

    def changed_fields(self) -> set[str]:
        return {name for name in Amendment.model_fields if getattr(self, name) is not None}


class ChangeAction(StrEnum):
    REDIRECT = "redirect"
    RETURN = "return"
    RECIPIENT_DATA = "recipient_data"


class ChangeRequest(BaseModel):
    """What a change ticket asks for (R-CHG)."""

    action: ChangeAction
    details: str = Field(default="", max_length=2000)  # the new address or recipient data, word for word


class ServiceTarget(StrEnum):
    """Whose attitude a service complaint is about (R-SVC)."""

    COURIER = "courier"
    STATION = "station"
    AGENT = "agent"


class DispatchRoute(StrEnum):
    DIRECT = "direct"  # 直派调度: straight to the station, answered within 2 working hours (R-CLK-2)
    ASSOCIATED = "associated"  # 关联调度: through regional CS, answered within 4 working hours (R-CLK-3)


DISPATCH_RULES = {DispatchRoute.DIRECT: "R-CLK-2", DispatchRoute.ASSOCIATED: "R-CLK-3"}


class StationAck(BaseModel):
    """Signal: the station answered the dispatch (took it on), before its feedback (R-CLK-2/3)."""

    station: str
    note: str = Field(default="", max_length=2000)


class CustomerContact(BaseModel):
    """Signal: the customer got in touch (called back in, answered a message) while we waited on them."""

    note: str = Field(default="", max_length=4000)


class DeadlineKind(StrEnum):
    COORDINATION = "coordination"  # R-CLK-4: the station feeds back
    REPLY = "reply"  # R-CLK-1: the customer hears back
    LOSS_CONFIRMATION = "loss_confirmation"  # R-CLK-5: no result by then confirms the loss
    ESCALATION_ANSWER = "escalation_answer"  # R-ESC-3: the last tier told owes an answer
    DISPATCH_ANSWER = "dispatch_answer"  # R-CLK-2 direct / R-CLK-3 associated: the station answers the dispatch


DEADLINE_RULES = {
    DeadlineKind.COORDINATION: "R-CLK-4",
    DeadlineKind.REPLY: "R-CLK-1",
    DeadlineKind.LOSS_CONFIRMATION: "R-CLK-5",
    DeadlineKind.ESCALATION_ANSWER: "R-ESC-3",
    DeadlineKind.DISPATCH_ANSWER: "R-CLK-2",
}
# Deadlines whose passing is an event of the flow, not a promise broken.
TIMERS = frozenset({DeadlineKind.LOSS_CONFIRMATION})

# R-CLK-1, SPEC §4: what we owe the customer pauses while we wait on the customer;
# what a station owes (R-CLK-4) is never paused by the customer.
PAUSED_BY_CUSTOMER = frozenset({DeadlineKind.REPLY})


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
    pauses: list[Pause] = Field(default_factory=list)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].resumed_at is None


class Breach(BaseModel):
    kind: DeadlineKind
    rule: str
    round: int
    at: datetime


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
    MESSAGE_SENT = "message_sent"  # a notice: urgent dispatch (R-URG-2) or a message to the customer
    MESSAGE_FAILED = "message_failed"  # nobody in the role, or the provider refused for good: for ops
    STATION_ACKNOWLEDGED = "station_acknowledged"  # R-CLK-2/3: the dispatch was taken on
    AWAITING = "awaiting"  # the ticket now waits for a message (review, offer answer, decision…)
    CLAIM_FILING_FAILED = "claim_filing_failed"  # the claims system refused the filing: for ops


class Step(BaseModel):
    """One entry of the ticket's append-only log; seq numbers it within the ticket."""

    seq: int
    at: datetime
    action: Action
    note: str = ""
    data: dict[str, str] = Field(default_factory=dict)


class TicketFacts(BaseModel):
    """What a ticket is about, as given when it opens (some may be amended later)."""

    ticket_id: str
    kind: Kind
    carrier: str
    waybill: str | None  # None only for kinds in WAYBILL_OPTIONAL
    station: str
    customer: Customer
    description: str
    fingerprint: str  # of the open request, to recognise an idempotent retry
    shipment: ShipmentFacts = Field(default_factory=ShipmentFacts)
    urgency: Urgency = Field(default_factory=lambda: Urgency(urgent=False, reasons=[]))  # R-URG-1, at intake
    claim_details: ClaimDetails = Field(default_factory=ClaimDetails)
    change: ChangeRequest | None = None  # change tickets (R-CHG)
    service_target: ServiceTarget | None = None  # service tickets (R-SVC)
    station_province: str | None = None  # the assisting province: whose directors the ladder texts
    dispatch_route: DispatchRoute = DispatchRoute.DIRECT


class TicketOpening(TicketFacts):
    """The workflow's input: a validated ticket with the policy pinned at open."""

    policy: Policy
    opened_on: date  # the carrier's local date at intake, for day-counted rules (R-WB-2, R-CLK-6)
    front_desk_resolved: bool = False  # the customer accepted the front desk's answer (R-INQ-1..3)
    consult_answer: str | None = None  # what the agent answered a consult (closed at once)
    # Set only when the workflow continues as new with the state so far.
    carried_state: TicketState | None = None


class TicketState(TicketFacts):
    """The live ticket; the API's view of it is this model."""

    policy_version: str
    status: Status = Status.OPEN
    opened_at: datetime
    closed_at: datetime | None = None
    resolution: str | None = None
    dispatch_round: int = 0
    callback_attempts: int = 0
    front_desk_answer: str | None = None  # R-INQ-1..3
    not_accepted_reason: str | None = None  # R-DMG-1, R-LOSS-4
    claim_filed_at: datetime | None = None
    claim_decision: ClaimDecision | None = None
    next_callback_at: datetime | None = None  # when an unreachable customer is to be tried again
    deadlines: list[Deadline] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)

    @computed_field  # derived, so it can never disagree with the deadlines
    @property
    def breaches(self) -> list[Breach]:
        return [
            Breach(kind=d.kind, rule=d.rule, round=d.round, at=d.breached_at)
            for d in self.deadlines
            if d.breached_at is not None
        ]

    @staticmethod
    def from_opening(opening: TicketOpening, opened_at: datetime) -> TicketState:
        facts = {name: getattr(opening, name) for name in TicketFacts.model_fields}
        return TicketState(**facts, policy_version=opening.policy.version, opened_at=opened_at)

    def add_step(self, at: datetime, action: Action, note: str = "", **data: str) -> Step:
        step = Step(seq=len(self.steps) + 1, at=at, action=action, note=note, data=data)
        self.steps.append(step)
        return step

    def start_deadline(
        self, kind: DeadlineKind, round: int, measure: Duration, started_at: datetime, due_at: datetime,
        rule: str | None = None,
    ) -> Deadline:
        deadline = Deadline(kind=kind, rule=rule or DEADLINE_RULES[kind], round=round, measure=measure,
                            started_at=started_at, due_at=due_at)
        self.deadlines.append(deadline)
        return deadline

    def pending(self, kind: DeadlineKind) -> Deadline:
        """The newest deadline of a kind: the one the ticket now runs under."""
        return next(d for d in reversed(self.deadlines) if d.kind == kind)

    def pause_for_customer(self, at: datetime) -> list[Deadline]:
        """R-CLK-1: pause every running promise to the customer; stations' deadlines run on."""
        paused = [d for d in self.deadlines
                  if d.kind in PAUSED_BY_CUSTOMER and d.met_at is None and d.breached_at is None and not d.paused]
        for d in paused:
            d.pauses.append(Pause(at=at))
        return paused

    def paused_deadlines(self) -> list[Deadline]:
        return [d for d in self.deadlines if d.paused]

    def close(self, at: datetime, resolution: str) -> None:
        self.status = Status.CLOSED
        self.closed_at = at
        self.resolution = resolution


TicketOpening.model_rebuild()


def static_summary(kind: Kind, waybill: str | None, station: str, urgent: bool = False) -> str:
    """What ops read first in the Temporal UI; never names or phones."""
    parts = [f"{kind}{' (urgent)' if urgent else ''}", f"waybill {waybill}" if waybill else "no waybill",
             f"station {station}"]
    return " · ".join(parts)


def ticket_id_for_key(idempotency_key: str) -> str:
    """A retried open with the same Idempotency-Key maps to the same ticket id."""
    return hashlib.sha256(f"idempotency:{idempotency_key}".encode()).hexdigest()[:16]


def request_fingerprint(payload: dict) -> str:
    """Stable digest of an open request, to tell a retry from a reuse of its key."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def workflow_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


class DispatchPurpose(StrEnum):
    VERIFY = "verify"  # look into the parcel and reply (R-INQ-4, R-LOSS-1, R-DMG-3)
    DECLARE_LOSS = "declare_loss"  # the origin station declares the loss in the system (R-LOSS-2)
    ARRANGE_CHANGE = "arrange_change"  # redirect, return or change data as agreed (R-CHG)
    STATION_HEAD = "station_head"  # the station's head answers a service complaint (R-SVC)
    NETWORK_MANAGER = "network_manager"  # the area's network manager checks the station, helps locate (R-LOSS-1)


class DispatchOrder(BaseModel):
    """What the responsible station is asked (no customer data: stations don't need it)."""

    ticket_id: str
    round: int
    station: str
    kind: Kind
    waybill: str | None
    description: str
    purpose: DispatchPurpose = DispatchPurpose.VERIFY
    priority: bool = False  # fresh and food parcels first (R-CHG)
    route: DispatchRoute = DispatchRoute.DIRECT
    answer_due_at: datetime | None = None  # R-CLK-2 / R-CLK-3
    acknowledged_at: datetime | None = None

    @computed_field
    @property
    def answered_in_time(self) -> bool | None:
        """R-KPI: was the dispatch answered (taken on or fed back) by its R-CLK-2/3 deadline? None: not yet."""
        answered = self.acknowledged_at or self.answered_at
        if answered is None or self.answer_due_at is None:
            return None
        return answered <= self.answer_due_at
    dispatched_at: datetime
    due_at: datetime  # the coordination deadline the station is held to (R-CLK-4)
    answered_at: datetime | None = None
