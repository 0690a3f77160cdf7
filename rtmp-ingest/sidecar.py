"""The rtmp-ingest callback sidecar: nginx-rtmp's on_publish/on_update/on_publish_done go
here (on localhost, HTTP/1.0), and it talks to the functions and the broker.

    live  on_publish       ask authorize-publish; yes: 302 to rtmp://127.0.0.1:PORT/show/<id>
                           (nginx relays the stream into `show`), no or no answer: 403
    live  on_update        every few seconds: is the key still valid? (a rotated key: 403,
                           and nginx ends the publish)
    show  on_publish       the relay began: emit dev.streamfn.stream.started
    show  on_publish_done  the relay ended: emit dev.streamfn.stream.ended (exactly once)
    show  on_record_done   nginx closed the broadcast's recording: emit
                           dev.streamfn.recording.completed with the file's path

It keeps no state about streams: the `show` callbacks carry the public id. Every form field
is read by its FIRST value (a publisher may append `?name=other` to its URL, which nginx
adds as a second field). The stream key arrives in the `name` field of the `live`
callbacks and is never logged, stored or put in a URL. A reporter thread reads nginx's stat
page for codecs, resolution, frame rate and bitrates, grabs a thumbnail from the newest HLS
segment, and reports both to the functions.

Configuration (environment): SIDECAR_PORT, AUTHORIZE_URL and REPORT_URL (the internal
functions; or FUNCTIONS_URL, a gateway that routes both paths), STREAMFN_INGEST_SECRET,
K_SINK, POD_NAME, SHOW_RTMP_URL, STAT_URL, MEDIA_DIR,
STREAMFN_PUBLIC_HLS_BASE_URL, REPORT_SECONDS, THUMBNAIL_SECONDS.
`python sidecar.py render TEMPLATE OUT` renders nginx.conf from the environment instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import queue
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("rtmp-ingest")

SECRET_HEADER = "X-Streamfn-Ingest-Secret"
STARTED, ENDED = "dev.streamfn.stream.started", "dev.streamfn.stream.ended"
RECORDED = "dev.streamfn.recording.completed"


@dataclass
class Config:
    # Callbacks come from nginx on loopback; in a pod the kubelet's probes reach /healthz on
    # the pod's address, so SIDECAR_HOST is 0.0.0.0 there and callbacks from elsewhere are 403.
    host: str = "127.0.0.1"
    port: int = 8084
    authorize_url: str = "http://127.0.0.1:8082/internal/ingest/authorize"
    report_url: str = "http://127.0.0.1:8082/internal/ingest/report"
    ingest_secret: str = ""
    pod: str = "rtmp-ingest-0"
    show_rtmp_url: str = "rtmp://127.0.0.1:1935/show"
    stat_url: str = "http://127.0.0.1:8083/stat"
    media_dir: Path = Path("/var/lib/streamfn/media")
    public_media_url: str = "http://127.0.0.1:8081"
    report_seconds: float = 5.0
    thumbnail_seconds: float = 15.0
    timeout_seconds: float = 5.0

    @classmethod
    def from_environment(cls) -> Config:
        env = os.environ
        gateway = env.get("FUNCTIONS_URL", "http://127.0.0.1:8082").rstrip("/")
        return cls(
            host=env.get("SIDECAR_HOST", cls.host),
            port=int(env.get("SIDECAR_PORT", 8084)),
            authorize_url=env.get("AUTHORIZE_URL", f"{gateway}/internal/ingest/authorize"),
            report_url=env.get("REPORT_URL", f"{gateway}/internal/ingest/report"),
            ingest_secret=env.get("STREAMFN_INGEST_SECRET", ""),
            pod=env.get("POD_NAME", cls.pod),
            show_rtmp_url=env.get("SHOW_RTMP_URL", cls.show_rtmp_url).rstrip("/"),
            stat_url=env.get("STAT_URL", cls.stat_url),
            media_dir=Path(env.get("MEDIA_DIR", str(cls.media_dir))),
            public_media_url=env.get("STREAMFN_PUBLIC_HLS_BASE_URL", cls.public_media_url),
            report_seconds=float(env.get("REPORT_SECONDS", 5)),
            thumbnail_seconds=float(env.get("THUMBNAIL_SECONDS", 15)),
        )

    @property
    def source(self) -> str:
        return f"/rtmp-ingest/{self.pod}"

    @property
    def spool(self) -> Path:
        """Events not yet accepted by the broker, on the media volume: they outlive the pod."""
        return self.media_dir / "events" / self.pod

    def relay_token(self, stream_id: str, publish_id: str) -> str:
        """What the sidecar's relay into `show` carries, and a publish without it lacks."""
        return derived_token(self.ingest_secret, f"relay:{stream_id}:{publish_id}")


