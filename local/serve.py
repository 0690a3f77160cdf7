"""One function's server: gunicorn on a listening socket the runtime hands over.

The runtime (local/instances.py) binds each function's port itself and keeps the socket
while no process serves it, the way systemd's socket activation does: a connection that
arrives then waits in the kernel's accept queue, and the runtime starts this server with
the socket's descriptor in STREAMFN_LISTEN_FD. gunicorn accepts from it directly, so a warm function
has no proxy hop between nginx and its workers.

An async function (the catalog's `asgi`, e.g. Server-Sent Events) is served the way
functions-framework's --asgi mode serves it, by uvicorn workers under gunicorn, on the
same socket and with the same activity reports: an open stream counts as a request in
flight, so the function scales to zero only once nobody listens.

Each worker writes what the autoscaler needs (requests in flight, their peak since the
last report, the time of the last request) to `STREAMFN_STATS_DIR/<pid>` twice a second,
and only when something changed. Threads follow the catalog's concurrency, as
containerConcurrency does; more workers come and go by SIGTTIN/SIGTTOU from the runtime.

    python -m local.serve SOURCE TARGET
    python -m local.serve --asgi SOURCE TARGET
    python -m local.serve --app module:attribute
    python -m local.serve --asgi --app module:attribute
"""

from __future__ import annotations

import os
import sys
import threading
import time

REPORT_SECONDS = 0.5


class Activity:
    """Requests in flight in this worker, and when the last one came."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, str(os.getpid()))
        self._lock = threading.Lock()
        self.in_flight = self.peak = self.total = 0
        self.last = time.time()
        self._written: tuple = ()
        self._metrics = 0

    def begin(self, *_args) -> None:
        with self._lock:
            self.in_flight += 1
            self.total += 1
            self.peak = max(self.peak, self.in_flight)
            self.last = time.time()

    def end(self, *_args) -> None:
        with self._lock:
            self.in_flight -= 1
            self.last = time.time()

    def report(self) -> None:
        with self._lock:
            state = (self.in_flight, self.peak, self.total, round(self.last, 3))
            self.peak = self.in_flight
        if state != self._written:
            _write(self.path, " ".join(str(value) for value in state))
            self._written = state
        self.report_metrics()

    def report_metrics(self) -> None:
        """The handler pipeline's request metrics (shared_lib/observability/metrics.py), for
        the runtime's /metrics, when they changed."""
        directory = os.environ.get("STREAMFN_METRICS_DIR")
        measured = sys.modules.get("shared_lib.observability.metrics")
        if not directory or measured is None or measured.REQUESTS.version == self._metrics:
            return
        import json

        self._metrics = measured.REQUESTS.version
        _write(os.path.join(directory, f"{os.getpid()}.json"), json.dumps(measured.REQUESTS.snapshot()))

    def run(self) -> None:
        while True:
            time.sleep(REPORT_SECONDS)
            try:
                self.report()
            except OSError:
                pass  # the runtime removed the directory: it is stopping us


def _write(path: str, text: str) -> None:
    partial = f"{path}.part"
    with open(partial, "w") as out:
        out.write(text)
    os.replace(partial, path)


def read_activity(path: str) -> tuple[int, int, int, float] | None:
    """(in flight, peak, total, last request time) from a worker's report."""
    try:
        with open(path) as report:
            in_flight, peak, total, last = report.read().split()
        return int(in_flight), int(peak), int(total), float(last)
    except (OSError, ValueError):
        return None


# This worker's activity, once gunicorn has started it.
activity: dict[str, Activity] = {}


