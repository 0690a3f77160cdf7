"""What one publish becomes: the ladder setting (STREAMFN_ABR_LADDER), what ffprobe says
the source is, the renditions (the source, then each rung below its height) with their
BANDWIDTH and CODECS, the master playlist, and the one ffmpeg command that writes them.
Pure, standard library only: rtmp_ingest/transcode.py runs it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LADDER = "720p=2500k,480p=1200k,360p=700k"
SEGMENT_SECONDS = 1
PLAYLIST_SEGMENTS = 6
AUDIO_KBPS_GUESS = 128  # when the source does not say

_RUNG = re.compile(r"^(?P<height>\d{3,4})p=(?P<kbps>\d{2,5})k$")


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


def probe_of_stat(page: bytes, stream_id: str, *, headers: bool = True) -> dict | None:
    """What nginx-rtmp's stat page says of `stream_id` in `show`, in ffprobe's JSON shape
    (for Source.from_probe); None until it has the encoder's metadata (the size, whether there
    is audio: at once) and, with `headers`, the codecs' headers too (H.264's profile and level,
    AAC's profile: with the first keyframe)."""
    import xml.etree.ElementTree as ElementTree  # the page is our own nginx's

    for application in ElementTree.fromstring(page).iter("application"):
        if application.findtext("name") != "show":
            continue
        for stream in application.iter("stream"):
            if stream.findtext("name") != stream_id:
                continue
            video, audio = stream.find("meta/video"), stream.find("meta/audio")
            if video is None or not video.findtext("width") or not video.findtext("height"):
                return None
            # The metadata comes first; H.264's profile and level, and AAC's profile, only
            # with each codec's own header a moment later.
            if headers and video.findtext("codec") == "H264" and (
                    not video.findtext("profile") or not float(video.findtext("level") or 0)):
                return None
            if headers and audio is not None and audio.findtext("codec") == "AAC" and \
                    not audio.findtext("profile"):
                return None
            profile = video.findtext("profile") or ""
            if profile == "Baseline" and int(video.findtext("compat") or 0) & 0x40:
                profile = "Constrained Baseline"  # constraint_set1, as ffprobe names it
            streams = [{"codec_type": "video", "codec_name": (video.findtext("codec") or "").lower(),
                        "profile": profile, "width": int(video.findtext("width") or 0),
                        "height": int(video.findtext("height") or 0),
                        "level": round(float(video.findtext("level") or 0) * 10)}]
            if audio is not None and audio.findtext("codec"):
                streams.append({"codec_type": "audio", "codec_name": audio.findtext("codec", "").lower(),
                                "profile": audio.findtext("profile") or ""})
            return {"streams": streams}
    return None


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
