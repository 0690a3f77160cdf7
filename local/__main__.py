"""`python -m local dev` runs the platform until Ctrl-C; see README for the other commands.

    dev            start everything
    dead-letters   list the dead-letter store
    replay ID      send a dead letter back through the broker ingress
    trace ID       the log lines of one trace, from every process, in time order
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading

from local.platform import Platform, lock
from local.settings import Ports, RuntimeSettings, dev_profile


def dev() -> int:
    profile = dev_profile()
    ports = Ports.from_environment()
    if not lock(profile.home / "dev.pid"):
        print(f"streamfn is already running (pid {(profile.home / 'dev.pid').read_text()}); "
              f"stop it with Ctrl-C in its terminal first.", file=sys.stderr)
        return 1
    from local.web import build

    settings = RuntimeSettings()
    environment, tls = settings.environment, settings.tls
    platform = Platform(profile, ports, site=build(), environment=environment, tls=tls)
    scheme = "https" if tls else "http"
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        print("starting PostgreSQL, Redis, the functions' runtime and nginx…", flush=True)
        platform.start()
        print(
            "\n"
            f"streamfn is running ({environment})\n"
            f"  web app   {scheme}://{ports.host}:{ports.api}/\n"
            f"  API       {scheme}://{ports.host}:{ports.api}/api   (OpenAPI: /api/openapi.json)\n"
            f"  RTMP      rtmp://{ports.host}:{ports.rtmp}/live\n"
            f"  RTMPS     rtmps://{ports.host}:{ports.rtmps}/live\n"
            f"  HLS/DASH  {platform.env['STREAMFN_PUBLIC_HLS_BASE_URL']}\n"
            f"  internal  http://127.0.0.1:{ports.internal}   (broker ingress, internal functions)\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        stopping.wait()
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"streamfn could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        print("\nstopping…", flush=True)
        platform.stop()
        platform.stop_servers()
        (profile.home / "dev.pid").unlink(missing_ok=True)
    return 0


def _dev_settings() -> None:
    from local.platform import reset_caches
    from local.settings import function_env

    os.environ.update(function_env(dev_profile(), Ports.from_environment(), environment="development"))
    reset_caches()


def dead_letters() -> int:
    from shared_lib.db import UnitOfWork
    from shared_lib.events import dead_letters as letters

    _dev_settings()
    with UnitOfWork() as uow:
        for letter in uow.dead_letters.list():
            print(json.dumps(letters.view(letter)))
    return 0


def replay(letter_id: str) -> int:
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import StreamfnError
    from shared_lib.events import dead_letters as letters

    _dev_settings()
    try:
        with UnitOfWork() as uow:
            letters.replay(uow, int(letter_id))
            uow.commit()
    except (ValueError, StreamfnError) as error:
        print(f"dead letter {letter_id}: {error}", file=sys.stderr)
        return 1
    print(f"replayed {letter_id}")
    return 0


def trace(trace_id: str) -> int:
    from local import trace as traces

    return traces.main(dev_profile().home, trace_id)


def main(argv: list[str]) -> int:
    from shared_lib.observability import logs

    logs.configure("runtime")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    commands = {"dev": dev, "dead-letters": dead_letters, "replay": replay, "trace": trace}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
