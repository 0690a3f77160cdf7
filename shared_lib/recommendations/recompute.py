"""Recommendations, recomputed on a schedule (read by ranking.py, with live status checked at
read time).

For each active user (anyone who follows or has watched), the recompute stores:
    recommended_streams  channels worth showing when live: followed channels, co-viewing
                         (channels watched by the viewers of what the user watches), and
                         popular channels of the categories the user watches
    recommended_users    channels to follow: co-viewing, friends of friends with their mutual
                         count, popular channels of the user's categories; never yourself,
                         never a channel already followed
(model.py says how.) PostgreSQL numbers the users and answers the follows and watch time as
packed integers; the model works on sparse matrices in this process, a block of BATCH users
at a time, and each block's suggestions go back by binary COPY (while the next block is
computed) into staging tables that replace the live ones in a single transaction at the end:
a recompute that fails half way leaves the previous results in place (and its staging tables
are dropped). An advisory lock keeps two recomputes apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from shared_lib.recommendations.scores import SCORES, TOP_K

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sqlalchemy import Connection, Engine

    from shared_lib.recommendations.model import Model


BATCH = 10_000
LOCK = "streamfn:recommendations"  # the advisory lock's name (hashed to its key)
SQL = Path(__file__).with_name("sql")
TABLES = ("recommended_streams", "recommended_users")
COPY_PIECE = 1 << 20  # bytes per CopyData message

# What each reason is worth per kind: among channels to show live, one followed outweighs
# every other reason; among channels to follow, one mutual follow the best category match.
STREAM_WEIGHTS = {"follow": SCORES["follow"], "coview": SCORES["coview"],
                  "category": SCORES["category"], "fof": 0.0}
USER_WEIGHTS = {"follow": 0.0, "coview": SCORES["similar"], "category": SCORES["fof"] * 0.5,
                "fof": SCORES["fof"]}

# Integers in, many rows to a chunk (copying.packed): watch time per (viewer, channel) in
# seconds, and follows, by user number.
VIEWS = ("SELECT u.n AS a, c.n AS b, least(v.watch_seconds, 2000000000) + 60 AS w "
         "FROM channel_views v JOIN rec_work.rec_ids u ON u.id = v.user_id "
         "JOIN rec_work.rec_ids c ON c.id = v.channel_id")
FOLLOWS = ("SELECT f.n AS a, c.n AS b FROM user_relationships r "
           "JOIN rec_work.rec_ids f ON f.id = r.follower_id "
           "JOIN rec_work.rec_ids c ON c.id = r.followed_id")
CHANNEL_CATEGORY = ("SELECT i.n AS a, k.k AS b FROM rec_work.rec_channel_category c "
                    "JOIN rec_work.rec_ids i ON i.id = c.channel_id "
                    "JOIN rec_work.rec_categories k ON k.category = c.category")
POPULAR = ("SELECT k.k AS a, i.n AS b, t.rank AS r FROM rec_work.rec_category_top t "
           "JOIN rec_work.rec_ids i ON i.id = t.channel_id "
           "JOIN rec_work.rec_categories k ON k.category = t.category")
IDS = "SELECT string_agg(uuid_send(id), ''::bytea ORDER BY n) FROM rec_work.rec_ids"
CATEGORIES = "SELECT category FROM rec_work.rec_categories ORDER BY k"
FOLLOW_SECONDS = 300  # a follow counts as five minutes watched


def statements(name: str) -> list[str]:
    """The statements of sql/NAME.sql, in order: `;` at a line's end ends each, and comment
    lines (`--`) are for the reader, not the server."""
    lines = [line for line in (SQL / f"{name}.sql").read_text().splitlines()
             if not line.lstrip().startswith("--")]
    return [part.strip().rstrip(";") for part in "\n".join(lines).split(";\n") if part.strip()]


@dataclass(frozen=True)
class Recompute:
    users: int
    seconds: float
    skipped: bool = False
    phases: tuple[Any, ...] = ()  # (name, seconds) of read, model, fill, swap


@dataclass(frozen=True)
class _Inputs:
    model: Model
    ids: NDArray[np.void]  # user number -> UUID bytes
    categories: NDArray[np.bytes_]  # category number -> name


def recompute(engine: Engine, *, batch: int = BATCH, top_k: int = TOP_K,
              fail_after_batches: int | None = None) -> Recompute:
    """Recompute every active user's recommendations and swap them in at once."""
    started = time.monotonic()
    with engine.connect() as control:
        if not control.execute(text("SELECT pg_try_advisory_lock(hashtext(:lock))"), {"lock": LOCK}).scalar():
            return Recompute(users=0, seconds=0.0, skipped=True)
        control.commit()
        phases: list[tuple[str, float]] = []
        mark = time.monotonic()

        def phase(name: str) -> None:
            nonlocal mark
            phases.append((name, time.monotonic() - mark))
            mark = time.monotonic()

        try:
            inputs = _read(control, engine, phase)
            _fill(engine, inputs, batch=batch, top_k=top_k, fail_after_batches=fail_after_batches)
            phase("fill")
            _swap(control)
            phase("swap")
        except BaseException:
            control.rollback()
            _clean(control)
            raise
        finally:
            control.execute(text("DROP SCHEMA IF EXISTS rec_work CASCADE"))
            control.execute(text("SELECT pg_advisory_unlock(hashtext(:lock))"), {"lock": LOCK})
            control.commit()
    return Recompute(users=inputs.model.active_users, seconds=time.monotonic() - started,
                     phases=tuple(phases))


def _clean(connection: Connection) -> None:
    for table in TABLES:
        connection.execute(text(f"DROP TABLE IF EXISTS {table}_next"))
    connection.commit()


