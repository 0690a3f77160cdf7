"""Recommendations, recomputed on a schedule in set-based SQL (read by ranking.py, with live
status checked at read time).

Per active user (anyone who follows or has watched), the recompute stores:
    recommended_streams  channels worth showing when live: followed channels, channels of the
                         categories the user watches, and co-viewing (channels watched by the
                         viewers of what the user watches, by cosine similarity of audiences)
    recommended_users    channels to follow: friends of friends with their mutual count, and
                         popular channels of the user's categories; never yourself, never a
                         channel already followed
Users are processed in batches of BATCH, each one INSERT ... SELECT, into staging tables
that replace the live ones in a single transaction at the end: a recompute that fails half
way leaves the previous results in place (and its staging tables are dropped). An advisory
lock keeps two recomputes apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


TOP_K = 20
BATCH = 10_000
LOCK = "hashtext('streamfn:recommendations')"

# The order the product wants: followed channels, then the categories you watch, then
# co-viewing, then what is popular.
SCORES = {"follow": 1000.0, "category": 300.0, "coview": 100.0, "fof": 100.0, "popular": 10.0}

COMMON = [
    # Each channel's category: the one most of its streams had.
    """CREATE UNLOGGED TABLE rec_work.rec_channel_category AS
       SELECT DISTINCT ON (s.user_id) s.user_id AS channel_id, m.category
       FROM live_streams s JOIN stream_metadata m ON m.stream_id = s.id
       WHERE m.category IS NOT NULL
       GROUP BY s.user_id, m.category
       ORDER BY s.user_id, count(*) DESC, max(s.created_at) DESC""",
    # A channel's popularity: followers, and viewers counted twice.
    """CREATE UNLOGGED TABLE rec_work.rec_category_top AS
       SELECT channel_id, category, pop, rank FROM (
         SELECT c.channel_id, c.category,
                (u.followers_count + 2 * coalesce(w.viewers, 0))::float8 AS pop,
                row_number() OVER (PARTITION BY c.category
                                   ORDER BY u.followers_count + 2 * coalesce(w.viewers, 0) DESC,
                                            c.channel_id) AS rank
         FROM rec_work.rec_channel_category c JOIN users u ON u.id = c.channel_id
         LEFT JOIN (SELECT channel_id, count(*) AS viewers FROM channel_views GROUP BY 1) w
           ON w.channel_id = c.channel_id) ranked
       WHERE rank <= 15""",
]

INTEREST = [
    # What each user is interested in: watch time, and a follow counting as five minutes (a
    # channel both watched and followed has two rows; every use of the table sums them).
    """CREATE UNLOGGED TABLE rec_work.rec_interest AS
       SELECT user_id, channel_id, (watch_seconds + 60)::float8 AS weight FROM channel_views
       UNION ALL
       SELECT follower_id, followed_id, 300::float8 FROM user_relationships""",
    # Each user's eight strongest interests seed co-viewing.
    """CREATE UNLOGGED TABLE rec_work.rec_interest_top AS
       SELECT user_id, channel_id, weight FROM (
         SELECT user_id, channel_id, weight,
                row_number() OVER (PARTITION BY user_id ORDER BY weight DESC, channel_id) AS rank
         FROM rec_work.rec_interest) ranked WHERE rank <= 8""",
    """CREATE INDEX ON rec_work.rec_interest_top (user_id)""",
    """CREATE UNLOGGED TABLE rec_work.rec_interest_total AS
       SELECT user_id, sum(weight) AS weight FROM rec_work.rec_interest GROUP BY 1""",
    """CREATE UNIQUE INDEX ON rec_work.rec_interest_total (user_id)""",
    # The categories each user watches (or follows), as shares, top two.
    """CREATE UNLOGGED TABLE rec_work.rec_user_category AS
       SELECT user_id, category, share FROM (
         SELECT i.user_id, c.category,
                sum(i.weight) / sum(sum(i.weight)) OVER (PARTITION BY i.user_id) AS share,
                row_number() OVER (PARTITION BY i.user_id ORDER BY sum(i.weight) DESC,
                                   c.category) AS rank
         FROM rec_work.rec_interest i
         JOIN rec_work.rec_channel_category c ON c.channel_id = i.channel_id
         GROUP BY i.user_id, c.category) ranked
       WHERE rank <= 2""",
    """CREATE INDEX ON rec_work.rec_user_category (user_id)""",
    """CREATE UNLOGGED TABLE rec_work.rec_users AS
       SELECT user_id, row_number() OVER (ORDER BY user_id) AS n
       FROM rec_work.rec_interest_total""",
    """CREATE INDEX ON rec_work.rec_users (n)""",
]

COVIEW = [
    # Co-viewing: channels whose audiences overlap (cosine), from each viewer's 20 most
    # watched channels; the 10 most similar per channel.
    """CREATE UNLOGGED TABLE rec_work.rec_viewing AS
       SELECT user_id, channel_id FROM (
         SELECT user_id, channel_id, row_number() OVER (PARTITION BY user_id
                                                        ORDER BY watch_seconds DESC) AS rank
         FROM channel_views) ranked WHERE rank <= 20""",
    """CREATE UNLOGGED TABLE rec_work.rec_audience AS
       SELECT channel_id, count(*)::float AS viewers FROM rec_work.rec_viewing GROUP BY 1""",
    """CREATE UNLOGGED TABLE rec_work.rec_similar AS
       SELECT a, b, similarity FROM (
         SELECT pairs.a, pairs.b, pairs.common / sqrt(na.viewers * nb.viewers) AS similarity,
                row_number() OVER (PARTITION BY pairs.a ORDER BY pairs.common DESC, pairs.b) AS rank
         FROM (SELECT x.channel_id AS a, y.channel_id AS b, count(*) AS common
               FROM rec_work.rec_viewing x JOIN rec_work.rec_viewing y
                 ON y.user_id = x.user_id AND y.channel_id <> x.channel_id
               GROUP BY 1, 2) pairs
         JOIN rec_work.rec_audience na ON na.channel_id = pairs.a
         JOIN rec_work.rec_audience nb ON nb.channel_id = pairs.b) ranked
       WHERE rank <= 10""",
    """CREATE INDEX ON rec_work.rec_similar (a)""",
]

ANALYZE = ("ANALYZE rec_work.rec_interest, rec_work.rec_interest_top, rec_work.rec_similar, "
           "rec_work.rec_users, "
           "rec_work.rec_user_category, rec_work.rec_category_top")

def _top_k(table: str, sources: list[str], *, exclude_followed: bool = False) -> str:
    """INSERT the K best candidates per user of this batch from the union of `sources`
    (each yields user_id, channel_id, score, reason, detail); a channel named by several
    sources keeps its best score. Never the user themself."""
    followed = """
      AND NOT EXISTS (SELECT 1 FROM user_relationships f
                      WHERE f.follower_id = candidates.user_id
                        AND f.followed_id = candidates.channel_id)""" if exclude_followed else ""
    union = "\n      UNION ALL\n".join(sources)
    return f"""
