"""clips: a viewer's cut of a live stream or a replay

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clips",
        sa.Column("id", postgresql.UUID(), primary_key=True),
        sa.Column("stream_id", postgresql.UUID(),
                  sa.ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel_id", postgresql.UUID(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("clipped_by", postgresql.UUID(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("title", sa.String(length=140), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="processing", nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('processing', 'ready', 'failed')", name="ck_clip_status"),
        sa.CheckConstraint("seconds BETWEEN 5 AND 60", name="ck_clip_seconds"),
    )
    op.create_index("ix_clips_channel", "clips", ["channel_id", "created_at", "id"])
    op.create_index("ix_clips_clipper", "clips", ["clipped_by", "created_at"])


def downgrade() -> None:
    op.drop_table("clips")
