"""dispatches that need no answer or that the ticket moved past leave the pending outbox; the result letter's
hand-off (issue 10); the claims specialist's queue (issue 11)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("station_dispatches") as batch:
        batch.add_column(sa.Column("settled_at", UTCDateTime(), nullable=True))
        batch.alter_column("due_at", existing_type=UTCDateTime(), nullable=True)
    with op.batch_alter_table("claim_filings") as batch:
        batch.add_column(sa.Column("letter_handed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("queue", sa.String(16), nullable=False, server_default="team"))


def downgrade() -> None:
    with op.batch_alter_table("claim_filings") as batch:
        batch.drop_column("queue")
        batch.drop_column("letter_handed_at")
    with op.batch_alter_table("station_dispatches") as batch:
        batch.alter_column("due_at", existing_type=UTCDateTime(), nullable=False)
        batch.drop_column("settled_at")
