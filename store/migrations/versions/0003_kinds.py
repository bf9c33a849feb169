"""every ticket kind: optional waybills, urgency, full snapshots, dispatch purpose and priority

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("waybill", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("snapshot", sa.JSON(), nullable=True))
    with op.batch_alter_table("station_dispatches") as batch:
        batch.alter_column("waybill", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("purpose", sa.String(32), nullable=False, server_default="verify"))
        batch.add_column(sa.Column("priority", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("station_dispatches") as batch:
        batch.drop_column("priority")
        batch.drop_column("purpose")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("snapshot")
        batch.drop_column("urgent")
