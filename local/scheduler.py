"""The local scheduler: fires each scheduled function as a PingSource would.

Each catalog schedule is a cron expression (UTC). When it comes due, the function gets a
`dev.knative.sources.ping` CloudEvent in binary mode, delivered through the broker's
retry and dead-letter machinery, as a PingSource's sink delivery would be.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from local.broker import Broker
from shared_lib.catalog import SCHEDULE, FunctionSpec
from shared_lib.events.sending import encode
from shared_lib.events.types import EventType

log = logging.getLogger(__name__)
NAMESPACE = "streamfn"


def ping_source(spec: FunctionSpec) -> str:
    return f"/apis/v1/namespaces/{NAMESPACE}/pingsources/{spec.name}"


def ping_event(spec: FunctionSpec, *, at: datetime) -> tuple[dict[str, str], bytes]:
    return encode({"source": ping_source(spec), "type": EventType.PING, "time": at.isoformat()}), b"{}"


class Scheduler:
    """Publishes each due ping into the broker, addressed to its function (the broker holds
    a direct Trigger for every scheduled function), so a firing is as durable as any event."""

    def __init__(self, specs: list[FunctionSpec], broker: Broker) -> None:
        self.jobs = [spec for spec in specs if spec.kind == SCHEDULE]
        self.broker = broker
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def fire(self, name: str) -> None:
        """Fire one schedule now (tests, and `python -m local fire NAME`)."""
        for spec in self.jobs:
            if spec.name == name:
                self.broker.publish(*ping_event(spec, at=datetime.now(UTC)),
                                    subscriber=spec.name)
                return
        raise KeyError(name)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from croniter import croniter

        now = datetime.now(UTC)
        due = {spec.name: croniter(spec.schedule, now).get_next(datetime) for spec in self.jobs}
        while not self._stop.is_set():
            now = datetime.now(UTC)
            for spec in self.jobs:
                if due[spec.name] <= now:
                    log.info("firing %s", spec.name)
                    try:
                        self.broker.publish(*ping_event(spec, at=due[spec.name]),
                                            subscriber=spec.name)
                    except Exception:  # noqa: BLE001 - PostgreSQL restarting: next tick
                        log.exception("could not fire %s", spec.name)
                        continue
                    due[spec.name] = croniter(spec.schedule, now).get_next(datetime)
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
