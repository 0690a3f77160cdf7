"""What every repository shares: the generic repository over one table and the SQL
helpers its queries use (intervals, LIKE patterns, row counts, keyset cursors), each a
bound parameter, never text in the statement."""

from __future__ import annotations

import abc
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, Interval, Tuple, func, literal, tuple_
from sqlalchemy.orm import Session

from shared_lib.db import Base

if TYPE_CHECKING:
    from sqlalchemy import CursorResult, Result


T = TypeVar("T", bound=Base)


class Repository(abc.ABC, Generic[T]):
    """What every repository offers: add, and get by primary key."""

    @abc.abstractmethod
    def add(self, item: T) -> T: ...

    @abc.abstractmethod
    def get(self, key: Any) -> T | None: ...


class SqlRepository(Repository[T]):
    model: type[T]

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: T) -> T:
        self.session.add(item)
        self.session.flush()
        return item

    def get(self, key: Any) -> T | None:
        return self.session.get(self.model, key)

    def create(self, **fields: Any) -> T:
        """A new row of this repository's table, added (its server defaults fetched). Domain
        code makes rows through here, so it never imports the models, and a function that
        does not reach the database never pays for SQLAlchemy."""
        return self.add(self.model(**fields))

    def reload(self, item: T) -> T:
        """Re-read a row this transaction (or a concurrent one) has changed in SQL."""
        self.session.refresh(item)
        return item


def seconds_ago(seconds: float) -> ColumnElement[datetime]:
    """now() minus `seconds`, the interval a bound parameter (never text in the statement)."""
    return func.now() - literal(timedelta(seconds=seconds), Interval())


def escape_like(value: str) -> str:
    """`value` as literal text inside a LIKE pattern (escape character: backslash)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def affected(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed."""
    return int(cast("CursorResult[Any]", result).rowcount)


def keyset(values: tuple[Any, ...]) -> Tuple:
    """A page's cursor values as a row value, to compare a sort key with."""
    return tuple_(*(literal(value) for value in values))
