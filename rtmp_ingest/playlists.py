"""Live media playlists that a player can wait on: HLS blocking playlist reload (RFC 8216bis
§6.2.5.2), served beside nginx in the ingest pod.

A player reloading a live playlist on its own clock learns of a new segment anything from
at once to a whole segment late, and which it is depends on the phase between its reloads
and the encoder's cuts, fixed for a session. Asked instead for `<rendition>.m3u8?_HLS_msn=N`,
this answers the moment the playlist holds segment N: the discovery delay is one poll of
the file. Every live media playlist it serves says so
(`#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES`); hls.js then asks for the next segment's
number right after each answer.

    GET /hls/<stream>/<publish>/<rendition>.m3u8             the playlist, now
    GET /hls/<stream>/<publish>/<rendition>.m3u8?_HLS_msn=N  once it holds segment N: 200;
        N more than two segments ahead: 400; not there within three target durations
        (capped at MAX_HOLD_SECONDS): 503 (the player asks again); the playlist gone (the
        publish ended): 404

The transcoder's ffmpeg writes each playlist by rename, so a read sees a whole one. One task
per playlist being waited on polls the file (POLL_SECONDS) and wakes every request waiting
on it; the answer's bytes are made once per change. Master playlists, segments, replays
and clips stay nginx's to serve. Standard library and uvicorn only:

    python -m rtmp_ingest.playlists MEDIA_DIR unix:/path/to.sock | HOST:PORT
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qsl

POLL_SECONDS = 0.02
MAX_HOLD_SECONDS = 8.0  # under hls.js's 10 s time to first byte for a playlist
AHEAD = 2  # how far past the playlist's last segment a request may ask (the RFC's limit)
SERVER_CONTROL = "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES"
TARGET = "#EXT-X-TARGETDURATION:"
MEDIA_PLAYLIST = re.compile(r"^/hls/([A-Za-z0-9_-]{1,64})/([A-Za-z0-9_-]{1,64})/([A-Za-z0-9_-]{1,32})\.m3u8$")
ERRORS = {
    400: ("invalid_request", "_HLS_msn must be a segment number at most two past the playlist's last."),
    404: ("not_found", "No such live playlist."),
    405: ("method_not_allowed", "That method is not allowed here."),
    503: ("unavailable", "The playlist did not reach that segment in time. Ask again."),
}


@dataclass(frozen=True)
class Playlist:
    """A live media playlist as read: its text, the media sequence number of its last
    segment (one before the first when it has none), its target duration, and whether it
    has ended."""

    text: str
    last: int
    target: float
    ended: bool

    @classmethod
    def parse(cls, text: str) -> Playlist:
        first, count, target, ended = 0, 0, 1.0, False
        for line in text.splitlines():
            if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
                first = int(line.partition(":")[2])
            elif line.startswith("#EXTINF:"):
                count += 1
            elif line.startswith(TARGET):
                target = float(line.partition(":")[2])
            elif line.strip() == "#EXT-X-ENDLIST":
                ended = True
        return cls(text, first + count - 1, target, ended)

    @property
    def hold_seconds(self) -> float:
        return min(3 * self.target, MAX_HOLD_SECONDS)

    @cached_property
    def body(self) -> bytes:
        """As served: a live playlist tells the player it may block."""
        if self.ended or SERVER_CONTROL in self.text:
            return self.text.encode()
        return self.text.replace(TARGET, f"{SERVER_CONTROL}\n{TARGET}", 1).encode()


@dataclass
class Watch:
    """One playlist file: what it last held, and the event set when that changes."""

    path: Path
    playlist: Playlist | None = None
    seen: tuple[int, int, int] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0

    def poll(self) -> Playlist | None:
        """Read the file if it changed, and wake whoever waits on it if so."""
        before = self.seen
        try:
            stat = self.path.stat()
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if seen != self.seen:
                self.playlist, self.seen = Playlist.parse(self.path.read_text()), seen
        except (OSError, ValueError, UnicodeDecodeError):
            self.playlist, self.seen = None, None
        if self.seen != before:
            self.changed.set()
            self.changed = asyncio.Event()
        return self.playlist


class Playlists:
    """The live playlists under MEDIA_DIR/hls, and the requests waiting on them."""

    def __init__(self, media: Path) -> None:
        self.hls = media / "hls"
        self.watches: dict[Path, Watch] = {}

    async def answer(self, path: Path, msn: int | None) -> tuple[int, Playlist | None]:
        watch = self.watches.get(path) or Watch(path)
        playlist = watch.poll()
        if playlist is None:
            return 404, None
        if msn is None or msn <= playlist.last or playlist.ended:
            return 200, playlist
        if msn > playlist.last + AHEAD:
            return 400, None
        return await self._wait(watch, msn, time.monotonic() + playlist.hold_seconds)

    async def _wait(self, watch: Watch, msn: int, deadline: float) -> tuple[int, Playlist | None]:
        if watch.path not in self.watches:
            self.watches[watch.path] = watch
            asyncio.get_running_loop().create_task(self._poll(watch))
        watch.waiting += 1
        try:
            while True:
                changed = watch.changed
                playlist = watch.playlist
                if playlist is None:
                    return 404, None
                if msn <= playlist.last or playlist.ended:
                    return 200, playlist
                left = deadline - time.monotonic()
                if left <= 0:
                    return 503, None
                try:
                    await asyncio.wait_for(changed.wait(), left)
                except TimeoutError:
                    pass
        finally:
            watch.waiting -= 1

    async def _poll(self, watch: Watch) -> None:
        try:
            while watch.waiting:
                await asyncio.sleep(POLL_SECONDS)
                if watch.poll() is None:
                    return  # gone: every waiter, woken, answers 404
        finally:
            del self.watches[watch.path]

    def path_of(self, url_path: str) -> Path | None:
        match = MEDIA_PLAYLIST.match(url_path)
        return self.hls.joinpath(*match.groups()[:2], f"{match[3]}.m3u8") if match else None


# What nginx (the ingest pod's, or the front door's when it serves the media itself) sends
# here: live media playlists, /hls/<stream>/<publish>/<rendition>.m3u8. The master playlist
# (/hls/<stream>.m3u8) and the segments stay files nginx serves.
NGINX_LOCATION = r"^/hls/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+\.m3u8$"


def nginx_upstream(address: str) -> str:
    """The http-level upstream for this server at `address` (`unix:PATH` or HOST:PORT)."""
    return (f"upstream streamfn_playlists {{ server {address} max_fails=0; keepalive 16; "
            "keepalive_timeout 60s; }")


def nginx_location(checks: list[str] | None = None) -> list[str]:
    """The server-level location sending live media playlists here (indented as a server's
    block), after `checks`: nginx lines that may refuse a request first. A held request
    waits up to MAX_HOLD_SECONDS."""
    return [f'    location ~ "{NGINX_LOCATION}" {{', *(checks or []),
            "        proxy_pass http://streamfn_playlists;", "        proxy_http_version 1.1;",
            '        proxy_set_header Connection "";', "        proxy_read_timeout 15s;",
            "        add_header Access-Control-Allow-Origin * always;", "    }"]


def template_values(address: str) -> dict[str, str]:
    """nginx.conf.template's blocks for this server at `address`."""
    return {"PLAYLISTS_UPSTREAM": nginx_upstream(address),
            "PLAYLISTS_LOCATION": "\n".join("    " + line for line in nginx_location())}


