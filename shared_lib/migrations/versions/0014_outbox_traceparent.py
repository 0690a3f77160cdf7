"""outbox events carry the trace of the work that recorded them

An event is sent after the request that recorded it has answered (or by the relay, later),
so the W3C `traceparent` of that request is kept with the event and sent as the CloudEvents
distributed-tracing extension: one trace id follows a follow to its webhook delivery.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_events", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox_events", "traceparent")
