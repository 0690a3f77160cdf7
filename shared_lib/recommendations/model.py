"""The recompute's arithmetic, on sparse matrices: what each user is interested in, which
channels share an audience, and each user's best candidates of each kind.

Users and channels are both numbered 0..N-1 (a channel is a user): interests, follows and
similarities are sparse N × N matrices. Everything here is pure: recompute.py feeds it arrays
read from PostgreSQL and writes its suggestions back.

The model, per user:
    interests   watch time (+ a minute) and follows (five minutes each), summed per channel
    co-viewing  channels whose audiences overlap with the user's VIEWING strongest interests:
                each channel's NEIGHBOURS most co-watched channels, by how many users have both
                among their own VIEWING strongest, weighted by cosine similarity of the two
                audiences and by the user's share of interest in the first
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

VIEWING = 20  # a user's strongest interests: what audiences are made of, and co-viewing starts from
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


def interest_matrix(users: NDArray[np.int32], channels: NDArray[np.int32],
                    weights: NDArray[np.float32], size: int) -> sparse.csr_array:
    """users × channels interest from (user, channel, weight) triples, a pair's summed."""
    matrix = sparse.csr_array((weights, (users, channels)), shape=(size, size))
    matrix.sum_duplicates()
    return matrix


def follow_matrix(followers: NDArray[np.int32], followed: NDArray[np.int32],
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


def _ranked(groups: NDArray[Any], values: NDArray[Any]) -> NDArray[np.int64]:
    """Positions ordering entries by group, then value (>= 0), largest first; entries as close
    as float32 tells apart keep their order. One int64 sort (a three-key lexsort is 15x
    slower): the group in the high bits, below it the value's float32 bits inverted (a
    positive float's bits order as the float does)."""
    if not len(groups):
        return np.zeros(0, dtype=np.int64)
    key = groups.astype(np.int64)
    key -= key.min()
    key <<= np.int64(31)
    key |= np.subtract(np.int64((1 << 31) - 1), values.astype(np.float32).view(np.int32),
                       dtype=np.int64)
    return np.argsort(key, kind="stable")


def strongest(matrix: sparse.csr_array, k: int, *, block_entries: int = 2_000_000,
              ) -> sparse.csr_array:
    """Each row's k largest entries (ties to the lower column), the rest dropped; a block of
    rows of about `block_entries` entries at a time, so the sorting's memory stays small."""
    matrix.sum_duplicates()  # canonical: columns in order within each row
    indptr = matrix.indptr
    counts = np.minimum(np.diff(indptr), k)
    kept = np.r_[0, np.cumsum(counts)]
    data = np.empty(kept[-1], dtype=matrix.data.dtype)
    indices = np.empty(kept[-1], dtype=matrix.indices.dtype)
    starts = np.searchsorted(indptr, np.arange(0, matrix.nnz, block_entries), side="right") - 1
    bounds = np.unique(np.r_[starts, matrix.shape[0]])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        first = indptr[lo]
        rows = np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(indptr[lo:hi + 1]))
        order = _ranked(rows, matrix.data[first:indptr[hi]])
        keep = np.sort(order[_first_k(rows[order], k)]) + first
        data[kept[lo]:kept[hi]] = matrix.data[keep]
        indices[kept[lo]:kept[hi]] = matrix.indices[keep]
    return sparse.csr_array((data, indices, kept), shape=matrix.shape)


