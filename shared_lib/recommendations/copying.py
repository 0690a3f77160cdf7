"""Arrays in and out of PostgreSQL without a Python object per row.

In: a query returns packed big-endian int4 columns, many rows to a bytea chunk (`packed()`
writes the statement), and `unpack()` turns the chunks into one array per column.
Out: `binary_copy()` encodes suggestions as COPY's binary format for
recommended_*(user_id, channel_id, score, reason, detail), straight from numpy: rows are
grouped by their reason and their detail's length, so each group has one fixed layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from shared_lib.recommendations.model import CATEGORY, FOF, REASONS, Candidates

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from numpy.typing import NDArray

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
COLUMNS = "(user_id, channel_id, score, reason, detail)"


def packed(columns: list[str], source: str, group: str) -> str:
    """A statement answering `columns` of `source` (integers that fit int4) as bytea chunks,
    one per value of `group`."""
    row = " || ".join(f"int4send(({column})::int4)" for column in columns)
    return f"SELECT string_agg({row}, ''::bytea) FROM ({source}) AS source GROUP BY {group}"


def unpack(chunks: Iterable[bytes], columns: int) -> list[NDArray[np.int32]]:
    """The int4 columns of `packed()` chunks, each as an int32 array."""
    data = np.frombuffer(b"".join(chunks), dtype=">i4").reshape(-1, columns)
    return [data[:, column].astype(np.int32) for column in range(columns)]


def _layout(reason: int, detail_length: int | None) -> np.dtype[np.void]:
    fields = [("fields", ">i2"), ("user_length", ">i4"), ("user", "V16"),
              ("channel_length", ">i4"), ("channel", "V16"), ("score_length", ">i4"),
              ("score", ">f8"), ("reason_length", ">i4"),
              ("reason", f"S{len(REASONS[reason])}"), ("detail_length", ">i4")]
    if detail_length is not None:
        fields.append(("detail", f"S{detail_length}"))
    return np.dtype(fields)


def _encode(found: Candidates, ids: NDArray[np.void], reason: int,
            details: NDArray[np.bytes_] | None) -> bytes:
    length = None if details is None else details.dtype.itemsize
    rows = np.empty(len(found), dtype=_layout(reason, length))
    rows["fields"] = 5
    rows["user_length"] = rows["channel_length"] = 16
    rows["user"], rows["channel"] = ids[found.users], ids[found.channels]
    rows["score_length"], rows["score"] = 8, found.scores
    rows["reason_length"], rows["reason"] = len(REASONS[reason]), REASONS[reason].encode()
    rows["detail_length"] = -1 if details is None else length
    if details is not None:
        rows["detail"] = details
    return rows.tobytes()


def _groups(found: Candidates, categories: NDArray[np.bytes_],
            ) -> Iterator[tuple[Candidates, int, NDArray[np.bytes_] | None]]:
    """(rows, reason, their details as text or None) with one reason and detail length each."""
    for reason in np.unique(found.reasons).tolist():
        mine = found.select(found.reasons == reason)
        if reason == CATEGORY:
            for category in np.unique(mine.details).tolist():
                same = mine.select(mine.details == category)
                yield same, reason, np.full(len(same), categories[category])
        elif reason == FOF:
            text = mine.details.astype("S20")
            widths = np.char.str_len(text)
            for width in np.unique(widths).tolist():
                same = widths == width
                yield mine.select(same), reason, text[same].astype(f"S{width}")
        else:
            yield mine, reason, None


def binary_copy(found: Candidates, ids: NDArray[np.void], categories: NDArray[np.bytes_]) -> bytes:
    """COPY ... FROM STDIN (FORMAT binary) input of the suggestions; `ids` holds each user
    number's UUID (16 bytes), `categories` each category number's name."""
    return b"".join([HEADER, *(_encode(rows, ids, reason, details)
                               for rows, reason, details in _groups(found, categories)), TRAILER])