def _msn(query: bytes) -> int | None:
    """The `_HLS_msn` asked for (the first, if twice); ValueError if it is not a number, or
    `_HLS_part` comes without it. `_HLS_skip` is not offered, so it is ignored."""
    fields: dict[str, str] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        fields.setdefault(name, value)
    value = fields.get("_HLS_msn")
    if value is None:
        if "_HLS_part" in fields:
            raise ValueError("_HLS_part without _HLS_msn")
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise ValueError("_HLS_msn is not a segment number")
    return int(value)


class App:
    """The ASGI application: the playlists, /healthz, and JSON errors for the rest."""

    def __init__(self, media: Path) -> None:
        self.playlists = Playlists(media)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/healthz":
            return await _send(send, 200, b'{"status":"ok"}', "application/json")
        playlist_path = self.playlists.path_of(path)
        if playlist_path is None:
            return await _error(send, 404)
        if method not in ("GET", "HEAD"):
            return await _error(send, 405, [(b"allow", b"GET, HEAD")])
        try:
            msn = _msn(scope.get("query_string", b""))
        except ValueError:
            return await _error(send, 400)
        status, playlist = await self.playlists.answer(playlist_path, msn)
        if playlist is None:
            return await _error(send, status)
        await _send(send, 200, b"" if method == "HEAD" else playlist.body,
                    "application/vnd.apple.mpegurl", length=len(playlist.body))


async def _error(send, status: int, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    code, message = ERRORS[status]
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    await _send(send, status, body, "application/json", headers)


async def _send(send, status: int, body: bytes, content_type: str,
                headers: list[tuple[bytes, bytes]] | None = None, *, length: int | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type.encode()), (b"cache-control", b"no-cache"),
        (b"content-length", str(len(body) if length is None else length).encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str]) -> int:
    """Serve MEDIA_DIR's live playlists on a Unix socket (`unix:PATH`) or HOST:PORT."""
    import uvicorn

    if len(argv) != 2:
        print(__doc__.rsplit("\n\n", 1)[-1], file=sys.stderr)
        return 2
    media, listen = Path(argv[0]), argv[1]
    where: dict = {}
    if listen.startswith("unix:"):
        where["uds"] = listen.removeprefix("unix:")
        if os.path.exists(where["uds"]):
            os.unlink(where["uds"])  # a socket a killed server left behind
    else:
        host, _, port = listen.rpartition(":")
        where.update(host=host or "127.0.0.1", port=int(port))
    # Idle connections outlive nginx's (60 s): nginx never reuses one this side has closed.
    uvicorn.run(App(media), **where, lifespan="off", access_log=False, log_level="warning",
                server_header=False, date_header=False, timeout_keep_alive=65,
                timeout_graceful_shutdown=2, ws="none")  # HTTP only: no WebSocket stack
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
