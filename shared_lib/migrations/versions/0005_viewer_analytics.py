"""viewer analytics: rolled-up stream totals and per-minute samples

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_stats",
        sa.Column("stream_id", sa.UUID(), nullable=False),
        sa.Column("total_views", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("unique_viewers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("uniques_hll", sa.LargeBinary(), nullable=True),
        sa.Column("peak_viewers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("watch_time_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_batch", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["stream_id"], ["live_streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("stream_id"),
    )
    op.create_table(
        "viewer_samples",
        sa.Column("stream_id", sa.UUID(), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("viewers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["stream_id"], ["live_streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("stream_id", "minute"),
    )


def downgrade() -> None:
    op.drop_table("viewer_samples")
    op.drop_table("stream_stats")
