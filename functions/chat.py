"""Live chat, one room per channel (DESIGN.md §10): chat-history, chat-events (the room as
Server-Sent Events), send-chat-message, delete-chat-message, ban and unban (timeouts are
bans with a duration), add and remove moderators, and the room's settings. Anyone reads;
posting needs a token; moderation is the owner's and the moderators'."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from shared_lib.catalog import Scaling
from shared_lib.chat import feed, room
from shared_lib.chat.shapes import (
    Ban,
    BanRequest,
    History,
    HistoryQuery,
    Message,
    Moderator,
    Moderators,
    NewMessage,
    ReplayChat,
    ReplayChatQuery,
    RoomSettings,
    SettingsChange,
)
from shared_lib.http import http_function, sse_function

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

# An open stream is a request in flight: an instance holds up to a thousand listeners
# (asyncio, one Redis reader a room), the autoscaler adds instances at 70% of that, and a
# room nobody listens to holds nothing, so the function still scales to zero. Each stream
# ends before Knative's 600 s request timeout and the browser resumes it; heartbeats every
# 10 s (a quiet room's reader waking) keep it under the idle timeout.
EVENTS_SCALING = Scaling(concurrency=1000, max_scale=10, timeout_seconds=600,
                         response_start_timeout_seconds=10, idle_timeout_seconds=60,
                         memory="256Mi")


@http_function("GET /api/chat/{username}/messages", query=HistoryQuery, response=History)
def chat_history(username: str, query: HistoryQuery, uow: UnitOfWork) -> History:
    """The room's last messages, oldest first."""
    return room.history(uow, username, limit=query.limit)


@http_function("GET /api/streams/{stream_id}/chat", query=ReplayChatQuery, response=ReplayChat)
def stream_chat(stream_id: uuid.UUID, query: ReplayChatQuery, uow: UnitOfWork) -> ReplayChat:
    """The chat as it happened during a stream, oldest first, for its replay to play along."""
    return room.during(uow, stream_id, query)


@sse_function("GET /api/chat/{username}/events", scaling=EVENTS_SCALING)
async def chat_events(username: str, last_event_id: str | None) -> AsyncIterator[bytes | None]:
    """The room as Server-Sent Events (message, delete, ban, settings); a reconnect resumes
    after its Last-Event-ID with what it missed."""
    key = await asyncio.to_thread(room.events_key, username)
    return await feed.hub().listen(key, last_event_id)


@http_function("POST /api/chat/{username}/messages", body=NewMessage, auth="user",
               response=Message, status=201)
def send_chat_message(username: str, body: NewMessage, account: User, uow: UnitOfWork) -> Message:
    """Post a message: refused (and not stored) when banned or timed out, in slow mode too
    soon, not a follower long enough, or holding a blocked term."""
    return room.send(uow, account, username, body.text)


@http_function("DELETE /api/chat/{username}/messages/{message_id}", auth="user", status=204)
def delete_chat_message(username: str, message_id: int, account: User, uow: UnitOfWork) -> None:
    """Delete a message from the room, for everyone (owner and moderators)."""
    room.delete(uow, account, username, message_id)


@http_function("PUT /api/chat/{username}/bans/{target}", body=BanRequest, auth="user",
               response=Ban)
def ban_chat_user(username: str, target: str, body: BanRequest, account: User,
                  uow: UnitOfWork) -> Ban:
    """Ban a user from the room, or time them out for duration_seconds (owner and
    moderators; only the owner bans a moderator)."""
    return room.ban(uow, account, username, target, body)


@http_function("DELETE /api/chat/{username}/bans/{target}", auth="user", response=Ban)
def unban_chat_user(username: str, target: str, account: User, uow: UnitOfWork) -> Ban:
    """Lift a ban or a timeout (owner and moderators)."""
    return room.unban(uow, account, username, target)


@http_function("GET /api/chat/{username}/moderators", response=Moderators)
def chat_moderators(username: str, uow: UnitOfWork) -> Moderators:
    """The room's moderators (the owner moderates too, without being listed)."""
    return room.moderators(uow, username)


@http_function("PUT /api/chat/{username}/moderators/{target}", auth="user", response=Moderator)
def add_chat_moderator(username: str, target: str, account: User, uow: UnitOfWork) -> Moderator:
    """Appoint a moderator (the owner)."""
    return room.set_moderator(uow, account, username, target, moderator=True)


@http_function("DELETE /api/chat/{username}/moderators/{target}", auth="user",
               response=Moderator)
def remove_chat_moderator(username: str, target: str, account: User,
                          uow: UnitOfWork) -> Moderator:
    """Dismiss a moderator (the owner)."""
    return room.set_moderator(uow, account, username, target, moderator=False)


@http_function("GET /api/chat/{username}/settings", response=RoomSettings)
def chat_settings(username: str, uow: UnitOfWork) -> RoomSettings:
    """The room's slow mode, follower-only mode and blocked terms."""
    return room.settings_of(uow, username)


@http_function("PATCH /api/chat/{username}/settings", body=SettingsChange, auth="user",
               response=RoomSettings)
def update_chat_settings(username: str, body: SettingsChange, account: User,
                         uow: UnitOfWork) -> RoomSettings:
    """Change slow mode, follower-only mode or the blocked terms (owner and moderators)."""
    return room.change_settings(uow, account, username, body)
