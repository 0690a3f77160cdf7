"""`make dev`'s runtime from outside, as its users meet it: `python -m local dev` in a
profile of its own (its own PostgreSQL and Redis), short idle periods, and processes
killed with SIGKILL under it."""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import factories
from tests.e2e.conftest import http, register_user, sender
from tests.e2e.dev import Dev
from tests.e2e.media import wait_until


def processes(pattern: str) -> list[int]:
    """Pids whose command line matches `pattern`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if re.search(pattern, cmdline):
                found.append(int(entry.name))
    return found


def arbiter(dev: Dev, source: str, target: str) -> int | None:
    """The gunicorn arbiter serving a function: the one whose parent is the runtime."""
    for pid in processes(rf"local\.serve (?:--asgi )?\S*{re.escape(source)} {target}\b"):
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(dev.process.pid):
                return pid
        except OSError:
            continue
    return None


def served(request):
    """The answer to `request()` unless it failed (a 5xx, or no answer at all)."""
    try:
        answer = request()
    except OSError:
        return None
    return answer if answer.status < 500 else None


def current(pid_of) -> int | None:
    """The pid `pid_of()` finds now, None while there is none (a pid file not yet written)."""
    try:
        return pid_of()
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture(scope="module")
def dev(servers):
    running = Dev()
    running.start()
    yield running
    running.stop()


def test_a_cold_function_starts_for_its_first_request_and_goes_after_the_idle_period(dev):
    before = dev.printed().count("started jwks (cold")
    began = time.monotonic()
    answer = http("GET", f"{dev.api}/api/auth/jwks.json")
    cold = time.monotonic() - began
    assert answer.status == 200 and answer.json()["keys"]
    assert dev.printed().count("started jwks (cold") == before + 1
    pid = arbiter(dev, "functions/accounts.py", "jwks")
    assert pid, "a process serves jwks"
    assert wait_until(lambda: arbiter(dev, "functions/accounts.py", "jwks") is None, timeout=15), \
        "jwks scaled to zero after 3 s idle"
    assert "stopping jwks (scale to zero" in dev.printed()
    print(f"jwks from zero: {cold:.2f} s")


def test_concurrent_first_requests_are_all_served_by_one_start(dev):
    name, _ = register_user(dev.api, "cc")
    assert wait_until(lambda: arbiter(dev, "functions/accounts.py", "get_profile") is None, timeout=15)
    before = dev.printed().count("started get-profile (cold")
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: http("GET", f"{dev.api}/api/users/{name}"), range(12)))
    assert [a.status for a in answers] == [200] * 12
    assert dev.printed().count("started get-profile (cold") == before + 1


def test_an_open_event_stream_keeps_its_function_up_and_the_last_listener_leaving_lets_it_go(dev):
    """chat-events (an ASGI function under uvicorn workers): an open stream is a request in
    flight, so the function does not scale to zero under it, however long it is quiet; once
    the last listener hangs up, it goes after the idle period."""
    from tests.sse import Listener

    name, tokens = register_user(dev.api, "sse")
    listener = Listener(f"{dev.api}/api/chat/{name}/events")
    try:
        assert listener.status == 200
        pid = arbiter(dev, "functions/chat.py", "chat_events")
        assert pid, "a process serves chat-events"
        time.sleep(6)  # twice the idle period, with nothing said in the room
        assert arbiter(dev, "functions/chat.py", "chat_events") == pid, "kept up by the open stream"
        assert http("POST", f"{dev.api}/api/chat/{name}/messages", json_body={"text": "still here"},
                    token=tokens["access_token"]).status == 201
        assert [e.data["text"] for e in listener.wait_for(1)] == ["still here"]
    finally:
        listener.close()
    assert wait_until(lambda: arbiter(dev, "functions/chat.py", "chat_events") is None, timeout=20), \
        "chat-events scaled to zero once nobody listened"


def test_load_over_the_target_adds_a_worker_and_it_goes_when_the_load_stops(dev):
    name, tokens = register_user(dev.api, "ld")
    token = tokens["access_token"]
    deadline = time.monotonic() + 20

    def hammer(_):
        while time.monotonic() < deadline and "scaled me to 2 workers" not in dev.printed():
            http("GET", f"{dev.api}/api/auth/me", token=token)

    with ThreadPoolExecutor(24) as pool:
        list(pool.map(hammer, range(24)))
    assert "scaled me to 2 workers" in dev.printed()

    def trickle() -> bool:
        # A request now and then, as a quiet hour brings: too little for two workers, enough
        # that the function is not idle (scaling to zero would take both workers at once:
        # the second one's imports can keep the CPU busy for as long as the idle period).
        http("GET", f"{dev.api}/api/auth/me", token=token)
        return "scaled me to 1 workers" in dev.printed()

    assert wait_until(trickle, timeout=15, interval=0.5)


@pytest.mark.parametrize("what", ["function", "front door", "Redis", "PostgreSQL"])
def test_a_killed_process_is_started_again_and_the_route_answers_within_seconds(dev, what):
    name, tokens = register_user(dev.api, "k")
    stream = http("POST", f"{dev.api}/api/streams", json_body={"title": "t"},
                  token=tokens["access_token"]).json()
    def view():
        return http("POST", f"{dev.api}/api/streams/{stream['id']}/views",
                    json_body={"session_id": str(uuid.uuid4()), "action": "join"})

    victims = {
        "function": lambda: arbiter(dev, "functions/streams.py", "list_streams"),
        "front door": lambda: int((dev.home / "frontdoor" / "run" / "nginx.pid").read_text()),
        "Redis": lambda: processes(rf"redis-server 127\.0\.0\.1:{dev.ports['REDIS']}")[0],
        "PostgreSQL": lambda: int((dev.home / "pgdata" / "postmaster.pid").read_text().split()[0]),
    }
    pid = victims[what]()
    os.kill(pid, signal.SIGKILL)
    # nginx's workers outlive a killed master (they keep answering) until the runtime
    # stops what is left of it and starts it again: wait for the new process.
    assert wait_until(lambda: current(victims[what]) not in (None, pid), timeout=30), \
        dev.printed()[-3000:]
    for check in (lambda: http("GET", f"{dev.api}/api/streams?live=true"),
                  lambda: http("GET", f"{dev.api}/api/users/{name}"), view):
        answer = wait_until(lambda check=check: served(check), timeout=30, interval=0.3)
        assert answer is not None and answer.status in (200, 202, 204, 409), (what, dev.printed()[-3000:])
    assert re.search(r"restarting .*killed by signal 9|killed by signal 9; starting it again",
                     dev.printed())


def test_odd_requests_get_json_4xx_never_html_never_5xx_never_a_hang(dev):
    import socket

    port = dev.ports["API"]
    odd = [
        b"GET /api/users/a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/users/\u00e9t\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        b"GET /api/users/a%00b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/users/" + b"a" * 300 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/users/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/users/x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 30000000\r\n"
        b"Content-Type: application/json\r\n\r\n",
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n",
        b"BREW /api/auth/login HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GARBAGE\r\n\r\n",
    ]
    for request in odd:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 10:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        assert 400 <= status < 500, (request[:60], head)
        assert b"application/json" in head, (request[:60], head)
        assert body.lstrip().startswith(b'{"error"'), (request[:60], body[:100])


def test_slow_clients_are_timed_out_and_hold_no_function(dev):
    import socket

    sockets = []
    for _ in range(40):
        sock = socket.create_connection(("127.0.0.1", dev.ports["API"]))
        sock.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     b"Content-Type: application/json\r\n\r\n{")
        sockets.append(sock)
    try:
        began = time.monotonic()
        answer = http("GET", f"{dev.api}/api/auth/jwks.json")
        assert answer.status == 200 and time.monotonic() - began < 5
        # nginx gives a body 10 s to arrive, then drops the connection: no hang.
        sockets[0].settimeout(20)
        ended = sockets[0].recv(1024)  # a hang raises socket.timeout
        assert ended == b"" or b" 408 " in ended.split(b"\r\n")[0]
    finally:
        for sock in sockets:
            sock.close()


def test_events_accepted_before_a_kill_9_are_each_delivered_once_after_a_restart(dev):
    """Planned streams go live by their stream.started events, each sent twice (a
    redelivery); the platform is killed right after the broker accepted them."""
    follower, follower_tokens = register_user(dev.api, "fo")
    streams = []
    for _ in range(5):
        name, tokens = register_user(dev.api, "ch")
        streams.append(http("POST", f"{dev.api}/api/streams", json_body={"title": "planned"},
                            token=tokens["access_token"]).json()["id"])
        assert http("PUT", f"{dev.api}/api/users/{name}/follow",
                    token=follower_tokens["access_token"]).status in (200, 204)
    assert wait_until(lambda: arbiter(dev, "functions/ingest.py", "on_stream_started") is None,
                      timeout=15), "the consumer is cold, so delivery takes a start"
    signed = sender(str(dev.home / "tokens" / "rtmp-ingest"))
    for stream_id in streams:
        event, _ = factories.cloudevent("dev.streamfn.stream.started", source="/rtmp-ingest/e2e",
                                        subject=stream_id)
        event.update(signed)
        for _ in range(2):
            accepted = http("POST", f"{dev.internal}/", headers=event,
                            json_body={"stream_id": stream_id, "pod": "e2e"})
            assert accepted.status == 202
    dev.kill()
    dev.start()

    def all_live():
        return all(http("GET", f"{dev.api}/api/streams/{s}").json()["status"] == "live" for s in streams)

    assert wait_until(all_live, timeout=60, interval=0.5)

    def inbox():
        answer = http("GET", f"{dev.api}/api/notifications?limit=50", token=follower_tokens["access_token"])
        return answer.json()["items"] if answer.status == 200 else []

    assert wait_until(lambda: len(inbox()) >= len(streams), timeout=60, interval=0.5)
    time.sleep(2)
    assert sorted(n["stream_id"] for n in inbox()) == sorted(streams)
