"""Times that events state are clamped to now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cloudevents.http import CloudEvent

from shared_lib.events.types import time_of

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def event(**data):
    return CloudEvent({"type": "t", "source": "/s"}, data)


@pytest.mark.parametrize("stated, expected", [
    ("2099-01-01T00:00:00+00:00", NOW),                       # from the future: now
    ("1970-01-01T00:00:00+00:00", NOW - timedelta(days=1)),   # far past: a day ago at most
    ("2026-11-27T11:59:00+00:00", NOW - timedelta(minutes=1)),
    ("2026-11-27T11:59:00", NOW - timedelta(minutes=1)),      # no zone: UTC
    ("9999-12-31T23:59:59-14:00", NOW),                       # overflows in UTC
    ("yesterday", NOW),
    (None, NOW),
])
def test_stated_times_are_clamped_to_now(stated, expected):
    assert time_of(event(started_at=stated), "started_at", now=NOW) == expected
