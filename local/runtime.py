"""The runtime's loop: activates functions, autoscales them, and restarts what died.

One thread watches the listening socket of every function that has no process (a
connection waiting there starts one: a cold start), and every half second reaps the
processes that ended, restarts those the platform needs (a min-scale function, a server),
and lets each running function's autoscaler decide on its workers. What it restarted and
why goes to the log.
"""

from __future__ import annotations

import logging
import selectors
import threading
import time

from local.instances import Instance
from local.processes import Supervised

log = logging.getLogger("streamfn.runtime")

TICK_SECONDS = 0.5


class Runtime:
    def __init__(self, instances: list[Instance], servers: list[Supervised],
                 tasks: list = ()) -> None:
        self.instances = {instance.name: instance for instance in instances}
        self.servers = servers
        self.tasks = list(tasks)  # run every tick (each decides itself whether it is due)
        self._selector = selectors.DefaultSelector()
        self._watched: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the min-scale functions, then the loop."""
        for instance in self.instances.values():
            if instance.policy.min_scale > 0:
                instance.start("min-scale")
        self._thread = threading.Thread(target=self._loop, name="runtime", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        last_tick = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                self._watch()
            for key, _ in self._selector.select(timeout=TICK_SECONDS / 2):
                with self._lock:
                    instance = self.instances[key.data]
                    if not instance.running and not self._stop.is_set():
                        self._unwatch(instance)
                        instance.start("cold")
            now = time.monotonic()
            if now - last_tick >= TICK_SECONDS:
                with self._lock:
                    self._tick(now - last_tick)
                last_tick = now

    def _watch(self) -> None:
        now = time.monotonic()
        for instance in self.instances.values():
            waiting = not instance.running and now >= instance.retry_at
            if waiting and instance.name not in self._watched:
                self._selector.register(instance.listener, selectors.EVENT_READ, instance.name)
                self._watched.add(instance.name)
            elif not waiting and instance.name in self._watched:
                self._unwatch(instance)

    def _unwatch(self, instance: Instance) -> None:
        if instance.name in self._watched:
            self._selector.unregister(instance.listener)
            self._watched.discard(instance.name)

    def _tick(self, elapsed: float) -> None:
        for instance in self.instances.values():
            why = instance.reap()
            if why is not None:
                log.warning("%s %s; %s", instance.name, why,
                            "starting it again" if instance.policy.min_scale else
                            "the next request starts it again")
            if (not instance.running and instance.policy.min_scale > 0
                    and time.monotonic() >= instance.retry_at and not self._stop.is_set()):
                self._unwatch(instance)
                instance.start("restart")
            if instance.running:
                instance.autoscale(instance.load(elapsed))
        for server in self.servers:
            if not self._stop.is_set():
                server.check()
        for task in self.tasks:
            try:
                task()
            except Exception:  # noqa: BLE001 - a failing task must not stop the runtime
                log.exception("a runtime task failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        with self._lock:
            for instance in self.instances.values():
                instance.stop("the platform is stopping", grace=10)
                # Connections still waiting to be accepted are reset, not left hanging: a
                # sender blocked on one (the broker) fails at once and retries after restart.
                instance.listener.close()
        self._selector.close()

    def status(self) -> dict[str, dict]:
        """Each function's processes and counters (tests, and the runtime's own log)."""
        with self._lock:
            return {name: {"running": i.running, "workers": i.workers, "cold_starts": i.cold_starts,
                           "restarts": i.restarts, "pid": i.process.pid if i.process else None}
                    for name, i in self.instances.items()}
