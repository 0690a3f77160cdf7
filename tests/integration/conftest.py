"""Integration tests run against the real PostgreSQL and Redis of the `servers` fixture."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.functions_client import FunctionClient
from tests.receivers import Receiver


@pytest.fixture(autouse=True)
def _servers(servers, monkeypatch):
    """The real servers, and no broker: an e2e platform started earlier in the session set
    K_SINK, and integration tests must not depend on it (a test that wants a sink sets one)."""
    from shared_lib.config import get_settings

    if "K_SINK" in os.environ:
        monkeypatch.delenv("K_SINK")
        get_settings.cache_clear()
    return servers


@pytest.fixture
def call():
    """Call a catalog function through functions-framework's own app, as its pod would."""
    return FunctionClient()


SECONDS = 6


@pytest.fixture(scope="module")
def raw_recording(tmp_path_factory) -> Path:
    """What nginx-rtmp records: FLV with H.264 and AAC, a keyframe a second."""
    path = tmp_path_factory.mktemp("raw") / "source.flv"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi",
         "-i", f"testsrc2=size=320x240:rate=30:duration={SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-f", "flv", str(path)],
        check=True, timeout=60,
    )
    return path


@pytest.fixture
def media(tmp_path, monkeypatch) -> Path:
    from shared_lib.config import get_settings

    (tmp_path / "recordings").mkdir()
    (tmp_path / "replays").mkdir()
    monkeypatch.setenv("STREAMFN_MEDIA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def receivers():
    """Make real HTTP receivers (tests/receivers.py), closed after the test."""
    made: list[Receiver] = []

    def make(*answers: tuple[int, str, str], path: str = "/") -> Receiver:
        made.append(Receiver(*answers, path=path))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()
