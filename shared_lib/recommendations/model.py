"""The recompute's arithmetic, on sparse matrices: what each user is interested in, which
channels share an audience, and each user's best candidates of each kind.

Users and channels are both numbered 0..N-1 (a channel is a user); interests are a matrix of
users × items, an item being a channel somebody follows or watches. Everything here is pure:
recompute.py feeds it arrays read from PostgreSQL and writes its suggestions back.

The model, per user:
    interests   watch time (+ a minute) and follows (five minutes each), summed per channel
    co-viewing  channels whose audiences overlap with the user's strongest interests: each
                channel's NEIGHBOURS most co-watched channels, by how many users have both
                among their VIEWING strongest interests, weighted by cosine similarity of the
                two audiences and by the user's interest in the first
    category    the most popular channels of the user's CATEGORIES strongest categories
    fof         channels followed by the channels and people the user follows, by how many
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from numpy.typing import NDArray

VIEWING = 20  # a user's strongest interests that make up the audiences compared
INTERESTS = 8  # a user's strongest interests that co-viewing starts from
NEIGHBOURS = 10  # the most co-watched channels kept per channel
CATEGORIES = 2  # a user's strongest categories whose popular channels are candidates

# The reasons, as stored (recommended_*.reason) and as coded in the arrays here.
REASONS = ("follow", "coview", "category", "fof")
FOLLOW, COVIEW, CATEGORY, FOF = range(len(REASONS))
NO_DETAIL = -1

@dataclass(frozen=True)
class Candidates:
    """One kind of suggestion for a block of users, one entry per (user, channel): users and
    channels are numbers, detail a category number (CATEGORY), a count (FOF) or NO_DETAIL."""

    users: NDArray[np.int64]
    channels: NDArray[np.int64]
    scores: NDArray[np.float64]
    reasons: NDArray[np.int16]
    details: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.users)

    def select(self, which: NDArray[np.int64] | NDArray[np.bool_]) -> Candidates:
        """The entries `which` picks (a mask or positions, in that order)."""
        return Candidates(self.users[which], self.channels[which], self.scores[which],
                          self.reasons[which], self.details[which])


@dataclass(frozen=True)
class Weights:
    """What each reason is worth in one kind of suggestion (scores.py)."""

    follow: float
    coview: float
    category: float
    fof: float


def interest_matrix(users: NDArray[np.int64], channels: NDArray[np.int64],
                    weights: NDArray[np.float64], size: int,
                    ) -> tuple[sparse.csr_array, NDArray[np.int64]]:
    """(users × items interest, the user number of each item) from (user, channel, weight)
    triples, a pair's weights summed."""
    items, columns = np.unique(channels, return_inverse=True)
    matrix = sparse.csr_array((weights.astype(np.float32), (users, columns)),
                              shape=(size, len(items)))
    matrix.sum_duplicates()
    return matrix, items


def follow_matrix(followers: NDArray[np.int64], followed: NDArray[np.int64],
                  size: int) -> sparse.csr_array:
    """users × users, 1 where the row follows the column."""
    matrix = sparse.csr_array((np.ones(len(followers), dtype=np.float32), (followers, followed)),
                              shape=(size, size))
    matrix.sum_duplicates()
    return matrix


def _row_of_each(matrix: sparse.csr_array) -> NDArray[np.int64]:
    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))


def _first_k(groups: NDArray[np.int64], k: int) -> NDArray[np.bool_]:
    """For entries sorted by group: True for the first k of each group."""
    if len(groups) == 0:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    position = np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    return position < k


def _descending(values: NDArray[Any]) -> NDArray[np.int64]:
    """An int64 per value (>= 0) that sorts as the values do, largest first (to float32's
    precision): a positive float's bits order as the float does."""
    bits = values.astype(np.float32).view(np.int32).astype(np.int64)
    return np.int64((1 << 31) - 1) - bits


def _ranked(groups: NDArray[np.int64], values: NDArray[Any]) -> NDArray[np.int64]:
    """Positions ordering entries by group, then value, largest first; entries as close as
    float32 tells apart keep their order (one int64 sort: a three-key lexsort is 15x slower)."""
    if not len(groups):
        return np.zeros(0, dtype=np.int64)
    key = ((groups - groups.min()) << np.int64(31)) | _descending(values)
    return np.argsort(key, kind="stable")


def strongest(matrix: sparse.csr_array, k: int) -> sparse.csr_array:
    """Each row's k largest entries (ties to the lower column), the rest dropped."""
    matrix.sum_duplicates()  # canonical: columns in order within each row
    rows = _row_of_each(matrix)
    order = _ranked(rows, matrix.data)
    keep = order[_first_k(rows[order], k)]
    return sparse.csr_array((matrix.data[keep], (rows[keep], matrix.indices[keep])),
                            shape=matrix.shape)


