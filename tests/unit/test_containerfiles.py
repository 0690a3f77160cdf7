"""The images' Python is compiled to bytecode when the image is built: their user cannot
write __pycache__ under /app, so a module left uncompiled is compiled again, from source,
by every cold start that imports it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("containerfile", ["Containerfile", "rtmp_ingest/Containerfile"])
def test_every_python_package_copied_in_is_compiled_after_it_is_copied(containerfile):
    copied: list[str] = []
    compiled: set[str] = set()
    for line in (ROOT / containerfile).read_text().splitlines():
        words = [] if line.startswith("#") else line.split()
        if words[:1] == ["COPY"] and (ROOT / words[1] / "__init__.py").exists():
            copied.append(words[1].rstrip("/"))
        if words[:1] == ["RUN"] and "compileall" in words:
            compiled.update(w.rstrip("/") for w in words if w in copied or w.rstrip("/") in copied)
        if words[:1] == ["USER"]:
            assert words[1] != "root"
    assert copied, "no Python package copied in: the test reads the wrong file"
    assert set(copied) <= compiled, f"{sorted(set(copied) - compiled)} left to compile at each start"
