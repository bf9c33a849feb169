"""the claims outbox: one filing per ticket and the claims team's decision

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_filings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("waybill", sa.String(64), nullable=False),
        sa.Column("claimant_name", sa.String(200), nullable=False),
        sa.Column("claimant_phone", sa.String(32), nullable=False),
        sa.Column("claimant_role", sa.String(16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("filed_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("amount", sa.String(20), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("ticket_id", name="uq_claim_filings_ticket"),
    )
    op.create_index("ix_claim_filings_decided_at", "claim_filings", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_claim_filings_decided_at", table_name="claim_filings")
    op.drop_table("claim_filings")
