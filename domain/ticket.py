"""The ticket: what it is about (facts), its workflow's input (opening) and its live state.

Every step taken is recorded on the ticket (R-REC-1); a ticket stays owned
until it is closed (R-REC-2). The vocabulary it is made of lives beside it:
statuses, messages, deadlines, steps and dispatches.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field

from domain.claims import ClaimDecision, ClaimDetails, ClaimQueue
from domain.customer import Customer, CustomerRole
from domain.deadlines import DEADLINE_RULES, PAUSED_BY_CUSTOMER, Breach, Deadline, DeadlineKind, Pause
from domain.dispatch import DispatchRoute
from domain.kinds import Kind
from domain.parties import Party
from domain.policy import Duration, Policy
from domain.shipment import ShipmentFacts
from domain.statuses import Status
from domain.steps import Action, Step
from domain.urgency import Urgency

# Kinds about one waybill; consult and some service tickets need none (SPEC §2).
WAYBILL_OPTIONAL = frozenset({Kind.CONSULT, Kind.SERVICE})


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


class TicketFacts(BaseModel):
    """What a ticket is about, as given when it opens (some may be amended later)."""

    ticket_id: str
    kind: Kind
    carrier: str
    waybill: str | None  # None only for kinds in WAYBILL_OPTIONAL
    station: str  # the responsible station: where the ticket is dispatched
    customer: Customer  # the caller, as the sender or the recipient
    description: str
    fingerprint: str  # of the open request, to recognise an idempotent retry
    shipment: ShipmentFacts = Field(default_factory=ShipmentFacts)
    urgency: Urgency = Field(default_factory=lambda: Urgency(urgent=False, reasons=[]))  # R-URG-1, at intake
    claim_details: ClaimDetails = Field(default_factory=ClaimDetails)
    change: ChangeRequest | None = None  # change tickets (R-CHG)
    service_target: ServiceTarget | None = None  # service tickets (R-SVC)
    station_province: str | None = None  # the assisting province: whose directors the ladder texts
    dispatch_route: DispatchRoute = DispatchRoute.DIRECT
    # Both parties, the caller's details folded in (R-REC-1), and the stations the manuals name.
    sender: Party = Field(default_factory=Party)
    recipient: Party = Field(default_factory=Party)
    origin_station: str | None = None  # R-LOSS-2: declares a confirmed loss
    delivery_station: str | None = None

    def party(self, role: CustomerRole) -> Party:
        return self.sender if role == CustomerRole.SENDER else self.recipient

    def caller_phone_changed(self, phone: str) -> None:
        """The caller gave a new number (PATCH): their party's too, where it was the caller's number (or none),
        since texts to the sender or the recipient go to the party's phone (R-REC-1, R-LOSS-5)."""
        old = self.customer.phone
        self.customer = self.customer.model_copy(update={"phone": phone})
        own = self.party(self.customer.role)
        if own.phone in (None, old):
            updated = own.model_copy(update={"phone": phone})
            if self.customer.role == CustomerRole.SENDER:
                self.sender = updated
            else:
                self.recipient = updated


class TicketOpening(TicketFacts):
    """The workflow's input: a validated ticket with the policy pinned at open."""

    policy: Policy
    opened_on: date  # the carrier's local date at intake, for day-counted rules (R-WB-2, R-CLK-6)
    front_desk_resolved: bool = False  # the customer accepted the front desk's answer (R-INQ-1..3)
    consult_answer: str | None = None  # what the agent answered a consult (closed at once)
    opened_by: str | None = None  # the actor who opened it, from their credential (issue 12)
    # Set only when the workflow continues as new: the state so far, and messages taken but not yet read.
    carried_state: TicketState | None = None
    carried_inbox: dict[str, dict] = Field(default_factory=dict)


class LadderProgress(BaseModel):
    """How far one escalation ladder of a dispatch has come: tier instants, computed once, and who was told."""

    ladder: str
    round: int
    due: list[datetime] = Field(default_factory=list)  # tier n's instant at due[n-1], as computed
    told: list[int] = Field(default_factory=list)  # tiers whose message went out


class PendingMessage(BaseModel):
    """A message going out beside the flow, kept until it is settled so a new run sends it on (v3)."""

    key: str
    rule: str
    role: str
    template: str
    purpose: str
    params: dict[str, str] = Field(default_factory=dict)
    event: str | None = None  # the customer message's flow event ("accepted"), for the step


