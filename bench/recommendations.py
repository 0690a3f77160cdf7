"""Recommendation recompute at scale: 100,000 users, 1,000,000 follows, 5,000 channels and
1,000,000 view sessions, generated in the `bench` profile's PostgreSQL (emptied first).

The synthetic world has structure a recommender can find: 50 communities, each with 100
channels of one category; users follow and watch mostly inside their community, with
power-law popularity, plus some friends and some globally popular channels.

Prints: the full recompute time and peak memory (this process, and the PostgreSQL backend
that does the work), targets under 15 s (5 minutes at 1,000,000 users) and under 2 GiB;
then, with 10% of the follows held out before the recompute, recall@10 of the channel
suggestions against a popularity-only baseline (the 10 most followed channels the user does
not follow), as a ratio that must be above 1, and against an implicit-feedback ALS model
trained on the same data (bench/als.py), as a ratio that must be at least 1.
"""

from __future__ import annotations

import os
import resource
import time

import als as als_module
from als import als_recall
from harness import BENCH_PROFILE  # (harness puts the repository on sys.path)

USERS = int(os.environ.get("BENCH_USERS", 100_000))
CHANNELS = int(os.environ.get("BENCH_CHANNELS", 5_000))
FOLLOWS = int(os.environ.get("BENCH_FOLLOWS", 1_000_000))
SESSIONS = int(os.environ.get("BENCH_SESSIONS", 1_000_000))
COMMUNITIES = 50
# The targets: 100,000 users in 15 s; 1,000,000 (BENCH_USERS=1000000 BENCH_CHANNELS=50000
# BENCH_FOLLOWS=10000000 BENCH_SESSIONS=10000000) in 5 minutes.
TARGET_SECONDS = 15 if USERS <= 100_000 else 300

CATEGORIES = ["just-chatting", "gaming", "music", "art", "science-technology",
              "software-development", "education", "sports", "food-drink", "travel-outdoors",
              "talk-shows", "special-events"]

SEED = [
    "TRUNCATE users, live_streams, stream_metadata, user_relationships, channel_views, "
    "recommended_streams, recommended_users, stream_stats, viewer_samples, refresh_tokens CASCADE",
    # A bulk load counts once at the end instead of moving counters for each edge (migration
    # 0013); ALTER TABLE is transactional, so the trigger is back when this commits.
    "ALTER TABLE user_relationships DISABLE TRIGGER follow_counters",
    # n is the user's number; users 0..CHANNELS-1 are the channels. Community = n % 50.
    f"""INSERT INTO users (id, username, email, password_hash, display_name)
        SELECT gen_random_uuid(), 'u' || n, 'u' || n || '@bench.example', 'x', 'User ' || n
        FROM generate_series(0, {USERS - 1}) AS n""",
    """CREATE TABLE bench_users AS
       SELECT id, substr(username, 2)::int AS n FROM users""",
    "CREATE INDEX ON bench_users (n)",
    f"""INSERT INTO live_streams (id, user_id, status, created_at, started_at, ended_at)
        SELECT gen_random_uuid(), id, 'ended', now() - interval '2 days',
               now() - interval '2 days', now() - interval '1 day'
        FROM bench_users WHERE n < {CHANNELS}""",
    f"""INSERT INTO stream_metadata (stream_id, title, category)
        SELECT s.id, 'stream', (ARRAY{CATEGORIES!r})[1 + (b.n % {COMMUNITIES}) % 12]
        FROM live_streams s JOIN bench_users b ON b.id = s.user_id""",
    # A channel of the user's community, power-law popular: rank = floor(100 * r^3).
    f"""CREATE FUNCTION pg_temp.pick(community int) RETURNS int LANGUAGE sql VOLATILE AS $$
          SELECT ((floor(({CHANNELS} / {COMMUNITIES}) * power(random(), 3)))::int
                  * {COMMUNITIES} + community) $$""",
    None,  # the follows: FOLLOW_BATCH until there are FOLLOWS of them
    """UPDATE users u SET followers_count = c.n FROM (
         SELECT followed_id, count(*) AS n FROM user_relationships GROUP BY 1) c
       WHERE u.id = c.followed_id""",
    """UPDATE users u SET following_count = c.n FROM (
         SELECT follower_id, count(*) AS n FROM user_relationships GROUP BY 1) c
       WHERE u.id = c.follower_id""",
    "ALTER TABLE user_relationships ENABLE TRIGGER follow_counters",
    f"""INSERT INTO channel_views (user_id, channel_id, watch_seconds, sessions)
        SELECT v.id, c.id, sum(g.seconds)::bigint, count(*)
        FROM (SELECT who, pg_temp.pick(who % {COMMUNITIES}) AS target, seconds
              FROM (SELECT (random() * {USERS - 1})::int AS who,
                           (60 + random() * 3600)::int AS seconds
                    FROM generate_series(1, {SESSIONS})) raw) g
        JOIN bench_users v ON v.n = g.who
        JOIN bench_users c ON c.n = g.target
        WHERE v.id <> c.id
        GROUP BY v.id, c.id""",
]

