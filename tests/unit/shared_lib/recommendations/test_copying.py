"""The arrays-in, COPY-out encodings, checked against a plain decoder of PostgreSQL's formats."""

from __future__ import annotations

import struct
import uuid

import numpy as np

from shared_lib.recommendations.copying import HEADER, binary_copy, packed, unpack
from shared_lib.recommendations.model import CATEGORY, COVIEW, FOF, FOLLOW, NO_DETAIL, Candidates


def decode(data: bytes) -> list[tuple]:
    """COPY's binary format, field by field (PostgreSQL docs, "Binary Format")."""
    assert data.startswith(HEADER)
    at, rows = len(HEADER), []
    while True:
        (fields,) = struct.unpack_from(">h", data, at)
        at += 2
        if fields == -1:
            assert at == len(data)
            return rows
        row = []
        for _ in range(fields):
            (length,) = struct.unpack_from(">i", data, at)
            at += 4
            row.append(None if length == -1 else data[at:at + length])
            at += max(length, 0)
        rows.append(tuple(row))


def test_suggestions_encode_as_rows_of_uuids_a_score_a_reason_and_its_detail():
    ids = np.array([uuid.uuid4().bytes for _ in range(4)], dtype="V16")
    found = Candidates(
        users=np.array([0, 0, 1, 1, 2, 3]), channels=np.array([1, 2, 3, 0, 0, 1]),
        scores=np.array([1000.0, 12.5, 300.0, 100.0, 700.0, 0.25]),
        reasons=np.array([FOLLOW, COVIEW, CATEGORY, FOF, FOF, CATEGORY], dtype=np.int16),
        details=np.array([NO_DETAIL, NO_DETAIL, 1, 7, 12, 0]))
    categories = np.array([b"art", b"food-drink"])
    rows = {(uuid.UUID(bytes=u), uuid.UUID(bytes=c), struct.unpack(">d", s)[0], r, d)
            for u, c, s, r, d in decode(binary_copy(found, ids, categories))}
    expected = {(0, 1, 1000.0, b"follow", None), (0, 2, 12.5, b"coview", None),
                (1, 3, 300.0, b"category", b"food-drink"), (1, 0, 100.0, b"fof", b"7"),
                (2, 0, 700.0, b"fof", b"12"), (3, 1, 0.25, b"category", b"art")}
    assert rows == {(uuid.UUID(bytes=ids[u].tobytes()), uuid.UUID(bytes=ids[c].tobytes()), s, r, d)
                    for u, c, s, r, d in expected}


def test_nothing_to_suggest_is_a_valid_empty_copy():
    empty = Candidates(*(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.float64,
                                                        np.int16, np.int64)))
    assert decode(binary_copy(empty, np.zeros(0, dtype="V16"), np.zeros(0, dtype="S1"))) == []


def test_packed_chunks_unpack_into_columns():
    statement = packed(["a", "b"], "SELECT 1 AS a, 2 AS b", "a")
    assert "int4send((a)::int4) || int4send((b)::int4)" in statement
    chunks = [struct.pack(">4i", 1, 2, 3, -4), struct.pack(">2i", 5, 6)]
    assert [column.tolist() for column in unpack(chunks, 2)] == [[1, 3, 5], [2, -4, 6]]
