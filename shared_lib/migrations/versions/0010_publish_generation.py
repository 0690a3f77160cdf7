"""the publish a live stream is carried by: an encoder that reconnects onto its live stream
starts a newer publish, and only that publish's end ends the stream

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("live_streams", sa.Column("publish_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("live_streams", "publish_id")
