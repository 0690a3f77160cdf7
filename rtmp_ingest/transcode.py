"""One publish's adaptive-bitrate ladder: what viewers play at /hls/<id>.m3u8.

nginx-rtmp runs this per publish into `show` (`exec_push`, nginx.conf.template) and stops it
with SIGTERM when the publish ends; if nginx itself dies the kernel sends the same signal
(nginx sets PR_SET_PDEATHSIG), and this passes it on to its ffmpeg the same way. It:

1. asks what the source is (resolution, codecs): nginx-rtmp's stat page, which knows as soon
   as the encoder's metadata arrives, or else ffprobe, which waits for a keyframe;
2. runs one ffmpeg reading the stream back from `show` that writes an HLS rendition of the
   source (stream copy) and one per rung of the ladder below the source's height (H.264,
   keyframes forced where the source has them, so every rendition cuts its 1-second segments
   at the same instants; audio copied), all stamped with EXT-X-PROGRAM-DATE-TIME so a player
   switching renditions lands on the same moment;
3. once the source's first segment is written, publishes the master playlist listing every
   rendition with BANDWIDTH, RESOLUTION and CODECS (atomically, by rename), and rewrites it
   once with the source's measured peak bitrate;
4. on the signal, stops ffmpeg and removes this publish's files (and the master, unless a
   newer publish of the same stream has replaced it).

Files: media/hls/<id>.m3u8 (the master), media/hls/<id>/<publish>/<rendition>.m3u8 and its
segments. Standard library only (with this project's ladder.py and JSON log format), so nginx
can start it without the sidecar's environment.

    python transcode.py STREAM_ID MEDIA_DIR SHOW_RTMP_URL --ladder=720p=2500k,480p=1200k LOG_FILE
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if not __package__:  # run by path (nginx's exec_push): the project root is the import root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtmp_ingest.ladder import (  # noqa: E402 - after the import root is known
    PLAYLIST_SEGMENTS,
    Rendition,
    Rung,
    Source,
    ffmpeg_command,
    master_playlist,
    parse_ladder,
    probe_of_stat,
    renditions,
)
from shared_lib.observability.logs import JsonFormatter  # noqa: E402 - the same

log = logging.getLogger("transcode")

PROBE_TIMEOUT_SECONDS = 15
STAT_SECONDS = 2.0
STALE_SECONDS = 60  # another publish's files untouched this long are leftovers of a crash

_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def stat_source(stream_id: str, stopping: Callable[[], bool]) -> Source | None:
    """The source's size and whether it has audio, as nginx-rtmp's stat page has them from
    the encoder's metadata (within STAT_SECONDS): all the ladder needs, far sooner than
    ffprobe, which waits for a keyframe and analyzes. The codecs may not be known yet: the
    master playlist takes them from the first segment. None without the page
    (STREAMFN_STAT_URL and _TOKEN, which nginx.conf gives its children) or when it never
    says."""
    url, token = os.environ.get("STREAMFN_STAT_URL"), os.environ.get("STREAMFN_STAT_TOKEN")
    deadline = time.monotonic() + STAT_SECONDS
    while url and token and time.monotonic() < deadline and not stopping():
        try:
            request = urllib.request.Request(url, headers={"X-Stat-Token": token})
            with urllib.request.urlopen(request, timeout=1) as answer:
                found = probe_of_stat(answer.read(), stream_id, headers=False)
            if found is not None:
                return Source.from_probe(found)
        except (OSError, ValueError, ElementTree.ParseError) as exc:
            log.warning("%s: the stat page did not answer: %s", stream_id, exc)
            return None
        time.sleep(0.05)
    return None


def probe(url: str) -> Source:
    """What ffprobe says the stream (or a segment of it) is."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-probesize", "500000", "-analyzeduration", "1000000",
         "-show_entries", "stream=codec_type,codec_name,profile,level,width,height,bit_rate",
         "-of", "json", url],
        capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ValueError(f"ffprobe could not read the stream: {result.stderr.strip()[-300:]}")
    return Source.from_probe(json.loads(result.stdout or "{}"))


def _die_with_parent() -> None:
    """In the ffmpeg child: SIGTERM when this process dies, however it dies."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    partial.write_text(text)
    partial.chmod(0o644)
    partial.replace(path)


def segment_kbps(playlist: Path) -> int | None:
    """The peak bitrate of a rendition's segments so far (kbit/s), from their sizes and the
    playlist's durations."""
    try:
        lines = playlist.read_text().splitlines()
    except OSError:
        return None
    peak, duration = 0, None
    for line in lines:
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#") and duration:
            try:
                size = (playlist.parent / line).stat().st_size
            except OSError:
                continue
            peak = max(peak, int(size * 8 / duration / 1000))
    return peak or None