INSERT INTO {table}_next (user_id, channel_id, score, reason, detail)
SELECT user_id, channel_id, score, reason, detail FROM (
  SELECT best.*, row_number() OVER (PARTITION BY user_id ORDER BY score DESC, channel_id) AS rank
  FROM (
    SELECT DISTINCT ON (user_id, channel_id) user_id, channel_id, score, reason, detail FROM (
      {union}
    ) candidates
    WHERE candidates.channel_id <> candidates.user_id{followed}
    ORDER BY user_id, channel_id, score DESC
  ) best
) ranked WHERE rank <= :k
"""


def _by_category(weight: float) -> str:
    """Popular channels of the batch's users' categories, weighted by each category's share."""
    return f"""SELECT c.user_id, t.channel_id, {weight} * c.share / t.rank, 'category', t.category
      FROM rec_work.rec_user_category c JOIN rec_work.rec_users u ON u.user_id = c.user_id
      JOIN rec_work.rec_category_top t ON t.category = c.category
      WHERE u.n BETWEEN :lo AND :hi"""


FOLLOWED = f"""SELECT r.follower_id AS user_id, r.followed_id AS channel_id,
             {SCORES['follow']}::float8 AS score, 'follow' AS reason, NULL AS detail
      FROM user_relationships r JOIN rec_work.rec_users u ON u.user_id = r.follower_id
      WHERE u.n BETWEEN :lo AND :hi"""

CO_VIEWED = f"""SELECT i.user_id, s.b, {SCORES['coview']} * sum(s.similarity * i.weight)
                             / max(total.weight), 'coview', NULL
      FROM rec_work.rec_interest_top i JOIN rec_work.rec_users u ON u.user_id = i.user_id
      JOIN rec_work.rec_similar s ON s.a = i.channel_id
      JOIN rec_work.rec_interest_total total ON total.user_id = i.user_id
      WHERE u.n BETWEEN :lo AND :hi
      GROUP BY i.user_id, s.b"""

FRIENDS_OF_FRIENDS = f"""SELECT r1.follower_id AS user_id, r2.followed_id AS channel_id,
             ({SCORES['fof']} * count(*))::float8 AS score,
             'fof' AS reason, count(*)::text AS detail
      FROM user_relationships r1 JOIN rec_work.rec_users u ON u.user_id = r1.follower_id
      JOIN user_relationships r2 ON r2.follower_id = r1.followed_id
      WHERE u.n BETWEEN :lo AND :hi
      GROUP BY r1.follower_id, r2.followed_id"""

STREAM_CANDIDATES = _top_k("recommended_streams",
                           [FOLLOWED, CO_VIEWED, _by_category(SCORES["category"])])
# Channel suggestions: one mutual follow outweighs the best category match.
USER_CANDIDATES = _top_k("recommended_users",
                         [FRIENDS_OF_FRIENDS, _by_category(SCORES["fof"] * 0.5)],
                         exclude_followed=True)

TABLES = ("recommended_streams", "recommended_users")


@dataclass(frozen=True)
class Recompute:
    users: int
    seconds: float
    skipped: bool = False
    phases: tuple[Any, ...] = ()  # (name, seconds) of prepare, fill, swap


