"""recordings: every broadcast's recording and its replay; channels may opt out

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("recording_enabled", sa.Boolean(),
                                     server_default=sa.true(), nullable=False))
    op.create_table(
        "recordings",
        sa.Column("stream_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('ready', 'failed', 'skipped', 'deleted', 'expired')",
                           name="ck_recording_status"),
        sa.ForeignKeyConstraint(["stream_id"], ["live_streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("stream_id"),
    )
    op.create_index("ix_recordings_ready", "recordings", ["ready_at"],
                    postgresql_where=sa.text("status = 'ready'"))


def downgrade() -> None:
    op.drop_index("ix_recordings_ready", table_name="recordings")
    op.drop_table("recordings")
    op.drop_column("users", "recording_enabled")
