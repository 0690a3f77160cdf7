"""Emitting CloudEvents to K_SINK: binary mode, with K_CE_OVERRIDES applied."""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.platform import reset_caches
from shared_lib.events.sending import binary_headers, send
from shared_lib.events.types import EventType


@pytest.fixture
def sink():
    received = []

    def app(environ, start_response):
        request = Request(environ)
        received.append((dict(request.headers), request.get_data()))
        return Response(status=202)(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", received
    server.shutdown()


def test_events_go_out_in_binary_mode_with_the_overrides(sink, monkeypatch):
    url, received = sink
    monkeypatch.setenv("K_SINK", url)
    monkeypatch.setenv("K_CE_OVERRIDES", json.dumps({"extensions": {"cluster": "local-1"}}))
    reset_caches()
    headers = binary_headers(type=EventType.USER_FOLLOWED, source="/functions/follow",
                             subject="u1")
    assert send(headers, {"follower": "a", "followed": "b"})
    event_id = headers["ce-id"]
    [(headers, body)] = received
    assert headers["Ce-Id"] == event_id and headers["Ce-Specversion"] == "1.0"
    assert headers["Ce-Type"] == "dev.streamfn.user.followed"
    assert headers["Ce-Source"] == "/functions/follow" and headers["Ce-Subject"] == "u1"
    assert headers["Ce-Cluster"] == "local-1"
    assert json.loads(body) == {"follower": "a", "followed": "b"}


def test_sending_without_a_sink_says_so(monkeypatch, caplog):
    monkeypatch.delenv("K_SINK", raising=False)
    reset_caches()
    assert not send(binary_headers(type=EventType.USER_FOLLOWED, source="/f"), {})
    assert "K_SINK is not set" in caplog.text


def outboxed(event_id):
    from shared_lib.db import UnitOfWork
    from shared_lib.events.models import OutboxEvent

    with UnitOfWork() as uow:
        return uow.session.get(OutboxEvent, event_id)


def test_an_event_whose_send_failed_stays_in_the_outbox_until_the_relay_sends_it(sink, monkeypatch):
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork
    from shared_lib.events.outbox import record, relay

    url, received = sink
    monkeypatch.setenv("K_SINK", "http://127.0.0.1:9/")  # nothing listens: the broker is down
    reset_caches()
    with UnitOfWork() as uow:
        event = record(uow, type=EventType.USER_FOLLOWED, source="/functions/follow",
                       subject="u9", data={"n": 9})
        uow.commit()  # and sends it: the send fails
    assert outboxed(event.id) is not None, "a failed send keeps the event"

    monkeypatch.setenv("K_SINK", url)
    reset_caches()
    with UnitOfWork() as uow:  # age it past the relay's grace period
        uow.session.execute(text("UPDATE outbox_events SET created_at = now() - interval '1 hour'"
                                 " WHERE id = :id"), {"id": event.id})
        uow.commit()
    assert relay() >= 1
    assert [h["Ce-Id"] for h, _ in received].count(event.id) == 1
    assert outboxed(event.id) is None


def test_a_rolled_back_change_sends_no_event(sink, monkeypatch):
    from shared_lib.db import UnitOfWork
    from shared_lib.events.outbox import record

    url, received = sink
    monkeypatch.setenv("K_SINK", url)
    reset_caches()
    with UnitOfWork() as uow:
        event = record(uow, type=EventType.USER_FOLLOWED, source="/f", subject=None, data={})
    assert outboxed(event.id) is None


def test_an_event_the_sink_took_leaves_the_outbox_once_and_is_sent_once(sink, monkeypatch):
    from shared_lib.db import UnitOfWork
    from shared_lib.events import outbox

    url, received = sink
    monkeypatch.setenv("K_SINK", url)
    reset_caches()
    with UnitOfWork() as uow:
        events = [outbox.record(uow, type=EventType.USER_FOLLOWED, source="/functions/follow",
                                subject="u8", data={"n": n}) for n in range(5)]
        uow.commit()  # sends them; their rows go in one batch after
    assert outbox.flush(), "the sent events' rows were not deleted"
    assert all(outboxed(event.id) is None for event in events)
    sent = [h["Ce-Id"] for h, _ in received]
    assert sorted(sent) == sorted(event.id for event in events)
    assert outbox.relay() == 0 or not set(sent) & {h["Ce-Id"] for h, _ in received[5:]}
