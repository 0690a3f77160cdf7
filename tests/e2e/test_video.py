"""Video beyond one rendition, through real nginx-rtmp and ffmpeg: the ABR ladder a publish
gets, as ffprobe and the web player (Chromium) see it."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urljoin

from tests.e2e.browser import Page
from tests.e2e.conftest import http, register_user
from tests.e2e.media import dimensions, publish, stop, wait_until
from tests.e2e.test_ingest import live_stream_of, rotate_key

STREAM_INF = re.compile(r"#EXT-X-STREAM-INF:(?P<attributes>.*)\n(?P<uri>[^#\n]+)")


def renditions(master: str) -> list[dict]:
    found = []
    for match in STREAM_INF.finditer(master):
        attributes = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', match["attributes"]))
        found.append({**{k: v.strip('"') for k, v in attributes.items()}, "uri": match["uri"]})
    return found


def transcoders(stream_id: str) -> list[str]:
    """The processes working on that stream (the transcoder and its ffmpeg)."""
    listed = subprocess.run(["pgrep", "-af", stream_id], capture_output=True, text=True).stdout
    return [line for line in listed.splitlines() if "transcode.py" in line or "ffmpeg" in line]


def test_a_720p_publish_plays_as_a_ladder_the_player_offers_and_its_transcoders_stop_with_it(
        platform, browsers):
    api = platform.api_url
    name, tokens = register_user(api, "abr")
    key = rotate_key(api, tokens["access_token"])
    encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}", size="1280x720")
    try:
        live = wait_until(lambda: live_stream_of(api, name), timeout=15)
        assert live, "the stream goes live"
        master_url = live["playback"]["hls"]
        master = wait_until(lambda: (lambda a: a.body.decode() if a.status == 200 else None)(
            http("GET", master_url)), timeout=20, interval=0.2)
        assert master, "the master playlist is served"
        listed = renditions(master)
        assert [r["RESOLUTION"] for r in listed] == ["1280x720", "854x480", "640x360"], master
        for rendition in listed:
            assert int(rendition["BANDWIDTH"]) > 0 and rendition["CODECS"].startswith("avc1.")
            assert "mp4a.40.2" in rendition["CODECS"]
        assert int(listed[0]["BANDWIDTH"]) > int(listed[1]["BANDWIDTH"]) > int(listed[2]["BANDWIDTH"])
        for rendition in listed:
            width, height = (int(n) for n in rendition["RESOLUTION"].split("x"))
            playlist = urljoin(master_url, rendition["uri"])
            assert wait_until(lambda playlist=playlist: dimensions(playlist), timeout=20,
                              interval=0.5) == (width, height), f"{rendition} plays at its size"

        viewer = Page(browsers(), api)
        viewer.go(f"/streams/{live['id']}")
        menu = viewer.find("quality", timeout=30)
        options = wait_until(lambda: viewer.driver.execute_script(
            "return [...document.querySelectorAll('[data-test=quality] option')].map(o => o.text)"),
            timeout=10)
        assert [o.split(" (")[0] for o in options] == ["Auto", "720p", "480p", "360p"], options
        assert options[1] == "720p (source)"
        viewer.driver.execute_script(
            "const s = arguments[0]; s.value = s.options[3].value;"
            "s.dispatchEvent(new Event('change'));", menu)
        assert wait_until(lambda: viewer.driver.execute_script(
            "return document.querySelector('video').videoHeight") == 360, timeout=30), \
            f"picking 360p plays 360p: {viewer.playback()}"
        assert transcoders(live["id"]), "a transcoder runs while the stream is live"
    finally:
        stop(encoder)
    assert wait_until(lambda: not transcoders(live["id"]), timeout=10), \
        f"stopping the publish stops every transcoder: {transcoders(live['id'])}"
    assert wait_until(lambda: http("GET", master_url).status == 404, timeout=10), \
        "and the master playlist goes with them"
