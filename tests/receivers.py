"""A real HTTP receiver on 127.0.0.1 for tests that send out (webhook receivers, broker
subscribers, event sinks): it records every request and answers from a script."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

OK = (200, "application/json", '{"ok": true}')


class Receiver:
    """Records (headers, body, path with query) of each request; answers each (status,
    content type, body) of `answers` once, the last one for good."""

    def __init__(self, *answers: tuple[int, str, str], path: str = "/") -> None:
        self.answers = list(answers) or [OK]
        self.received: list[tuple[dict[str, str], bytes, str]] = []
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}{path}"

    @property
    def port(self) -> int:
        return self.server.server_port

    def event_ids(self) -> list[str | None]:
        """The CloudEvent id of each request received, in order."""
        return [headers.get("Ce-Id") for headers, _, _ in self.received]

    def _app(self, environ, start_response):
        request = Request(environ)
        self.received.append((dict(request.headers), request.get_data(), request.full_path))
        status, content_type, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return Response(body, status=status, content_type=content_type)(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
