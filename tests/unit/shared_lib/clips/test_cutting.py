"""Which segments a clip is cut from, and where a replay's clip may end."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shared_lib import errors
from shared_lib.clips.cutting import Piece, live_pieces, span
from shared_lib.clips.services import _replay_end
from shared_lib.recordings.ffmpeg import segments

PIECES = [Piece(Path(f"{i}.ts"), float(i), 1.0) for i in range(10)]


def test_a_span_takes_every_segment_it_touches_and_no_other():
    assert [p.start for p in span(PIECES, 3.5, 6.2)] == [3.0, 4.0, 5.0, 6.0]
    assert [p.start for p in span(PIECES, 3.0, 6.0)] == [3.0, 4.0, 5.0]
    assert span(PIECES, 20.0, 30.0) == []


def test_nginx_segments_are_placed_on_the_wall_clock_by_their_names(tmp_path):
    stream_id = uuid.uuid4()
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / f"{stream_id}.m3u8").write_text(
        "#EXTM3U\n#EXTINF:1.001,\n"
        f"{stream_id}-1795819066069.ts\n#EXTINF:0.967,\n{stream_id}-1795819067070.ts\n"
        "#EXTINF:1.0,\n../../etc/passwd-1795819068000.ts\n")
    found = live_pieces(tmp_path, stream_id)
    assert [(p.start, p.duration) for p in found] == [(1795819066.069, 1.001), (1795819067.07, 0.967)]
    assert live_pieces(tmp_path, uuid.uuid4()) == []


def test_a_playlist_reads_as_segments_with_their_starts():
    found = segments("#EXTM3U\n#EXTINF:4.0,\na.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.5,\nb.ts\n")
    assert [(s.uri, s.start, s.duration) for s in found] == [("a.ts", 0.0, 4.0), ("b.ts", 4.0, 2.5)]


def test_a_replay_clip_ends_inside_the_replay_with_five_seconds_before_it():
    assert _replay_end(30, None, 100.0) == 100.0
    assert _replay_end(30, 42.0, 100.0) == 42.0
    assert _replay_end(30, 100.3, 100.0) == 100.0  # the player's rounding
    for bad in (101.0, 4.0):
        with pytest.raises(errors.InvalidInput):
            _replay_end(30, bad, 100.0)
