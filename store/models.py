"""The record: tickets, their append-only event log, and the station outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Aware UTC instants on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class TicketRow(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    carrier: Mapped[str] = mapped_column(String(32))
    waybill: Mapped[str | None] = mapped_column(String(64), nullable=True)
    station: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=false())
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_phone: Mapped[str] = mapped_column(String(32))
    customer_role: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(32), nullable=True)
    dispatch_round: Mapped[int] = mapped_column(Integer)
    callback_attempts: Mapped[int] = mapped_column(Integer)
    deadlines: Mapped[list] = mapped_column(JSON)
    # The seq of the step this row reflects: an older snapshot never overwrites a newer one.
    last_seq: Mapped[int] = mapped_column(Integer)
    # The whole ticket state but its steps, as the workflow last recorded it; the columns above
    # are what lists filter and sort on.
    snapshot: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The seq of the step that last set each snapshot field: a field never moves back (steps may be
    # recorded out of order, each carrying only the fields it changed).
    field_seqs: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The desk (issue 14): what lists find, filter and sort on. The owner (an agent's actor id); the
    # earliest due instant still owed (TicketState.owed_due_at: past means overdue); whether any
    # deadline was breached; and each party's phone as a keyed hash (HMAC-SHA256 with
    # PARCELCARE_PHONE_HASH_KEY), so a search by phone needs no phone in clear in an index.
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    breached: Mapped[bool] = mapped_column(Boolean, server_default=false())
    customer_phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sender_phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recipient_phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_tickets_status", "status"),
        Index("ix_tickets_kind", "kind"),
        Index("ix_tickets_station", "station"),
        Index("ix_tickets_opened_at", "opened_at"),
        Index("ix_tickets_waybill", "waybill"),
        Index("ix_tickets_owner", "owner"),
        Index("ix_tickets_due_at", "due_at"),
        Index("ix_tickets_customer_phone_hash", "customer_phone_hash"),
        Index("ix_tickets_sender_phone_hash", "sender_phone_hash"),
        Index("ix_tickets_recipient_phone_hash", "recipient_phone_hash"),
    )


class TicketEventRow(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_ticket_seq"),)


class StationDispatchRow(Base):
    """The local station adapter's outbox: what each station has been asked."""

    __tablename__ = "station_dispatches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(32))
    round: Mapped[int] = mapped_column(Integer)
    station: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    waybill: Mapped[str | None] = mapped_column(String(64), nullable=True)
    description: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32), server_default="verify")
    priority: Mapped[bool] = mapped_column(Boolean, server_default=false())  # fresh and food first (R-CHG)
    route: Mapped[str] = mapped_column(String(16), server_default="direct")  # R-CLK-2 direct / R-CLK-3 associated
    answer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # None: needs no answer
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # No longer waiting for the station: the ticket closed, or the flow made the round moot (R-LOSS-2).
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("ticket_id", "round", name="uq_station_dispatches_ticket_round"),
        Index("ix_station_dispatches_station", "station"),
    )


class ClaimFilingRow(Base):
    """The local claims adapter's outbox (SPEC §7, R-CLM): one claim per ticket, and its decision."""

    __tablename__ = "claim_filings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    carrier: Mapped[str] = mapped_column(String(32))
    waybill: Mapped[str] = mapped_column(String(64))
    claimant_name: Mapped[str] = mapped_column(String(200))
    claimant_phone: Mapped[str] = mapped_column(String(32))
    claimant_role: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict] = mapped_column(JSON)  # ClaimDetails in JSON mode: decimals as exact strings
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    amount: Mapped[str | None] = mapped_column(String(20), nullable=True)  # Decimal as text: exact on every backend
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    letter_handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # R-CLK-7
    queue: Mapped[str] = mapped_column(String(16), server_default="team")  # SPEC §7: team or specialist

    __table_args__ = (
        UniqueConstraint("ticket_id", name="uq_claim_filings_ticket"),
        Index("ix_claim_filings_decided_at", "decided_at"),
    )


