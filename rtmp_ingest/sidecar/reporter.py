"""The reporter: reads nginx's stat page for codecs, resolution, frame rate and bitrates, grabs
a thumbnail from the newest HLS segment, and reports both to the functions."""

from __future__ import annotations

import logging
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from rtmp_ingest import transcode
from rtmp_ingest.sidecar.callbacks import call_function, public_id
from rtmp_ingest.sidecar.config import Config, stat_token
from shared_lib import outbound

log = logging.getLogger("rtmp-ingest")


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
            stream_id = public_id(stream.findtext("name"))
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
    segments = sorted((media_dir / "segments").glob(f"{stream_id}-*.ts"), key=lambda p: p.stat().st_mtime)
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
                # What a transcoder killed outright (kill -9, the node lost) left behind.
                transcode.sweep(self.config.media_dir)
            except Exception:  # noqa: BLE001 - a bad tick must not stop the reporter
                log.exception("report failed")

    def report_once(self) -> int:
        secret = self.config.ingest_secret.get_secret_value()
        response = outbound.client().get(self.config.stat_url, timeout=5,
                                         headers={"X-Stat-Token": stat_token(secret)})
        response.raise_for_status()
        reports = parse_stat(response.content)
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
            call_function(self.config, self.config.report, {"streams": reports})
        return len(reports)
