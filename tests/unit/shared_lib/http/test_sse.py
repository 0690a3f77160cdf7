"""What every Server-Sent Events function inherits from sse_function: the stream's framing
and headers, resuming after Last-Event-ID, heartbeats, its end, and errors as JSON."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared_lib.http import ServerEvent
from shared_lib.http.sse import framed

SOURCE = str(Path(__file__).with_name("sample_streams.py"))


@pytest.fixture(scope="module")
def client():
    import warnings

    from functions_framework.aio import create_asgi_app

    with warnings.catch_warnings():  # starlette would rather have httpx2; httpx serves
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(create_asgi_app("room_events", SOURCE))


def test_events_stream_as_text_event_stream_that_no_proxy_buffers_or_caches(client):
    answer = client.get("/api/rooms/lobby/events")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["x-accel-buffering"] == "no"
    assert "no-cache" in answer.headers["cache-control"]
    assert answer.text.startswith("retry: 2000\n")
    blocks = [b for b in answer.text.split("\n\n") if b.startswith("id:")]
    assert blocks[0] == 'id: 1\nevent: message\ndata: {"n":1,"text":"a\\nb <i>"}', \
        "one data line of JSON: a newline in the text cannot end the event early"
    assert len(blocks) == 3


@pytest.mark.parametrize("resume", [{"headers": {"Last-Event-ID": "7"}},
                                    {"params": {"last_event_id": "7"}}])
def test_a_client_resumes_after_its_last_event_id_by_header_or_query(client, resume):
    answer = client.get("/api/rooms/lobby/events", **resume)
    ids = [line for line in answer.text.splitlines() if line.startswith("id:")]
    assert ids == ["id: 8", "id: 9", "id: 10"]


@pytest.mark.parametrize("path, status, code", [
    ("/api/rooms/nowhere/events", 404, "not_found"),
    ("/api/rooms/broken/events", 500, "internal"),
    ("/api/elsewhere", 404, "not_found"),
])
def test_refusals_are_json_errors_and_say_nothing_of_internals(client, path, status, code):
    answer = client.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == code
    assert "secret" not in answer.text


def test_a_wrong_method_is_405_with_allow_and_an_unprintable_event_id_400(client):
    answer = client.post("/api/rooms/lobby/events")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET"
    answer = client.get("/api/rooms/lobby/events", headers={"Last-Event-ID": "x" * 65})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_input"


def test_health_answers_without_opening_a_stream(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_heartbeats_are_comments_shared_bytes_go_as_they_are_and_the_stream_ends_in_time():
    async def events():
        yield None
        yield b"id: 1\nevent: message\ndata: {}\n\nid: 2\nevent: message\ndata: {}\n\n"
        await asyncio.sleep(0.3)
        yield ServerEvent(id="3", event="message", data={})
        yield ServerEvent(id="4", event="message", data={})

    async def collect():
        return [chunk async for chunk in framed(events(), max_seconds=0.2, retry_ms=1000)]

    chunks = asyncio.run(collect())
    assert chunks[:3] == [b"retry: 1000\n: open\n\n", b": heartbeat\n\n",
                          b"id: 1\nevent: message\ndata: {}\n\nid: 2\nevent: message\ndata: {}\n\n"]
    assert chunks[3:] == [b"id: 3\nevent: message\ndata: {}\n\n"], \
        "the stream ends at the first item past its time"


def test_every_stream_opened_or_refused_is_counted_on_the_process_metrics_page(client):
    client.get("/api/rooms/lobby/events")
    client.get("/api/rooms/nowhere/events")
    page = client.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    route = 'function="room-events",route="/api/rooms/{room}/events"'
    assert f'streamfn_requests_total{{{route},status="200"}}' in page.text
    assert f'streamfn_requests_total{{{route},status="404"}}' in page.text
    assert f"streamfn_request_duration_seconds_count{{{route}}}" in page.text
