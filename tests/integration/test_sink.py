"""Events travel to the broker on kept-alive connections, and one the broker closed while it
sat idle costs no event: a real socket server on 127.0.0.1 plays the broker."""

from __future__ import annotations

import socket
import threading

import pytest

from shared_lib.events.sink import Sink


class Broker:
    """Answers 202 to each POST on a connection, keeping it open, or closing it after
    `per_connection` answers without saying so (an idle timeout at the broker)."""

    def __init__(self, per_connection: int | None = None) -> None:
        self.per_connection = per_connection
        self.connections = 0
        self.bodies: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/ns/default"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        reader, answered = connection.makefile("rb"), 0
        with connection:
            while self.per_connection is None or answered < self.per_connection:
                line = reader.readline()
                if not line:
                    return
                assert line.startswith(b"POST /ns/default ")
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                self.bodies.append(reader.read(length))
                connection.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                answered += 1

    def close(self) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._listener.close()


@pytest.fixture
def broker():
    brokers: list[Broker] = []

    def make(per_connection: int | None = None) -> Broker:
        brokers.append(Broker(per_connection))
        return brokers[-1]

    yield make
    for each in brokers:
        each.close()


def test_a_thread_sends_its_events_on_one_connection(broker):
    server = broker()
    sink = Sink(server.url, timeout=2)
    statuses = [sink.post(b'{"n": %d}' % n, {"ce-id": str(n)}) for n in range(20)]
    assert statuses == [202] * 20
    assert server.connections == 1, "one connection kept alive, not one per event"
    assert server.bodies == [b'{"n": %d}' % n for n in range(20)]


def test_an_event_on_a_connection_the_broker_closed_goes_again_on_a_new_one(broker):
    server = broker(per_connection=1)
    sink = Sink(server.url, timeout=2)
    for n in range(3):
        assert sink.post(b'{"n": %d}' % n, {}) == 202
    assert server.bodies == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}'], "each event taken once"
    assert server.connections == 3


def test_an_unreachable_broker_is_an_error_not_an_answer():
    with socket.socket() as bound:  # a port that is held but not listening: refused
        bound.bind(("127.0.0.1", 0))
        with pytest.raises(OSError):
            Sink(f"http://127.0.0.1:{bound.getsockname()[1]}/", timeout=2).post(b"{}", {})


def test_only_http_urls_are_sinks():
    with pytest.raises(ValueError):
        Sink("ftp://broker/", timeout=2)
