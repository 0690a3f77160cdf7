"""chat-events (functions/chat.py) served as its pods serve it (functions-framework's ASGI
app under gunicorn's uvicorn workers), on the real PostgreSQL and Redis: two instances both
deliver what is sent to the room, a reconnect resumes after its Last-Event-ID with what it
missed, and the history's last_event_id leaves no gap."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from local.services import ROOT
from tests import factories
from tests.sse import Listener


def serve_chat_events() -> tuple[subprocess.Popen, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    process = subprocess.Popen(
        [sys.executable, "-m", "local.serve", "--asgi", str(ROOT / "functions/chat.py"), "chat_events"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "STREAMFN_LISTEN_FD": str(listener.fileno()),
             "THREADS": "100"},
        pass_fds=(listener.fileno(),), cwd=ROOT)
    port = listener.getsockname()[1]
    listener.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("chat-events did not start")


@pytest.fixture(scope="module")
def instances(servers):
    started = [serve_chat_events() for _ in range(2)]
    yield [f"http://127.0.0.1:{port}" for _, port in started]
    for process, _ in started:
        process.terminate()
        process.wait(15)


@pytest.fixture
def listeners():
    opened: list[Listener] = []

    def listen(url: str, **kwargs) -> Listener:
        opened.append(Listener(url, **kwargs))
        assert opened[-1].status == 200
        return opened[-1]

    yield listen
    for listener in opened:
        listener.close()


def send(call, channel, token, text) -> dict:
    answer = call("send-chat-message", path=f"/api/chat/{channel}/messages", json={"text": text},
                  token=token)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_two_instances_both_deliver_a_message_sent_to_the_room(call, instances, listeners):
    channel, token = factories.new_user(call, "ch")
    first, second = (listeners(f"{url}/api/chat/{channel}/events") for url in instances)
    sent = send(call, channel, token, "hello both")
    for listener in (first, second):
        events = listener.wait_for(1, timeout=2)
        assert [(e.event, e.data["id"], e.data["text"]) for e in events] == \
            [("message", sent["id"], "hello both")]
    assert first.events[0].id == second.events[0].id, "one event id, whichever instance serves it"


def test_a_reconnect_resumes_after_its_last_event_id_with_what_it_missed(call, instances, listeners):
    channel, token = factories.new_user(call, "ch")
    url = f"{instances[0]}/api/chat/{channel}/events"
    before = listeners(url)
    send(call, channel, token, "one")
    (seen,) = before.wait_for(1)
    before.close()
    missed = [send(call, channel, token, text) for text in ("two", "three")]
    assert call("delete-chat-message", path=f"/api/chat/{channel}/messages/{missed[0]['id']}",
                token=token).status_code == 204
    again = listeners(f"{instances[1]}/api/chat/{channel}/events", last_event_id=seen.id)
    events = again.wait_for(3)
    assert [(e.event, e.data.get("text")) for e in events] == \
        [("message", "two"), ("message", "three"), ("delete", None)]
    assert events[2].data == {"id": missed[0]["id"]}
    send(call, channel, token, "four")
    assert [e.data.get("text") for e in again.wait_for(4)][3] == "four", "then live, once each"
    assert len(again.wait_for(5, timeout=0.5)) == 4


def test_opening_after_the_history_with_its_last_event_id_misses_nothing(call, instances, listeners):
    channel, token = factories.new_user(call, "ch")
    send(call, channel, token, "old")
    history = call("chat-history", path=f"/api/chat/{channel}/messages").get_json()
    assert [m["text"] for m in history["items"]] == ["old"]
    send(call, channel, token, "sent meanwhile")
    listener = listeners(f"{instances[0]}/api/chat/{channel}/events"
                         f"?last_event_id={history['last_event_id']}")
    assert [e.data["text"] for e in listener.wait_for(1)] == ["sent meanwhile"]


def test_moderation_reaches_open_streams_as_it_happens(call, instances, listeners):
    channel, owner = factories.new_user(call, "ch")
    viewer, _ = factories.new_user(call, "v")
    listener = listeners(f"{instances[1]}/api/chat/{channel}/events")
    assert call("ban-chat-user", path=f"/api/chat/{channel}/bans/{viewer}",
                json={"duration_seconds": 60}, token=owner).status_code == 200
    assert call("update-chat-settings", path=f"/api/chat/{channel}/settings",
                json={"slow_mode_seconds": 5}, token=owner).status_code == 200
    ban, settings = listener.wait_for(2)
    assert ban.event == "ban" and ban.data["user"]["username"] == viewer and ban.data["until"]
    assert settings.event == "settings" and settings.data["slow_mode_seconds"] == 5


@pytest.mark.parametrize("path, headers, status", [
    ("/api/chat/nobody_here_x/events", {}, 404),
    ("/api/chat/{channel}/events", {"Last-Event-ID": "yesterday"}, 400),
    ("/api/chat/{channel}/events?last_event_id=1-2-3", {}, 400),
])
def test_an_unknown_room_or_a_foreign_event_id_is_a_json_error(call, instances, path, headers,
                                                               status):
    channel, _ = factories.new_user(call, "ch")
    answer = httpx.get(instances[0] + path.format(channel=channel), headers=headers, timeout=5)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json" and answer.json()["error"]
