"""What a function's server reports to the autoscaler: an async (ASGI) function's open
response counts as a request in flight until it ends, as a WSGI request does."""

from __future__ import annotations

import asyncio

from local import serve


def test_an_open_stream_is_in_flight_until_it_ends(tmp_path, monkeypatch):
    counter = serve.Activity(str(tmp_path))
    monkeypatch.setitem(serve.activity, "worker", counter)
    release = asyncio.Event()
    seen = []

    async def stream(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        seen.append(counter.in_flight)
        await release.wait()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def sink(message):
        pass

    async def run():
        app = serve.CountedASGI(stream)
        task = asyncio.create_task(app({"type": "http"}, None, sink))
        await asyncio.sleep(0.01)
        assert counter.in_flight == 1 and counter.peak == 1
        release.set()
        await task

    asyncio.run(run())
    assert seen == [1]
    assert counter.in_flight == 0 and counter.total == 1
    counter.report()
    assert serve.read_activity(counter.path)[:3] == (0, 1, 1), "the peak is reported once"


def test_an_async_function_starts_without_a_websocket_stack():
    """uvicorn as the runtime configures it loads no WebSocket library (none is spoken here;
    "auto" cost every async function's start 26 ms to refuse upgrades anyway)."""
    from tests.unit.fresh import loaded_after

    code = ("from local.serve import uvicorn_worker\nfrom uvicorn.config import Config\n"
            "async def app(scope, receive, send): pass\n"
            "options = {k: v for k, v in uvicorn_worker().CONFIG_KWARGS.items()\n"
            "           if k in ('ws', 'http', 'lifespan')}\n"
            "Config(app, **options).load()")
    assert loaded_after(code, ("wsproto", "websockets")) == []


def test_async_functions_parse_http_in_c():
    """uvicorn takes httptools' parser when it is installed (requirements.txt): record-view
    served 25-35% more joins a second than with h11's pure-Python one."""
    from tests.unit.fresh import loaded_after

    code = ("from local.serve import uvicorn_worker\nfrom uvicorn.config import Config\n"
            "async def app(scope, receive, send): pass\n"
            "config = Config(app, **{k: v for k, v in uvicorn_worker().CONFIG_KWARGS.items()\n"
            "                        if k in ('ws', 'http', 'lifespan')})\n"
            "config.load()\n"
            "assert config.http_protocol_class.__name__ == 'HttpToolsProtocol', config.http_protocol_class")
    assert loaded_after(code, ("httptools", "h11")) == ["httptools"]


def test_the_broker_ingress_is_served_async_and_counted():
    from local import ingress

    app = serve.load_app(["--asgi", "--app", "local.ingress:ingress"])
    assert isinstance(app, serve.CountedASGI) and app.app is ingress.ingress
