"""pg8000 in fewer round trips (shared_lib/pgwire.py), on the real PostgreSQL: the same
answers, the same transactions and the same errors as pg8000's own way, with each statement
prepared once per connection."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from shared_lib.config import get_settings
from shared_lib.pgwire import engine_url

PREPARED = text("SELECT count(*) FROM pg_prepared_statements")


def engine(statements: int = 256):
    return create_engine(engine_url(get_settings().database_url.get_secret_value()),
                         prepared_statements=statements, pool_size=1, max_overflow=0)


@pytest.fixture
def table():
    """A table of this test's own, gone afterwards."""
    name = f"pgwire_{uuid.uuid4().hex[:8]}"
    with engine(0).begin() as connection:
        connection.execute(text(f"CREATE TABLE {name} (id int PRIMARY KEY, name text)"))
    yield name
    with engine(0).begin() as connection:
        connection.execute(text(f"DROP TABLE {name}"))


def test_a_statement_run_again_is_prepared_once_and_answers_each_time(table):
    db = engine()
    with db.begin() as connection:
        for i in range(5):
            connection.execute(text(f"INSERT INTO {table} VALUES (:id, :name)"),
                               {"id": i, "name": f"n{i}"})
        names = [connection.execute(text(f"SELECT name FROM {table} WHERE id = :id"),
                                    {"id": i}).scalar() for i in range(5)]
        assert names == ["n0", "n1", "n2", "n3", "n4"]
        assert connection.execute(PREPARED).scalar() == 2, "one per statement, not per run"
    db.dispose()


def test_transactions_commit_and_roll_back_as_before(table):
    db = engine()
    with db.connect() as connection:
        connection.execute(text(f"INSERT INTO {table} VALUES (:id, 'kept')"), {"id": 1})
        connection.commit()
        connection.execute(text(f"INSERT INTO {table} VALUES (:id, 'undone')"), {"id": 2})
        connection.rollback()
        rows = connection.execute(text(f"SELECT id FROM {table} WHERE id > :n"), {"n": 0}).all()
        assert [row.id for row in rows] == [1], "the commit kept its row, the rollback undid its"
    db.dispose()


def test_a_unique_violation_is_an_integrity_error_and_the_connection_goes_on(table):
    db = engine()
    insert = text(f"INSERT INTO {table} VALUES (:id, 'x')")
    with db.connect() as connection:
        connection.execute(insert, {"id": 1})
        connection.commit()
        with pytest.raises(IntegrityError):
            connection.execute(insert, {"id": 1})  # the first statement of its transaction
        connection.rollback()
        connection.execute(insert, {"id": 2})
        connection.commit()
        assert connection.execute(text(f"SELECT count(*) FROM {table} WHERE id > :n"),
                                  {"n": 0}).scalar() == 2
    db.dispose()


def test_a_statement_whose_result_a_migration_changed_is_prepared_again(table):
    db = engine()
    query = text(f"SELECT * FROM {table} WHERE id = :id")
    with db.connect() as connection:
        connection.execute(text(f"INSERT INTO {table} VALUES (:id, 'x')"), {"id": 1})
        connection.commit()
        assert len(connection.execute(query, {"id": 1}).one()) == 2
        connection.commit()
        with engine(0).begin() as other:
            other.execute(text(f"ALTER TABLE {table} ADD COLUMN extra int DEFAULT 7"))
        with pytest.raises(ProgrammingError, match="cached plan must not change result type"):
            connection.execute(query, {"id": 1})
        connection.rollback()
        assert connection.execute(query, {"id": 1}).one().extra == 7
    db.dispose()


def test_at_most_the_configured_number_of_statements_stay_prepared():
    db = engine(statements=2)
    with db.connect() as connection:
        answers = [connection.execute(text(f"SELECT :n + {i}"), {"n": 1}).scalar() for i in range(4)]
        assert answers == [1, 2, 3, 4]
        assert connection.execute(PREPARED).scalar() == 2, "the least recently used were closed"
    db.dispose()


def test_with_none_configured_nothing_is_prepared():
    db = engine(statements=0)
    with db.connect() as connection:
        assert connection.execute(text("SELECT :n + 1"), {"n": 1}).scalar() == 2
        assert connection.execute(PREPARED).scalar() == 0
    db.dispose()


def test_only_a_postgresql_pg8000_url_is_served_by_this_dialect():
    assert engine_url("postgresql+pg8000://u@h/db").drivername == "postgresql+streamfn_pg8000"
    assert engine_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert engine_url("sqlite://").drivername == "sqlite"


def test_timestamps_read_back_as_what_was_stored():
    from datetime import UTC, datetime, timedelta, timezone

    stored = [datetime(2026, 11, 29, 2, 0, 0, 123456, tzinfo=UTC),
              datetime(2026, 11, 29, 2, 0, 0, 500000, tzinfo=UTC),
              datetime(1, 1, 1, tzinfo=UTC)]
    with engine().connect() as connection:
        read = [connection.execute(text("SELECT CAST(:t AS timestamptz)"), {"t": t}).scalar()
                for t in stored]
        assert read == stored
        naive = connection.execute(text("SELECT '2026-11-29 02:00:00.25'::timestamp")).scalar()
        assert naive == datetime(2026, 11, 29, 2, 0, 0, 250000)
        connection.execute(text("SET TimeZone = 'Asia/Kolkata'"))
        shifted = connection.execute(text("SELECT '2026-11-29 02:00:00+00'::timestamptz")).scalar()
        assert shifted == datetime(2026, 11, 29, 2, tzinfo=UTC)
        assert shifted.utcoffset() == timedelta(hours=5, minutes=30) == timezone(
            timedelta(hours=5, minutes=30)).utcoffset(None)
        # What fromisoformat cannot read is read as pg8000 always did.
        assert connection.execute(text("SELECT 'infinity'::timestamptz")).scalar() == "infinity"
        assert connection.execute(text(
            "SELECT '0044-03-15 00:00:00+00 BC'::timestamptz")).scalar().endswith("BC")


def test_a_statement_marked_with_commit_is_written_by_the_commit_or_not_at_all(table):
    from shared_lib.pgwire import WITH_COMMIT

    insert = text(f"INSERT {WITH_COMMIT} INTO {table} (id, name) VALUES (:id, :name)")
    count = text(f"SELECT count(*) FROM {table}")
    with engine().connect() as connection:
        connection.execute(text(f"INSERT INTO {table} (id, name) VALUES (0, 'first')"))
        connection.execute(insert, {"id": 1, "name": "with the commit"})
        connection.execute(insert, {"id": 2, "name": "and another"})
        assert connection.execute(count).scalar() == 1, "not sent before the commit"
        connection.commit()
        assert connection.execute(count).scalar() == 3
        connection.commit()

        connection.execute(text(f"INSERT INTO {table} (id, name) VALUES (3, 'kept?')"))
        connection.execute(insert, {"id": 1, "name": "a duplicate"})
        with pytest.raises(IntegrityError):
            connection.commit()  # the deferred statement's error is the commit's
        connection.rollback()
        assert connection.execute(count).scalar() == 3, "nothing of that transaction stayed"
        connection.rollback()

        connection.execute(insert, {"id": 4, "name": "rolled back"})
        connection.rollback()
        connection.execute(text("SELECT 1"))
        connection.commit()
        assert connection.execute(count).scalar() == 3, "a rollback drops what waited"
