"""The rtmp-ingest callback sidecar: `python -m rtmp_ingest.sidecar` serves nginx-rtmp's
callbacks (rtmp_ingest/sidecar/callbacks.py) under gunicorn and runs the reporter;
`python -m rtmp_ingest.sidecar render TEMPLATE OUT` renders nginx.conf from the environment.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from rtmp_ingest import playlists
from rtmp_ingest.ladder import DEFAULT_LADDER, ladder_text, parse_ladder
from rtmp_ingest.sidecar.callbacks import Sidecar
from rtmp_ingest.sidecar.config import Config, render_nginx_conf, stat_token
from rtmp_ingest.sidecar.reporter import Reporter

log = logging.getLogger("rtmp-ingest")


def main(argv: list[str]) -> int:
    from shared_lib.observability import logs

    logs.configure("rtmp-ingest")
    if argv[:1] == ["render"]:
        template, out = Path(argv[1]), Path(argv[2])
        values = {**os.environ, "STAT_TOKEN": stat_token(os.environ["STREAMFN_INGEST_SECRET"]),
                  **playlists.template_values(os.environ.get("PLAYLISTS_UPSTREAM", "127.0.0.1:8085")),
                  # Unset: the default ladder; empty: none. A malformed one stops the pod here.
                  "ABR_LADDER": ladder_text(parse_ladder(os.environ.get("STREAMFN_ABR_LADDER",
                                                                        DEFAULT_LADDER)))}
        out.write_text(render_nginx_conf(template.read_text(), values))
        out.chmod(0o600)
        return 0
    serve(Config())  # type: ignore[call-arg]  # pydantic-settings reads the environment
    return 0


def serve(config: Config) -> None:
    """The sidecar under gunicorn: one worker (the event queue and the reporter live in
    it), threads for nginx's concurrent callbacks."""
    import gunicorn.app.base

    def post_worker_init(worker) -> None:
        threading.Thread(target=Reporter(config).run_forever, name="reporter", daemon=True).start()
        log.info("rtmp-ingest sidecar on %s:%s for pod %s", config.host, config.port, config.pod)

    class Application(gunicorn.app.base.BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": [f"{config.host}:{config.port}"], "workers": 1,
                               "worker_class": "gthread", "threads": 16, "timeout": 60,
                               "graceful_timeout": 15, "loglevel": "warning",
                               "post_worker_init": post_worker_init,
                               "proc_name": "streamfn-ingest-sidecar"}.items():
                self.cfg.set(key, value)

        def load(self):
            return Sidecar(config)

    Application().run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