def _chunks(connection: Connection, statement: str) -> list[bytes]:
    return [bytes(chunk) for chunk in connection.execute(text(statement)).scalars() if chunk]


def _read(connection: Connection, engine: Engine, phase: Callable[[str], None]) -> _Inputs:
    """The staging tables created; the model's inputs read as arrays (the two large ones side
    by side, on two connections), and the model built from them (what it does not keep
    freed as soon as it is built)."""
    import numpy as np

    from shared_lib.recommendations.copying import packed
    from shared_lib.recommendations.model import Model, follow_matrix, interest_matrix

    _session_settings(connection)
    _clean(connection)
    connection.execute(text("DROP SCHEMA IF EXISTS rec_work CASCADE"))
    connection.execute(text("CREATE SCHEMA rec_work"))
    for table in TABLES:
        connection.execute(text(f"CREATE TABLE {table}_next (LIKE {table} INCLUDING DEFAULTS)"))
    for statement in statements("common"):
        connection.execute(text(statement))
    connection.commit()

    by_user = "a / 65536"
    large = [(packed(["a", "b", "w"], VIEWS, by_user), 3), (packed(["a", "b"], FOLLOWS, by_user), 2)]
    with ThreadPoolExecutor(max_workers=len(large)) as pool:
        fetching = [pool.submit(_fetched, engine, query, columns) for query, columns in large]
        ids = np.frombuffer(b"".join(_chunks(connection, IDS)), dtype="V16")
        channel_category = _arrays(connection, packed(["a", "b"], CHANNEL_CATEGORY, by_user), 2)
        category, channel, rank = _arrays(connection, packed(["a", "b", "r"], POPULAR, "a"), 3)
        categories = np.array([name.encode() for name in connection.execute(text(CATEGORIES)).scalars()],
                              dtype=np.bytes_)
        connection.commit()
        views, follows = [future.result() for future in fetching]
        del fetching
    phase("read")
    size = len(ids)
    popular = np.full((len(categories), 15), -1, dtype=np.int64)
    popular[category, rank - 1] = channel
    followed = follow_matrix(follows[0], follows[1], size)
    del follows
    watched = interest_matrix(views[0], views[1], views[2].astype(np.float32), size)
    del views
    interest = [watched + FOLLOW_SECONDS * followed]  # Model.build takes it from the list
    del watched
    model = Model.build(interest, followed, (channel_category[0], channel_category[1]), popular)
    phase("model")
    return _Inputs(model, ids, categories)


def _arrays(connection: Connection, statement: str, columns: int) -> list[NDArray[np.int32]]:
    from shared_lib.recommendations.copying import unpack

    return unpack(_chunks(connection, statement), columns)


def _session_settings(connection: Connection) -> None:
    connection.execute(text("SET work_mem = '256MB'"))
    connection.execute(text("SET jit = off"))  # a few large statements: compiling costs more


def _fetched(engine: Engine, statement: str, columns: int) -> list[NDArray[np.int32]]:
    with engine.connect() as connection:
        _session_settings(connection)
        return _arrays(connection, statement, columns)


Job = Callable[["Connection"], None]


def _copy(connection: Connection, table: str, data: bytes) -> None:
    cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    view = memoryview(data)
    cursor.execute(f"COPY {table}_next (user_id, channel_id, score, reason, detail) "
                   "FROM STDIN (FORMAT binary)",
                   stream=(view[at:at + COPY_PIECE] for at in range(0, len(view), COPY_PIECE)))


def _fill(engine: Engine, inputs: _Inputs, *, batch: int, top_k: int,
          fail_after_batches: int | None) -> None:
    """Block by block: this thread computes a block's suggestions while another copies the
    previous block's into the staging tables. Then each staging table gets its primary key,
    the two built side by side."""
    from shared_lib.recommendations.copying import binary_copy
    from shared_lib.recommendations.model import Weights

    model = inputs.model
    streams, users = Weights(**STREAM_WEIGHTS), Weights(**USER_WEIGHTS)
    with engine.connect() as writer, ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[None] | None = None
        writer.begin()  # the COPYs go through the driver: this commits them at the end

        def write(blocks: tuple[bytes, bytes]) -> None:
            for table, data in zip(TABLES, blocks, strict=True):
                _copy(writer, table, data)

        for index, lo in enumerate(range(0, model.size, batch)):
            if fail_after_batches is not None and index >= fail_after_batches:
                raise RuntimeError("recompute interrupted (test)")
            hi = min(lo + batch, model.size)
            blocks = (binary_copy(model.streams(lo, hi, streams, top_k), inputs.ids, inputs.categories),
                      binary_copy(model.users(lo, hi, users, top_k), inputs.ids, inputs.categories))
            if pending is not None:
                pending.result()
            pending = pool.submit(write, blocks)
        if pending is not None:
            pending.result()
        writer.commit()
    _in_parallel(engine, [_statement(f"ALTER TABLE {table}_next ADD CONSTRAINT {table}_next_pkey "
                                     "PRIMARY KEY (user_id, channel_id)") for table in TABLES])


def _statement(statement: str) -> Job:
    def job(connection: Connection) -> None:
        connection.execute(text("SET maintenance_work_mem = '256MB'"))
        connection.execute(text(statement))
    return job


def _in_parallel(engine: Engine, jobs: list[Job]) -> None:
    """Run each job (a function of a connection) on its own connection, side by side."""
    def run(job: Job) -> None:
        with engine.connect() as connection:
            job(connection)
            connection.commit()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(run, job) for job in jobs]:
            future.result()


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
