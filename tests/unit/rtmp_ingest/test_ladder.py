"""The ABR ladder: the setting, what ffprobe says about a source, which renditions it gets,
the master playlist, and the ffmpeg command."""

from __future__ import annotations

import pytest

from rtmp_ingest.ladder import (
    DEFAULT_LADDER,
    Rung,
    Source,
    ffmpeg_command,
    ladder_text,
    master_playlist,
    parse_ladder,
    renditions,
)

PROBED_720P = {"streams": [
    {"codec_type": "video", "codec_name": "h264", "profile": "High", "level": 31,
     "width": 1280, "height": 720},
    {"codec_type": "audio", "codec_name": "aac", "profile": "LC", "bit_rate": "64000"},
]}


def test_the_default_ladder_is_720p_480p_and_360p_and_an_empty_one_is_none():
    assert [r.name for r in parse_ladder(DEFAULT_LADDER)] == ["720p", "480p", "360p"]
    assert parse_ladder("") == [] and parse_ladder(" , ") == []
    assert parse_ladder("360p=700k, 1080p=6000k") == [Rung(1080, 6000), Rung(360, 700)]
    assert ladder_text(parse_ladder(" 480p=1200k ,720p=2500k")) == "720p=2500k,480p=1200k"


@pytest.mark.parametrize("bad", ["720=2500k", "720p", "720p=2500", "abc", "721p=900k",
                                 "720p=10k", "720p=2500k,720p=2000k", "720p=2500k;rm -rf /"])
def test_a_malformed_ladder_is_refused_with_the_reason(bad):
    with pytest.raises(ValueError):
        parse_ladder(bad)


def test_a_source_is_read_from_ffprobe_with_its_rfc6381_codecs():
    source = Source.from_probe(PROBED_720P)
    assert (source.width, source.height) == (1280, 720)
    assert source.video_codecs == "avc1.64001f" and source.audio_codecs == "mp4a.40.2"
    assert source.audio_kbps == 64
    baseline = Source.from_probe({"streams": [{"codec_type": "video", "codec_name": "h264",
                                               "profile": "Constrained Baseline", "level": 30,
                                               "width": 640, "height": 360}]})
    assert baseline.video_codecs == "avc1.42e01e" and not baseline.has_audio
    with pytest.raises(ValueError):
        Source.from_probe({"streams": [{"codec_type": "audio", "codec_name": "aac"}]})


def test_only_the_rungs_below_the_source_are_made_and_the_source_comes_first():
    source = Source.from_probe(PROBED_720P)
    found = renditions(source, parse_ladder(DEFAULT_LADDER))
    assert [(r.name, r.width, r.height) for r in found] == [
        ("source", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]
    assert found[0].rung is None and found[1].rung == Rung(480, 1200)
    # A rung's peak: its maxrate (1.2x) and the audio.
    assert found[1].bandwidth == (1200 * 6 // 5 + 64) * 1000
    assert found[0].bandwidth > found[1].bandwidth > found[2].bandwidth
    assert renditions(source, [])[0].name == "source" and len(renditions(source, [])) == 1
    # Measured: the source's bandwidth is what its segments peaked at.
    assert renditions(source, [], source_kbps=4200)[0].bandwidth == 4_200_000


def test_the_master_lists_every_rendition_with_bandwidth_resolution_and_codecs():
    found = renditions(Source.from_probe(PROBED_720P), parse_ladder("480p=1200k"))
    master = master_playlist(found, "abc/123")
    assert master.startswith("#EXTM3U\n")
    assert ('#EXT-X-STREAM-INF:BANDWIDTH=3064000,RESOLUTION=1280x720,'
            'CODECS="avc1.64001f,mp4a.40.2"\nabc/123/source.m3u8\n') in master
    assert ('#EXT-X-STREAM-INF:BANDWIDTH=1504000,RESOLUTION=854x480,'
            'CODECS="avc1.4d4028,mp4a.40.2"\nabc/123/480p.m3u8\n') in master


def test_one_ffmpeg_copies_the_source_and_encodes_each_rung_on_the_source_keyframes(tmp_path):
    found = renditions(Source.from_probe(PROBED_720P), parse_ladder("480p=1200k"))
    command = ffmpeg_command("rtmp://127.0.0.1/show/x", found, tmp_path, has_audio=True)
    assert command.count("-i") == 1 and command.count("hls") == 2
    source_part = command[command.index("-i") + 2:command.index(str(tmp_path / "source.m3u8"))]
    assert ["-c:v", "copy"] == source_part[2:4] and "libx264" not in source_part
    rung_part = command[command.index(str(tmp_path / "source.m3u8")) + 1:]
    assert "scale=854:480" in rung_part and rung_part[rung_part.index("-force_key_frames") + 1] == "source"
    assert rung_part[rung_part.index("-b:v") + 1] == "1200k"
    assert command[-1] == str(tmp_path / "480p.m3u8")
    silent = ffmpeg_command("rtmp://x", found, tmp_path, has_audio=False)
    assert "0:a:0" not in silent


STAT_PAGE = b"""<?xml version="1.0" encoding="utf-8" ?><rtmp><server>
<application><name>live</name><live><stream><name>live_secret</name>
<meta><video><width>640</width><height>360</height><codec>H264</codec></video></meta></stream></live></application>
<application><name>show</name><live>
<stream><name>7b2ef458-5694-4a40-a6f0-aa65d83fbd1d</name><time>3864</time>
<meta><video><width>1280</width><height>720</height><frame_rate>30</frame_rate><codec>H264</codec>
<profile>High</profile><compat>0</compat><level>3.1</level></video>
<audio><codec>AAC</codec><profile>LC</profile><channels>1</channels><sample_rate>44100</sample_rate></audio></meta>
<publishing/><active/></stream>
<stream><name>00000000-0000-4000-8000-000000000000</name><publishing/></stream>
<stream><name>11111111-0000-4000-8000-000000000000</name>
<meta><video><width>1280</width><height>720</height><codec>H264</codec><profile></profile><level>0.0</level></video>
<audio><codec>AAC</codec><profile></profile></audio></meta><publishing/></stream>
</live></application></server></rtmp>"""


def test_the_stat_page_describes_a_source_as_ffprobe_would():
    from rtmp_ingest.ladder import probe_of_stat

    source = Source.from_probe(probe_of_stat(STAT_PAGE, "7b2ef458-5694-4a40-a6f0-aa65d83fbd1d"))
    assert (source.width, source.height) == (1280, 720)
    assert source.video_codecs == "avc1.64001f" and source.audio_codecs == "mp4a.40.2"
    assert source.has_audio
    # Not there yet (no metadata), or not in `show` (a stream key is a `live` name): ffprobe.
    assert probe_of_stat(STAT_PAGE, "00000000-0000-4000-8000-000000000000") is None
    assert probe_of_stat(STAT_PAGE, "live_secret") is None
    # The metadata without the codecs' headers yet (no profile, no level): not yet.
    assert probe_of_stat(STAT_PAGE, "11111111-0000-4000-8000-000000000000") is None
