"""One JSON object a line, with the trace, and nothing that looks like a credential."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import time

from shared_lib.observability import trace
from shared_lib.observability.logs import Batched, JsonFormatter, gunicorn_config, mask

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def record(message: str, *args, **extra) -> logging.LogRecord:
    made = logging.LogRecord("streamfn.test", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_request_line_has_the_fields_of_design_12():
    with trace.span(None) as span:
        line = json.loads(JsonFormatter("follow").format(record(
            "PUT %s 200", "/api/users/{username}/follow", method="PUT",
            route="/api/users/{username}/follow", status=200, duration_ms=3.2)))
    assert line["service"] == "follow" and line["level"] == "info"
    assert line["message"] == "PUT /api/users/{username}/follow 200"
    assert line["trace_id"] == span.trace_id and line["span_id"] == span.span_id
    assert (line["method"], line["route"], line["status"], line["duration_ms"]) == (
        "PUT", "/api/users/{username}/follow", 200, 3.2)
    assert line["time"].endswith("+00:00")


def test_a_line_outside_any_trace_has_no_trace_id():
    assert "trace_id" not in json.loads(JsonFormatter("runtime").format(record("started")))


def test_tokens_and_bearer_credentials_are_masked_even_in_tracebacks():
    assert mask(f"token {JWT} here") == "token [redacted] here"
    assert mask("Authorization: Bearer abcdefgh12345678") == "Authorization: [redacted]"
    try:
        raise ValueError(f"bad {JWT}")
    except ValueError:
        import sys

        failed = record("failed")
        failed.exc_info = sys.exc_info()
    line = JsonFormatter("x").format(failed)
    assert JWT not in line and "[redacted]" in json.loads(line)["error"]


def test_gunicorn_writes_its_own_lines_as_json_too():
    config = gunicorn_config("follow")
    logging.config.dictConfig(config)  # what gunicorn does with it
    try:
        handler = logging.getLogger("gunicorn.error").handlers[0]
        assert isinstance(handler.formatter, JsonFormatter)
        assert json.loads(handler.format(record("Booting worker")))["service"] == "follow"
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger("gunicorn.error").handlers.clear()



def batched(**settings) -> tuple[io.StringIO, logging.Logger]:
    stream = io.StringIO()
    handler = Batched(stream, **settings)
    handler.setFormatter(JsonFormatter("follow"))
    logger = logging.getLogger(f"streamfn.test.{id(stream)}")
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    return stream, logger


def messages(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["message"] for line in stream.getvalue().splitlines()]


def test_request_lines_are_written_together_within_the_flush_interval():
    stream, logger = batched(flush_seconds=0.05)
    logger.info("GET /api/streams 200")
    logger.info("GET /api/streams/{id} 200")
    assert messages(stream) == []  # not one write a line
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert messages(stream) == ["GET /api/streams 200", "GET /api/streams/{id} 200"]


def test_a_warning_is_written_at_once_after_the_lines_before_it():
    stream, logger = batched(flush_seconds=60)
    logger.info("GET /api/streams 200")
    logger.error("list-streams failed")
    assert messages(stream) == ["GET /api/streams 200", "list-streams failed"]


def test_a_full_batch_is_written_without_waiting_and_the_rest_on_flush():
    stream, logger = batched(flush_seconds=60, max_lines=3)
    for n in range(4):
        logger.info("line %d", n)
    assert messages(stream) == ["line 0", "line 1", "line 2"]
    logger.handlers[0].flush()  # what exit does
    assert messages(stream)[-1] == "line 3"
