"""The autoscaler's decisions for one function, with a fake process and made-up loads."""

from __future__ import annotations

import signal
import socket
import time

import pytest

from local.instances import Instance, Load, Policy, bind


class FakeProcess:
    pid = 999_999_999

    def __init__(self):
        self.signals = []

    def send_signal(self, signum):
        self.signals.append(signum)

    def poll(self):
        return None


@pytest.fixture
def instance(tmp_path):
    listener = socket.socket()
    made = Instance("f", ["true"], {}, Policy(min_scale=0, max_scale=4, concurrency=10,
                                              idle_seconds=60, scale_down_seconds=0.0),
                    listener, tmp_path, tmp_path / "f.log", cores=2)
    made.process, made.workers, made.started_at = FakeProcess(), 1, time.time()
    yield made
    listener.close()


def settle(instance, load, ticks=3):
    for _ in range(ticks):
        instance.autoscale(load)
        time.sleep(0.55)


def test_in_flight_over_the_target_adds_a_worker_up_to_the_cores(instance):
    busy = Load(in_flight=20, peak=20, last_request=time.time(), cpu_per_worker=0.3)
    settle(instance, busy, ticks=6)
    assert instance.process.signals.count(signal.SIGTTIN) == 1  # 2 cores, max-scale 4
    assert instance.workers == 2


def test_one_saturated_worker_with_more_requests_than_workers_scales_out(instance):
    cpu_bound = Load(in_flight=3, peak=3, last_request=time.time(), cpu_per_worker=0.95)
    settle(instance, cpu_bound)
    assert instance.workers == 2


def test_a_saturated_worker_with_one_request_in_flight_does_not(instance):
    settle(instance, Load(in_flight=1, peak=1, last_request=time.time(), cpu_per_worker=1.0))
    assert instance.workers == 1


def test_workers_go_again_when_the_load_falls(instance):
    instance.workers = 2
    settle(instance, Load(in_flight=1, peak=1, last_request=time.time(), cpu_per_worker=0.1))
    assert instance.process.signals == [signal.SIGTTOU] and instance.workers == 1


def test_idle_with_nothing_in_flight_scales_to_zero_but_a_long_request_keeps_it(instance):
    long_ago = time.time() - 120
    instance.started_at = long_ago
    instance.autoscale(Load(in_flight=1, peak=1, last_request=long_ago))
    assert not instance._stopping
    instance.autoscale(Load(in_flight=0, peak=0, last_request=long_ago))
    assert instance._stopping


def test_min_scale_keeps_an_idle_function(instance):
    instance.policy.min_scale = 1
    instance.started_at = time.time() - 120
    instance.autoscale(Load(last_request=time.time() - 120))
    assert not instance._stopping


def test_a_connection_that_waits_while_the_function_starts_has_nagle_off():
    """The front door's connection queued before any server runs keeps the listener's
    options for life: with Nagle on, each answer written in two parts waited 40 ms for a
    delayed ACK, on every request over it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listener = bind(port)
    try:
        with socket.create_connection(("127.0.0.1", port)):
            listener.setblocking(True)
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()
