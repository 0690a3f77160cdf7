"""The recall an implicit-feedback ALS model reaches on the recommendation bench's data: the
yardstick the recompute's channel suggestions are held to (bench/recommendations.py).

The model (`implicit`'s AlternatingLeastSquares, a bench-only dependency) is trained on what
the recompute sees: the follows left after the hold-out (a follow counting as five minutes, as
the recompute counts it) and the watch time, as confidence 1 + ALPHA * log1p(minutes). Its
top 10 for each user who lost a follow to the hold-out, never a channel the user follows, are
then scored against the held-out follows, like the recompute's own top 10.
"""

from __future__ import annotations

import io
import os
import time

# implicit warns (and runs slower) when OpenBLAS starts its own threads beside its own.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

FACTORS = int(os.environ.get("BENCH_ALS_FACTORS", 64))
ITERATIONS = int(os.environ.get("BENCH_ALS_ITERATIONS", 15))
REGULARIZATION = 0.05
ALPHA = 10.0

# Pairs of bench_users numbers (and a weight in seconds) through COPY: 10 million rows as
# Python tuples would cost more memory than the model.
FOLLOWS = """COPY (SELECT f.n, c.n, 300 FROM user_relationships r
                  JOIN bench_users f ON f.id = r.follower_id
                  JOIN bench_users c ON c.id = r.followed_id) TO STDOUT"""
VIEWS = """COPY (SELECT v.n, c.n, v2.watch_seconds + 60 FROM channel_views v2
                JOIN bench_users v ON v.id = v2.user_id
                JOIN bench_users c ON c.id = v2.channel_id) TO STDOUT"""
HELD = """COPY (SELECT f.n, c.n, 1 FROM bench_holdout h
               JOIN bench_users f ON f.id = h.follower_id
               JOIN bench_users c ON c.id = h.followed_id) TO STDOUT"""


def triples(connection, statement: str):
    """(row, column, weight) arrays of a COPY of three integer columns."""
    import numpy as np

    buffer = io.BytesIO()
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute(statement, stream=buffer)
    values = np.array(buffer.getvalue().split(), dtype=np.int64).reshape(-1, 3)
    return values[:, 0], values[:, 1], values[:, 2]


def matrix(rows, columns, values, shape):
    from scipy.sparse import csr_matrix

    result = csr_matrix((values, (rows, columns)), shape=shape, dtype="float32")
    result.sum_duplicates()
    return result


def als_recall(connection, users: int) -> tuple[int, int, float]:
    """(hits, held-out follows, training seconds) of ALS's top 10 against the hold-out."""
    import numpy as np
    from implicit.als import AlternatingLeastSquares

    fr, fc, fw = triples(connection, FOLLOWS)
    vr, vc, vw = triples(connection, VIEWS)
    # Items: whatever is followed or watched (bench_users numbers both users and channels).
    items = np.unique(np.concatenate([fc, vc]))
    fc, vc = np.searchsorted(items, fc), np.searchsorted(items, vc)
    shape = (users, len(items))
    follows = matrix(fr, fc, np.ones_like(fw), shape)
    seconds = matrix(np.concatenate([fr, vr]), np.concatenate([fc, vc]),
                     np.concatenate([fw, vw]), shape)
    seconds.data = 1.0 + ALPHA * np.log1p(seconds.data / 60.0)
    hr, hc, _ = triples(connection, HELD)

    model = AlternatingLeastSquares(factors=FACTORS, iterations=ITERATIONS,
                                    regularization=REGULARIZATION, random_state=7)
    began = time.monotonic()
    model.fit(seconds, show_progress=False)
    trained = time.monotonic() - began

    who = np.unique(hr)
    held = set(zip(hr.tolist(), hc.tolist(), strict=True))
    hits = 0
    for start in range(0, len(who), 20_000):
        batch = who[start:start + 20_000]
        ids, _ = model.recommend(batch, follows[batch], N=10, filter_already_liked_items=True)
        hits += sum((int(u), int(items[c])) in held
                    for u, row in zip(batch, ids, strict=True) for c in row if items[c] != u)
    return hits, len(held), trained