# 80% of follows inside the community, 10% to a global top channel, 10% to a friend. Targets
# are drawn in a subquery first, so the joins are plain equi-joins.
FOLLOW_BATCH = f"""
    INSERT INTO user_relationships (follower_id, followed_id, created_at)
    SELECT f.id, t.id, now() - random() * interval '300 days'
    FROM (SELECT who, CASE
            WHEN kind < 0.8 THEN pg_temp.pick(who % {COMMUNITIES})
            WHEN kind < 0.9 THEN (floor(20 * power(random(), 2)))::int
            ELSE ((random() * ({USERS} / {COMMUNITIES} - 1))::int * {COMMUNITIES}
                  + who % {COMMUNITIES}) END AS target
          FROM (SELECT (random() * {USERS - 1})::int AS who, random() AS kind
                FROM generate_series(1, {{draws}})) raw) g
    JOIN bench_users f ON f.n = g.who
    JOIN bench_users t ON t.n = g.target
    WHERE f.id <> t.id
    ON CONFLICT DO NOTHING
"""

HOLD_OUT = [
    "ALTER TABLE user_relationships DISABLE TRIGGER follow_counters",  # counts stay as seeded
    "DROP TABLE IF EXISTS bench_holdout",
    f"""CREATE TABLE bench_holdout AS
        SELECT r.follower_id, r.followed_id FROM user_relationships r
        JOIN bench_users c ON c.id = r.followed_id AND c.n < {CHANNELS}
        WHERE random() < 0.1""",
    """DELETE FROM user_relationships r USING bench_holdout h
       WHERE r.follower_id = h.follower_id AND r.followed_id = h.followed_id""",
    "CREATE INDEX ON bench_holdout (follower_id)",
    "ALTER TABLE user_relationships ENABLE TRIGGER follow_counters",
    "ANALYZE",
]

RECALL = [
    "DROP TABLE IF EXISTS bench_top10",
    "CREATE TABLE bench_top10 AS {suggested}",
    "CREATE INDEX ON bench_top10 (user_id, channel_id)",
    """SELECT count(t.user_id) AS hits, count(*) AS total FROM bench_holdout h
       LEFT JOIN bench_top10 t ON t.user_id = h.follower_id AND t.channel_id = h.followed_id""",
]


def recall_of(connection, suggested: str):
    from sqlalchemy import text

    *setup, measure = RECALL
    for statement in setup:
        connection.execute(text(statement.format(suggested=suggested)))
    return connection.execute(text(measure)).one()
OURS = """SELECT user_id, channel_id FROM (
    SELECT user_id, channel_id, row_number() OVER (PARTITION BY user_id
                                                   ORDER BY score DESC, channel_id) AS rank
    FROM recommended_users) r WHERE rank <= 10"""
POPULAR = """SELECT user_id, channel_id FROM (
      SELECT u.follower_id AS user_id, t.id AS channel_id,
             row_number() OVER (PARTITION BY u.follower_id
                                ORDER BY t.followers_count DESC, t.id) AS rank
      FROM (SELECT DISTINCT follower_id FROM bench_holdout) u
      CROSS JOIN (SELECT id, followers_count FROM users
                  ORDER BY followers_count DESC, id LIMIT 100) t
      WHERE t.id <> u.follower_id AND NOT EXISTS (
        SELECT 1 FROM user_relationships f WHERE f.follower_id = u.follower_id
                                             AND f.followed_id = t.id)) ranked
    WHERE rank <= 10"""


# What identifies a generated world: its parameters, and what is in the tables now (another
# bench sharing the profile's database may have emptied them since).
FINGERPRINT = """SELECT parameters || ' ' || (SELECT count(*) FROM users) || ' '
                        || (SELECT count(*) FROM user_relationships) FROM bench_world"""


def cached(connection, world: str) -> bool:
    """Whether an earlier run generated this world and left it as it was."""
    from sqlalchemy import text

    if connection.execute(text("SELECT to_regclass('bench_world')")).scalar() is None:
        return False
    stored = connection.execute(text("SELECT fingerprint FROM bench_world")).scalar()
    return stored.startswith(f"{world} ") and connection.execute(text(FINGERPRINT)).scalar() == stored