class SmsMessageRow(Base):
    """Every SMS of every ticket, reserved by key before any provider is called (R-ESC-5)."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    ticket_id: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64))  # e.g. "ems tier 2", "customer accepted"
    role: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    driver: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The attempt that holds the message (0010): only it may call the provider and write the result.
    attempt_token: Mapped[str | None] = mapped_column(String(36), nullable=True)
    attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # when it took the token
    # Ops' decision on a message whose fate stayed unknown: who released or cancelled it, and when.
    released_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_sms_messages_ticket", "ticket_id"),
        Index("ix_sms_messages_state", "state"),
        Index("ix_sms_messages_provider_id", "provider_id"),
    )


class DirectoryEntryRow(Base):
    """Who is who: the person in a role for a scope, whom escalation SMS go to (SPEC §1, §5)."""

    __tablename__ = "directory_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    role: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(40))  # a province, "hq", or a desk/carrier code
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))  # E.164
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())  # removed entries are kept, inactive
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("role", "scope", "phone", name="uq_directory_entries_role_scope_phone"),
        Index("ix_directory_entries_role_scope", "role", "scope"),
    )


class ApiKeyRow(Base):
    """An API key of a system (a CRM, a station system, a provider's receipt callback): its hash, never the key."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(16))  # the key's public part: pck_<key_id>_<secret>
    name: Mapped[str] = mapped_column(String(100))  # the actor its calls are recorded under (never reused)
    key_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the whole key, hex
    roles: Mapped[list] = mapped_column(JSON)
    carriers: Mapped[list] = mapped_column(JSON)
    stations: Mapped[list] = mapped_column(JSON)
    providers: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (
        UniqueConstraint("key_id", name="uq_api_keys_key_id"),
        UniqueConstraint("name", name="uq_api_keys_name"),
    )


class PiiReadRow(Base):
    """Who read a customer's full phone number, of which ticket, when (need to know, issue 12)."""

    __tablename__ = "pii_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(64))  # customer.phone
    route: Mapped[str] = mapped_column(String(120))  # the route template and method
    correlation_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_pii_reads_ticket", "ticket_id"),
        Index("ix_pii_reads_actor_at", "actor", "at"),
    )


# --- quality management (issue 15): liability rulings, what the indicators count, scorecard inputs, reports ---

class RulingRow(Base):
    """A liability ruling (SPEC §8, R-LIA) as its workflow last recorded it; one per closed ticket."""

    __tablename__ = "rulings"

    ruling_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(32))
    carrier: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    station: Mapped[str] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(String(40), nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unit_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    arbitration_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    seq: Mapped[int] = mapped_column(Integer)  # the last event this row reflects: an older one never overwrites it
    snapshot: Mapped[dict] = mapped_column(JSON)  # the whole ruling (domain.liability.Ruling)

    __table_args__ = (
        UniqueConstraint("ticket_id", name="uq_rulings_ticket"),
        Index("ix_rulings_station_issued_at", "station", "issued_at"),
        Index("ix_rulings_province_issued_at", "province", "issued_at"),
        Index("ix_rulings_state", "state"),
        Index("ix_rulings_issued_at", "issued_at"),
    )


class RulingEventRow(Base):
    """Every step of a ruling, once (keyed by ruling and seq)."""

    __tablename__ = "ruling_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ruling_id: Mapped[str] = mapped_column(String(48))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("ruling_id", "seq", name="uq_ruling_events_ruling_seq"),)


class KpiTicketRow(Base):
    """A ticket as the indicators count it (R-KPI), kept with every recorded step."""

    __tablename__ = "kpi_tickets"

    ticket_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    station: Mapped[str] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(String(40), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatch_rounds: Mapped[int] = mapped_column(Integer)
    escalation_tier: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_kpi_tickets_opened_at", "opened_at"),
        Index("ix_kpi_tickets_closed_at", "closed_at"),
        Index("ix_kpi_tickets_station", "station"),
        Index("ix_kpi_tickets_province", "province"),
    )


class KpiDeadlineRow(Base):
    """A ticket's deadline as the indicators count it: met, breached, superseded or still running."""

    __tablename__ = "kpi_deadlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)  # its place in the ticket's list of deadlines
    kind: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(16))
    station: Mapped[str] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(String(40), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("ticket_id", "position", name="uq_kpi_deadlines_ticket_position"),
        Index("ix_kpi_deadlines_rule_due_at", "rule", "due_at"),
        Index("ix_kpi_deadlines_station", "station"),
    )


class ScorecardInputRow(Base):
    """An imported scorecard input (CSV): a component's numerator and denominator for a station and period."""

    __tablename__ = "scorecard_inputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(10))  # 2026-11 (a month) or 2026-W47 (an ISO week)
    station: Mapped[str] = mapped_column(String(64))
    component: Mapped[str] = mapped_column(String(40))
    numerator: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("period", "station", "component", name="uq_scorecard_inputs_period_station_component"),
    )


class QualityReportRow(Base):
    """A stored report (weekly exception summary, monthly partner report): written once, never changed."""

    __tablename__ = "quality_reports"

    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # weekly | monthly
    period: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    policy_version: Mapped[str] = mapped_column(String(80))
    body: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (Index("ix_quality_reports_kind_period", "kind", "period"),)