def derived_token(secret: str, purpose: str) -> str:
    """A token for one purpose, derived from the ingest secret (HMAC-SHA256, hex)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def stat_token(secret: str) -> str:
    """The header value nginx's stat page asks for: it lists the stream keys being published."""
    return derived_token(secret, "stat")


def call_function(config: Config, url: str, payload: dict) -> tuple[int, dict]:
    """POST JSON to an internal function; (status, body). Network trouble is status 0."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", SECRET_HEADER: config.ingest_secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout_seconds) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, {}
    except (OSError, ValueError):
        return 0, {}


class EventSender:
    """Sends events to K_SINK from a background thread; nginx's callback is answered at once.

    Each event is first written to the spool (one file per event, on the media volume) and
    deleted only once the broker accepted it, so a broker outage or a restart of the sidecar
    loses nothing: a new sidecar sends what its spool holds. Retries keep the event id, so
    the consumers' idempotency absorbs any duplicate."""

    def __init__(self, spool: Path | None = None, send=None) -> None:
        self.spool = spool
        self._send = send  # (headers, data) -> accepted; shared_lib.events.sending.send by default
        self._queue: queue.Queue = queue.Queue()
        if spool is not None:
            spool.mkdir(parents=True, exist_ok=True)
            for path in sorted(spool.glob("*.json")):
                self._queue.put(path)
        threading.Thread(target=self._run, name="events", daemon=True).start()

    def emit(self, *, type: str, source: str, subject: str, data: dict) -> None:
        from shared_lib.events.sending import binary_headers

        headers = binary_headers(type=type, source=source, subject=subject)
        if self.spool is None:
            self._queue.put((headers, data))
            return
        # Named by time, so a new sidecar sends them in the order they happened.
        path = self.spool / f"{time.time_ns():020d}-{headers['ce-id']}.json"
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps({"headers": headers, "data": data}))
        os.replace(partial, path)
        self._queue.put(path)

    def _run(self) -> None:
        if self._send is None:
            from shared_lib.events.sending import send

            self._send = send
        while True:
            item = self._queue.get()
            try:
                if isinstance(item, Path):
                    stored = json.loads(item.read_text())
                    headers, data = stored["headers"], stored["data"]
                else:
                    headers, data = item
            except (OSError, ValueError):
                self._queue.task_done()
                continue
            delay = 0.2
            while not self._send(headers, data):
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
            if isinstance(item, Path):
                item.unlink(missing_ok=True)
            self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)


def _answer(status: int, location: str | None = None):
    from werkzeug.wrappers import Response

    headers = {"Location": location} if location else {}
    return Response(b"", status=status, headers=headers)


def _is_publish_id(value: str | None) -> bool:
    return bool(value) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def _public_id(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        return None


LOOPBACK = {"127.0.0.1", "::1"}


@dataclass
class Sidecar:
    config: Config
    events: EventSender | None = None

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
        return handler(form)(environ, start_response)

    def on_publish(self, form: dict):
        key = form.get("name", "")
        if form.get("app") != "live" or not key:
            return _answer(403)
        status, body = call_function(self.config, self.config.authorize_url,
                                     {"stream_key": key, "phase": "publish",
                                      "pod": self.config.pod})
        stream_id = _public_id(body.get("stream_id")) if status == 200 else None
        if stream_id is None:
            # Refused, or the functions could not answer: fail closed.
            log.info("refused a publish from %s (authorize answered %s)", form.get("addr"), status)
            return _answer(403)
        log.info("publish from %s authorized as stream %s", form.get("addr"), stream_id)
        # Each publish is named, so a reconnect onto the same stream is told from the publish
        # it replaces; the token lets `show` tell this relay from a key-less local publish.
        publish_id = uuid.uuid4().hex
        return _answer(302, f"{self.config.show_rtmp_url}/{stream_id}?publish={publish_id}"
                            f"&relay={self.config.relay_token(stream_id, publish_id)}")

    def on_update(self, form: dict):
        if form.get("call") != "update_publish" or form.get("app") != "live":
            return _answer(200)  # the local relay's own updates
        status, _ = call_function(self.config, self.config.authorize_url,
                                  {"stream_key": form.get("name", ""), "phase": "update",
                                   "pod": self.config.pod})
        if status == 403 or status == 401:
            log.info("ending a publish from %s: its key is no longer valid", form.get("addr"))
            return _answer(403)
        # Anything else (the functions briefly unreachable) keeps an authorized stream going.
        return _answer(200)

    def _show_event(self, form: dict, type: str, data: dict):
        stream_id = _public_id(form.get("name"))
        if form.get("app") != "show" or stream_id is None:
            return _answer(403)
        now = datetime.now(UTC).isoformat()
        publish = {"publish_id": form["publish"]} if _is_publish_id(form.get("publish")) else {}
        self.events.emit(type=type, source=self.config.source, subject=stream_id,
                         data={"stream_id": stream_id, "pod": self.config.pod, **publish, **data(now)})
        log.info("%s %s", type.rsplit(".", 1)[-1], stream_id)
        return _answer(200)

    def on_show_publish(self, form: dict):
        stream_id = _public_id(form.get("name")) or ""
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


# --- the reporter ----------------------------------------------------------------------


def _int(node, path: str) -> int | None:
    found = node.find(path)
    try:
        return int(float(found.text)) if found is not None and found.text else None
    except ValueError:
        return None


def parse_stat(xml: bytes) -> list[dict]:
    """What nginx's stat page says of each stream in the `show` application (public ids
    only: the `live` application, which lists stream keys, is not read)."""
    reports = []
    root = ElementTree.fromstring(xml)
    for application in root.iter("application"):
        if application.findtext("name") != "show":
            continue
        for stream in application.iter("stream"):
            stream_id = _public_id(stream.findtext("name"))
            if stream_id is None or stream.find("publishing") is None:
                continue
            video_bw, audio_bw = _int(stream, "bw_video"), _int(stream, "bw_audio")
            reports.append({
                "stream_id": stream_id,
                "video_codec": stream.findtext("meta/video/codec"),
                "audio_codec": stream.findtext("meta/audio/codec"),
                "width": _int(stream, "meta/video/width"),
                "height": _int(stream, "meta/video/height"),
                "frame_rate": _int(stream, "meta/video/frame_rate"),
                "video_bitrate_kbps": video_bw // 1000 if video_bw else None,
                "audio_bitrate_kbps": audio_bw // 1000 if audio_bw else None,
            })
    return reports


def make_thumbnail(media_dir: Path, stream_id: str) -> bool:
    """A 320-pixel-wide JPEG of the newest HLS segment, replaced atomically."""
    segments = sorted((media_dir / "hls").glob(f"{stream_id}-*.ts"), key=lambda p: p.stat().st_mtime)
    if len(segments) < 2:
        return False
    target = media_dir / "thumbnails" / f"{stream_id}.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    # The newest segment may still be being written: take the one before it.
    result = subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-i", str(segments[-2]), "-frames:v", "1",
         "-vf", "scale=320:-2", "-q:v", "5", "-f", "image2", str(partial)],
        capture_output=True, timeout=20,
    )
    if result.returncode != 0 or not partial.exists():
        return False
    partial.replace(target)
    return True