def neighbours(interest: sparse.csr_array, *, viewing: int = VIEWING, k: int = NEIGHBOURS,
               block_entries: int = 10_000_000) -> sparse.csr_array:
    """items × items: for each item, the k items most often among the same users' `viewing`
    strongest interests (ties to the lower item), valued by the cosine similarity of the two
    audiences. Computed a block of items at a time, each block's co-occurrences (one per
    user and pair of that user's items) about `block_entries`."""
    viewed = strongest(interest, viewing)
    viewed.data[:] = 1.0
    audience = np.asarray(viewed.sum(axis=0)).ravel()
    by_item = viewed.T.tocsr()
    items = interest.shape[1]
    work = np.cumsum(by_item @ np.diff(viewed.indptr).astype(np.float64))
    bounds = np.unique(np.r_[0, np.searchsorted(work, np.arange(block_entries, work[-1] if items
                                                                 else 0, block_entries)),
                             items])
    rows, columns, values = [], [], []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        product = by_item[lo:hi] @ viewed
        product.sort_indices()
        common = product.tocoo()
        a, b, counts = common.row.astype(np.int64) + lo, common.col.astype(np.int64), common.data
        other = a != b
        a, b, counts = a[other], b[other], counts[other]
        order = _ranked(a, counts)
        keep = order[_first_k(a[order], k)]
        rows.append(a[keep])
        columns.append(b[keep])
        values.append(counts[keep] / np.sqrt(audience[a[keep]] * audience[b[keep]]))
    if not rows:
        return sparse.csr_array((items, items), dtype=np.float64)
    return sparse.csr_array((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
                            shape=(items, items))


def category_shares(interest: sparse.csr_array, item_category: NDArray[np.int64],
                    categories: int) -> NDArray[np.float64]:
    """users × categories: the share of each user's interest (in channels with a category)
    that goes to each category."""
    known = item_category >= 0
    indicator = sparse.csr_array(
        (np.ones(int(known.sum())), (np.flatnonzero(known), item_category[known])),
        shape=(interest.shape[1], max(categories, 1)))
    totals = (interest @ indicator).toarray()
    sums = totals.sum(axis=1, keepdims=True)
    shares: NDArray[np.float64] = np.divide(totals, sums, out=np.zeros_like(totals), where=sums > 0)
    return shares


@dataclass(frozen=True)
class Model:
    """What the block computations share, built once per recompute."""

    size: int  # users (and so channels) numbered
    interest: sparse.csr_array  # users × items
    items: NDArray[np.int64]  # item -> user number
    follows: sparse.csr_array  # users × users
    seeds: sparse.csr_array  # users × items: the INTERESTS strongest, each over the user's total
    similar: sparse.csr_array  # items × items: neighbours()
    shares: sparse.csr_array  # users × categories: the CATEGORIES strongest shares
    popular: NDArray[np.int64]  # categories × ranks: user numbers, -1 past the last

    @property
    def active_users(self) -> int:
        """Users who follow or watch anything."""
        return int(np.count_nonzero(np.diff(self.interest.indptr)))

    @classmethod
    def build(cls, size: int,
              interest_triples: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
              follows: tuple[NDArray[np.int64], NDArray[np.int64]],
              channel_category: tuple[NDArray[np.int64], NDArray[np.int64]],
              popular: NDArray[np.int64]) -> Model:
        interest, items = interest_matrix(*interest_triples, size)
        totals = np.asarray(interest.sum(axis=1)).ravel()
        seeds = strongest(interest, INTERESTS)
        seeds = sparse.csr_array(sparse.diags_array(
            np.divide(1.0, totals, out=np.zeros_like(totals, dtype=np.float64), where=totals > 0))
            @ seeds)
        item_category = np.full(len(items), -1, dtype=np.int64)
        channels, category = channel_category
        found = np.searchsorted(items, channels)
        present = (found < len(items)) & (items[np.minimum(found, len(items) - 1)] == channels) \
            if len(items) else np.zeros(len(channels), dtype=bool)
        item_category[found[present]] = category[present]
        shares = strongest(sparse.csr_array(category_shares(interest, item_category,
                                                            len(popular))), CATEGORIES)
        return cls(size=size, interest=interest, items=items,
                   follows=follow_matrix(*follows, size), seeds=seeds,
                   similar=neighbours(interest), shares=shares, popular=popular)

    def streams(self, lo: int, hi: int, weights: Weights, k: int) -> Candidates:
        """Channels worth showing users lo..hi-1 when live: followed, co-viewed, popular in
        their categories; each channel once, for its best reason; the k best per user."""
        parts = [self._followed(lo, hi, weights.follow), self._coviewed(lo, hi, weights.coview),
                 self._popular(lo, hi, weights.category)]
        return _top(_exclude(_best_of(_concat(parts)), self_too=True), k)

    def users(self, lo: int, hi: int, weights: Weights, k: int) -> Candidates:
        """Channels for users lo..hi-1 to follow: followed by whom they follow, co-viewed,
        popular in their categories; a channel found several ways scoring the sum (its reason
        the strongest); never one already followed; the k best per user."""
        parts = [self._friends_of_friends(lo, hi, weights.fof),
                 self._coviewed(lo, hi, weights.coview), self._popular(lo, hi, weights.category)]
        found = _summed(_concat(parts))
        return _top(_exclude(found, self_too=True, followed=self._followed(lo, hi, 0.0)), k)

    def _entries(self, matrix: sparse.csr_array, lo: int, reason: int, scale: float,
                 columns: NDArray[np.int64] | None = None, detail_is_count: bool = False,
                 ) -> Candidates:
        coo = matrix.tocoo()
        channels = coo.col.astype(np.int64) if columns is None else columns[coo.col]
        details = (np.rint(coo.data).astype(np.int64) if detail_is_count
                   else np.full(len(coo.data), NO_DETAIL, dtype=np.int64))
        return Candidates(coo.row.astype(np.int64) + lo, channels,
                          coo.data.astype(np.float64) * scale,
                          np.full(len(coo.data), reason, dtype=np.int16), details)

    def _followed(self, lo: int, hi: int, score: float) -> Candidates:
        return self._entries(self.follows[lo:hi], lo, FOLLOW, score)

    def _friends_of_friends(self, lo: int, hi: int, score: float) -> Candidates:
        return self._entries(self.follows[lo:hi] @ self.follows, lo, FOF, score,
                             detail_is_count=True)

    def _coviewed(self, lo: int, hi: int, score: float) -> Candidates:
        return self._entries(self.seeds[lo:hi] @ self.similar, lo, COVIEW, score,
                             columns=self.items)

    def _popular(self, lo: int, hi: int, score: float) -> Candidates:
        shares = self.shares[lo:hi].tocoo()
        ranks = self.popular.shape[1] if self.popular.ndim == 2 else 0
        users = np.repeat(shares.row.astype(np.int64) + lo, ranks)
        category = np.repeat(shares.col.astype(np.int64), ranks)
        rank = np.tile(np.arange(1, ranks + 1), len(shares.data))
        channels = self.popular[category, rank - 1] if ranks else np.zeros(0, dtype=np.int64)
        scores = np.repeat(shares.data.astype(np.float64), ranks) * score / rank
        real = channels >= 0
        return Candidates(users[real], channels[real], scores[real],
                          np.full(int(real.sum()), CATEGORY, dtype=np.int16), category[real])


def _concat(parts: list[Candidates]) -> Candidates:
    return Candidates(*(np.concatenate([getattr(part, name) for part in parts])
                        for name in ("users", "channels", "scores", "reasons", "details")))


def _pair(users: NDArray[np.int64], channels: NDArray[np.int64]) -> NDArray[np.int64]:
    return users * (np.int64(1) << 32) + channels


def _exclude(found: Candidates, *, self_too: bool,
             followed: Candidates | None = None) -> Candidates:
    """Without suggestions of yourself (`self_too`), or of a channel in `followed` (sorted
    by user, then channel)."""
    keep = found.users != found.channels if self_too else np.ones(len(found), dtype=bool)
    if followed is not None and len(followed):
        known = _pair(followed.users, followed.channels)
        pairs = _pair(found.users, found.channels)
        at = np.minimum(np.searchsorted(known, pairs), len(known) - 1)
        keep &= known[at] != pairs
    return found.select(keep)


def _grouped(found: Candidates) -> tuple[Candidates, NDArray[np.int64], NDArray[np.int64]]:
    """The candidates sorted by (user, channel); where each pair starts; and the position of
    each pair's best-scoring entry (the first of its best)."""
    key = _pair(found.users, found.channels)
    order = np.argsort(key)
    found, key = found.select(order), key[order]
    if not len(key):
        return found, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.r_[True, key[1:] != key[:-1]]
    starts = np.flatnonzero(new)
    best = np.maximum.reduceat(found.scores, starts)
    group = np.cumsum(new) - 1
    tops = np.flatnonzero(found.scores == best[group])
    firsts = tops[np.r_[True, group[tops[1:]] != group[tops[:-1]]]]
    return found, starts, firsts


def _best_of(found: Candidates) -> Candidates:
    """Each (user, channel) once, with its best reason's score."""
    found, _, firsts = _grouped(found)
    return found.select(firsts)


def _summed(found: Candidates) -> Candidates:
    """Each (user, channel) once, scoring the sum of its reasons, with the best one's reason."""
    found, starts, firsts = _grouped(found)
    if not len(starts):
        return found
    best = found.select(firsts)
    return Candidates(best.users, best.channels, np.add.reduceat(found.scores, starts),
                      best.reasons, best.details)


def _top(found: Candidates, k: int) -> Candidates:
    """Each user's k best; `found` sorted by (user, channel), so ties go to the lower channel."""
    found = found.select(_ranked(found.users, found.scores))
    return found.select(_first_k(found.users, k))
