"""Who may post what in a room, as pure rules (the Redis counters of slow mode and the rate
limit are in limits.py): the text itself, bans and timeouts, follower-only mode, blocked
terms. Each refusal is the error a viewer is shown, with what they need to know in
`details` (until when, how long to have followed)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared_lib import errors

MAX_LENGTH = 500


@dataclass(frozen=True)
class Standing:
    """What the room knows of a would-be poster."""

    staff: bool                      # the channel owner or a moderator: exempt from the modes
    banned_until: datetime | None    # a timeout's end; datetime.max for a ban; None if neither
    followed_since: datetime | None


def clean_text(text: str) -> str:
    """The message as stored: trimmed; refused when empty, too long, or holding control or
    formatting characters (no line breaks, no invisible direction overrides)."""
    text = text.strip()
    if not text:
        raise errors.InvalidInput("A message needs some text.", details=[{"field": "text"}])
    if len(text) > MAX_LENGTH:
        raise errors.InvalidInput(f"Messages are at most {MAX_LENGTH} characters.",
                                  details=[{"field": "text", "limit": MAX_LENGTH}])
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co") for char in text):
        raise errors.InvalidInput("Messages may not contain control characters.",
                                  details=[{"field": "text"}])
    return text


def blocked_term(text: str, terms: list[str]) -> str | None:
    """The first blocked term `text` holds as a word (case-insensitively), if any."""
    for term in terms:
        if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE):
            return term
    return None


def check_standing(standing: Standing, *, followers_only_minutes: int | None, now: datetime) -> None:
    """NotPermitted, saying why, when this poster may not post now."""
    if standing.banned_until is not None and standing.banned_until > now:
        if standing.banned_until == datetime.max.replace(tzinfo=standing.banned_until.tzinfo):
            raise errors.NotPermitted("You are banned from this chat.",
                                      details=[{"reason": "banned", "until": None}])
        raise errors.NotPermitted("You are timed out in this chat.",
                                  details=[{"reason": "timed_out",
                                            "until": standing.banned_until.isoformat()}])
    if standing.staff or followers_only_minutes is None:
        return
    needed = timedelta(minutes=followers_only_minutes)
    if standing.followed_since is None or now - standing.followed_since < needed:
        since = standing.followed_since
        raise errors.NotPermitted(
            "This chat is for followers" + (f" of {followers_only_minutes} minutes" if
                                            followers_only_minutes else "") + ".",
            details=[{"reason": "followers_only", "minutes": followers_only_minutes,
                      "can_post_at": (since + needed).isoformat() if since else None}])