class Reporter:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._thumbnailed: dict[str, float] = {}

    def run_forever(self) -> None:
        while True:
            time.sleep(self.config.report_seconds)
            try:
                self.report_once()
            except Exception:  # noqa: BLE001 - a bad tick must not stop the reporter
                log.exception("report failed")

    def report_once(self) -> int:
        request = urllib.request.Request(
            self.config.stat_url, headers={"X-Stat-Token": stat_token(self.config.ingest_secret)})
        with urllib.request.urlopen(request, timeout=5) as response:
            reports = parse_stat(response.read())
        now = time.monotonic()
        for report in reports:
            stream_id = report["stream_id"]
            due = now - self._thumbnailed.get(stream_id, 0) >= self.config.thumbnail_seconds
            if due and make_thumbnail(self.config.media_dir, stream_id):
                self._thumbnailed[stream_id] = now
            if stream_id in self._thumbnailed:
                report["thumbnail_url"] = (
                    f"{self.config.public_media_url.rstrip('/')}/thumbnails/{stream_id}.jpg")
        if reports:
            call_function(self.config, self.config.report_url, {"streams": reports})
        return len(reports)


# --- nginx.conf ------------------------------------------------------------------------


def render_nginx_conf(template: str, values: dict[str, str]) -> str:
    """nginx.conf from its template; every ${NAME} must be given."""
    return string.Template(template).substitute(values)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if argv[:1] == ["render"]:
        template, out = Path(argv[1]), Path(argv[2])
        values = {**os.environ, "STAT_TOKEN": stat_token(os.environ["STREAMFN_INGEST_SECRET"])}
        out.write_text(render_nginx_conf(template.read_text(), values))
        out.chmod(0o600)
        return 0
    serve(Config.from_environment())
    return 0


def serve(config: Config) -> None:
    """The sidecar under gunicorn: one worker (the event queue and the reporter live in
    it), threads for nginx's concurrent callbacks."""
    import gunicorn.app.base

    def post_worker_init(worker) -> None:
        threading.Thread(target=Reporter(config).run_forever, name="reporter", daemon=True).start()
        log.info("rtmp-ingest sidecar on %s:%s for pod %s", config.host, config.port, config.pod)

    class Application(gunicorn.app.base.BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": [f"{config.host}:{config.port}"], "workers": 1,
                               "worker_class": "gthread", "threads": 16, "timeout": 60,
                               "graceful_timeout": 15, "loglevel": "warning",
                               "post_worker_init": post_worker_init,
                               "proc_name": "streamfn-ingest-sidecar"}.items():
                self.cfg.set(key, value)

        def load(self):
            return Sidecar(config)

    Application().run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
