"""The platform's metrics in Prometheus text format, at http://127.0.0.1:<internal>/metrics
(DESIGN.md §12): never on the public port.

Once a second the exporter writes the page that the front door's internal server serves as
a file: the functions' requests (every worker's snapshot, shared_lib/observability/metrics.py,
plus what stopped workers had counted: a counter never goes back when a function scales to
zero), each function's cold starts, restarts and running instances (the runtime's), the
broker's events accepted, delivered, retried and dead-lettered per trigger, and, read from
the truth every few seconds, live streams, viewers now and chat messages.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from shared_lib.observability.metrics import Family, exposition, merge, request_families

log = logging.getLogger("streamfn.runtime")
WRITE_SECONDS = 1.0
GAUGE_SECONDS = 5.0
BROKER_OUTCOMES = {
    "accepted": "Events routed to a trigger's subscriber.",
    "delivered": "Events a subscriber accepted.",
    "retried": "Failed delivery attempts that will be tried again.",
    "dead_lettered": "Events given up on and kept in the dead-letter store.",
}


class Exporter:
    def __init__(self, runtime: Any, broker: Any, path: Path) -> None:
        self.runtime, self.broker, self.path = runtime, broker, path
        self._retired: dict[str, list[dict]] = {}  # function -> snapshots of ended workers
        self._live: dict[Path, dict] = {}
        self._gauges: list[Family] = []
        self._gauged = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- collecting ---------------------------------------------------------------------

    def requests(self) -> dict:
        snapshots: list[dict] = []
        for instance in list(self.runtime.instances.values()):
            directory = instance.metrics_dir
            for path in directory.glob("*.json") if directory.is_dir() else ():
                pid = int(path.stem) if path.stem.isdigit() else 0
                try:
                    self._live[path] = json.loads(path.read_text())
                except (OSError, ValueError):
                    pass  # being replaced: the last one read stands
                if not pid or not os.path.exists(f"/proc/{pid}"):  # ended: keep what it counted
                    self._retired.setdefault(instance.name, []).append(self._live.pop(path, {}))
                    self._retired[instance.name] = [merge(self._retired[instance.name])]
                    path.unlink(missing_ok=True)
            snapshots += self._retired.get(instance.name, [])
        return merge([*snapshots, *self._live.values()])

    def instances(self) -> list[Family]:
        cold = Family("streamfn_cold_starts_total", "counter",
                      "Starts of a function from zero instances.")
        restarts = Family("streamfn_restarts_total", "counter",
                          "Restarts of a function whose process ended unasked.")
        running = Family("streamfn_instances", "gauge",
                         "Workers running a function now (0: scaled to zero).")
        for name, status in sorted(self.runtime.status().items()):
            cold.add(status["cold_starts"], function=name)
            restarts.add(status["restarts"], function=name)
            running.add(status["workers"] if status["running"] else 0, function=name)
        return [cold, restarts, running]

    def events(self) -> list[Family]:
        families = []
        counts = dict(self.broker.counts) if self.broker is not None else {}
        triggers = sorted({t.name for t in self.broker.triggers}) if self.broker is not None else []
        for outcome, text in BROKER_OUTCOMES.items():
            family = Family(f"streamfn_events_{outcome}_total", "counter", text)
            for trigger in triggers:
                family.add(counts.get((outcome, trigger), 0), trigger=trigger)
            families.append(family)
        return families

    def gauges(self) -> list[Family]:
        """Live streams, viewers now, chat messages: from PostgreSQL, every few seconds."""
        if time.monotonic() - self._gauged < GAUGE_SECONDS and self._gauges:
            return self._gauges
        from sqlalchemy import text

        from shared_lib.db import get_engine

        try:
            with get_engine().connect() as connection:
                live, viewers = connection.execute(text(
                    "SELECT count(*), coalesce(sum(viewer_count), 0) FROM live_streams "
                    "WHERE status = 'live'")).one()
                # Messages ever sent: the sequence's high-water mark, one index probe.
                messages = connection.execute(text(
                    "SELECT coalesce(max(id), 0) FROM chat_messages")).scalar()
        except Exception as exc:  # noqa: BLE001 - the page goes on without them
            log.warning("metrics: the database did not answer: %s", exc)
            return self._gauges
        made = [Family("streamfn_live_streams", "gauge", "Streams live now."),
                Family("streamfn_viewers", "gauge", "Viewers watching live streams now."),
                Family("streamfn_chat_messages_total", "counter", "Chat messages ever sent.")]
        for family, value in zip(made, (live, viewers, messages), strict=True):
            family.add(value)
        self._gauges, self._gauged = made, time.monotonic()
        return made

    def render(self) -> str:
        return exposition([*request_families(self.requests()), *self.instances(), *self.events(),
                           *self.gauges()])

    # --- writing ------------------------------------------------------------------------

    def write(self) -> None:
        partial = self.path.with_suffix(".part")
        partial.write_text(self.render())
        partial.chmod(0o644)  # the front door's workers (nobody) read it
        os.replace(partial, self.path)

    def start(self) -> None:
        self.write()
        self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(WRITE_SECONDS):
            try:
                self.write()
            except Exception:  # noqa: BLE001 - metrics never stop the platform
                log.exception("metrics: could not write the page")

    def stop(self) -> None:
        self._stop.set()
