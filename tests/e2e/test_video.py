"""Video beyond one rendition, through real nginx-rtmp and ffmpeg: the ABR ladder a publish
gets, as ffprobe and the web player (Chromium) see it."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from urllib.parse import urljoin

from tests.e2e.browser import Page, register
from tests.e2e.conftest import http, register_user
from tests.e2e.media import answers_blocking_reloads, dimensions, probe, publish, stop, wait_until
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
        answers_blocking_reloads(urljoin(master_url, listed[-1]["uri"]))

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
        # A request is listed once answered: a held one shows up as its segment arrives.
        assert wait_until(lambda: viewer.driver.execute_script(
            "return performance.getEntriesByType('resource').some(e => e.name.includes('_HLS_msn='))"),
            timeout=10), "the player waits on the next segment (blocking reloads), not polling"
        assert transcoders(live["id"]), "a transcoder runs while the stream is live"
    finally:
        stop(encoder)
    assert wait_until(lambda: not transcoders(live["id"]), timeout=10), \
        f"stopping the publish stops every transcoder: {transcoders(live['id'])}"
    assert wait_until(lambda: http("GET", master_url).status == 404, timeout=10), \
        "and the master playlist goes with them"


def clip_duration(url: str) -> float | None:
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                             "csv=p=0", url], capture_output=True, text=True, timeout=30)
    return float(result.stdout) if result.returncode == 0 and result.stdout.strip() else None


def test_a_live_clip_is_cut_to_its_length_plays_is_listed_and_goes_when_its_clipper_deletes_it(
        platform, browsers):
    api = platform.api_url
    name, tokens = register_user(api, "clp")
    token = tokens["access_token"]
    _, fan_tokens = register_user(api, "fan")
    _, stranger_tokens = register_user(api, "str")
    key = rotate_key(api, token)
    encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}")
    try:
        live = wait_until(lambda: live_stream_of(api, name), timeout=15)
        assert live
        clips_of = f"{api}/api/streams/{live['id']}/clips"
        assert http("POST", clips_of, json_body={"seconds": 5}).status == 401
        fan = fan_tokens["access_token"]
        for bad in ({"seconds": 61}, {"seconds": 4}, {"seconds": "5"}, {"title": ""}):
            assert http("POST", clips_of, json_body=bad, token=fan).status == 400, bad
        time.sleep(7)  # a few seconds of stream on disk
        asked = http("POST", clips_of, json_body={"seconds": 5, "title": "<b>what a play</b>"},
                     token=fan_tokens["access_token"])
        assert asked.status == 202, asked.body
        clip = asked.json()
        assert clip["status"] == "processing" and clip["playback"] is None
        ready = wait_until(lambda: (lambda c: c if c["status"] != "processing" else None)(
            http("GET", f"{api}/api/clips/{clip['id']}").json()), timeout=20, interval=0.3)
        assert ready and ready["status"] == "ready", ready
        assert ready["title"] == "<b>what a play</b>" and ready["channel"]["username"] == name
        # As long as asked, give or take the publisher's keyframe interval (1 s).
        assert abs(ready["duration_seconds"] - 5) <= 1.05, ready["duration_seconds"]
        mp4 = ready["playback"]["mp4"]
        assert probe(mp4) == ["aac", "h264"], "the clip plays"
        assert abs(clip_duration(mp4) - ready["duration_seconds"]) < 0.1
        thumbnail = http("GET", ready["thumbnail_url"])
        assert thumbnail.status == 200 and thumbnail.body[:2] == b"\xff\xd8"
        listed = http("GET", f"{api}/api/users/{name}/clips").json()["items"]
        assert [c["id"] for c in listed] == [clip["id"]]

        # In the browser: Clip on the live page, then the clip's own page plays it.
        viewer = Page(browsers(), api)
        register(viewer, f"web_{uuid.uuid4().hex[:8]}")
        viewer.go(f"/streams/{live['id']}")
        viewer.find("clip").click()
        viewer.find("clip-link", timeout=30).click()
        viewer.find("clip-video")
        assert wait_until(lambda: viewer.driver.execute_script(
            "const v = document.querySelector('[data-test=clip-video]');"
            "return v.readyState >= 2 && v.videoHeight === 240"), timeout=20), viewer.playback()
        viewer.find("copy-link")
    finally:
        stop(encoder)

    one = f"{api}/api/clips/{clip['id']}"
    assert http("DELETE", one, token=stranger_tokens["access_token"]).status == 403
    assert http("DELETE", one, token=fan_tokens["access_token"]).status == 204
    assert http("GET", f"{api}/api/clips/{clip['id']}").status == 404
    assert wait_until(lambda: http("GET", mp4).status == 404, timeout=5), "its file goes with it"
    listed = http("GET", f"{api}/api/users/{name}/clips").json()["items"]
    assert clip["id"] not in [c["id"] for c in listed] and len(listed) == 1, "the browser's stays"


def test_a_stream_with_nothing_recorded_cannot_be_clipped(platform):
    api = platform.api_url
    _, tokens = register_user(api, "nrc")
    created = http("POST", f"{api}/api/streams", json_body={"title": "later"},
                   token=tokens["access_token"]).json()
    answer = http("POST", f"{api}/api/streams/{created['id']}/clips", json_body={},
                  token=tokens["access_token"])
    assert answer.status == 409 and answer.json()["error"]["code"] == "conflict"
    missing = http("POST", f"{api}/api/streams/{uuid.uuid4()}/clips", json_body={},
                   token=tokens["access_token"])
    assert missing.status == 404
