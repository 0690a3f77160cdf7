"""The ingest sidecar's own rules: its durable event spool, who may call it, and the relay
token that tells its relay into `show` from a key-less local publish."""

from __future__ import annotations

import time

import pytest
from werkzeug.test import Client

from rtmp_ingest.sidecar.callbacks import Sidecar
from rtmp_ingest.sidecar.config import Config
from rtmp_ingest.sidecar.events import EventSender


class Broker:
    def __init__(self, up: bool) -> None:
        self.up, self.received = up, []

    def __call__(self, headers, data) -> bool:
        if self.up:
            self.received.append((headers["ce-type"], data))
        return self.up


def wait_for(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        time.sleep(0.02)
    return check()


def test_events_the_broker_did_not_take_survive_a_restart_of_the_sidecar(tmp_path):
    down = EventSender(tmp_path, send=Broker(up=False))
    for n in range(3):
        down.emit(type="dev.streamfn.stream.started", source="/rtmp-ingest/p", subject=f"s{n}",
                  data={"n": n})
    assert len(list(tmp_path.glob("*.json"))) == 3
    broker = Broker(up=True)
    EventSender(tmp_path, send=broker)  # the next sidecar on the same volume
    assert wait_for(lambda: len(broker.received) == 3)
    assert [data["n"] for _, data in broker.received] == [0, 1, 2], "in the order they happened"
    assert wait_for(lambda: not list(tmp_path.glob("*.json")))


@pytest.fixture
def app(tmp_path):
    config = Config(ingest_secret="s3cret", media_dir=tmp_path, pod="p")
    broker = Broker(up=True)
    return Sidecar(config, EventSender(config.spool, send=broker)), broker


def callback(app, path, form, remote="127.0.0.1"):
    return Client(app).post(path, data=form, environ_base={"REMOTE_ADDR": remote})


def test_callbacks_come_from_loopback_only_and_health_from_anywhere(app):
    sidecar_app, _ = app
    form = {"app": "show", "name": "5bdd3d7e-0000-4000-8000-000000000000"}
    assert callback(sidecar_app, "/rtmp/show/publish_done", form, remote="10.0.0.9").status_code == 403
    assert Client(sidecar_app).get("/healthz", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


def test_only_the_relay_of_an_authorized_publish_goes_live_in_show(app):
    sidecar_app, broker = app
    stream = "5bdd3d7e-0000-4000-8000-000000000000"
    keyless = callback(sidecar_app, "/rtmp/show/publish", {"app": "show", "name": stream})
    assert keyless.status_code == 403
    forged = callback(sidecar_app, "/rtmp/show/publish",
                      {"app": "show", "name": stream, "relay": "0" * 64})
    assert forged.status_code == 403
    publish = "0123456789abcdef0123456789abcdef"
    replayed = callback(sidecar_app, "/rtmp/show/publish",
                        {"app": "show", "name": stream, "publish": "f" * 32,
                         "relay": sidecar_app.config.relay_token(stream, publish)})
    assert replayed.status_code == 403, "a token is good for its own publish only"
    relayed = callback(sidecar_app, "/rtmp/show/publish",
                       {"app": "show", "name": stream, "publish": publish,
                        "relay": sidecar_app.config.relay_token(stream, publish)})
    assert relayed.status_code == 200
    assert wait_for(lambda: broker.received)
    assert broker.received == [("dev.streamfn.stream.started",
                                {"stream_id": stream, "pod": "p", "publish_id": publish,
                                 "started_at": broker.received[0][1]["started_at"]})]


def test_an_authorized_publish_is_relayed_into_show_as_a_named_publish(app):
    sidecar_app, _ = app
    stream = "5bdd3d7e-0000-4000-8000-000000000000"
    answers = iter([(200, {"stream_id": stream}), (200, {"stream_id": stream})])
    asked = []
    sidecar_app.call = lambda _config, _url, payload: asked.append(payload) or next(answers)
    first, second = (callback(sidecar_app, "/rtmp/publish", {"app": "live", "name": "live_key"})
                     for _ in range(2))
    assert first.status_code == second.status_code == 302
    locations = [answer.headers["Location"] for answer in (first, second)]
    assert all(f"/show/{stream}?publish=" in location for location in locations)
    assert locations[0] != locations[1], "a reconnect is another publish"
    # authorize-publish hears the publish's name (it puts the stream live under it).
    assert [f"publish={payload['publish_id']}&" in location
            for payload, location in zip(asked, locations, strict=True)] == [True, True]
    assert "live_key" not in "".join(locations)
