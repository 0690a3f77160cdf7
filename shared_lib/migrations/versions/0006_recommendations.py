"""recommendations: per-user channel watch history and the recomputed suggestions

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_views",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("watch_seconds", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sessions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_watched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["channel_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "channel_id"),
    )
    op.create_index("ix_channel_views_channel", "channel_views", ["channel_id", "user_id"])
    for table in ("recommended_streams", "recommended_users"):
        op.create_table(
            table,
            sa.Column("user_id", sa.UUID(), nullable=False),
            sa.Column("channel_id", sa.UUID(), nullable=False),
            sa.Column("score", sa.Float(), nullable=False),
            sa.Column("reason", sa.String(length=20), nullable=False),
            sa.Column("detail", sa.String(length=100), nullable=True),
            sa.PrimaryKeyConstraint("user_id", "channel_id"),
        )


def downgrade() -> None:
    op.drop_table("recommended_users")
    op.drop_table("recommended_streams")
    op.drop_index("ix_channel_views_channel", table_name="channel_views")
    op.drop_table("channel_views")
