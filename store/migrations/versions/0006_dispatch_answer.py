"""dispatch answer deadlines: route, answer due, acknowledged (R-CLK-2, R-CLK-3)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("station_dispatches") as batch:
        batch.add_column(sa.Column("route", sa.String(16), nullable=False, server_default="direct"))
        batch.add_column(sa.Column("answer_due_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("station_dispatches") as batch:
        batch.drop_column("acknowledged_at")
        batch.drop_column("answer_due_at")
        batch.drop_column("route")
