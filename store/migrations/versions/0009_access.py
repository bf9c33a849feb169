"""access (issue 12): API keys, stored hashed; the record of who read a customer's full phone

Self-contained: it creates its own two tables and nothing else.

Revision ID: 0009_access
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0009_access"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("carriers", sa.JSON(), nullable=False),
        sa.Column("stations", sa.JSON(), nullable=False),
        sa.Column("providers", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
    )
    op.create_table(
        "pii_reads",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("route", sa.String(120), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_pii_reads_ticket", "pii_reads", ["ticket_id"])
    op.create_index("ix_pii_reads_actor_at", "pii_reads", ["actor", "at"])


def downgrade() -> None:
    op.drop_table("pii_reads")
    op.drop_table("api_keys")
