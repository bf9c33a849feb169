"""quality (issue 15): liability rulings and their events, what the indicators count, scorecard inputs, reports

Self-contained: it creates its own tables and fills kpi_tickets and kpi_deadlines from the tickets
already recorded.

Revision ID: 0011_quality
Revises: 0010_sms_attempts
"""
import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0011_quality"
down_revision = "0010_sms_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rulings",
        sa.Column("ruling_id", sa.String(48), primary_key=True),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("province", sa.String(40), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("unit_due_at", UTCDateTime(), nullable=True),
        sa.Column("arbitration_due_at", UTCDateTime(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.UniqueConstraint("ticket_id", name="uq_rulings_ticket"),
    )
    op.create_index("ix_rulings_station_issued_at", "rulings", ["station", "issued_at"])
    op.create_index("ix_rulings_province_issued_at", "rulings", ["province", "issued_at"])
    op.create_index("ix_rulings_state", "rulings", ["state"])
    op.create_index("ix_rulings_issued_at", "rulings", ["issued_at"])
    op.create_table(
        "ruling_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ruling_id", sa.String(48), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.UniqueConstraint("ruling_id", "seq", name="uq_ruling_events_ruling_seq"),
    )
    op.create_table(
        "kpi_tickets",
        sa.Column("ticket_id", sa.String(32), primary_key=True),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("province", sa.String(40), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("dispatch_rounds", sa.Integer(), nullable=False),
        sa.Column("escalation_tier", sa.Integer(), nullable=False),
    )
    op.create_index("ix_kpi_tickets_opened_at", "kpi_tickets", ["opened_at"])
    op.create_index("ix_kpi_tickets_closed_at", "kpi_tickets", ["closed_at"])
    op.create_index("ix_kpi_tickets_station", "kpi_tickets", ["station"])
    op.create_index("ix_kpi_tickets_province", "kpi_tickets", ["province"])
    op.create_table(
        "kpi_deadlines",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("province", sa.String(40), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("met_at", UTCDateTime(), nullable=True),
        sa.Column("breached_at", UTCDateTime(), nullable=True),
        sa.Column("superseded_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("ticket_id", "position", name="uq_kpi_deadlines_ticket_position"),
    )
    op.create_index("ix_kpi_deadlines_rule_due_at", "kpi_deadlines", ["rule", "due_at"])
    op.create_index("ix_kpi_deadlines_station", "kpi_deadlines", ["station"])
    op.create_table(
        "scorecard_inputs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("component", sa.String(40), nullable=False),
        sa.Column("numerator", sa.Integer(), nullable=False),
        sa.Column("denominator", sa.Integer(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("period", "station", "component", name="uq_scorecard_inputs_period_station_component"),
    )
    op.create_table(
        "quality_reports",
        sa.Column("report_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("policy_version", sa.String(80), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
    )
    op.create_index("ix_quality_reports_kind_period", "quality_reports", ["kind", "period"])
    _backfill()


def _backfill() -> None:
    """The tickets recorded before this migration, as the indicators count them."""
    from store.quality import kpi_rows  # the one derivation, shared with every recorded step

    conn = op.get_bind()
    tickets = sa.table("tickets", sa.column("snapshot", sa.JSON()))
    instants = ("opened_at", "closed_at", "due_at", "met_at", "breached_at", "superseded_at")

    def columns(*names: str) -> list:
        return [sa.column(n, UTCDateTime()) if n in instants else sa.column(n) for n in names]

    kpi_tickets = sa.table("kpi_tickets", *columns(
        "ticket_id", "carrier", "kind", "station", "province", "opened_at", "closed_at", "dispatch_rounds",
        "escalation_tier"))
    kpi_deadlines = sa.table("kpi_deadlines", *columns(
        "ticket_id", "position", "kind", "rule", "station", "province", "due_at", "met_at", "breached_at",
        "superseded_at"))
    for (snapshot,) in conn.execute(sa.select(tickets.c.snapshot).where(tickets.c.snapshot.is_not(None))):
        ticket, deadlines = kpi_rows(snapshot)
        conn.execute(sa.insert(kpi_tickets).values(**ticket))
        if deadlines:
            conn.execute(sa.insert(kpi_deadlines), deadlines)


def downgrade() -> None:
    for table in ("quality_reports", "scorecard_inputs", "kpi_deadlines", "kpi_tickets", "ruling_events", "rulings"):
        op.drop_table(table)