def neighbours(viewing: sparse.csr_array, *, k: int = NEIGHBOURS,
               block_entries: int = 4_000_000) -> sparse.csr_array:
    """channels × channels: for each channel, the k channels most often among the same users'
    `viewing` interests (users × channels, each user's VIEWING strongest), ties to the lower
    number, valued by the cosine similarity of the two audiences. Computed a block of
    channels at a time, each block's co-occurrences (one per user and pair of that user's
    channels) about `block_entries`."""
    viewed = sparse.csr_array((np.ones(viewing.nnz, dtype=np.float32), viewing.indices,
                               viewing.indptr), shape=viewing.shape)
    audience = np.asarray(viewed.sum(axis=0)).ravel()
    by_channel = viewed.T.tocsr()
    size = viewing.shape[1]
    work = np.cumsum(by_channel @ np.diff(viewed.indptr).astype(np.float64))
    ends = np.searchsorted(work, np.arange(block_entries, work[-1] if size else 0, block_entries))
    bounds = np.unique(np.r_[0, ends, size])
    rows, columns, values = [], [], []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        product = by_channel[lo:hi] @ viewed
        product.sort_indices()
        common = product.tocoo()
        other = common.row + lo != common.col
        a, b, counts = common.row[other] + lo, common.col[other], common.data[other]
        keep = _ranked(a, counts)
        keep = keep[_first_k(a[keep], k)]
        a, b = a[keep], b[keep]
        rows.append(a)
        columns.append(b)
        values.append(counts[keep] / np.sqrt(audience[a] * audience[b]))
    if not rows:
        return sparse.csr_array((size, size), dtype=np.float64)
    return sparse.csr_array((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
                            shape=(size, size))


def category_shares(interest: sparse.csr_array, channel_category: NDArray[np.int64],
                    categories: int, k: int) -> sparse.csr_array:
    """users × categories: the share of each user's interest (in channels with a category)
    that goes to each of their k strongest categories (ties to the lower number)."""
    known = channel_category >= 0
    indicator = sparse.csr_array(
        (np.ones(int(known.sum()), dtype=np.float32), (np.flatnonzero(known), channel_category[known])),
        shape=(interest.shape[1], max(categories, 1)))
    totals = (interest @ indicator).toarray()
    sums = totals.sum(axis=1, keepdims=True)
    np.divide(totals, sums, out=totals, where=sums > 0)
    k = min(k, totals.shape[1])
    top = np.argsort(-totals, axis=1, kind="stable")[:, :k]
    shares = np.take_along_axis(totals, top, axis=1)
    del totals
    users = np.repeat(np.arange(interest.shape[0]), k)
    keep = shares.ravel() > 0
    return sparse.csr_array((shares.ravel()[keep], (users[keep], top.ravel()[keep])),
                            shape=(interest.shape[0], max(categories, 1)))


@dataclass(frozen=True)
class Model:
    """What the block computations share, built once per recompute."""

    size: int  # users (and so channels) numbered
    active_users: int  # users who follow or watch anything
    follows: sparse.csr_array  # users × users
    seeds: sparse.csr_array  # users × channels: the VIEWING strongest, over the user's total
    similar: sparse.csr_array  # channels × channels: neighbours()
    shares: sparse.csr_array  # users × categories: the CATEGORIES strongest shares
    popular: NDArray[np.int64]  # categories × ranks: user numbers, -1 past the last

    @classmethod
    def build(cls, interest: list[sparse.csr_array], follows: sparse.csr_array,
              channel_category: tuple[NDArray[np.int32], NDArray[np.int32]],
              popular: NDArray[np.int64]) -> Model:
        """From the interest matrix (interest_matrix plus FOLLOW_SECONDS times follows; a
        one-item list the build empties, so the matrix is freed once used), the follow matrix
        (follow_matrix), (channel, category) pairs and each category's most popular channels
        (-1 past the last)."""
        matrix = interest.pop()
        size = matrix.shape[0]
        active = int(np.count_nonzero(np.diff(matrix.indptr)))
        totals = np.asarray(matrix.sum(axis=1)).ravel()
        category = np.full(size, -1, dtype=np.int64)
        category[channel_category[0]] = channel_category[1]
        shares = category_shares(matrix, category, len(popular), CATEGORIES)
        viewing = strongest(matrix, VIEWING)
        del matrix
        seeds = sparse.csr_array(sparse.diags_array(
            np.divide(1.0, totals, out=np.zeros_like(totals, dtype=np.float32), where=totals > 0))
            @ viewing)
        return cls(size=size, active_users=active, follows=follows, seeds=seeds,
                   similar=neighbours(viewing), shares=shares, popular=popular)

    def streams(self, lo: int, hi: int, weights: Weights, k: int) -> Candidates:
        """Channels worth showing users lo..hi-1 when live: followed, co-viewed, popular in
        their categories; each channel once, for its best reason; the k best per user."""
        parts = [self._followed(lo, hi, weights.follow), self._coviewed(lo, hi, weights.coview),
                 self._popular(lo, hi, weights.category)]
        return _top(_exclude(_best_of(_concat(parts)), self_too=True), k)

    def users(self, lo: int, hi: int, weights: Weights, k: int) -> Candidates:
        """Channels for users lo..hi-1 to follow: followed by whom they follow, co-viewed,
        popular in their categories; a channel found several ways scoring the sum; never one
        already followed; the k best per user. The reason shown is the people you follow who
        follow it, where there are any (what a person trusts most), else the strongest."""
        parts = [self._friends_of_friends(lo, hi, weights.fof),
                 self._coviewed(lo, hi, weights.coview), self._popular(lo, hi, weights.category)]
        found = _summed(_concat(parts), prefer=FOF)
        return _top(_exclude(found, self_too=True, followed=self._followed(lo, hi, 0.0)), k)

    def _entries(self, matrix: sparse.csr_array, lo: int, reason: int, scale: float,
                 detail_is_count: bool = False) -> Candidates:
        coo = matrix.tocoo()
        channels = coo.col.astype(np.int64)
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
        return self._entries(self.seeds[lo:hi] @ self.similar, lo, COVIEW, score)

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


def _grouped(found: Candidates, prefer: int | None = None,
             ) -> tuple[Candidates, NDArray[np.int64], NDArray[np.int64]]:
    """The candidates sorted by (user, channel); where each pair starts; and the position of
    each pair's reason: its `prefer` entry if it has one, else its best-scoring entry (the
    first of its best)."""
    key = _pair(found.users, found.channels)
    order = np.argsort(key)
    found, key = found.select(order), key[order]
    if not len(key):
        return found, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.r_[True, key[1:] != key[:-1]]
    starts = np.flatnonzero(new)
    rank = found.scores if prefer is None else \
        found.scores + np.where(found.reasons == prefer, np.inf, 0.0)
    best = np.maximum.reduceat(rank, starts)
    group = np.cumsum(new) - 1
    tops = np.flatnonzero(rank == best[group])
    firsts = tops[np.r_[True, group[tops[1:]] != group[tops[:-1]]]]
    return found, starts, firsts


def _best_of(found: Candidates) -> Candidates:
    """Each (user, channel) once, with its best reason's score."""
    found, _, firsts = _grouped(found)
    return found.select(firsts)


def _summed(found: Candidates, prefer: int) -> Candidates:
    """Each (user, channel) once, scoring the sum of its reasons; its reason `prefer` if that
    is among them, else the best one."""
    found, starts, firsts = _grouped(found, prefer)
    if not len(starts):
        return found
    best = found.select(firsts)
    return Candidates(best.users, best.channels, np.add.reduceat(found.scores, starts),
                      best.reasons, best.details)


def _top(found: Candidates, k: int) -> Candidates:
    """Each user's k best; `found` sorted by (user, channel), so ties go to the lower channel."""
    found = found.select(_ranked(found.users, found.scores))
    return found.select(_first_k(found.users, k))
