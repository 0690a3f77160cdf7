"""TLS to PostgreSQL, as libpq's sslmode names it."""

from __future__ import annotations


def test_tls_to_postgresql_follows_libpq_sslmode_with_one_context_per_process():
    import ssl

    from shared_lib.connections import ssl_context

    assert ssl_context("disable") is False, "no TLS offer on a connection to this machine"
    assert ssl_context("prefer") is None, "pg8000's own: TLS when the server offers it"
    required, verified = ssl_context("require"), ssl_context("verify-full")
    assert required.verify_mode == ssl.CERT_NONE and not required.check_hostname
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    assert ssl_context("verify-full") is verified, "built once, not per connection"


class Server:
    """Fake DB-API connections: how many the pool opened and how many it closed."""

    def __init__(self) -> None:
        self.opened = self.closed = 0

    def connect(self):
        self.opened += 1
        server = self

        class Connection:
            def rollback(self) -> None:
                pass

            def close(self) -> None:
                server.closed += 1

        return Connection()


def burst(pool, n: int) -> None:
    """`n` connections out at once (a burst of concurrent requests), then all returned."""
    out = [pool.connect() for _ in range(n)]
    for connection in out:
        connection.close()


def test_the_connections_a_burst_opened_serve_the_next_burst_and_are_closed_when_it_is_over():
    import time

    from shared_lib.connections import LingeringPool

    server = Server()
    pool = LingeringPool(server.connect, pool_size=2, max_overflow=3, linger=0.2, timeout=0.1)
    for _ in range(10):
        burst(pool, 5)
    assert (server.opened, server.closed) == (5, 0), "each burst reused the first one's five"
    time.sleep(0.3)  # the burst is over: no more than two are needed at once
    for _ in range(4):
        burst(pool, 1)
    assert server.opened - server.closed == 2, "back to the two kept"
    burst(pool, 5)
    assert server.opened == 8, "a new burst opens what it needs again"


def test_the_pool_never_opens_more_than_its_size_and_overflow():
    import pytest
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from shared_lib.connections import LingeringPool

    server = Server()
    pool = LingeringPool(server.connect, pool_size=2, max_overflow=3, linger=60, timeout=0.05)
    out = [pool.connect() for _ in range(5)]
    with pytest.raises(PoolTimeout):
        pool.connect()
    out.pop().close()
    out.append(pool.connect())
    assert server.opened == 5
    assert pool.recreate().status() == LingeringPool(server.connect, pool_size=2, max_overflow=3).status()
