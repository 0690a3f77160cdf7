"""The blocking playlist server's logic on files in a temporary directory, through its ASGI
app: a player asking for the next segment is answered when the transcoder writes it, not
before and not a poll later."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from rtmp_ingest import playlists
from rtmp_ingest.playlists import SERVER_CONTROL, App, Playlist

URL = "/hls/stream-1/abc123/source.m3u8"


def playlist(first: int, count: int, *, ended: bool = False) -> str:
    segments = "".join(f"#EXTINF:1.000000,\nsource-{n}.ts\n" for n in range(first, first + count))
    return (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
            f"{segments}{'#EXT-X-ENDLIST' + chr(10) if ended else ''}")


def write(media: Path, text: str) -> None:
    """As ffmpeg does (hls_flags temp_file): a whole new file, renamed into place."""
    path = media / "hls" / "stream-1" / "abc123" / "source.m3u8"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)


async def get(app: App, url: str = URL, query: str = "", method: str = "GET") -> tuple[int, dict, bytes]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await app({"type": "http", "method": method, "path": url, "query_string": query.encode()},
              None, send)
    headers = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    return sent[0]["status"], headers, sent[1]["body"]


def test_a_live_playlist_says_it_can_block_and_an_ended_one_does_not():
    live = Playlist.parse(playlist(5, 3))
    assert (live.last, live.target, live.ended) == (7, 1.0, False)
    assert live.body.decode().splitlines()[2:4] == [SERVER_CONTROL, "#EXT-X-TARGETDURATION:1"]
    ended = Playlist.parse(playlist(5, 3, ended=True))
    assert ended.ended and SERVER_CONTROL.encode() not in ended.body


def test_the_playlist_now_without_a_segment_number(tmp_path):
    write(tmp_path, playlist(0, 3))
    status, headers, body = asyncio.run(get(App(tmp_path)))
    assert status == 200 and headers["content-type"] == "application/vnd.apple.mpegurl"
    assert SERVER_CONTROL in body.decode() and "source-2.ts" in body.decode()
    status, headers, body = asyncio.run(get(App(tmp_path), method="HEAD"))
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_a_request_for_the_next_segment_is_answered_as_soon_as_it_is_written(tmp_path):
    write(tmp_path, playlist(0, 3))

    async def scenario() -> tuple[float, int, bytes, float]:
        app = App(tmp_path)
        waiting = [asyncio.create_task(get(app, query="_HLS_msn=3")) for _ in range(3)]
        await asyncio.sleep(0.3)
        assert not any(task.done() for task in waiting)  # held, not answered with the old one
        written = time.monotonic()
        write(tmp_path, playlist(1, 3))
        answers = await asyncio.gather(*waiting)
        late = time.monotonic() - written
        assert all(answer == answers[0] for answer in answers)  # one read, three answers
        await asyncio.sleep(playlists.POLL_SECONDS * 5)
        return late, answers[0][0], answers[0][2], len(app.playlists.watches)

    late, status, body, watches = asyncio.run(scenario())
    assert status == 200 and "source-3.ts" in body.decode()
    # At the change, not at the end of the hold (3 s here).
    assert late < 1.0, f"answered {late:.3f} s after the segment was written"
    assert watches == 0  # nobody waits: nothing polls


def test_a_segment_already_there_is_answered_at_once(tmp_path):
    write(tmp_path, playlist(10, 3))
    status, _, body = asyncio.run(get(App(tmp_path), query="_HLS_msn=11"))
    assert status == 200 and "source-12.ts" in body.decode()


def test_too_far_ahead_or_not_a_number_is_400(tmp_path):
    write(tmp_path, playlist(0, 3))
    for query in ("_HLS_msn=5", "_HLS_msn=-1", "_HLS_msn=1e3", "_HLS_msn=", "_HLS_part=0",
                  "_HLS_msn=%EF%BC%91", "_HLS_msn=" + "9" * 40):
        status, headers, body = asyncio.run(get(App(tmp_path), query=query))
        assert status == 400, query
        assert json.loads(body)["error"]["code"] == "invalid_request"


def test_a_segment_that_never_comes_is_503_after_three_target_durations(tmp_path, monkeypatch):
    monkeypatch.setattr(playlists, "MAX_HOLD_SECONDS", 0.3)
    write(tmp_path, playlist(0, 3))
    started = time.monotonic()
    status, _, body = asyncio.run(get(App(tmp_path), query="_HLS_msn=3"))
    assert status == 503 and json.loads(body)["error"]["code"] == "unavailable"
    assert 0.25 < time.monotonic() - started < 2


def test_an_ended_publish_answers_its_waiters(tmp_path):
    write(tmp_path, playlist(0, 3))

    async def scenario() -> list[tuple[int, dict, bytes]]:
        app = App(tmp_path)
        ending = asyncio.create_task(get(app, query="_HLS_msn=4"))
        gone = asyncio.create_task(get(app, url="/hls/stream-1/abc123/source.m3u8", query="_HLS_msn=3"))
        await asyncio.sleep(0.1)
        write(tmp_path, playlist(0, 3, ended=True))
        first = await ending
        (tmp_path / "hls" / "stream-1" / "abc123" / "source.m3u8").unlink()
        return [first, await gone]

    (ended, _, body), (status, _, _) = asyncio.run(scenario())
    assert ended == 200 and "#EXT-X-ENDLIST" in body.decode()
    assert status == 200  # it asked for a segment the ended playlist did not reach: the end


@pytest.mark.parametrize("url", ["/hls/stream-1.m3u8", "/hls/a/b/../../x.m3u8", "/hls/a/b/c.ts",
                                 "/replays/a/b/c.m3u8", "/hls/stream-1/abc123/missing.m3u8"])
def test_anything_but_an_existing_live_media_playlist_is_404(tmp_path, url):
    write(tmp_path, playlist(0, 3))
    status, headers, body = asyncio.run(get(App(tmp_path), url=url))
    assert status == 404 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "not_found"


def test_other_methods_are_405(tmp_path):
    write(tmp_path, playlist(0, 3))
    status, headers, _ = asyncio.run(get(App(tmp_path), method="POST"))
    assert status == 405 and headers["allow"] == "GET, HEAD"
