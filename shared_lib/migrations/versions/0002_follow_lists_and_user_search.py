"""follow lists in keyset order, prefix search on users

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keyset pages walk (created_at, other id) backwards within one user's edges.
    op.drop_index("ix_relationships_followed", table_name="user_relationships")
    op.drop_index("ix_relationships_follower", table_name="user_relationships")
    op.create_index("ix_relationships_followed", "user_relationships",
                    ["followed_id", "created_at", "follower_id"])
    op.create_index("ix_relationships_follower", "user_relationships",
                    ["follower_id", "created_at", "followed_id"])
    # text_pattern_ops makes LIKE 'prefix%' an index range scan whatever the locale.
    op.execute("CREATE INDEX ix_users_username_prefix ON users (lower(username) text_pattern_ops)")
    op.execute("CREATE INDEX ix_users_display_name_prefix "
               "ON users (lower(display_name) text_pattern_ops)")


def downgrade() -> None:
    op.drop_index("ix_users_display_name_prefix", table_name="users")
    op.drop_index("ix_users_username_prefix", table_name="users")
    op.drop_index("ix_relationships_follower", table_name="user_relationships")
    op.drop_index("ix_relationships_followed", table_name="user_relationships")
    op.create_index("ix_relationships_followed", "user_relationships", ["followed_id", "created_at"])
    op.create_index("ix_relationships_follower", "user_relationships", ["follower_id", "created_at"])
