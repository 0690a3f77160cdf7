"""The recompute's model on small worlds whose right answers can be read off by hand."""

from __future__ import annotations

import numpy as np
import pytest

from shared_lib.recommendations.model import (
    CATEGORY,
    COVIEW,
    FOF,
    FOLLOW,
    NO_DETAIL,
    Model,
    Weights,
    follow_matrix,
    interest_matrix,
    neighbours,
    strongest,
)
from shared_lib.recommendations.recompute import STREAM_WEIGHTS, USER_WEIGHTS
from shared_lib.recommendations.scores import SCORES

FOLLOW_SECONDS = 300


def world(size, views=(), follows=(), categories=(), popular=None):
    """A Model of `size` users: views (viewer, channel, seconds), follows (follower, followed),
    categories (channel, category number), popular (category -> channels, most popular first)."""
    v = np.array(list(views) or np.zeros((0, 3)), dtype=np.int64).reshape(-1, 3)
    f = np.array(list(follows) or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2)
    c = np.array(list(categories) or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2)
    table = np.full((len(popular or {}), 15), -1, dtype=np.int64)
    for category, channels in (popular or {}).items():
        table[category, :len(channels)] = channels
    follows = follow_matrix(f[:, 0], f[:, 1], size)
    interest = interest_matrix(v[:, 0], v[:, 1], v[:, 2] + 60.0, size) + FOLLOW_SECONDS * follows
    return Model.build([interest], follows, (c[:, 0], c[:, 1]), table)


def of(found, user):
    """{channel: (score, reason, detail)} of one user's suggestions, best first."""
    mine = found.users == user
    return {int(c): (float(s), int(r), int(d)) for c, s, r, d in zip(
        found.channels[mine], found.scores[mine], found.reasons[mine], found.details[mine],
        strict=True)}


def test_strongest_keeps_each_rows_largest_ties_to_the_lower_column():
    from scipy import sparse

    matrix = sparse.csr_array(np.array([[1.0, 5.0, 5.0, 2.0], [0.0, 0.0, 3.0, 0.0]]))
    kept = strongest(matrix, 2).toarray()
    assert kept.tolist() == [[0.0, 5.0, 5.0, 0.0], [0.0, 0.0, 3.0, 0.0]]
    assert strongest(sparse.csr_array(np.array([[4.0, 4.0, 4.0]])), 1).toarray().tolist() == \
        [[4.0, 0.0, 0.0]]


def test_neighbours_are_channels_watched_by_the_same_people_never_the_channel_itself():
    from scipy import sparse

    # Users 0-2 watch items 0 and 1; user 3 watches items 1 and 2.
    rows, columns = [0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 0, 1, 0, 1, 1, 2]
    interest = sparse.csr_array((np.ones(8), (rows, columns)), shape=(4, 3))
    similar = neighbours(interest, k=1, block_entries=1).toarray()  # one item per block
    assert similar[0].nonzero()[0].tolist() == [1]  # 3 viewers in common
    assert similar[1].nonzero()[0].tolist() == [0]  # 3 in common beats 1 with item 2
    assert similar[0, 1] == pytest.approx(3 / np.sqrt(3 * 4))  # cosine of the audiences
    assert np.all(np.diag(similar) == 0)


def test_channels_to_follow_sum_their_reasons_never_yourself_nor_one_followed():
    # 0 follows 1, 2 and 3; 1 and 2 follow 4 and 0; 3 follows 5.
    follows = [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (1, 0), (2, 0), (3, 5), (1, 2)]
    model = world(6, follows=follows)
    mine = of(model.users(0, 6, Weights(**USER_WEIGHTS), k=20), 0)
    assert 0 not in mine and not {1, 2, 3} & set(mine)
    assert mine[4][1:] == (FOF, 2) and mine[5][1:] == (FOF, 1)
    assert mine[4][0] >= 2 * SCORES["fof"] > mine[5][0] >= SCORES["fof"]
    assert list(mine)[:2] == [4, 5]


def test_channels_to_show_live_followed_first_then_co_viewing_then_categories():
    views = [(u, 10, 600) for u in range(1, 5)] + [(u, 11, 600) for u in range(1, 5)]
    views += [(0, 10, 600), (0, 12, 600)]
    model = world(14, views=views, follows=[(0, 13)],
                  categories=[(12, 0), (13, 1)], popular={0: [12, 9, 8], 1: [13]})
    mine = of(model.streams(0, 14, Weights(**STREAM_WEIGHTS), k=20), 0)
    assert list(mine)[0] == 13 and mine[13] == (SCORES["follow"], FOLLOW, NO_DETAIL)
    assert mine[11][1] == COVIEW  # watched by everyone who watched 10, as 0 did
    assert mine[9][1:] == (CATEGORY, 0) and mine[9][0] > mine[8][0]  # by rank in category 0
    assert 0 not in mine


def test_each_user_gets_at_most_k_and_users_of_a_block_only():
    follows = [(0, c) for c in range(1, 9)] + [(c, 9 + c) for c in range(1, 9)]
    follows += [(c, 0) for c in range(1, 9)]  # so 1-8 are suggested what 0 follows
    model = world(20, follows=follows)
    found = model.users(0, 1, Weights(**USER_WEIGHTS), k=3)
    assert set(found.users.tolist()) == {0} and len(found) == 3
    others = model.users(1, 20, Weights(**USER_WEIGHTS), k=3)
    assert set(others.users.tolist()) == set(range(1, 9))


def test_nobody_active_nothing_suggested():
    model = world(3)
    assert model.active_users == 0
    assert len(model.streams(0, 3, Weights(**STREAM_WEIGHTS), k=20)) == 0
    assert len(model.users(0, 3, Weights(**USER_WEIGHTS), k=20)) == 0
