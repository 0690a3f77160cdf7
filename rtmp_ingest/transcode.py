"""One publish's adaptive-bitrate ladder: what viewers play at /hls/<id>.m3u8.

nginx-rtmp runs this per publish into `show` (`exec_push`, nginx.conf.template) and stops it
with SIGTERM when the publish ends; if nginx itself dies the kernel sends the same signal
(nginx sets PR_SET_PDEATHSIG), and this passes it on to its ffmpeg the same way. It:

1. asks ffprobe what the source is (resolution, codecs, frame rate);
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
segments. Standard library only, so nginx can start it without the sidecar's environment.

    python transcode.py STREAM_ID MEDIA_DIR SHOW_RTMP_URL --ladder=720p=2500k,480p=1200k LOG_FILE
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("transcode")

DEFAULT_LADDER = "720p=2500k,480p=1200k,360p=700k"
SEGMENT_SECONDS = 1
PLAYLIST_SEGMENTS = 6
AUDIO_KBPS_GUESS = 128  # when the source does not say
PROBE_TIMEOUT_SECONDS = 15
STALE_SECONDS = 60  # another publish's files untouched this long are leftovers of a crash

_RUNG = re.compile(r"^(?P<height>\d{3,4})p=(?P<kbps>\d{2,5})k$")
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Rung:
    """One rendition the ladder asks for: a height and a video bitrate."""

    height: int
    video_kbps: int

    @property
    def name(self) -> str:
        return f"{self.height}p"


def parse_ladder(text: str) -> list[Rung]:
    """`720p=2500k,480p=1200k,360p=700k` as rungs, highest first; "" is no ladder. Raises
    ValueError naming what is wrong."""
    rungs = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        match = _RUNG.match(part)
        if match is None:
            raise ValueError(f"ladder rung {part!r} is not HEIGHTp=KBPSk (like 480p=1200k)")
        rung = Rung(int(match["height"]), int(match["kbps"]))
        if not 144 <= rung.height <= 2160 or rung.height % 2 or not 100 <= rung.video_kbps <= 50_000:
            raise ValueError(f"ladder rung {part!r} is out of range (144-2160p, even; 100-50000k)")
        rungs.append(rung)
    heights = [rung.height for rung in rungs]
    if len(set(heights)) != len(heights):
        raise ValueError("the ladder names a height twice")
    return sorted(rungs, key=lambda rung: -rung.height)


def ladder_text(rungs: Sequence[Rung]) -> str:
    """The ladder as parse_ladder reads it."""
    return ",".join(f"{rung.height}p={rung.video_kbps}k" for rung in rungs)


_PROFILES = {"Baseline": "4200", "Constrained Baseline": "42e0", "Main": "4d40",
             "High": "6400", "High 10": "6e00", "High 4:2:2": "7a00"}
_AUDIO = {"LC": "mp4a.40.2", "HE-AAC": "mp4a.40.5", "HE-AACv2": "mp4a.40.29"}


@dataclass(frozen=True)
class Source:
    width: int
    height: int
    video_codecs: str | None  # the RFC 6381 name, e.g. avc1.64001f; None when unknown
    audio_codecs: str | None
    has_audio: bool
    video_kbps: int | None = None
    audio_kbps: int | None = None

    @classmethod
    def from_probe(cls, probe: dict) -> Source:
        streams = probe.get("streams") or []
        video = next((s for s in streams if s.get("codec_type") == "video"), None)
        audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
        if video is None or not video.get("width") or not video.get("height"):
            raise ValueError("the source has no video ffprobe can read")
        video_codecs = None
        if video.get("codec_name") == "h264" and video.get("profile") in _PROFILES:
            level = int(video.get("level") or 0)
            video_codecs = f"avc1.{_PROFILES[video['profile']]}{level:02x}" if level > 0 else None
        audio_codecs = None
        if audio is not None:
            audio_codecs = (_AUDIO.get(audio.get("profile", ""), "mp4a.40.2")
                            if audio.get("codec_name") == "aac"
                            else "mp4a.40.34" if audio.get("codec_name") == "mp3" else None)

        def kbps(stream: dict | None) -> int | None:
            try:
                return int(stream["bit_rate"]) // 1000 if stream and stream.get("bit_rate") else None
            except ValueError:
                return None

        return cls(width=int(video["width"]), height=int(video["height"]),
                   video_codecs=video_codecs, audio_codecs=audio_codecs,
                   has_audio=audio is not None, video_kbps=kbps(video), audio_kbps=kbps(audio))


# What the renditions are encoded as: H.264 Main at level 4.0 (enough for 1080p30).
RENDITION_VIDEO_CODECS = "avc1.4d4028"


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    bandwidth: int  # bits per second, the peak a player should budget for
    codecs: str | None
    rung: Rung | None = None  # None: the source, copied

    def entry(self, uri: str) -> str:
        attributes = [f"BANDWIDTH={self.bandwidth}", f"RESOLUTION={self.width}x{self.height}"]
        if self.codecs:
            attributes.append(f'CODECS="{self.codecs}"')
        return f"#EXT-X-STREAM-INF:{','.join(attributes)}\n{uri}\n"


def _codecs(video: str | None, source: Source) -> str | None:
    if video is None or (source.has_audio and source.audio_codecs is None):
        return None
    return ",".join(filter(None, [video, source.audio_codecs]))


def renditions(source: Source, ladder: Sequence[Rung], *, source_kbps: int | None = None) -> list[Rendition]:
    """The source, then every rung of the ladder below the source's height, widths keeping
    the source's shape (even, as H.264 wants)."""
    audio_kbps = (source.audio_kbps or AUDIO_KBPS_GUESS) if source.has_audio else 0
    measured = source_kbps or (source.video_kbps + audio_kbps if source.video_kbps else None)
    top = ladder[0].video_kbps if ladder else 0
    # Until the source's segments are measured: what it says, or more than the top rung.
    source_bandwidth = 1000 * (measured or max(top * 3 // 2, 3000) + audio_kbps)
    found = [Rendition("source", source.width, source.height, source_bandwidth,
                       _codecs(source.video_codecs, source))]
    for rung in ladder:
        if rung.height >= source.height:
            continue
        width = round(source.width * rung.height / source.height / 2) * 2
        peak = rung.video_kbps * 6 // 5 + audio_kbps
        found.append(Rendition(rung.name, width, rung.height, peak * 1000,
                               _codecs(RENDITION_VIDEO_CODECS, source), rung))
    return found


def master_playlist(found: Sequence[Rendition], folder: str) -> str:
    """The master playlist: the source first (a player starts there), then the rungs."""
    entries = "".join(rendition.entry(f"{folder}/{rendition.name}.m3u8") for rendition in found)
    return f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n{entries}"


def ffmpeg_command(url: str, found: Sequence[Rendition], out: Path, *, has_audio: bool) -> list[str]:
    """One ffmpeg: read the stream once, write every rendition as a live HLS playlist."""
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
               "-fflags", "nobuffer", "-i", url]
    hls = ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", str(PLAYLIST_SEGMENTS),
           "-hls_delete_threshold", "2",
           "-hls_flags", "delete_segments+independent_segments+program_date_time+temp_file"]
    audio = ["-map", "0:a:0", "-c:a", "copy"] if has_audio else []
    for rendition in found:
        command += ["-map", "0:v:0"]
        if rendition.rung is None:
            command += ["-c:v", "copy"]
        else:
            kbps = rendition.rung.video_kbps
            command += ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
                        "-profile:v", "main", "-level:v", "4.0", "-pix_fmt", "yuv420p",
                        "-vf", f"scale={rendition.width}:{rendition.height}",
                        "-b:v", f"{kbps}k", "-maxrate", f"{kbps * 6 // 5}k", "-bufsize", f"{kbps}k",
                        # Keyframes where the source has them, and nowhere else: every
                        # rendition's segments begin at the same instants.
                        "-force_key_frames", "source", "-sc_threshold", "0", "-g", "600"]
        command += [*audio, *hls, "-hls_segment_filename", str(out / f"{rendition.name}-%d.ts"),
                    str(out / f"{rendition.name}.m3u8")]
    return command


def probe(url: str) -> Source:
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
        source = probe(f"{self.url}/{self.stream_id}")
        if self.stopping:
            return 0
        found = renditions(source, self.ladder)
        self.folder.mkdir(parents=True, exist_ok=True)
        command = ffmpeg_command(f"{self.url}/{self.stream_id}", found, self.folder,
                                 has_audio=source.has_audio)
        log.info("%s: %dx%d, renditions %s", self.stream_id, source.width, source.height,
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
                write_atomically(self.master, master_playlist(found, folder))
                written = True
            if segments >= PLAYLIST_SEGMENTS or time.monotonic() > deadline:
                measured = segment_kbps(playlist)
                if measured:
                    write_atomically(self.master, master_playlist(
                        renditions(source, self.ladder, source_kbps=measured), folder))
                return
            time.sleep(0.05)

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
    logging.basicConfig(level=logging.INFO, handlers=[handler],
                        format="%(asctime)s transcode[%(process)d] %(message)s")
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