class CountedASGI:
    """An ASGI app whose HTTP requests (an open stream included) count in the activity."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        counter = activity.get("worker") if scope["type"] == "http" else None
        if counter is None:
            await self.app(scope, receive, send)
            return
        counter.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            counter.end()


def uvicorn_worker():
    """uvicorn's gunicorn worker, giving open streams 5 s to end when it stops (their clients
    reconnect elsewhere). The autoscaler adds workers at 70% of THREADS requests a worker,
    but the kernel, not the runtime, deals new connections to workers: a worker answers 503
    only past twice THREADS connections, and never under the 1,000 a threaded worker holds
    (the front door keeps up to 32 idle ones a worker of its own), a guard against running
    out of memory or descriptors, not the scaling target."""
    from uvicorn_worker import UvicornWorker

    class Worker(UvicornWorker):
        CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS,
                         "limit_concurrency": max(1000, 2 * int(os.environ.get("THREADS", 1000))),
                         "timeout_graceful_shutdown": 5,
                         # No function speaks WebSocket: uvicorn's "auto" would import a
                         # WebSocket stack at every start (26 ms) to refuse upgrades anyway.
                         "ws": "none"}

    return Worker


def quiet_logger():
    """gunicorn's logger, minus the access line it formatted for every request and then
    dropped (no handler takes `gunicorn.access` here: each request's line is the function's
    own). gunicorn formats it whenever a logging configuration is given, as ours is."""
    from gunicorn.glogging import Logger

    class Quiet(Logger):
        def access(self, resp, req, environ, request_time) -> None:
            if self.access_log.handlers:
                super().access(resp, req, environ, request_time)

    return Quiet


def options(*, asgi: bool = False) -> dict:
    from shared_lib.observability import logs

    env = os.environ
    stats = env.get("STREAMFN_STATS_DIR")

    def post_worker_init(worker) -> None:
        if stats:
            activity["worker"] = Activity(stats)
            threading.Thread(target=activity["worker"].run, name="activity", daemon=True).start()

    def pre_request(worker, req) -> None:
        if "worker" in activity:
            activity["worker"].begin()

    def post_request(worker, req, environ, resp) -> None:
        if "worker" in activity:
            activity["worker"].end()

    return {
        "bind": [f"fd://{env['STREAMFN_LISTEN_FD']}"],
        "workers": int(env.get("WORKERS", 1)),
        "threads": int(env.get("THREADS", 8)),
        "worker_class": uvicorn_worker() if asgi else "gthread",
        # Longer than the front door keeps an idle upstream connection, so nginx, never
        # gunicorn, closes it: a request is never sent on a connection being closed.
        "keepalive": int(env.get("STREAMFN_UPSTREAM_KEEPALIVE_SECONDS", 75)),
        # gthread workers heartbeat from their main loop, busy threads or not.
        "timeout": 60,
        "graceful_timeout": int(env.get("STREAMFN_GRACEFUL_SECONDS", 30)),
        "loglevel": env.get("GUNICORN_LOG_LEVEL", "warning"),
        "logconfig_dict": logs.gunicorn_config(env.get("K_SERVICE", "function")),
        "accesslog": None,
        "logger_class": quiet_logger(),
        "proc_name": f"streamfn-{env.get('K_SERVICE', 'function')}",
        "post_worker_init": post_worker_init,
        "pre_request": pre_request,
        "post_request": post_request,
        "backlog": 1024,
    }


def load_app(argv: list[str]):
    """The app: a catalog function (SOURCE TARGET, WSGI), an async one (--asgi SOURCE
    TARGET), or `[--asgi] --app module:attribute` (WSGI, or ASGI with --asgi)."""
    if argv[0] == "--asgi" and argv[1] == "--app":
        return CountedASGI(load_app(argv[1:]))
    if argv[0] == "--app":
        import importlib

        module, _, attribute = argv[1].partition(":")
        return getattr(importlib.import_module(module), attribute)
    if argv[0] == "--asgi":
        from functions_framework.aio import create_asgi_app

        return CountedASGI(create_asgi_app(argv[2], argv[1]))
    import functions_framework

    return functions_framework.create_app(argv[1], argv[0])


def main(argv: list[str]) -> int:
    import gunicorn.app.base

    class Application(gunicorn.app.base.BaseApplication):
        def load_config(self) -> None:
            for key, value in options(asgi=argv[0] == "--asgi").items():
                self.cfg.set(key, value)

        def load(self):
            # In the worker, after fork: the arbiter never imports the function.
            return load_app(argv)

    Application().run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
