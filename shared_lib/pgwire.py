"""pg8000 under SQLAlchemy, in fewer round trips to PostgreSQL.

pg8000 (the driver DESIGN.md fixes) sends every statement with parameters as an unnamed
statement in three round trips (Parse, then Describe, then Bind and Execute, each followed
by a Sync and a wait), opens each transaction with a fourth, and commits in three more; it
also rescans each statement's text in Python to turn `%s` into `$1`. A follow was thirteen
round trips. This connection keeps each statement it has run prepared (PostgreSQL's named
statements, at most `statements` of them, least recently used closed first), so a statement
is one round trip from its second run on; a transaction's BEGIN travels with its first
statement; COMMIT and ROLLBACK are one simple query each; and a statement whose text carries
WITH_COMMIT (the outbox's row, which nothing in its transaction reads back) is sent with the
COMMIT, in its round trip. What PostgreSQL is asked is the same statements with the same
parameters: no parameter type is fixed here that pg8000 did not leave to the server before.

A statement prepared before a migration changed what it returns fails once with "cached plan
must not change result type" (SQLSTATE 0A000), as it would under any driver that prepares;
that statement is prepared again on its next run. Behind a pooler that cannot keep prepared
statements (PgBouncer in transaction mode before 1.21), set
`STREAMFN_DATABASE_PREPARED_STATEMENTS=0`.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any, cast

import pg8000.legacy
from pg8000.converters import timestamp_in, timestamptz_in
from pg8000.core import SYNC_MSG, Context, _flush, _write, make_params
from pg8000.dbapi import convert_paramstyle
from pg8000.exceptions import DatabaseError, InterfaceError
from sqlalchemy.dialects.postgresql.pg8000 import PGDialect_pg8000

DRIVER = "pg8000"  # what a database URL names (postgresql+pg8000://): this module serves it
NAME = "streamfn_pg8000"  # the dialect's name in SQLAlchemy's registry
PREPARED_STATEMENTS = 256
STALE = {"0A000", "26000"}  # the plan's result changed; the statement is gone (a pooler's reset)
# A statement whose text carries this is sent with the transaction's COMMIT, in its round
# trip: for a write nothing in the transaction reads back (the outbox's rows). Its errors
# are the commit's.
WITH_COMMIT = "/* with commit */"


def dbapi_error(error: DatabaseError) -> Exception:
    """The DB-API class pg8000's cursor raises for a server's error (what SQLAlchemy maps)."""
    message = error.args[0] if error.args else None
    code = str(message.get("C")) if isinstance(message, dict) else ""
    kinds: dict[str, Any] = {"28000": pg8000.legacy.InterfaceError,
                             "23505": pg8000.legacy.IntegrityError}
    return cast(Exception, kinds.get(code, pg8000.legacy.ProgrammingError)(message))


class Cursor(pg8000.legacy.Cursor):  # type: ignore[misc] # pg8000 is untyped
    def execute(self, operation: str, args: Any = (), stream: Any = None) -> Cursor:
        connection = self._c
        if (not args or stream is not None or self._input_oids or self.paramstyle != "format"
                or not isinstance(connection, Connection) or not connection.statements):
            super().execute(operation, args, stream)
            return self
        if WITH_COMMIT in operation:
            connection.defer(operation, args)
            self._context, self._row_iter = Context(operation), iter(())
            return self
        try:
            self._context = connection.run_prepared(operation, args)
        except AttributeError:
            if connection._sock is None:
                raise InterfaceError("connection is closed") from None
            raise
        except DatabaseError as error:
            raise dbapi_error(error) from None
        self._row_iter = iter(self._context.rows or ())
        self.input_types: list[Any] = []
        return self


def _timestamp(pg8000_in: Any) -> Any:
    """A timestamp's input function: `datetime.fromisoformat` (a fraction of a microsecond),
    then pg8000's own (about nine, strptime) for what it cannot read: infinity, BC dates.
    A page of 100 followers reads 200 timestamps."""
    def read(data: str) -> Any:
        try:
            return datetime.fromisoformat(data)
        except ValueError:
            return pg8000_in(data)

    return read


TIMESTAMPTZ, TIMESTAMP = 1184, 1114  # PostgreSQL's type OIDs
_timestamptz_in, _timestamp_in = _timestamp(timestamptz_in), _timestamp(timestamp_in)


class Connection(pg8000.legacy.Connection):  # type: ignore[misc] # the same
    def __init__(self, *args: Any, statements: int = PREPARED_STATEMENTS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_in_adapter(TIMESTAMPTZ, _timestamptz_in)
        self.register_in_adapter(TIMESTAMP, _timestamp_in)
        self.statements = statements
        # The statement's text as SQLAlchemy gives it -> (name, columns, input functions).
        self._prepared: OrderedDict[str, tuple[bytes, Any, Any]] = OrderedDict()
        self._deferred: list[tuple[str, Any]] = []  # WITH_COMMIT statements, in order

    def cursor(self) -> Cursor:
        return Cursor(self)

    def defer(self, operation: str, args: Any) -> None:
        self._deferred.append((operation, args))

    def commit(self) -> None:
        deferred, self._deferred = self._deferred, []
        if deferred:
            self._run_with_commit(deferred)
        elif self._in_transaction:  # none in autocommit mode: each statement committed itself
            self.execute_simple("commit")

    def rollback(self) -> None:
        self._deferred = []
        if self._in_transaction:
            self.execute_simple("rollback")

    def _run_with_commit(self, deferred: list[tuple[str, Any]]) -> None:
        """The deferred statements, then COMMIT, in one round trip. If one fails, PostgreSQL
        skips the rest and the COMMIT rolls back: its error is raised as the commit's."""
        statements = [(self._statement(operation, args), args) for operation, args in deferred]
        begin = None
        if not self._in_transaction and not self.autocommit:
            begin = Context("begin transaction")
            self.send_QUERY("begin transaction")
        for (name, _, _), args in statements:
            self.send_BIND(name, make_params(self.py_types, args))
            self.send_EXECUTE()
        _write(self._sock, SYNC_MSG)
        self.send_QUERY("commit")
        _flush(self._sock)
        # Every answer is read whatever happens (the stream stays in step), and the first
        # error is the one raised: after it, PostgreSQL's answer to COMMIT is a ROLLBACK.
        first: Exception | None = None
        for context in ([begin] if begin is not None else []) + [Context(deferred[0][0]),
                                                                Context("commit")]:
            try:
                self.handle_messages(context)
            except (DatabaseError, InterfaceError) as error:
                first = first or error
        if isinstance(first, DatabaseError):
            message = first.args[0] if first.args else None
            if isinstance(message, dict) and message.get("C") in STALE:
                for operation, _ in deferred:
                    self._prepared.pop(operation, None)
            raise dbapi_error(first) from None
        if first is not None:
            raise first

    def _statement(self, operation: str, args: Any) -> tuple[bytes, Any, Any]:
        prepared = self._prepared.get(operation)
        if prepared is not None:
            self._prepared.move_to_end(operation)
            return prepared
        statement, _ = convert_paramstyle("format", operation, args)
        prepared = cast(tuple[bytes, Any, Any], self.prepare_statement(statement, ()))
        self._prepared[operation] = prepared
        if len(self._prepared) > self.statements:
            _, (name, _, _) = self._prepared.popitem(last=False)
            self.close_prepared_statement(name)
        return prepared

    def run_prepared(self, operation: str, args: Any) -> Context:
        """Bind and execute `operation`'s prepared statement (preparing it first if this
        connection has not yet); outside a transaction, BEGIN in the same round trip."""
        name, columns, input_funcs = self._statement(operation, args)
        begin = None
        if not self._in_transaction and not self.autocommit:
            begin = Context("begin transaction")
            self.send_QUERY("begin transaction")
        context = Context(operation, columns=columns, input_funcs=input_funcs)
        self.send_BIND(name, make_params(self.py_types, args))
        self.send_EXECUTE()
        _write(self._sock, SYNC_MSG)
        _flush(self._sock)
        try:
            if begin is not None:
                try:
                    self.handle_messages(begin)
                finally:  # the statement's answer is read either way: the stream stays in step
                    self.handle_messages(context)
            else:
                self.handle_messages(context)
        except DatabaseError as error:
            message = error.args[0] if error.args else None
            if isinstance(message, dict) and message.get("C") in STALE:
                self._prepared.pop(operation, None)  # prepared again on its next run
            raise
        return context


class Dialect(PGDialect_pg8000):
    """SQLAlchemy's pg8000 dialect, connecting with `Connection`."""

    supports_statement_cache = True

    def __init__(self, prepared_statements: int = PREPARED_STATEMENTS, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call] # SQLAlchemy's is untyped
        self.prepared_statements = prepared_statements

    def connect(self, *cargs: Any, **cparams: Any) -> Connection:
        return Connection(*cargs, statements=self.prepared_statements, **cparams)


def register() -> None:
    """Make `postgresql+streamfn_pg8000://` this module's dialect (`engine_url` names it)."""
    from sqlalchemy.dialects import registry

    registry.register(f"postgresql.{NAME}", __name__, "Dialect")


def engine_url(url: str) -> Any:
    """The URL SQLAlchemy is given for a configured `postgresql+pg8000://` URL: the same
    database through this module's dialect. Any other driver is left as it is."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() != DRIVER:
        return parsed
    register()
    return parsed.set(drivername=f"postgresql+{NAME}")
