"""`python -m local trace`: one trace's lines from every log, in time order."""

from __future__ import annotations

import json

from local import trace

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def write(path, *lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((json.dumps(line) if isinstance(line, dict) else line) + "\n"
                            for line in lines))


def test_the_lines_of_one_trace_from_every_log_oldest_first(tmp_path, capsys):
    write(tmp_path / "logs" / "follow.log",
          {"time": "2026-01-01T00:00:00.200+00:00", "service": "follow", "trace_id": TRACE,
           "message": "PUT /api/users/{username}/follow 200", "duration_ms": 4.5, "level": "info"},
          {"time": "2026-01-01T00:00:00.100+00:00", "service": "follow", "trace_id": "f" * 32,
           "message": "another trace"},
          "[2026-01-01 00:00:00] not JSON " + TRACE)
    write(tmp_path / "frontdoor" / "logs" / "access.log",
          {"time": "2026-01-01T00:00:00+00:00", "service": "front-door", "trace_id": TRACE,
           "message": "PUT /api/users/x/follow 200"})
    write(tmp_path / "logs" / "webhooks-user-followed.log",
          {"time": "2026-01-01T00:00:00.900+00:00", "service": "webhooks-user-followed",
           "trace_id": TRACE, "message": "boom", "level": "error"})
    assert trace.main(tmp_path, TRACE.upper()) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out] == ["front-door", "follow", "webhooks-user-followed"]
    assert "(4.5 ms)" in out[1] and "ERROR boom" in out[2]


def test_an_unknown_or_malformed_trace_id_says_so(tmp_path, capsys):
    assert trace.main(tmp_path, "0" * 31 + "1") == 1
    assert trace.main(tmp_path, "not-a-trace") == 2
    assert "not a trace id" in capsys.readouterr().out
