"""Which file a recording event may name, and how long a replay playlist plays."""

from __future__ import annotations

import uuid
from pathlib import Path

from shared_lib.recordings.services import playlist_seconds, raw_file

STREAM = uuid.UUID("0b5c3f3e-9a51-4bde-8f0e-1f2a3b4c5d6e")
MEDIA = Path("/srv/media")


def test_a_recording_of_the_stream_is_found_in_this_media_directory():
    # nginx's pod may mount the volume elsewhere: only the file name is read.
    reported = f"/var/lib/streamfn/media/recordings/{STREAM}-1764000000.flv"
    assert raw_file(MEDIA, STREAM, reported) == MEDIA / "recordings" / f"{STREAM}-1764000000.flv"
    assert raw_file(MEDIA, STREAM, f"{STREAM}.flv") == MEDIA / "recordings" / f"{STREAM}.flv"


def test_names_that_are_not_this_streams_recording_are_refused():
    other = uuid.uuid4()
    for reported in (f"/rec/{other}-1.flv", "/etc/passwd", f"/rec/{STREAM}-1.flv.sh",
                     f"/rec/{STREAM}-1.mp4", f"/rec/x{STREAM}-1.flv", "", f"/rec/{STREAM}-../1.flv"):
        assert raw_file(MEDIA, STREAM, reported) is None, reported


def test_a_playlist_lasts_the_sum_of_its_segments():
    playlist = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n"
                "#EXTINF:4.000000,\nsegment-00000.ts\n#EXTINF:4.000000,\nsegment-00001.ts\n"
                "#EXTINF:1.533333,\nsegment-00002.ts\n#EXT-X-ENDLIST\n")
    assert abs(playlist_seconds(playlist) - 9.533333) < 1e-6
    assert playlist_seconds("#EXTM3U\n") == 0