class Note(BaseModel):
    """An internal note (issue 14): for colleagues, never sent to the customer or a station."""

    at: datetime
    actor: str
    text: str


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
    reviewed_at: datetime | None = None  # R-URG-2: the urgent-handling group's review, once
    claim_reason: str | None = None  # why the claim goes to the claims team
    claim_queue: ClaimQueue | None = None  # SPEC §7: the claims team's or a specialist's (v4)
    claim_filed_at: datetime | None = None
    claim_decision: ClaimDecision | None = None
    next_callback_at: datetime | None = None  # when an unreachable customer is to be tried again
    escalation_tier: int = 0  # the highest ladder tier told (R-ESC)
    network_manager_asked: bool = False  # R-LOSS-1: once a ticket
    penalty_asked: bool = False  # R-SVC: the team lead was asked about an agent (v4)
    station_fed_back_at: datetime | None = None  # R-ESC-4: the first feedback stops every ladder for good
    loss_confirmed_at: datetime | None = None  # R-LOSS-2
    told_roles: list[str] = Field(default_factory=list)  # escalation roles told of this ticket: once each
    pending_messages: list[PendingMessage] = Field(default_factory=list)
    ladders: list[LadderProgress] = Field(default_factory=list)
    deadlines: list[Deadline] = Field(default_factory=list)
    owner: str | None = None  # issue 14: the agent who has the ticket (an actor id), None: the team's
    notes: list[Note] = Field(default_factory=list)  # issue 14: internal notes, oldest first
    steps_before: int = 0  # steps recorded by earlier runs and not carried over (they are in the record)
    steps: list[Step] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]  # derived, so it can never disagree with the deadlines
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

    @property
    def last_seq(self) -> int:
        return self.steps_before + len(self.steps)

    def add_step(self, at: datetime, action: Action, note: str = "", **data: str) -> Step:
        step = Step(seq=self.last_seq + 1, at=at, action=action, note=note, data=data)
        self.steps.append(step)
        if action == Action.ESCALATED and "tier" in data:
            self.escalation_tier = max(self.escalation_tier, int(data["tier"]))
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

    def has_deadline(self, kind: DeadlineKind, round: int | None = None) -> bool:
        return any(d.kind == kind and (round is None or d.round == round) for d in self.deadlines)

    def running(self, *kinds: DeadlineKind) -> list[Deadline]:
        """The newest deadline of each kind, where its timer is live."""
        latest = [self.pending(k) for k in kinds if self.has_deadline(k)]
        return [d for d in latest if d.running]

    def nearest_deadline(self) -> Deadline | None:
        """The live deadline due first: what ops watch (NextDeadline); none once closed."""
        live = [d for d in self.deadlines if d.running]
        return min(live, key=lambda d: d.due_at) if live and self.status != Status.CLOSED else None

    def owed_due_at(self) -> datetime | None:
        """Issue 14: the instant the desk sorts and filters on. The earliest due instant among the promises
        still owed on an open ticket: running ones, and breached ones (a breach does not pay a promise: the
        wait goes on, R-REC-2) until answered late. Met, superseded and paused ones are not owed now; a closed
        ticket owes none. In the past: the ticket is overdue."""
        if self.status == Status.CLOSED:
            return None
        owed = [d.due_at for d in self.deadlines
                if d.met_at is None and d.answered_late_at is None and d.superseded_at is None and not d.paused]
        return min(owed) if owed else None

    def supersede(self, kinds: frozenset[DeadlineKind] | set[DeadlineKind] | None, at: datetime,
                  reason: str) -> list[Deadline]:
        """End the open deadlines of `kinds` (all, if None) as made moot by the flow: neither met nor breached."""
        moot = [d for d in self.deadlines if not d.ended and (kinds is None or d.kind in kinds)]
        for d in moot:
            d.superseded_at = at
            d.superseded_reason = reason
        return moot

    def awaits_station(self, round: int) -> bool:
        """Whether dispatch `round` still waits for the station's answer (its outbox lists it as pending):
        not once the ticket closed, the loss is confirmed (the search is over), or the round was superseded."""
        if self.status == Status.CLOSED or self.loss_confirmed_at is not None:
            return False
        return not any(d.kind == DeadlineKind.COORDINATION and d.round == round and d.superseded_at is not None
                       for d in self.deadlines)

    def pause_for_customer(self, at: datetime) -> list[Deadline]:
        """R-CLK-1: pause every running promise to the customer; stations' deadlines run on."""
        paused = [d for d in self.deadlines if d.kind in PAUSED_BY_CUSTOMER and d.running]
        for d in paused:
            d.pauses.append(Pause(at=at))
        return paused

    def paused_deadlines(self) -> list[Deadline]:
        return [d for d in self.deadlines if d.paused]

    def ladder(self, name: str, round: int) -> LadderProgress:
        """The progress of ladder `name` for dispatch round `round`, started if new."""
        found = next((p for p in self.ladders if p.ladder == name and p.round == round), None)
        if found is None:
            found = LadderProgress(ladder=name, round=round)
            self.ladders.append(found)
        return found

    def told(self, ladder: str, round: int, tier: int) -> bool:
        """Whether a ladder tier's message went out (kept in the progress; steps of older runs count too)."""
        if any(p.ladder == ladder and p.round == round and tier in p.told for p in self.ladders):
            return True
        return any(s.action == Action.ESCALATED and s.data.get("ladder") == ladder
                   and s.data.get("round") == str(round) and s.data.get("tier") == str(tier) for s in self.steps)

    def close(self, at: datetime, resolution: str) -> None:
        self.status = Status.CLOSED
        self.closed_at = at
        self.resolution = resolution


TicketOpening.model_rebuild()
