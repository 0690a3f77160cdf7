"""Viewer analytics: record-view (the players' hot path: Redis only, served async),
stream-analytics and channel-analytics (PostgreSQL, topped up with what Redis has not
rolled up yet), the minute rollup, and the final rollup when a stream ends."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from shared_lib.analytics.shapes import ChannelAnalytics, StreamAnalytics, ViewAccepted, ViewReport
from shared_lib.catalog import Scaling
from shared_lib.events.types import EventType, publish_of, stream_of
from shared_lib.http import Client, event_function, http_function, scheduled_function
from shared_lib.security import AccessClaims

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

HOT_PATH = Scaling(min_scale=0, max_scale=50, concurrency=50, timeout_seconds=10)


@http_function("POST /api/streams/{id}/views", body=ViewReport, auth="optional",
               response=ViewAccepted, status=202, scaling=HOT_PATH)
async def record_view(id: uuid.UUID, body: ViewReport, user: AccessClaims | None,
                      client: Client) -> ViewAccepted:
    """A player reports a join, a heartbeat (every 30 s) or a leave for its session."""
    from shared_lib.analytics import viewers

    viewer = f"u:{user.user_id}" if user else f"s:{body.session_id}"
    return ViewAccepted(concurrent_viewers=await viewers.report(
        id, session_id=body.session_id, viewer_id=viewer, action=body.action,
        address=client.address))


@http_function("GET /api/streams/{id}/analytics", auth="user", response=StreamAnalytics)
def stream_analytics(id: uuid.UUID, account: User, uow: UnitOfWork) -> StreamAnalytics:
    """Your stream's viewers now, peak, uniques, views, watch time and per-minute timeline."""
    from shared_lib.analytics import reports

    return reports.stream_report(uow, account, id)


@http_function("GET /api/analytics/channel", auth="user", response=ChannelAnalytics)
def channel_analytics(account: User, uow: UnitOfWork) -> ChannelAnalytics:
    """Your channel: totals across streams, follower growth by day (30 days), top streams."""
    from shared_lib.analytics import reports

    return reports.channel_report(uow, account)


@scheduled_function("* * * * *")
def rollup_views() -> None:
    """Move the last minute of viewer activity into PostgreSQL, stream by stream."""
    from shared_lib.analytics import rollup

    rollup.roll_up_all(now=time.time())


@event_function(EventType.STREAM_ENDED)
def finalize_stream_analytics(event: CloudEvent, uow: UnitOfWork) -> None:
    """The stream ended: its final rollup (peak, uniques, views, watch time), once."""
    from shared_lib.analytics import rollup

    rollup.finalize(uow, stream_of(event), publish_of(event), now=time.time())
