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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from shared_lib.recommendations.scores import SCORES, TOP_K

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


BATCH = 10_000
LOCK = "streamfn:recommendations"  # the advisory lock's name (hashed to its key)

SQL = Path(__file__).with_name("sql")
# Bound into the candidate statements: one mutual follow outweighs the best category match
# among channel suggestions.
STREAM_SCORES = {"follow_score": SCORES["follow"], "coview_score": SCORES["coview"],
                 "category_score": SCORES["category"]}
USER_SCORES = {"fof_score": SCORES["fof"], "category_score": SCORES["fof"] * 0.5,
               "coview_score": SCORES["similar"]}


def statements(name: str) -> list[str]:
    """The statements of sql/NAME.sql, in order: `;` at a line's end ends each, and comment
    lines (`--`) are for the reader, not the server."""
    lines = [line for line in (SQL / f"{name}.sql").read_text().splitlines()
             if not line.lstrip().startswith("--")]
    return [part.strip().rstrip(";") for part in "\n".join(lines).split(";\n") if part.strip()]


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
        if not control.execute(text("SELECT pg_try_advisory_lock(hashtext(:lock))"), {"lock": LOCK}).scalar():
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
            control.execute(text("SELECT pg_advisory_unlock(hashtext(:lock))"), {"lock": LOCK})
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
    _statements(statements("common"))(connection)
    connection.commit()
    _in_parallel(engine, [_statements(statements("interest")), _statements(statements("coview"))])
    _statements(statements("analyze"))(connection)
    connection.commit()
    return int(connection.execute(text("SELECT count(*) FROM rec_work.rec_users")).scalar() or 0)


def _fill(engine: Engine, users: int, *, batch: int, top_k: int,
          fail_after_batches: int | None) -> None:
    """Two connections take alternate batches; each batch writes both kinds. Then each
    staging table gets its primary key, the two built side by side."""
    starts = list(range(1, users + 1, batch))
    [streams], [users_] = statements("stream_candidates"), statements("user_candidates")

    def batches(mine: list[tuple[int, int]]) -> Job:
        def job(connection: Connection) -> None:
            for index, lo in mine:
                if fail_after_batches is not None and index >= fail_after_batches:
                    raise RuntimeError("recompute interrupted (test)")
                bounds = {"lo": lo, "hi": lo + batch - 1, "k": top_k}
                connection.execute(text(streams), {**bounds, **STREAM_SCORES})
                connection.execute(text(users_), {**bounds, **USER_SCORES})
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
