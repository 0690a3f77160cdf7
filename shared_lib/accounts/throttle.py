"""Throttles in Redis, in fixed windows: failed logins per account and per address, and
registrations per address.

A login attempt is reserved (counted atomically) before the password is checked, so
parallel guesses cannot all slip under the limit; a right password gives its reservation
back. The account bucket is keyed by the account (its id), so its username and its email
share one; an unknown login name has a bucket of its own. Over the account's limit, a
login is refused before the password is checked, even a right one, so the answer says
nothing about the password. Over the address's limit, the password is still checked: a
right one logs in (everyone behind a shared address is not locked out by one guesser),
a wrong one is 429. Without Redis there is no throttle, so login answers 503 rather than
let a guesser run unchecked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared_lib.cache import Keys, redis_errors
from shared_lib.config import Settings
from shared_lib.errors import Throttled

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline

REGISTER_WINDOW_SECONDS = 3600
GIVE_BACK = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


def _count(pipe: Pipeline, key: str, window: int) -> None:
    # The window starts at the first count and is not extended by later ones.
    pipe.set(key, 0, ex=window, nx=True)
    pipe.incr(key)
    pipe.ttl(key)


class LoginThrottle:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._window = settings.login_window_seconds
        self._account_limit = settings.login_max_failures_per_account
        self._address_limit = settings.login_max_failures_per_address

    def reserve(self, account: str, address: str) -> Throttled | None:
        """Count this attempt against both buckets. Raises Throttled when the account is
        over its limit; returns the Throttled to raise if the password turns out wrong
        while the address is over its limit, else None."""
        with redis_errors():
            pipe = self._redis.pipeline()
            _count(pipe, Keys.login_failures_by_account(account), self._window)
            _count(pipe, Keys.login_failures_by_address(address), self._window)
            _, account_count, account_ttl, _, address_count, address_ttl = pipe.execute()
        if account_count > self._account_limit:
            raise Throttled("Too many failed logins. Try again later.", retry_after=max(1, account_ttl))
        if address_count > self._address_limit:
            return Throttled("Too many failed logins from your address. Try again later.",
                             retry_after=max(1, address_ttl))
        return None

    def release(self, account: str, address: str) -> None:
        """The attempt was right: clear the account's failures, give the address its count
        back (only while its window lasts: a DECR of an expired count would leave one with
        no expiry, which the address would carry for good)."""
        with redis_errors():
            pipe = self._redis.pipeline()
            pipe.delete(Keys.login_failures_by_account(account))
            pipe.eval(GIVE_BACK, 1, Keys.login_failures_by_address(address))
            pipe.execute()


def limit_registrations(redis: Redis, address: str, *, per_hour: int) -> None:
    """Count a registration from `address`; Throttled past `per_hour`."""
    with redis_errors():
        pipe = redis.pipeline()
        _count(pipe, Keys.registrations_by_address(address), REGISTER_WINDOW_SECONDS)
        _, count, ttl = pipe.execute()
    if count > per_hour:
        raise Throttled("Too many accounts registered from your address. Try again later.",
                        retry_after=max(1, ttl))
