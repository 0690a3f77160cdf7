"""The delivery queue's pure rules: retry backoff, and a failed attempt whatever goes wrong."""

from __future__ import annotations

from datetime import timedelta

from shared_lib.config import Settings
from shared_lib.webhooks.queue import backoff


def test_backoff_doubles_from_the_base_up_to_the_cap():
    settings = Settings(webhook_retry_base_seconds=30, webhook_retry_max_seconds=7200)
    waits = [backoff(n, settings) for n in range(1, 11)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-1] == timedelta(hours=2) and max(waits) == timedelta(hours=2)
    # Retries span a day before the default max attempts run out.
    total = sum((backoff(n, settings) for n in range(1, Settings().webhook_max_attempts)), timedelta())
    assert total >= timedelta(seconds=Settings().webhook_disable_after_seconds)


def test_anything_going_wrong_in_an_attempt_is_a_failed_attempt():
    from shared_lib.webhooks.queue import Attempt, attempt

    broken = Attempt(1, "http://127.0.0.1:9/", "whsec_aGVsbG8=", headers={}, body=b"{}")
    outcome = attempt(broken, Settings(webhook_allow_private_addresses=True))
    assert outcome.ok is False and "KeyError" in outcome.error
