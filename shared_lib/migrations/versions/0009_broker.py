"""the one-machine broker's durable queue: events accepted by its ingress, and one delivery
per matching Trigger until it is delivered or dead-lettered

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broker_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        # One broker per platform; the queue keeps two on one database apart (tests).
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        # A schedule's ping goes to one subscriber, as a PingSource's sink would.
        sa.Column("subscriber", sa.String(length=100), nullable=True),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("routed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_broker_events_unrouted", "broker_events", ["queue", "id"],
                    postgresql_where=sa.text("NOT routed"))
    op.create_table(
        "broker_deliveries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("subscriber", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("leased", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["broker_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "subscriber", name="uq_broker_deliveries_once"),
    )
    op.create_index("ix_broker_deliveries_due", "broker_deliveries", ["queue", "due_at"],
                    postgresql_where=sa.text("NOT leased"))


def downgrade() -> None:
    op.drop_table("broker_deliveries")
    op.drop_table("broker_events")
