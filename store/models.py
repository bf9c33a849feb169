"""The record: tickets, their append-only event log, and the station outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, false, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint, true
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

    __table_args__ = (
        Index("ix_tickets_status", "status"),
        Index("ix_tickets_kind", "kind"),
        Index("ix_tickets_station", "station"),
        Index("ix_tickets_opened_at", "opened_at"),
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
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

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

    __table_args__ = (
        Index("ix_sms_messages_ticket", "ticket_id"),
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
