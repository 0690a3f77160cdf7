"""The platform as `make dev` runs it (front door, functions' runtime, broker), on free ports."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message

import pytest

from local.platform import Platform
from local.settings import Ports, test_profile
from local.triggers import Delivery
from tests.conftest import TEST_SETTINGS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: Message  # looked up by name in any case, as HTTP's headers are
    body: bytes

    def json(self):
        return json.loads(self.body)


def http(method: str, url: str, *, json_body=None, data: bytes | None = None,
         headers: dict | None = None, token: str | None = None) -> Answer:
    all_headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def sender(token_file: str) -> dict[str, str]:
    """The Authorization header of a sender whose projected token is in `token_file`."""
    from pathlib import Path

    return {"Authorization": f"Bearer {Path(token_file).read_text().strip()}"}


def register_user(api: str, prefix: str = "e") -> tuple[str, dict]:
    """A new account through the gateway: its username and its token pair."""
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    answer = http("POST", f"{api}/api/auth/register",
                  json_body={"username": name, "email": f"{name}@example.com",
                             "password": "correct horse"})
    assert answer.status == 201, answer.body
    return name, answer.json()


def login(api: str, username: str, password: str = "correct horse battery") -> str:
    """An access token for an existing account."""
    answer = http("POST", f"{api}/api/auth/login",
                  json_body={"username": username, "password": password})
    assert answer.status == 200, answer.body
    return answer.json()["access_token"]


STREAMS_PER_ADDRESS = 8  # the front door's cap on one address's open event streams, for tests


def start_platform(*, ingest: bool = True, site=None, **runtime) -> Platform:
    """The platform on free ports; `runtime`: idle_seconds, scale_down_seconds."""
    runtime.setdefault("streams_per_address", STREAMS_PER_ADDRESS)
    ports = Ports(api=free_port(), hls=free_port(), internal=free_port(), rtmp=free_port(),
                  rtmps=free_port(), stat=free_port(), sidecar=free_port(),
                  functions=21000 + os.getpid() % 5000)
    platform = Platform(test_profile(), ports, environment="test",
                        delivery=Delivery(retry=3, backoff_delay=0.05), schedule=False,
                        overrides=TEST_SETTINGS, ingest=ingest, site=site, **runtime)
    platform.start()
    return platform


@pytest.fixture(scope="session")
def platform(servers):
    from local.web import build

    running = start_platform(site=build())
    yield running
    running.stop()


class Received(list):
    """What a recorder received: (headers, data) pairs, in order of arrival."""

    def __init__(self, broker):
        super().__init__()
        self.broker = broker

    def settle(self, count: int, timeout: float = 10.0) -> Received:
        """Wait until `count` events arrived (a function sends what it committed after its
        answer went out, so the broker may not hold it yet when the answer is read), then
        until the broker has nothing left to deliver and a moment passed with nothing new,
        so that an event too many shows as one."""
        deadline = time.monotonic() + timeout
        while len(self) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = -1
        while seen != len(self) and time.monotonic() < deadline:
            seen = len(self)
            self.broker.drain(max(0.1, deadline - time.monotonic()))
            time.sleep(0.5)
        return self


@pytest.fixture
def recorded(platform):
    """`recorded(*types)`: subscribe a recorder to those event types on the platform's broker
    for this test; returns the `Received` list the (headers, data) it receives go into."""
    added = []

    def subscribe(*types: str) -> Received:
        from local.triggers import Trigger

        seen = Received(platform.broker)

        def record(headers, body):
            seen.append((headers, json.loads(body) if body else None))
            return 202, {}, b""

        for event_type in types:
            added.append(Trigger(f"test-{event_type}", event_type, record))
            platform.broker.triggers.append(added[-1])
        return seen

    yield subscribe
    for trigger in added:
        platform.broker.triggers.remove(trigger)


@pytest.fixture
def browsers(tmp_path_factory, monkeypatch):
    """`browsers()` opens one more headless Chromium; all are closed after the test."""
    from tests.e2e.browser import chromium

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium must not try to download a driver
    opened = []

    def open_one():
        opened.append(chromium(tmp_path_factory))
        return opened[-1]

    yield open_one
    for driver in opened:
        driver.quit()
