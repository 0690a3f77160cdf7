"""chat: a room per channel with its messages (the live stream they were sent during), its
settings, its moderators and its bans

Revision ID: 0011
Revises: 0010
"""

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _user(name: str, *, primary_key: bool = False) -> sa.Column[uuid.UUID]:
    return sa.Column(name, postgresql.UUID(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                     nullable=False, primary_key=primary_key)


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.BigInteger(), autoincrement=True, primary_key=True),
        _user("channel_id"),
        _user("user_id"),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("stream_id", postgresql.UUID(),
                  sa.ForeignKey("live_streams.id", ondelete="SET NULL"), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    # A room's history, newest first, and a replay's chat in order.
    op.create_index("ix_chat_messages_channel", "chat_messages", ["channel_id", "id"])
    op.create_index("ix_chat_messages_stream", "chat_messages", ["stream_id", "sent_at"])
    op.create_table(
        "chat_settings",
        _user("channel_id", primary_key=True),
        sa.Column("slow_mode_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("followers_only_minutes", sa.Integer(), nullable=True),
        sa.Column("blocked_terms", postgresql.ARRAY(sa.String(length=50)),
                  server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("slow_mode_seconds >= 0", name="ck_chat_settings_slow_mode"),
        sa.CheckConstraint("followers_only_minutes IS NULL OR followers_only_minutes >= 0",
                           name="ck_chat_settings_followers_only"),
    )
    op.create_table(
        "chat_moderators",
        _user("channel_id", primary_key=True),
        _user("user_id", primary_key=True),
        sa.Column("appointed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.create_table(
        "chat_bans",
        _user("channel_id", primary_key=True),
        _user("user_id", primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        _user("banned_by"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_bans")
    op.drop_table("chat_moderators")
    op.drop_table("chat_settings")
    op.drop_index("ix_chat_messages_stream", table_name="chat_messages")
    op.drop_index("ix_chat_messages_channel", table_name="chat_messages")
    op.drop_table("chat_messages")
