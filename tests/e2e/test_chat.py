"""Chat in two Chromium browsers on a channel page, through the front door: a message sent in
one shows in the other within a second, as text however it is written; the owner deletes it
and it goes from both; a timed-out viewer is told why they cannot post, and posts again once
the timeout ends; slow mode says how long to wait. A replay plays the chat as it happened,
in step with the video."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from selenium.webdriver.common.by import By

from tests.e2e.browser import Page, register
from tests.e2e.conftest import http, login, register_user
from tests.e2e.media import publish, wait_until
from tests.e2e.test_ingest import live_stream_of, rotate_key

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


# Read in one script, so a line the panel removes meanwhile cannot go stale under the test.
def texts(page: Page) -> list[str]:
    return page.driver.execute_script(
        "return [...document.querySelectorAll('[data-test=\"chat-text\"]')].map(e => e.textContent)")


def message_ids(page: Page) -> list[str]:
    return page.driver.execute_script(
        "return [...document.querySelectorAll('[data-test=\"chat-message\"]')].map(e => e.dataset.id)")


def message(page: Page, text: str):
    """The chat line showing `text`."""
    found = page.driver.execute_script(
        "return [...document.querySelectorAll('[data-test=\"chat-message\"]')].find("
        "e => e.querySelector('[data-test=\"chat-text\"]').textContent === arguments[0])", text)
    assert found, f"no chat line {text!r}: {texts(page)}"
    return found


def say(page: Page, text: str) -> float:
    """Type and send `text`; when it was sent."""
    field = page.find("chat-input")
    field.clear()
    field.send_keys(text)
    sent = time.monotonic()
    page.find("chat-send").click()
    return sent


def test_two_browsers_chat_moderate_and_are_told_why_they_cannot_post(platform, browsers):
    api = platform.api_url
    owner_name, fan_name = f"ch_{uuid.uuid4().hex[:6]}", f"fan_{uuid.uuid4().hex[:6]}"
    owner, fan = Page(browsers(), api), Page(browsers(), api)
    register(owner, owner_name)
    register(fan, fan_name)
    for page in (owner, fan):
        page.go(f"/channel/{owner_name}")
        page.find("chat-empty")
        assert wait_until(lambda page=page: not page.driver.find_elements(
            By.CSS_SELECTOR, '[data-test="chat-connecting"]'), timeout=15), "the room's events open"

    # A message sent in one browser shows in the other within a second (in a room already
    # talking: the owner's greeting is the first message, which may start functions).
    say(owner, "welcome in")
    assert wait_until(lambda: "welcome in" in texts(fan), timeout=10), texts(fan)
    sent = say(fan, "hello from the fan")
    assert wait_until(lambda: "hello from the fan" in texts(owner), timeout=1.0, interval=0.02), \
        f"not in the owner's chat a second after sending: {texts(owner)}"
    print(f"fan -> owner: {time.monotonic() - sent:.3f} s")
    author = message(owner, "hello from the fan").find_element(By.CSS_SELECTOR, '[data-test="chat-author"]')
    assert author.text == fan_name.replace("_", " ").title()
    assert author.get_attribute("href").endswith(f"/channel/{fan_name}")

    # Markup is shown as the text it is, and runs nowhere.
    say(fan, XSS)
    assert wait_until(lambda: XSS in texts(owner), timeout=5), texts(owner)
    assert XSS in texts(fan)
    for page in (owner, fan):
        assert page.driver.execute_script("return window.__xss") is None
        assert not page.driver.find_elements(By.CSS_SELECTOR, '[data-test="chat-messages"] img')
    owner.shot("chat-owner")

    # The owner deletes it: gone from both at once.
    target = message(owner, XSS)
    gone = target.get_attribute("data-id")
    owner.driver.execute_script("arguments[0].scrollIntoView()", target)
    target.find_element(By.CSS_SELECTOR, '[data-test="chat-delete"]').click()
    for page in (owner, fan):
        assert wait_until(lambda page=page: gone not in message_ids(page), timeout=3), \
            "a deleted message disappears for everyone"
    assert not fan.driver.find_elements(By.CSS_SELECTOR, '[data-test="chat-delete"]'), \
        "a viewer gets no moderation tools"

    # The owner times the fan out from the message: the fan is told why, until when.
    first = message(owner, "hello from the fan")
    owner.driver.execute_script("arguments[0].scrollIntoView()", first)
    first.find_element(By.CSS_SELECTOR, '[data-test="chat-timeout"]').click()
    assert "You are timed out until" in fan.text_of("chat-refusal", "timed out", timeout=5)
    assert not fan.find("chat-send").is_enabled()
    fan.shot("chat-timed-out")

    # Lifted, it goes from the fan's panel at once.
    token = login(api, owner_name)
    ban_url = f"{api}/api/chat/{owner_name}/bans/{fan_name}"
    assert http("DELETE", ban_url, token=token).status == 200
    assert wait_until(lambda: not fan.driver.find_elements(
        By.CSS_SELECTOR, '[data-test="chat-refusal"]'), timeout=5), "the lifted timeout goes"
    say(fan, "free again")
    assert wait_until(lambda: "free again" in texts(owner), timeout=5)

    # A 2 s timeout: the fan is told until when, and posts again once it ends.
    assert http("PUT", ban_url, json_body={"duration_seconds": 2}, token=token).status == 200
    fan.text_of("chat-refusal", "You are timed out until", timeout=5)
    assert wait_until(lambda: not fan.driver.find_elements(
        By.CSS_SELECTOR, '[data-test="chat-refusal"]'), timeout=8), "the timeout ends"
    say(fan, "back again")
    assert wait_until(lambda: "back again" in texts(owner), timeout=5)

    # Slow mode, set in the owner's chat settings: the fan is told how long to wait.
    owner.find("chat-settings-toggle").click()
    slow = owner.find("chat-slow-mode")
    slow.clear()
    slow.send_keys("60")
    owner.find("chat-settings-save").click()
    fan.text_of("chat-mode", "Slow mode: one message every 60 s", timeout=5)
    say(fan, "one")
    assert wait_until(lambda: "one" in texts(owner), timeout=5)
    say(fan, "two")
    refusal = fan.text_of("chat-refusal", "Slow mode is on", timeout=5)
    assert "you can send another message in" in refusal
    assert "two" not in texts(owner)
    fan.shot("chat-slow-mode")


def test_a_replay_plays_its_chat_in_step_with_the_video(platform, browsers):
    api = platform.api_url
    name, tokens = register_user(api, "rp")
    token = tokens["access_token"]
    key = rotate_key(api, token)
    encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}", seconds=16)
    live = wait_until(lambda: live_stream_of(api, name), timeout=15)
    assert live, "the broadcast goes live"
    began, offsets = time.monotonic(), {}
    for text, at in (("early on", 1), ("near the end", 10)):
        time.sleep(max(0.0, began + at - time.monotonic()))
        answer = http("POST", f"{api}/api/chat/{name}/messages", json_body={"text": text}, token=token)
        assert answer.status == 201 and answer.json()["stream_id"] == live["id"]
        offsets[text] = (datetime.fromisoformat(answer.json()["sent_at"])
                         - datetime.fromisoformat(live["started_at"])).total_seconds()
    assert encoder.wait(40) == 0
    replayed = wait_until(lambda: http("GET", f"{api}/api/streams/{live['id']}").json()["replay"],
                          timeout=60, interval=0.5)
    assert replayed, "a replay within a minute of the end"

    viewer = Page(browsers(), api)
    viewer.go(f"/streams/{live['id']}")
    viewer.find("player")
    position = "return document.querySelector('video').currentTime"
    between = offsets["early on"] + 1
    assert wait_until(lambda: viewer.driver.execute_script(position) > between, timeout=30,
                      interval=0.1), viewer.playback()
    shown = texts(viewer)
    assert "early on" in shown and "near the end" not in shown, \
        f"at {viewer.driver.execute_script(position):.1f} s ({offsets}) the chat shows {shown}"
    viewer.driver.execute_script("document.querySelector('video').currentTime = 14")
    assert wait_until(lambda: "near the end" in texts(viewer), timeout=20), texts(viewer)
    viewer.shot("chat-replay")
    viewer.driver.execute_script("document.querySelector('video').currentTime = 1")
    assert wait_until(lambda: texts(viewer) == [], timeout=20), \
        f"seeking back takes the chat back: {texts(viewer)}"


def test_one_address_holds_a_bounded_number_of_streams_and_a_closed_one_frees_its_slot(platform):
    """The front door caps one client address's open event streams (here 8), so nobody can
    hold every slot of chat-events: past the cap, a JSON 429; hanging up frees a slot. The
    cap is per address: other routes, and other addresses, are untouched."""
    from tests.e2e.conftest import STREAMS_PER_ADDRESS
    from tests.sse import Listener

    name, _ = register_user(platform.api_url, "cap")
    url = f"{platform.api_url}/api/chat/{name}/events"
    opened = []
    try:
        opened = [Listener(url) for _ in range(STREAMS_PER_ADDRESS)]
        assert [listener.status for listener in opened] == [200] * STREAMS_PER_ADDRESS
        refused = http("GET", url)
        assert refused.status == 429 and refused.json()["error"]["code"] == "too_many_streams"
        assert http("GET", f"{platform.api_url}/api/chat/{name}/messages").status == 200
        opened.pop().close()

        def admitted() -> Listener | None:
            listener = Listener(url)
            if listener.status == 200:
                return listener
            listener.close()
            return None

        again = wait_until(admitted, timeout=5, interval=0.2)
        assert again, "a closed stream frees its slot"
        opened.append(again)
    finally:
        for listener in opened:
            listener.close()
