"""the desk (issue 14): owner, the earliest due instant still owed, breached, parties' phones as keyed hashes

Existing rows are filled from their snapshot: the owed instant and breached from the deadlines, the phone
hashes with the key of the process that migrates (PARCELCARE_PHONE_HASH_KEY, as settings read it).

Revision ID: 0012_desk
Revises: 0011_quality
"""
import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0012_desk"
down_revision = "0011_quality"
branch_labels = None
depends_on = None

_COLUMNS = ("customer_phone_hash", "sender_phone_hash", "recipient_phone_hash")
_INDEXES = {"ix_tickets_waybill": "waybill", "ix_tickets_owner": "owner", "ix_tickets_due_at": "due_at",
            **{f"ix_tickets_{c}": c for c in _COLUMNS}}


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True))
        batch.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("breached", sa.Boolean(), server_default=sa.false(), nullable=False))
        for column in _COLUMNS:
            batch.add_column(sa.Column(column, sa.String(64), nullable=True))
    for name, column in _INDEXES.items():
        op.create_index(name, "tickets", [column])
    _backfill()


def _backfill() -> None:
    from settings import get_settings
    from store.repository import desk_columns

    key = get_settings().phone_key
    tickets = sa.table("tickets", sa.column("id", sa.String), sa.column("snapshot", sa.JSON),
                       *(sa.column(c, sa.String) for c in ("owner", *_COLUMNS)),
                       sa.column("due_at", UTCDateTime()), sa.column("breached", sa.Boolean))
    conn = op.get_bind()
    rows = conn.execute(sa.select(tickets.c.id, tickets.c.snapshot).where(tickets.c.snapshot.is_not(None))).all()
    for row in rows:
        try:
            values = desk_columns(row.snapshot, key)
        except ValueError:  # a snapshot from before its fields were complete: filled at its next step
            continue
        conn.execute(sa.update(tickets).where(tickets.c.id == row.id).values(**values))


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, "tickets")
    with op.batch_alter_table("tickets") as batch:
        for column in ("owner", "due_at", "breached", *_COLUMNS):
            batch.drop_column(column)