def recompute(engine: Engine, *, batch: int = BATCH, top_k: int = TOP_K,
              fail_after_batches: int | None = None) -> Recompute:
    """Recompute every active user's recommendations and swap them in at once.

    The shared inputs are built once, as unlogged tables (which, unlike temporary ones,
    PostgreSQL may build with parallel workers). Then one connection per kind fills its
    staging table batch by batch, the two in parallel on two cores; only the final swap
    touches the tables readers use.
    """
    started = time.monotonic()
    with engine.connect() as control:
        if not control.execute(text(f"SELECT pg_try_advisory_lock({LOCK})")).scalar():
            return Recompute(users=0, seconds=0.0, skipped=True)
        control.commit()
        phases, mark = [], time.monotonic()
        try:
            users = _prepare(control, engine)
            phases.append(("prepare", time.monotonic() - mark))
            mark = time.monotonic()
            _fill(engine, users, batch=batch, top_k=top_k, fail_after_batches=fail_after_batches)
            phases.append(("fill", time.monotonic() - mark))
            mark = time.monotonic()
            _swap(control)
            phases.append(("swap", time.monotonic() - mark))
        except BaseException:
            control.rollback()
            _clean(control)
            raise
        finally:
            control.execute(text("DROP SCHEMA IF EXISTS rec_work CASCADE"))
            control.execute(text(f"SELECT pg_advisory_unlock({LOCK})"))
            control.commit()
    return Recompute(users=users, seconds=time.monotonic() - started, phases=tuple(phases))


def _session_settings(connection: Connection) -> None:
    connection.execute(text("SET work_mem = '128MB'"))
    # A few large statements: JIT compilation costs more than it saves here.
    connection.execute(text("SET jit = off"))


def _clean(connection: Connection) -> None:
    for table in TABLES:
        connection.execute(text(f"DROP TABLE IF EXISTS {table}_next"))
    connection.commit()


Job = Callable[["Connection"], None]


def _in_parallel(engine: Engine, jobs: list[Job]) -> None:
    """Run each job (a function of a connection) on its own connection, two at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def run(job: Job) -> None:
        with engine.connect() as connection:
            _session_settings(connection)
            job(connection)
            connection.commit()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(run, job) for job in jobs]:
            future.result()


def _statements(statements: list[str]) -> Job:
    def job(connection: Connection) -> None:
        for statement in statements:
            connection.execute(text(statement))
    return job


def _prepare(connection: Connection, engine: Engine) -> int:
    _session_settings(connection)
    _clean(connection)
    connection.execute(text("DROP SCHEMA IF EXISTS rec_work CASCADE"))
    connection.execute(text("CREATE SCHEMA rec_work"))
    for table in TABLES:
        connection.execute(text(f"CREATE TABLE {table}_next (LIKE {table} INCLUDING DEFAULTS)"))
    _statements(COMMON)(connection)
    connection.commit()
    _in_parallel(engine, [_statements(INTEREST), _statements(COVIEW)])
    connection.execute(text(ANALYZE))
    connection.commit()
    return int(connection.execute(text("SELECT count(*) FROM rec_work.rec_users")).scalar() or 0)


def _fill(engine: Engine, users: int, *, batch: int, top_k: int,
          fail_after_batches: int | None) -> None:
    """Two connections take alternate batches; each batch writes both kinds. Then each
    staging table gets its primary key, the two built side by side."""
    starts = list(range(1, users + 1, batch))

    def batches(mine: list[tuple[int, int]]) -> Job:
        def job(connection: Connection) -> None:
            for index, lo in mine:
                if fail_after_batches is not None and index >= fail_after_batches:
                    raise RuntimeError("recompute interrupted (test)")
                bounds = {"lo": lo, "hi": lo + batch - 1, "k": top_k}
                connection.execute(text(STREAM_CANDIDATES), bounds)
                connection.execute(text(USER_CANDIDATES), bounds)
                connection.commit()
        return job

    numbered = list(enumerate(starts))
    _in_parallel(engine, [batches(numbered[0::2]), batches(numbered[1::2])])
    _in_parallel(engine, [_statements([f"ALTER TABLE {table}_next ADD CONSTRAINT {table}_next_pkey "
                                       "PRIMARY KEY (user_id, channel_id)"]) for table in TABLES])


def _swap(connection: Connection) -> None:
    """One transaction: readers see the old results until it commits, the new ones after."""
    for table in TABLES:
        connection.execute(text(f"DROP TABLE {table}"))
        connection.execute(text(f"ALTER TABLE {table}_next RENAME TO {table}"))
        connection.execute(text(f"ALTER TABLE {table} RENAME CONSTRAINT {table}_next_pkey "
                                f"TO {table}_pkey"))
    connection.commit()


def run() -> Recompute:
    """The scheduled recompute, on an engine fit for minutes-long statements; readers drop
    what they cached of the previous one."""
    from shared_lib.db import batch_engine
    from shared_lib.recommendations.ranking import new_generation

    result = recompute(batch_engine())
    if not result.skipped:
        new_generation()
    return result
