"""A channel's chat room: its history, posting (every refusal checked before a message is
stored or fanned out), deleting, bans and timeouts, moderators, and settings.

Every change is announced on the room's Redis Stream after its commit (`message`,
`delete`, `ban`, `settings`), which the chat-events function serves as Server-Sent Events;
the stream's entry id is the event id a reconnecting client resumes from.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from shared_lib import errors
from shared_lib.accounts.shapes import UserSummary
from shared_lib.chat import rules
from shared_lib.chat.shapes import (
    Ban,
    History,
    Message,
    Moderator,
    Moderators,
    ReplayChat,
    RoomSettings,
)

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.chat.shapes import BanRequest, ReplayChatQuery, SettingsChange
    from shared_lib.db import UnitOfWork

log = logging.getLogger(__name__)

STREAM_LENGTH = 1000  # the events a room keeps for reconnecting clients (approximately)
FOREVER = datetime.max.replace(tzinfo=UTC)


def channel(uow: UnitOfWork, username: str) -> User:
    owner = uow.users.get_by_username(username)
    if owner is None:
        raise errors.UserNotFound()
    return owner


def _announce(uow: UnitOfWork, channel_id: uuid.UUID, kind: str, data: dict[str, Any]) -> None:
    """Put an event on the room's stream once the transaction commits; best effort (a lost
    one is healed by the history a client loads when it reconnects)."""

    def publish() -> None:
        from shared_lib.cache import REDIS_ERRORS, Keys, get_redis

        try:
            get_redis().xadd(Keys.chat_room(str(channel_id)),
                             {"type": kind, "data": json.dumps(data, default=str)},
                             maxlen=STREAM_LENGTH, approximate=True)
        except REDIS_ERRORS:
            log.warning("Redis is down: a chat %s event was not fanned out", kind)

    uow.after_commit(publish)


def _is_staff(uow: UnitOfWork, room: User, user_id: uuid.UUID) -> bool:
    return user_id == room.id or uow.chat.is_moderator(room.id, user_id)


def _require_staff(uow: UnitOfWork, room: User, account: User) -> None:
    if not _is_staff(uow, room, account.id):
        raise errors.NotPermitted("Only the channel owner and its moderators may do this.")


# --- messages --------------------------------------------------------------------------


def history(uow: UnitOfWork, username: str, *, limit: int) -> History:
    """The last messages, and the room's last event id read before them: chat-events opened
    after it repeats at most what the history holds (a client drops a message id twice
    seen) and misses nothing."""
    from shared_lib.cache import REDIS_ERRORS, Keys, get_redis

    room = channel(uow, username)
    try:
        newest = cast(list[tuple[str, Any]],
                      get_redis().xrevrange(Keys.chat_room(str(room.id)), count=1))
        last_event_id: str | None = newest[0][0] if newest else "0-0"
    except REDIS_ERRORS:
        last_event_id = None
    return History(items=[Message.of(m, u) for m, u in uow.chat.recent(room.id, limit=limit)],
                   last_event_id=last_event_id)


def during(uow: UnitOfWork, stream_id: uuid.UUID, query: ReplayChatQuery) -> ReplayChat:
    """A stream's chat as it happened, for its replay."""
    if uow.streams.get(stream_id) is None:
        raise errors.NotFound("No such stream.")
    after = query.after(datetime.fromisoformat, int)
    rows = uow.chat.during(stream_id, since=query.since, limit=query.fetch,
                           after=(after[0], after[1]) if after else None)
    rows, cursor = query.page(rows, lambda row: (row[0].sent_at.isoformat(), row[0].id))
    return ReplayChat(items=[Message.of(m, u) for m, u in rows], next_cursor=cursor)


def moderators(uow: UnitOfWork, username: str) -> Moderators:
    room = channel(uow, username)
    return Moderators(items=[UserSummary.of(user) for user in uow.chat.moderators(room.id)])


def events_key(username: str) -> str:
    """The Redis Stream of `username`'s room; 404 for no such channel. Usernames never
    change, so a found one is kept for the process's life (the chat-events function looks
    it up for every listener that connects)."""
    key = _event_keys.get(username)
    if key is None:
        from shared_lib.cache import Keys
        from shared_lib.db import UnitOfWork

        with UnitOfWork() as uow:
            key = Keys.chat_room(str(channel(uow, username).id))
        if len(_event_keys) >= 10_000:
            _event_keys.clear()
        _event_keys[username] = key
    return key


_event_keys: dict[str, str] = {}


