"""streams: ingest state, viewer count, listing and title-search indexes

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column("live_streams", sa.Column("end_reason", sa.String(length=20), nullable=True))
    op.add_column("live_streams", sa.Column("viewer_count", sa.Integer(), server_default="0",
                                            nullable=False))
    op.add_column("live_streams", sa.Column("ingest_pod", sa.String(length=100), nullable=True))
    op.add_column("live_streams", sa.Column("last_seen_at", sa.DateTime(timezone=True),
                                            nullable=True))
    op.drop_index("ix_streams_user_created", table_name="live_streams")
    op.drop_index("ix_streams_live", table_name="live_streams")
    op.create_index("ix_streams_user_created", "live_streams", ["user_id", "created_at", "id"])
    op.create_index("ix_streams_live", "live_streams", ["viewer_count", "id"],
                    postgresql_where=sa.text("status = 'live'"))
    op.create_index("ix_streams_created", "live_streams", ["created_at", "id"])
    op.create_index("uq_streams_one_live_per_user", "live_streams", ["user_id"], unique=True,
                    postgresql_where=sa.text("status = 'live'"))
    op.execute("CREATE INDEX ix_metadata_title_trgm ON stream_metadata "
               "USING gin (lower(title) gin_trgm_ops)")
    op.create_index("ix_metadata_category", "stream_metadata", ["category"])


def downgrade() -> None:
    op.drop_index("ix_metadata_category", table_name="stream_metadata")
    op.drop_index("ix_metadata_title_trgm", table_name="stream_metadata")
    op.drop_index("uq_streams_one_live_per_user", table_name="live_streams")
    op.drop_index("ix_streams_created", table_name="live_streams")
    op.drop_index("ix_streams_live", table_name="live_streams")
    op.drop_index("ix_streams_user_created", table_name="live_streams")
    op.create_index("ix_streams_live", "live_streams", ["status"],
                    postgresql_where=sa.text("status = 'live'"))
    op.create_index("ix_streams_user_created", "live_streams", ["user_id", "created_at"])
    for column in ("last_seen_at", "ingest_pod", "viewer_count", "end_reason"):
        op.drop_column("live_streams", column)
