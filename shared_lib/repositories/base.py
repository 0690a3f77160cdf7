"""The generic repository every table's repository builds on."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from sqlalchemy import Tuple, literal, tuple_
from sqlalchemy.orm import Session

from shared_lib.models import Base

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

    def reload(self, item: T) -> T:
        """Re-read a row this transaction (or a concurrent one) has changed in SQL."""
        self.session.refresh(item)
        return item


def escape_like(value: str) -> str:
    """`value` as literal text inside a LIKE pattern (escape character: backslash)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def affected(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed."""
    return int(cast("CursorResult[Any]", result).rowcount)


def keyset(values: tuple[Any, ...]) -> Tuple:
    """A page's cursor values as a row value, to compare a sort key with."""
    return tuple_(*(literal(value) for value in values))
