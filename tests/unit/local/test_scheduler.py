"""The local scheduler fires PingSource events at the scheduled functions."""

from __future__ import annotations

from local.broker import Broker
from local.scheduler import Scheduler
from local.triggers import Delivery, Trigger
from shared_lib.catalog import SCHEDULE, FunctionSpec
from tests.unit.fakes import FakeEventStore


class Recorder:
    def __init__(self):
        self.received = []

    def __call__(self, headers, body):
        self.received.append((headers, body))
        return 202, {}, b""


def test_fire_delivers_a_ping_event_to_the_named_function():
    spec = FunctionSpec(name="recompute", target="recompute", module="m", kind=SCHEDULE,
                        event_type="dev.knative.sources.ping", schedule="*/10 * * * *")
    recorder = Recorder()
    broker = Broker([Trigger("recompute", None, recorder, direct=True)],
                    delivery=Delivery(retry=0), store=FakeEventStore())
    scheduler = Scheduler([spec], broker)
    scheduler.fire("recompute")
    assert broker.drain(5)
    [(headers, body)] = recorder.received
    assert headers["ce-type"] == "dev.knative.sources.ping"
    assert headers["ce-source"] == "/apis/v1/namespaces/streamfn/pingsources/recompute"
    assert body == b"{}"


def test_only_scheduled_functions_become_jobs():
    http = FunctionSpec(name="h", target="h", module="m", kind="http", method="GET", path="/x")
    scheduler = Scheduler([http], Broker([], store=FakeEventStore()))
    assert scheduler.jobs == []
