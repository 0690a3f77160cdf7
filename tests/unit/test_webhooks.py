"""Webhook signatures and retry backoff: pure logic, no servers."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from shared_lib.config import Settings
from shared_lib.webhooks import backoff, signature


def test_the_signature_is_an_hmac_of_the_timestamp_and_body():
    body = b'{"stream_id":"s"}'
    expected = hmac.new(b"whsec_k", b"1764090000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_k", 1764090000, body) == f"t=1764090000,v1={expected}"
    assert signature("whsec_k", 1764090001, body) != signature("whsec_k", 1764090000, body)
    assert signature("whsec_other", 1764090000, body) != signature("whsec_k", 1764090000, body)


def test_backoff_doubles_from_the_base_up_to_the_cap():
    settings = Settings(webhook_retry_base_seconds=30, webhook_retry_max_seconds=7200)
    waits = [backoff(n, settings) for n in range(1, 11)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-1] == timedelta(hours=2) and max(waits) == timedelta(hours=2)
    # Retries span a day before the default max attempts run out.
    total = sum((backoff(n, settings) for n in range(1, Settings().webhook_max_attempts)), timedelta())
    assert total >= timedelta(seconds=Settings().webhook_disable_after_seconds)
