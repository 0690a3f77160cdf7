"""Failed-login throttling, per account and per address, in fixed windows held in Redis.

A throttled login is refused before the password is checked, even a right one, so the
answer says nothing about the password. Without Redis there is no throttle, so login
answers 503 rather than let a guesser run unchecked.
"""

from __future__ import annotations

from shared_lib.cache import Keys, redis_errors
from shared_lib.config import Settings
from shared_lib.errors import Throttled


class LoginThrottle:
    def __init__(self, redis, settings: Settings) -> None:
        self._redis = redis
        self._window = settings.login_window_seconds
        self._limits = (
            settings.login_max_failures_per_account,
            settings.login_max_failures_per_address,
        )

    def _keys(self, login: str, address: str) -> tuple[str, str]:
        return Keys.login_failures_by_account(login), Keys.login_failures_by_address(address)

    def check(self, login: str, address: str) -> None:
        keys = self._keys(login, address)
        with redis_errors():
            counts = self._redis.mget(keys)
            for key, count, limit in zip(keys, counts, self._limits):
                if count is not None and int(count) >= limit:
                    raise Throttled(
                        "Too many failed logins. Try again later.",
                        retry_after=max(1, self._redis.ttl(key)),
                    )

    def record_failure(self, login: str, address: str) -> None:
        with redis_errors():
            pipe = self._redis.pipeline()
            for key in self._keys(login, address):
                # The window starts at the first failure and is not extended by later ones.
                pipe.set(key, 0, ex=self._window, nx=True)
                pipe.incr(key)
            pipe.execute()

    def record_success(self, login: str) -> None:
        with redis_errors():
            self._redis.delete(Keys.login_failures_by_account(login))