def send(uow: UnitOfWork, account: User, username: str, text: str) -> Message:
    """Post `text` to the room, or refuse it with the reason; nothing refused is stored."""
    from shared_lib.cache import get_redis, redis_errors
    from shared_lib.chat.limits import admit

    room = channel(uow, username)
    text = rules.clean_text(text)
    posting = uow.chat.posting(room.id, account.id)
    staff = account.id == room.id or posting.moderator
    followers_only = posting.followers_only_minutes
    standing = rules.Standing(
        staff=staff, banned_until=(posting.banned_until or FOREVER) if posting.banned else None,
        # Asked only when it matters: one round trip fewer for every other message.
        followed_since=(uow.follows.followed_since(account.id, room.id)
                        if followers_only is not None and not staff else None))
    rules.check_standing(standing, followers_only_minutes=followers_only, now=datetime.now(UTC))
    term = rules.blocked_term(text, posting.blocked_terms)
    if term is not None:
        raise errors.InvalidInput("That message contains a term this chat blocks.",
                                  details=[{"field": "text", "reason": "blocked_term"}])
    slow = 0 if staff else posting.slow_mode_seconds
    with redis_errors():
        admit(get_redis(), channel_id=str(room.id), user_id=str(account.id), slow_seconds=slow)
    live = uow.streams.live_of(room.id)
    message = uow.chat.create(channel_id=room.id, user_id=account.id, text=text,
                              stream_id=live.id if live is not None else None)
    shown = Message.of(message, account)
    _announce(uow, room.id, "message", shown.model_dump(mode="json"))
    return shown


def delete(uow: UnitOfWork, account: User, username: str, message_id: int) -> None:
    room = channel(uow, username)
    _require_staff(uow, room, account)
    message = uow.chat.message(room.id, message_id)
    if message is None or message.deleted_at is not None:
        raise errors.NotFound("No such message.")
    message.deleted_at = datetime.now(UTC)
    _announce(uow, room.id, "delete", {"id": message_id})


# --- moderation ------------------------------------------------------------------------


def _target(uow: UnitOfWork, username: str) -> User:
    user = uow.users.get_by_username(username)
    if user is None:
        raise errors.UserNotFound()
    return user


def ban(uow: UnitOfWork, account: User, username: str, target_name: str,
        request: BanRequest) -> Ban:
    """Ban `target_name` (no duration) or time them out, replacing an earlier ban."""
    room = channel(uow, username)
    _require_staff(uow, room, account)
    target = _target(uow, target_name)
    if target.id == room.id or target.id == account.id:
        raise errors.NotPermitted("The channel owner cannot be banned, nor can you ban yourself.")
    if account.id != room.id and uow.chat.is_moderator(room.id, target.id):
        raise errors.NotPermitted("Only the channel owner may ban a moderator.")
    until = (datetime.now(UTC) + timedelta(seconds=request.duration_seconds)
             if request.duration_seconds else None)
    uow.chat.ban(room.id, target.id, until=until, reason=request.reason, by=account.id)
    shown = Ban(user=UserSummary.of(target), banned=True, until=until, reason=request.reason)
    _announce(uow, room.id, "ban", {"user": shown.user.model_dump(mode="json"),
                                    "until": until.isoformat() if until else None})
    return shown


def unban(uow: UnitOfWork, account: User, username: str, target_name: str) -> Ban:
    """Lift a ban or timeout. Open streams hear it as a `ban` that ended now, so the lifted
    user's panel lets them post at once."""
    room = channel(uow, username)
    _require_staff(uow, room, account)
    target = _target(uow, target_name)
    if uow.chat.unban(room.id, target.id):
        _announce(uow, room.id, "ban", {"user": UserSummary.of(target).model_dump(mode="json"),
                                        "until": datetime.now(UTC).isoformat()})
    return Ban(user=UserSummary.of(target), banned=False, until=None, reason=None)


def set_moderator(uow: UnitOfWork, account: User, username: str, target_name: str, *,
                  moderator: bool) -> Moderator:
    room = channel(uow, username)
    if account.id != room.id:
        raise errors.NotPermitted("Only the channel owner appoints moderators.")
    target = _target(uow, target_name)
    if target.id == room.id:
        raise errors.InvalidInput("The channel owner moderates their own chat already.")
    if moderator:
        uow.chat.appoint(room.id, target.id)
    else:
        uow.chat.dismiss(room.id, target.id)
    return Moderator(user=UserSummary.of(target), moderator=moderator)


def settings_of(uow: UnitOfWork, username: str) -> RoomSettings:
    return RoomSettings.of(uow.chat.settings(channel(uow, username).id))


def change_settings(uow: UnitOfWork, account: User, username: str,
                    change: SettingsChange) -> RoomSettings:
    room = channel(uow, username)
    _require_staff(uow, room, account)
    settings = uow.chat.settings_for_update(room.id)
    for field in change.model_fields_set:
        value = getattr(change, field)
        if field == "blocked_terms":
            value = list(dict.fromkeys(value))
        elif value is None and field != "followers_only_minutes":
            raise errors.InvalidInput(f"{field} cannot be null.", details=[{"field": field}])
        setattr(settings, field, value)
    settings.updated_at = datetime.now(UTC)
    shown = RoomSettings.of(settings)
    _announce(uow, room.id, "settings", shown.model_dump(mode="json"))
    return shown