@dataclass
class Publish:
    stream_id: str
    media: Path
    url: str
    ladder: list[Rung]
    publish: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    process: subprocess.Popen | None = None
    stopping: bool = False

    @property
    def master(self) -> Path:
        return self.media / "hls" / f"{self.stream_id}.m3u8"

    @property
    def folder(self) -> Path:
        return self.media / "hls" / self.stream_id / self.publish

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self._remove_leftovers()
        began = time.monotonic()
        source, asked = stat_source(self.stream_id, lambda: self.stopping), "the stat page"
        if source is None and not self.stopping:
            source, asked = probe(f"{self.url}/{self.stream_id}"), "ffprobe"
        if self.stopping or source is None:
            return 0
        found = renditions(source, self.ladder)
        self.folder.mkdir(parents=True, exist_ok=True)
        command = ffmpeg_command(f"{self.url}/{self.stream_id}", found, self.folder,
                                 has_audio=source.has_audio)
        log.info("%s: %dx%d (%s, %.2f s), renditions %s", self.stream_id, source.width,
                 source.height, asked, time.monotonic() - began,
                 ", ".join(r.name for r in found))
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True,
                                        preexec_fn=_die_with_parent)
        try:
            self._publish_master(source, found)
            _, errors = self.process.communicate()
            if self.process.returncode not in (0, 255, -signal.SIGTERM) and not self.stopping:
                log.error("%s: ffmpeg exited with %s: %s", self.stream_id, self.process.returncode,
                          (errors or "").strip()[-500:])
                return 1
            return 0
        finally:
            self._stop()
            self._clean_up()

    def _publish_master(self, source: Source, found: list[Rendition]) -> None:
        """The master goes up once the source's first segment is there, and again with the
        source's measured peak once a playlist's worth is."""
        folder = f"{self.stream_id}/{self.publish}"
        playlist = self.folder / "source.m3u8"
        written = False
        deadline = time.monotonic() + 30
        while self.process is not None and self.process.poll() is None and not self.stopping:
            segments = _segments(playlist)
            if segments >= 1 and not written:
                if source.video_codecs is None:  # the size came from the stat page
                    source = self._with_codecs(source)
                    found = renditions(source, self.ladder)
                write_atomically(self.master, master_playlist(found, folder))
                written = True
            if segments >= PLAYLIST_SEGMENTS or time.monotonic() > deadline:
                measured = segment_kbps(playlist)
                if measured:
                    write_atomically(self.master, master_playlist(
                        renditions(source, self.ladder, source_kbps=measured), folder))
                return
            time.sleep(0.05)

    def _with_codecs(self, source: Source) -> Source:
        """The source with the codecs its first segment (a local file) shows."""
        first = min(self.folder.glob("source-*.ts"), key=lambda p: p.stat().st_mtime, default=None)
        try:
            probed = probe(str(first)) if first is not None else None
        except (ValueError, OSError, subprocess.TimeoutExpired) as exc:
            log.warning("%s: the first segment's codecs are unknown: %s", self.stream_id, exc)
            return source
        if probed is None:
            return source
        return dataclasses.replace(source, video_codecs=probed.video_codecs,
                                   audio_codecs=probed.audio_codecs)

    def _stop(self, *_: object) -> None:
        self.stopping = True
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()

    def _clean_up(self) -> None:
        if self.process is not None:
            # ffmpeg finishes its segments on the first signal once its input ends; blocked
            # on an input that went quiet it needs a second, then it is killed.
            for last_resort in (self.process.terminate, self.process.kill):
                try:
                    self.process.wait(3)
                    break
                except subprocess.TimeoutExpired:
                    last_resort()
            self.process.wait()
        try:
            if f"{self.stream_id}/{self.publish}/" in self.master.read_text():
                self.master.unlink()
        except OSError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.folder.parent.rmdir()  # gone unless another publish of the stream is writing
        except OSError:
            pass

    def _remove_leftovers(self) -> None:
        """Another publish's folder of this stream untouched for a minute: a crash's."""
        for folder in (self.media / "hls" / self.stream_id).glob("*"):
            remove_if_stale(folder)


def _segments(playlist: Path) -> int:
    try:
        return playlist.read_text().count("#EXTINF:")
    except OSError:
        return 0


def remove_if_stale(folder: Path, *, seconds: float = STALE_SECONDS) -> bool:
    """Remove a rendition folder no ffmpeg has written to for `seconds`."""
    try:
        newest = max((entry.stat().st_mtime for entry in folder.iterdir()), default=folder.stat().st_mtime)
    except OSError:
        return False
    if time.time() - newest < seconds:
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def sweep(media: Path) -> int:
    """Remove what transcoders killed outright left behind (folders no ffmpeg writes to any
    more, masters naming a folder that is gone); what the sidecar's reporter runs."""
    removed, hls = 0, media / "hls"
    for folder in hls.glob("*/*"):
        removed += remove_if_stale(folder)
    for stream in hls.glob("*"):
        if stream.is_dir():
            try:
                stream.rmdir()
            except OSError:
                pass
    for master in hls.glob("*.m3u8"):
        try:
            folders = {line.rsplit("/", 1)[0] for line in master.read_text().splitlines()
                       if line and not line.startswith("#")}
            if not any((hls / folder).is_dir() for folder in folders):
                master.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def main(argv: list[str]) -> int:
    if len(argv) != 5 or not argv[3].startswith("--ladder="):
        print(__doc__, file=sys.stderr)
        return 2
    stream_id, media, url, ladder, log_file = argv
    try:  # nginx's log directory, when this process may write there
        handler: logging.Handler = logging.FileHandler(log_file)
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter("transcode"))  # one JSON object a line, as every process
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    if not _ID.match(stream_id):
        log.error("refusing a stream name that is not a public id")
        return 2
    try:
        rungs = parse_ladder(ladder.removeprefix("--ladder="))
        return Publish(stream_id, Path(media), url.rstrip("/"), rungs).run()
    except (ValueError, OSError, subprocess.SubprocessError) as failure:
        log.error("%s: %s", stream_id, failure)
        return 1


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main(sys.argv[1:]))
