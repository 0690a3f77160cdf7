"""Emitting CloudEvents to K_SINK: binary mode, with K_CE_OVERRIDES applied."""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.platform import reset_caches
from shared_lib.events import EventType, emit


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


def test_emit_sends_a_binary_mode_event_with_the_overrides(sink, monkeypatch):
    url, received = sink
    monkeypatch.setenv("K_SINK", url)
    monkeypatch.setenv("K_CE_OVERRIDES", json.dumps({"extensions": {"cluster": "local-1"}}))
    reset_caches()
    event_id = emit(type=EventType.USER_FOLLOWED, source="/functions/follow", subject="u1",
                    data={"follower": "a", "followed": "b"})
    [(headers, body)] = received
    assert headers["Ce-Id"] == event_id and headers["Ce-Specversion"] == "1.0"
    assert headers["Ce-Type"] == "dev.streamfn.user.followed"
    assert headers["Ce-Source"] == "/functions/follow" and headers["Ce-Subject"] == "u1"
    assert headers["Ce-Cluster"] == "local-1"
    assert json.loads(body) == {"follower": "a", "followed": "b"}


def test_emit_without_a_sink_drops_the_event_and_says_so(monkeypatch, caplog):
    monkeypatch.delenv("K_SINK", raising=False)
    reset_caches()
    assert emit(type=EventType.USER_FOLLOWED, source="/f", subject=None, data={}) is None
    assert "K_SINK is not set" in caplog.text
