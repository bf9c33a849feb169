"""sms attempts (issue 10, R-ESC-5): the attempt token that alone may send a message, and ops' release or
cancel of a message whose fate stayed unknown

Revision ID: 0010_sms_attempts
Revises: 0009_access
"""
import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0010_sms_attempts"
down_revision = "0009_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows already there keep a NULL token: the first attempt after the upgrade takes them by compare-and-set
    # on (state, NULL), exactly as it takes a row another attempt left.
    with op.batch_alter_table("sms_messages") as batch:
        batch.add_column(sa.Column("attempt_token", sa.String(36), nullable=True))
        batch.add_column(sa.Column("attempt_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("released_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("released_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))
    op.create_index("ix_sms_messages_state", "sms_messages", ["state"])  # the unknown gauge, at every scrape


def downgrade() -> None:
    op.drop_index("ix_sms_messages_state", "sms_messages")
    with op.batch_alter_table("sms_messages") as batch:
        batch.drop_column("cancelled_at")
        batch.drop_column("cancelled_by")
        batch.drop_column("released_at")
        batch.drop_column("released_by")
        batch.drop_column("attempt_at")
        batch.drop_column("attempt_token")
