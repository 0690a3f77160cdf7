"""The one-machine broker, durable as Knative Eventing's channel-backed brokers are.

Its ingress (local/ingress.py) stores each accepted CloudEvent in PostgreSQL before it
answers 202. The dispatcher here, a thread of the runtime, routes each event
to every Trigger whose `type` filter matches and delivers it in binary mode. A delivery
succeeds on a 2xx with an empty body, or with a CloudEvent as the body (a reply, which is
published in turn). A 5xx, a 404/408/409/429, a network error, or a 2xx with any other
body (functions-framework's HTML "OK", say) is retried with exponential backoff; after the
retries, or at once for other 4xx, the event goes to the dead-letter store, where an
operator can list and replay it. Accepted events survive any stop of the platform,
kill -9 included: delivery resumes when it starts again.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from local.event_store import EventStore, Leased
from local.triggers import Delivery, Response, Trigger, outcome

log = logging.getLogger("streamfn.broker")

WAKEUP_ENV = "STREAMFN_BROKER_WAKEUP"
QUEUE_ENV = "STREAMFN_BROKER_QUEUE"


class DeadLetterStore:
    """Dead letters in PostgreSQL (the same table the cluster's dead-letter sink fills)."""

    def put(self, *, subscriber: str, headers: dict, body: bytes, reason: str, attempts: int) -> None:
        from shared_lib.db import UnitOfWork
        from shared_lib.events import dead_letters as dead_letters

        with UnitOfWork() as uow:
            dead_letters.store(uow, subscriber=subscriber, headers=headers, body=body,
                               reason=reason, attempts=attempts)
            uow.commit()


def to_binary(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    """Binary-mode headers and body for an event received in either mode."""
    fast = _binary_as_is(headers, body)
    if fast is not None:
        return fast, body
    from cloudevents.http import from_http
    from cloudevents.http import to_binary as encode

    event = from_http(headers, body)
    out_headers, out_body = encode(event)
    return {k.lower(): v for k, v in out_headers.items()}, out_body or b""


def _binary_as_is(headers: dict[str, str], body: bytes) -> dict[str, str] | None:
    """The attributes of a CloudEvents 1.0 binary-mode event with JSON (or no) data, as the
    SDK would give them (the `ce-` headers and the content type; the time it was received
    when it has none), without the SDK's decoding and encoding of the whole event: what
    every event of this platform's own senders is. None for anything else (structured mode,
    another spec version, other data), which the SDK handles; ValueError when the data is
    not the JSON its content type says."""
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "")
    if (lowered.get("ce-specversion") != "1.0" or not lowered.get("ce-type")
            or not lowered.get("ce-id") or not lowered.get("ce-source")
            or not (content_type.startswith("application/json") or (not content_type and not body))):
        return None
    if body:
        json.loads(body)  # ValueError: JSON it says it is, and is not (the SDK let it through)
    attributes = {name: value for name, value in lowered.items() if name.startswith("ce-")}
    if content_type:
        attributes["content-type"] = content_type
    attributes.setdefault("ce-time", datetime.now(UTC).isoformat())
    return attributes


def wake(address: str | None) -> None:
    """Tell the dispatcher there is news (a lost datagram only costs its poll interval)."""
    if not address:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(b"1", "\0" + address)
        except OSError:
            pass


class Broker:
    def __init__(
        self,
        triggers: list[Trigger],
        *,
        delivery: Delivery = Delivery(),
        store: EventStore | None = None,
        dead_letters: DeadLetterStore | None = None,
        workers: int = 8,
        wakeup: str | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.triggers = triggers
        self.delivery = delivery
        self.store = store or EventStore()
        self.dead_letters = dead_letters or DeadLetterStore()
        self.workers, self.wakeup, self.poll_seconds = workers, wakeup, poll_seconds
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._active = 0
        self._lock = threading.Lock()
        self._inbox: socket.socket | None = None
        # (outcome, trigger) -> events: accepted (routed to it), delivered, retried,
        # dead_lettered; read by local/metrics.py.
        self.counts: Counter[tuple[str, str]] = Counter()

    def subscribers_of(self, event_type: str) -> list[str]:
        return [t.name for t in list(self.triggers) if t.matches(event_type)]

    def publish(self, headers: dict[str, str], body: bytes, *, subscriber: str | None = None) -> int:
        """Store an already-validated binary-mode event for delivery; its queue id."""
        event_id = self.store.put(headers, body, subscriber=subscriber)
        wake(self.wakeup)
        return event_id

    # --- delivery -----------------------------------------------------------------------

    def attempt(self, leased: Leased) -> bool:
        """One delivery attempt; the store learns whether it is done or when to retry.
        True when delivered."""
        trigger = next((t for t in list(self.triggers) if t.name == leased.subscriber), None)
        if trigger is None:
            log.warning("dropping a delivery to %s: no such subscriber any more", leased.subscriber)
            self.store.done(leased.id)
            return False
        attempts = leased.attempts + 1
        try:
            response = trigger.send(leased.headers, leased.body)
        except (OSError, httpx.TransportError) as exc:
            delivered, retryable, reason = False, True, f"network error: {exc}"
        except Exception as exc:  # noqa: BLE001 - a broken subscriber is a failed attempt
            delivered, retryable, reason = False, True, f"{type(exc).__name__}: {exc}"
        else:
            delivered, retryable, reason = outcome(response)
            if delivered:
                self._publish_reply(response)
                self.store.done(leased.id)
                self._count("delivered", trigger.name)
                return True
        if retryable and attempts <= self.delivery.retry:
            delay = self.delivery.backoff_delay * 2 ** (attempts - 1)
            self.store.retry(leased.id, attempts=attempts, delay=delay, error=reason)
            self._count("retried", trigger.name)
            return False
        log.warning("dead-lettering %s %s for %s: %s", leased.headers.get("ce-type"),
                    leased.headers.get("ce-id"), trigger.name, reason)
        self.dead_letters.put(subscriber=trigger.name, headers=leased.headers, body=leased.body,
                              reason=reason, attempts=attempts)
        self.store.done(leased.id)
        self._count("dead_lettered", trigger.name)
        return False

    def _accepted(self, trigger: str) -> None:
        self._count("accepted", trigger)

    def _count(self, outcome: str, trigger: str) -> None:
        with self._lock:
            self.counts[outcome, trigger] += 1

    def _publish_reply(self, response: Response) -> None:
        _, headers, body = response
        if body or any(k.lower() == "ce-id" for k in headers):
            try:
                self.publish(*to_binary(headers, body))
            except Exception:  # noqa: BLE001 - a malformed reply is the subscriber's bug
                log.warning("ignored a reply that is not a valid CloudEvent")

    def pump(self) -> int:
        """Route and deliver what is due, in this thread; the number of attempts made."""
        self.store.route(self.subscribers_of, accepted=self._accepted)
        leased = self.store.lease(self.workers)
        for delivery in leased:
            self.attempt(delivery)
        return len(leased)

    # --- the dispatcher thread ----------------------------------------------------------

    def start(self) -> None:
        released = self.store.release_all()
        if released:
            log.info("resuming %d deliveries a stopped platform had in flight", released)
        if self.wakeup:
            self._inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._inbox.bind("\0" + self.wakeup)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="delivery")
        self._thread = threading.Thread(target=self._loop, name="broker", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.store.route(self.subscribers_of, accepted=self._accepted)
                with self._lock:
                    free = self.workers - self._active
                for delivery in self.store.lease(free):
                    with self._lock:
                        self._active += 1
                    self._pool.submit(self._run, delivery)
                due = self.store.next_due()
            except Exception:  # noqa: BLE001 - PostgreSQL restarting: try again shortly
                log.exception("the broker could not reach its store")
                due = None
            self._wait(self.poll_seconds if due is None else min(max(due, 0.01), self.poll_seconds))

    def _wait(self, seconds: float) -> None:
        if self._inbox is None:
            self._stop.wait(seconds)
            return
        self._inbox.settimeout(seconds)
        try:
            while True:  # take every pending wake-up at once
                self._inbox.recv(16)
                self._inbox.settimeout(0)
        except OSError:
            pass

    def _run(self, delivery: Leased) -> None:
        try:
            self.attempt(delivery)
        except Exception:  # noqa: BLE001 - the lease is released at the next start
            log.exception("delivery to %s failed", delivery.subscriber)
        finally:
            with self._lock:
                self._active -= 1
            wake(self.wakeup)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every accepted event was delivered or dead-lettered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._thread is None:
                self.pump()
            if self.store.pending() == 0:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self._stop.set()
        wake(self.wakeup)
        if self._thread:
            self._thread.join(10)
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=False)
        if self._inbox:
            self._inbox.close()
