"""The unit of work a handler is given, and the events it committed: sent once the answer
has gone out (or at once, when an error's effect stands)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import flask

from shared_lib import errors

if TYPE_CHECKING:
    from shared_lib.security import AccessClaims


@contextmanager
def unit_of_work(wants: set[str], user: AccessClaims | None,
                 outgoing: list[Any]) -> Iterator[dict[str, Any]]:
    """The handler's unit of work and loaded account, as keyword arguments; committed when the
    handler returns (its events into `outgoing`, to send after the answer), rolled back when
    it raises."""
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        supplied: dict[str, Any] = {"uow": uow} if "uow" in wants else {}
        if "account" in wants:
            account = uow.users.get(user.user_id) if user is not None else None
            if user is not None and account is None:
                raise errors.InvalidToken()
            supplied["account"] = account
        try:
            yield supplied
        except errors.StreamfnError as error:
            if error.commits:
                outgoing.extend(uow.commit(send=False))
            raise
        outgoing.extend(uow.commit(send=False))


def run(session: Callable[[AccessClaims | None, list[Any]], Any], handler: Callable[..., Any],
        kwargs: dict[str, Any], user: AccessClaims | None, outgoing: list[Any]) -> Any:
    """The handler, in its unit of work (`pipeline`); the events of an error whose effect
    stands are sent before the error is answered."""
    try:
        with session(user, outgoing) as supplied:
            return handler(**kwargs, **supplied)
    except errors.StreamfnError:
        deliver_now(outgoing)
        raise


def pipeline(wants: set[str]) -> Callable[[AccessClaims | None, list[Any]], Any]:
    if wants & {"uow", "account"}:
        return lambda user, outgoing: unit_of_work(wants, user, outgoing)
    return lambda user, outgoing: nullcontext({})


def answered(response: flask.Response, outgoing: list[Any]) -> flask.Response:
    """`response`, sending the committed events once it has gone out (the WSGI server closes
    it after the last byte): the caller never waits on the broker, and the outbox still
    holds whatever a send does not deliver."""
    if outgoing:
        from shared_lib.events.outbox import deliver

        response.call_on_close(lambda: deliver(outgoing))
    return response




def deliver_now(outgoing: list[Any]) -> None:
    """Send the events of an error whose effect stands, before the error is answered."""
    if outgoing:
        from shared_lib.events.outbox import deliver

        deliver(outgoing)
