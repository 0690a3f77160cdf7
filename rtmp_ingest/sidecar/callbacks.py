"""nginx-rtmp's callbacks (on localhost, HTTP/1.0), as a WSGI app.

    live  on_publish       ask authorize-publish (which puts a stream not yet live live);
                           yes: 302 to rtmp://127.0.0.1:PORT/show/<id> (nginx relays the
                           stream into `show`), no or no answer: 403
    live  on_update        every few seconds: is the key still valid? (a rotated key: 403,
                           and nginx ends the publish)
    show  on_publish       the relay began: emit dev.streamfn.stream.started
    show  on_publish_done  the relay ended: emit dev.streamfn.stream.ended (exactly once)
    show  on_record_done   nginx closed the broadcast's recording: emit
                           dev.streamfn.recording.completed with the file's path

It keeps no state about streams: the `show` callbacks carry the public id. Every form field
is read by its FIRST value (a publisher may append `?name=other` to its URL, which nginx
adds as a second field). The stream key arrives in the `name` field of the `live`
callbacks and is never logged, stored or put in a URL.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from rtmp_ingest.sidecar.config import SECRET_HEADER, Config
from rtmp_ingest.sidecar.events import EventSender
from shared_lib import outbound
from shared_lib.observability import trace

log = logging.getLogger("rtmp-ingest")

STARTED, ENDED = "dev.streamfn.stream.started", "dev.streamfn.stream.ended"
RECORDED = "dev.streamfn.recording.completed"


def call_function(config: Config, url: str, payload: dict) -> tuple[int, dict]:
    """POST JSON to an internal function; (status, body). Network trouble is status 0."""
    headers = {SECRET_HEADER: config.ingest_secret.get_secret_value()}
    span = trace.current()
    if span is not None:
        headers["traceparent"] = span.traceparent
    try:
        response = outbound.client().post(url, json=payload, headers=headers,
                                          timeout=config.timeout_seconds)
        body = response.json() if response.content and response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return 0, {}
    return response.status_code, body if isinstance(body, dict) else {}


def _answer(status: int, location: str | None = None):
    from werkzeug.wrappers import Response

    headers = {"Location": location} if location else {}
    return Response(b"", status=status, headers=headers)


def _is_publish_id(value: str | None) -> bool:
    return bool(value) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def public_id(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        return None


LOOPBACK = {"127.0.0.1", "::1"}


@dataclass
class Sidecar:
    config: Config
    events: EventSender | None = None
    # (config, url, payload) -> (status, body): how it asks the internal functions.
    call: Callable[[Config, str, dict], tuple[int, dict]] = call_function

    def __post_init__(self) -> None:
        if self.events is None:
            self.events = EventSender(self.config.spool)

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request

        request = Request(environ)
        if request.path != "/healthz" and environ.get("REMOTE_ADDR") not in LOOPBACK:
            return _answer(403)(environ, start_response)
        # The first value of each field: `?name=other` appended to the URL comes second.
        form = {key: request.form.getlist(key)[0] for key in request.form.keys()}
        routes = {
            "/rtmp/publish": self.on_publish,
            "/rtmp/update": self.on_update,
            "/rtmp/show/publish": self.on_show_publish,
            "/rtmp/show/publish_done": self.on_show_publish_done,
            "/rtmp/show/record_done": self.on_show_record_done,
        }
        if request.path == "/healthz":
            return _answer(200)(environ, start_response)
        handler = routes.get(request.path)
        if handler is None or request.method != "POST":
            return _answer(404)(environ, start_response)
        # Each callback starts a trace (nginx-rtmp sends none): the go-live's event, and every
        # function it reaches, carries it (DESIGN.md §12).
        with trace.span(None):
            return handler(form)(environ, start_response)

    def on_publish(self, form: dict):
        key = form.get("name", "")
        if form.get("app") != "live" or not key:
            return _answer(403)
        # Each publish is named, so a reconnect onto the same stream is told from the publish
        # it replaces; authorize-publish takes the name to put a stream live at once.
        publish_id = uuid.uuid4().hex
        status, body = self.call(self.config, self.config.authorize,
                                 {"stream_key": key, "phase": "publish", "pod": self.config.pod,
                                  "publish_id": publish_id})
        stream_id = public_id(body.get("stream_id")) if status == 200 else None
        if stream_id is None:
            # Refused, or the functions could not answer: fail closed.
            log.info("refused a publish from %s (authorize answered %s)", form.get("addr"), status)
            return _answer(403)
        log.info("publish from %s authorized as stream %s", form.get("addr"), stream_id)
        # The token lets `show` tell this relay from a key-less local publish.
        return _answer(302, f"{self.config.show}/{stream_id}?publish={publish_id}"
                            f"&relay={self.config.relay_token(stream_id, publish_id)}")

    def on_update(self, form: dict):
        if form.get("call") != "update_publish" or form.get("app") != "live":
            return _answer(200)  # the local relay's own updates
        status, _ = self.call(self.config, self.config.authorize,
                                  {"stream_key": form.get("name", ""), "phase": "update",
                                   "pod": self.config.pod})
        if status == 403 or status == 401:
            log.info("ending a publish from %s: its key is no longer valid", form.get("addr"))
            return _answer(403)
        # Anything else (the functions briefly unreachable) keeps an authorized stream going.
        return _answer(200)

    def _show_event(self, form: dict, type: str, data: dict):
        stream_id = public_id(form.get("name"))
        if form.get("app") != "show" or stream_id is None:
            return _answer(403)
        now = datetime.now(UTC).isoformat()
        publish = {"publish_id": form["publish"]} if _is_publish_id(form.get("publish")) else {}
        self.events.emit(type=type, source=self.config.source, subject=stream_id,
                         data={"stream_id": stream_id, "pod": self.config.pod, **publish, **data(now)})
        log.info("%s %s", type.rsplit(".", 1)[-1], stream_id)
        return _answer(200)

    def on_show_publish(self, form: dict):
        stream_id = public_id(form.get("name")) or ""
        expected = self.config.relay_token(stream_id, form.get("publish", ""))
        if not hmac.compare_digest(form.get("relay", ""), expected):
            log.warning("refused a publish into show that is not a relay of an authorized one")
            return _answer(403)
        return self._show_event(form, STARTED, lambda now: {"started_at": now})

    def on_show_publish_done(self, form: dict):
        return self._show_event(form, ENDED, lambda now: {"ended_at": now, "reason": "publish_done"})

    def on_show_record_done(self, form: dict):
        # The path names the public id only (the `show` application is recorded).
        return self._show_event(form, RECORDED, lambda now: {"path": form.get("path", ""),
                                                             "recorded_at": now})
