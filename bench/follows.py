"""Follow throughput against the hello-world, and page 1 against page 1,000 of a
100,000-follower list.

Each function runs as its own functions-framework process against the private PostgreSQL
and Redis of the `bench` profile. Throughput: CLIENTS fans (16) of one channel each follow
and unfollow it in turn for SECONDS (so every request writes an edge, moves the channel's
counter and records an event), and the same number of clients ask the hello-world, in
interleaved rounds; afterwards the channel's counter must equal its edges and every change
must have reached the broker exactly once. Pages: the list-followers function serves
page 1 and page 1,000 (100 per page) of one channel's 100,000 followers, interleaved.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid

from harness import BENCH_PROFILE, SINK_QUEUE, first_answer, free_port, request, start_broker, start_function

from local.services import terminate  # noqa: E402 - after harness sets the path

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 16))
SECONDS = float(os.environ.get("BENCH_SECONDS", 3))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
FOLLOWERS = int(os.environ.get("BENCH_FOLLOWERS", 100_000))


def throughput(port_for, make_request, tally: list[int] | None = None) -> float:
    """Requests per second from CLIENTS threads over SECONDS; `port_for(method)` routes
    each request as the gateway would."""
    count = [0] * CLIENTS
    stop = time.monotonic() + SECONDS

    def client(index: int) -> None:
        n = 0
        while time.monotonic() < stop:
            method, path, headers = make_request(index, n)
            status, _ = request(port_for(method), method, path, None, headers)
            assert status == 200, status
            n += 1
        count[index] = n
        if tally is not None:
            tally[index] += n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(count) / SECONDS


def check_exact(uow_factory, channel: str, following: int, changed: int) -> None:
    """The channel's counter equals its edges, and every change was announced once: its event
    reached the broker (one per event id) or still waits in the outbox for the relay."""
    from sqlalchemy import text

    deadline = time.monotonic() + 30
    while True:
        with uow_factory() as uow:
            row = uow.session.execute(text(
                "SELECT u.followers_count, (SELECT count(*) FROM user_relationships "
                "WHERE followed_id = u.id) AS edges, "
                "(SELECT count(DISTINCT headers->>'ce-id') FROM broker_events "
                " WHERE queue = :queue AND headers->>'ce-subject' = u.id::text) AS sent, "
                "(SELECT count(*) FROM outbox_events o WHERE o.subject = u.id::text "
                " AND o.id::text NOT IN (SELECT headers->>'ce-id' FROM broker_events "
                "  WHERE queue = :queue AND headers->>'ce-subject' = u.id::text)) AS waiting "
                "FROM users u WHERE u.username = :c"), {"c": channel, "queue": SINK_QUEUE}).one()
        if row.sent + row.waiting == changed or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(f"counter {row.followers_count}, edges {row.edges}, fans following {following}; "
          f"changes {changed:,}, announced {row.sent:,} + {row.waiting} in the outbox")
    assert row.followers_count == row.edges == following, "the counter is not exact"
    assert row.sent + row.waiting == changed, "a change was not announced exactly once"


def seed(channel: str) -> None:
    from sqlalchemy import text

    from shared_lib.db import batch_engine

    # A statement long enough to outlast the request paths' 5 s socket timeout.
    with batch_engine().begin() as connection:
        # Counted once at the end, not by the trigger for each edge (migration 0013);
        # ALTER TABLE is transactional: the trigger is back when this commits.
        connection.execute(text("ALTER TABLE user_relationships DISABLE TRIGGER follow_counters"))
        connection.execute(text(
            "INSERT INTO users (id, username, email, password_hash, display_name) "
            "SELECT gen_random_uuid(), :p || i, :p || i || '@example.com', 'x', :p || i "
            "FROM generate_series(0, :n) AS i"), {"p": channel + "_", "n": FOLLOWERS})
        connection.execute(text(
            "INSERT INTO users (id, username, email, password_hash, display_name) "
            "VALUES (gen_random_uuid(), :c, :c || '@example.com', 'x', :c)"), {"c": channel})
        connection.execute(text(
            "INSERT INTO user_relationships (follower_id, followed_id, created_at) "
            "SELECT u.id, c.id, now() - (row_number() OVER ()) * interval '1 second' "
            "FROM users u, users c WHERE c.username = :c AND u.username LIKE :p "
            "AND u.username <> :c"), {"c": channel, "p": channel + "\\_%"})
        connection.execute(text(
            "UPDATE users SET followers_count = :n WHERE username = :c"),
            {"n": FOLLOWERS + 1, "c": channel})
        connection.execute(text("ALTER TABLE user_relationships ENABLE TRIGGER follow_counters"))


def main() -> None:
    from local.platform import Platform
    from local.settings import Ports
    from shared_lib.db import UnitOfWork
    from shared_lib.http.paging import encode_cursor
    from shared_lib.security import get_signer

    profile = BENCH_PROFILE
    platform = Platform(profile, Ports(), environment="development")
    env = platform.start_servers()
    env["THREADS"] = str(CLIENTS)
    env["K_SINK"], _ = start_broker()
    channel = f"bfc{uuid.uuid4().hex[:6]}"
    print(f"seeding {FOLLOWERS:,} followers…", flush=True)
    seed(channel)
    with UnitOfWork() as uow:
        from sqlalchemy import text

        fans = uow.session.execute(text(
            "SELECT id, username FROM users WHERE username LIKE :p LIMIT :n"),
            {"p": channel + "\\_%", "n": CLIENTS}).all()
        channel_id = uow.users.get_by_username(channel).id
        edges = uow.follows.followers(channel_id, after=None, limit=999 * 100 + 1)
        page_1000 = encode_cursor(edges[-1][1].isoformat(), edges[-1][0].id)
    tokens = [get_signer().issue(user_id=i, username=n, session_id=uuid.uuid4())[0] for i, n in fans]
    # The channel the fans follow: a fresh one, so every request writes an edge.
    targets = [f"bt{uuid.uuid4().hex[:6]}"]
    with UnitOfWork() as uow:
        from shared_lib.accounts.models import User

        for name in targets:
            uow.users.add(User(id=uuid.uuid4(), username=name, email=f"{name}@example.com",
                               password_hash="x", display_name=name))
        uow.commit()

    processes = []
    ports = {}
    for name, source, target in [("hello", "bench/hello.py", "hello"),
                                 ("follow", "functions/follows.py", "follow"),
                                 ("unfollow", "functions/follows.py", "unfollow"),
                                 ("list", "functions/follows.py", "list_followers")]:
        ports[name] = free_port()
        processes.append(start_function(source, target, ports[name], env))
    try:
        for port in ports.values():
            first_answer(port, "GET", "/healthz", None, time.monotonic() + 60)

        # Each fan alternates follow and unfollow across rounds, so every request changes
        # an edge: the number of requests is the number of events that must be announced.
        following, changes = [False] * CLIENTS, [0] * CLIENTS

        def follow_request(index: int, n: int):
            method = "DELETE" if following[index] else "PUT"
            following[index] = not following[index]
            return method, f"/api/users/{targets[0]}/follow", {
                "Authorization": f"Bearer {tokens[index]}"}

        hello_rates, follow_rates = [], []
        for _ in range(ROUNDS):
            hello_rates.append(throughput(lambda _: ports["hello"], lambda i, n: ("GET", "/", {})))
            follow_rates.append(throughput(
                lambda method: ports["follow" if method == "PUT" else "unfollow"], follow_request,
                changes))
        hello, follows = statistics.median(hello_rates), statistics.median(follow_rates)
        print(f"hello-world      {hello:8.1f} req/s ({CLIENTS} clients)")
        print(f"follow/unfollow  {follows:8.1f} req/s ({CLIENTS} fans of one channel)")
        print(f"follow throughput ratio {follows / hello:.3f} (target 0.3 or more)")
        check_exact(UnitOfWork, targets[0], sum(following), sum(changes))

        first, thousandth = [], []
        path = f"/api/users/{channel}/followers?limit=100"
        for _ in range(20):
            for sink, target in ((first, path), (thousandth, f"{path}&cursor={page_1000}")):
                started = time.perf_counter()
                status, body = request(ports["list"], "GET", target)
                sink.append(time.perf_counter() - started)
                assert status == 200 and body.count(b'"username"') == 100, status
        p1, p1000 = statistics.median(first), statistics.median(thousandth)
        print(f"page 1     {p1 * 1000:7.2f} ms   page 1,000 {p1000 * 1000:7.2f} ms "
              f"(100 per page, {FOLLOWERS:,} followers)")
        print(f"page 1,000 / page 1 ratio {p1000 / p1:.3f} (target 1.5 or less)")
    finally:
        terminate(processes)
        platform.stop_servers()


if __name__ == "__main__":
    main()
