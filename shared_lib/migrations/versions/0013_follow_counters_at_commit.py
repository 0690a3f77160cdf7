"""follow counters moved by the database at commit

A follow used to move both counters with UPDATEs in the middle of its transaction, so the
channel's row stayed locked through every later statement and round trip until the commit:
sixteen fans of one channel queued behind each other's whole requests. A deferred
constraint trigger moves them at COMMIT instead, inside PostgreSQL, so the row is locked for
the commit alone; the counters stay exact and transactional (a rolled-back follow moves
nothing), and every way an edge goes (an unfollow, an account's deletion cascading) counts.
Rows are updated in id order so that two opposite follows cannot deadlock.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION move_follow_counters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    edge user_relationships%ROWTYPE;
    step integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        edge := NEW;
        step := 1;
    ELSE
        edge := OLD;
        step := -1;
    END IF;
    IF edge.follower_id < edge.followed_id THEN
        UPDATE users SET following_count = following_count + step WHERE id = edge.follower_id;
        UPDATE users SET followers_count = followers_count + step WHERE id = edge.followed_id;
    ELSE
        UPDATE users SET followers_count = followers_count + step WHERE id = edge.followed_id;
        UPDATE users SET following_count = following_count + step WHERE id = edge.follower_id;
    END IF;
    RETURN NULL;
END $$
"""

TRIGGER = """
CREATE CONSTRAINT TRIGGER follow_counters
    AFTER INSERT OR DELETE ON user_relationships
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION move_follow_counters()
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER follow_counters ON user_relationships")
    op.execute("DROP FUNCTION move_follow_counters()")
