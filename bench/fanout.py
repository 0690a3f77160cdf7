"""Go-live fan-out: the notify-followers function telling a channel's 100,000 followers
(CloudEvent in, batches of 10,000, committed), against one bulk INSERT ... SELECT of the
same rows into the same table (another `kind`, so the unique key does not collide; the same
foreign keys and indexes are checked and written). Prints both (median of RUNS, each run a
new stream of the same channel, the two interleaved) and the ratio.

The function runs in this process through functions-framework's app, on the `bench`
profile's PostgreSQL.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid

from follows import FOLLOWERS, seed
from harness import BENCH_PROFILE  # (harness puts the repository on sys.path)

RUNS = int(os.environ.get("BENCH_RUNS", 3))

BULK = """
INSERT INTO notifications (user_id, kind, channel_id, stream_id, title)
SELECT follower_id, 'bench_bulk', :channel, :stream, :title
FROM user_relationships WHERE followed_id = :channel
"""


def main() -> None:
    from sqlalchemy import text

    from local.platform import Platform, reset_caches
    from local.settings import Ports
    from shared_lib.db import UnitOfWork
    from shared_lib.streams import services as streams
    from tests.functions_client import FunctionClient

    platform = Platform(BENCH_PROFILE, Ports(),
                        environment="development")
    try:
        platform.start_servers()
        os.environ.pop("K_SINK", None)
        reset_caches()
        channel = f"bfo{uuid.uuid4().hex[:6]}"
        print(f"seeding {FOLLOWERS:,} followers…", flush=True)
        seed(UnitOfWork, channel)
        with UnitOfWork() as uow:
            owner = uow.users.get_by_username(channel)
            ids = [streams.create(uow, owner.id, title="Bench night").id for _ in range(RUNS)]
            uow.commit()
        call = FunctionClient()
        from shared_lib.events.sending import encode

        call("notify-followers", "GET", "/healthz")  # import the function before timing
        bulk, function = [], []
        for stream_id in ids:
            with UnitOfWork() as uow:
                began = time.perf_counter()
                uow.session.execute(text(BULK), {"channel": owner.id, "stream": stream_id,
                                                 "title": "Bench night"})
                uow.commit()
                bulk.append(time.perf_counter() - began)
            headers = encode({"source": "/rtmp-ingest/bench", "type": "dev.streamfn.stream.started"})
            began = time.perf_counter()
            response = call("notify-followers", "POST", "/", headers=headers,
                            data=json.dumps({"stream_id": str(stream_id)}))
            function.append(time.perf_counter() - began)
            assert response.status_code == 202, response.get_data()
        with UnitOfWork() as uow:
            made = uow.session.scalar(text(
                "SELECT count(*) FROM notifications WHERE stream_id = :s AND kind = 'stream_started'"),
                {"s": ids[0]})
            uow.session.execute(text("DELETE FROM notifications WHERE kind = 'bench_bulk'"))
            uow.commit()
    finally:
        platform.stop_servers()
    assert made == FOLLOWERS + 1, made
    b, f = statistics.median(bulk), statistics.median(function)
    print(f"one go-live to {made:,} followers; median of {RUNS} runs")
    print(f"one bulk INSERT ... SELECT        {b:6.2f} s   {[round(x, 2) for x in bulk]}")
    print(f"notify-followers (batches of 10k) {f:6.2f} s   {[round(x, 2) for x in function]}")
    print(f"function / bulk ratio             {f / b:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
