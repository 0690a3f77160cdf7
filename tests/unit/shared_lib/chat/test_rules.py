"""Who may post what: the text, bans and timeouts, follower-only mode, blocked terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared_lib.chat.rules import Standing, blocked_term, check_standing, clean_text
from shared_lib.errors import InvalidInput, NotPermitted

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
FOREVER = datetime.max.replace(tzinfo=UTC)


def viewer(**fields) -> Standing:
    return Standing(**{"staff": False, "banned_until": None, "followed_since": None, **fields})


def test_text_is_trimmed_and_kept_as_written():
    assert clean_text("  <b>hi</b> & bye  ") == "<b>hi</b> & bye"


@pytest.mark.parametrize("text", ["", "   ", "x" * 501, "line\nbreak", "bell\x07", "rtl\u202eoverride",
                                  "zero\u200bwidth"])
def test_empty_long_or_control_text_is_refused(text):
    with pytest.raises(InvalidInput):
        clean_text(text)


def test_blocked_terms_match_whole_words_in_any_case():
    assert blocked_term("You are a Spoiler!", ["spoiler"]) == "spoiler"
    assert blocked_term("no spoilers here", ["spoiler"]) is None
    assert blocked_term("a.b c", ["a.b"]) == "a.b", "terms are text, not patterns"
    assert blocked_term("aXb", ["a.b"]) is None


def test_a_timeout_says_until_when_and_ends():
    until = NOW + timedelta(minutes=5)
    with pytest.raises(NotPermitted) as refused:
        check_standing(viewer(banned_until=until), followers_only_minutes=None, now=NOW)
    assert refused.value.details == [{"reason": "timed_out", "until": until.isoformat()}]
    check_standing(viewer(banned_until=until), followers_only_minutes=None, now=until + timedelta(seconds=1))


def test_a_ban_has_no_end_and_binds_staff_too():
    with pytest.raises(NotPermitted) as refused:
        check_standing(viewer(staff=True, banned_until=FOREVER), followers_only_minutes=None, now=NOW)
    assert refused.value.details[0]["reason"] == "banned"


def test_follower_only_mode_counts_minutes_since_the_follow():
    recent = viewer(followed_since=NOW - timedelta(minutes=3))
    with pytest.raises(NotPermitted) as refused:
        check_standing(recent, followers_only_minutes=10, now=NOW)
    assert refused.value.details[0]["can_post_at"] == (NOW + timedelta(minutes=7)).isoformat()
    check_standing(recent, followers_only_minutes=0, now=NOW)
    check_standing(recent, followers_only_minutes=None, now=NOW)
    with pytest.raises(NotPermitted):
        check_standing(viewer(), followers_only_minutes=0, now=NOW)
    check_standing(viewer(staff=True), followers_only_minutes=60, now=NOW)
