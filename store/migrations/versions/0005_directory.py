"""directory entries: who is who for the escalation SMS (SPEC §1, §5)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("role", "scope", "phone", name="uq_directory_entries_role_scope_phone"),
    )
    op.create_index("ix_directory_entries_role_scope", "directory_entries", ["role", "scope"])


def downgrade() -> None:
    op.drop_table("directory_entries")
