"""The unit of work and the migrations, on the real PostgreSQL."""

from __future__ import annotations

import uuid

from shared_lib.accounts.models import User
from shared_lib.db import UnitOfWork


def make_user() -> User:
    name = f"w_{uuid.uuid4().hex[:8]}"
    return User(id=uuid.uuid4(), username=name, email=f"{name}@example.com",
                password_hash="x", display_name=name)


def test_the_unit_of_work_rolls_back_unless_committed():
    user = make_user()
    with UnitOfWork() as uow:
        uow.users.add(user)
    with UnitOfWork() as uow:
        assert uow.users.get(user.id) is None


def test_the_unit_of_work_keeps_what_was_committed():
    user = make_user()
    with UnitOfWork() as uow:
        uow.users.add(user)
        uow.commit()
    with UnitOfWork() as uow:
        assert uow.users.get_by_username(user.username.upper()).id == user.id


def test_the_models_match_the_newest_migration():
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shared_lib.db import get_engine
    from shared_lib.migrations import metadata

    with get_engine().connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata())
    assert differences == []


def test_database_errors_never_carry_bound_values_into_logs():
    from sqlalchemy.exc import IntegrityError

    user = make_user()
    with UnitOfWork() as uow:
        uow.users.add(user)
        uow.commit()
    twin = make_user()
    twin.username, twin.password_hash = user.username, "hash-that-must-not-be-logged"
    with UnitOfWork() as uow:
        try:
            uow.users.add(twin)
        except IntegrityError as error:
            message = str(error)
        else:
            raise AssertionError("a duplicate username must be refused")
    assert "uq_users_username" in message and "hash-that-must-not-be-logged" not in message


def test_a_value_the_driver_cannot_send_does_not_break_the_pooled_connection():
    """pg8000 fails mid-statement on a time that overflows once turned to UTC; that
    connection must never serve another request (it used to fail the next ones for minutes)."""
    from datetime import datetime, timedelta, timezone

    import pytest
    from sqlalchemy import text

    unsendable = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))
    with pytest.raises(OverflowError):
        with UnitOfWork() as uow:
            uow.session.execute(text("SELECT :when"), {"when": unsendable}).all()
    for _ in range(5):
        with UnitOfWork() as uow:
            assert uow.session.execute(text("SELECT 1")).scalar() == 1