def generate(connection, world: str) -> None:
    """A new world (the database emptied first), its hold-out taken, and its parameters left
    for the next run with the same ones to reuse (the issue allows caching the data set)."""
    from sqlalchemy import text

    connection.execute(text("DROP TABLE IF EXISTS bench_users, bench_holdout, bench_world"))
    for statement in SEED:
        if statement is not None:
            connection.execute(text(statement))
        else:
            while (have := connection.execute(text(
                    "SELECT count(*) FROM user_relationships")).scalar()) < FOLLOWS:
                connection.execute(text(FOLLOW_BATCH.format(draws=int((FOLLOWS - have) * 1.2))))
            connection.execute(text(
                "DELETE FROM user_relationships WHERE ctid IN (SELECT ctid FROM "
                f"user_relationships OFFSET {FOLLOWS})"))
    connection.commit()
    for statement in HOLD_OUT:
        connection.execute(text(statement))
    connection.execute(text("CREATE TABLE bench_world AS SELECT CAST(:world AS text) AS parameters, "
                            "''::text AS fingerprint"), {"world": world})
    connection.execute(text(f"UPDATE bench_world SET fingerprint = ({FINGERPRINT})"))
    connection.commit()


def recompute_measured(engine):
    """The recompute, and the peak memory of the PostgreSQL backend that ran it (read from
    /proc while its session is still open)."""
    import threading

    from sqlalchemy import text

    from shared_lib.recommendations import recompute

    peak = [0]
    with engine.connect() as probe:
        pids = set(probe.execute(text("SELECT pid FROM pg_stat_activity")).scalars())
    done = threading.Event()

    def watch():
        while not done.is_set():
            with engine.connect() as connection:
                for pid in connection.execute(text(
                        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
                        " AND pid <> pg_backend_pid()")).scalars():
                    if pid in pids:
                        continue
                    try:
                        for line in open(f"/proc/{pid}/status"):
                            if line.startswith("VmHWM:"):
                                peak[0] = max(peak[0], int(line.split()[1]))
                    except OSError:
                        pass
            done.wait(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return recompute.recompute(engine), peak[0]
    finally:
        done.set()
        watcher.join()


def main() -> None:
    from sqlalchemy import text

    from local.platform import Platform
    from local.settings import Ports
    from shared_lib.db import batch_engine

    platform = Platform(BENCH_PROFILE, Ports(),
                        environment="development")
    platform.start_servers()
    engine = batch_engine()
    began = time.monotonic()
    world = f"{USERS} {CHANNELS} {FOLLOWS} {SESSIONS}"
    with engine.connect() as connection:
        if cached(connection, world):
            print(f"reusing the world generated by an earlier run ({world})", flush=True)
        else:
            generate(connection, world)
        counts = connection.execute(text(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM user_relationships), "
            "(SELECT count(DISTINCT user_id) FROM live_streams), "
            "(SELECT sum(sessions) FROM channel_views), (SELECT count(*) FROM channel_views), "
            "(SELECT count(*) FROM bench_holdout)")).one()
        held = counts[5]
    print(f"ready in {time.monotonic() - began:.0f} s: {counts[0]:,} users, "
          f"{counts[1]:,} follows, {counts[2]:,} channels, {counts[3]:,} view sessions "
          f"({counts[4]:,} user-channel pairs); {held:,} follows held out", flush=True)

    result, backend = recompute_measured(engine)
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.phases)
    print(f"recompute: {result.users:,} active users in {result.seconds:.1f} s ({phases}; "
          f"target under {TARGET_SECONDS} s)", flush=True)
    print(f"peak memory: this process {mine / 1024:.0f} MiB, PostgreSQL backend "
          f"{backend / 1024:.0f} MiB (target under 2 GiB)", flush=True)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT (SELECT count(*) FROM recommended_streams), "
            "(SELECT count(*) FROM recommended_users)")).one()
        ours = recall_of(connection, OURS)
        popular = recall_of(connection, POPULAR)
        hits, held, trained = als_recall(connection, counts[0])
        connection.execute(text("DROP TABLE IF EXISTS bench_top10"))
        connection.commit()
    print(f"{rows[0]:,} stream and {rows[1]:,} channel suggestions stored")
    recall, baseline = ours[0] / ours[1], popular[0] / popular[1]
    print(f"recall@10 of held-out follows: ours {recall:.3f}, popularity-only {baseline:.3f}, "
          f"ratio {recall / baseline if baseline else float('inf'):.2f} (must be above 1)")
    als = hits / held
    print(f"recall@10 of ALS ({als_module.FACTORS} factors, {als_module.ITERATIONS} iterations, "
          f"trained in {trained:.0f} s): {als:.3f}; ours / ALS {recall / als:.2f}x "
          "(target at least 1)")
    platform.stop_servers()


if __name__ == "__main__":
    main()
