"""Keyset cursors: the next page starts strictly after the last item served, and a cursor a
client tampered with is a 400 naming the field, never a 500."""

from __future__ import annotations

import uuid

import pytest

from shared_lib.errors import InvalidInput
from shared_lib.http.paging import PageQuery, decode_cursor, encode_cursor, page_of


def test_a_cursor_carries_the_sort_key_back_in_its_types():
    key = (17, uuid.UUID("5f0c2a4e-7d7b-4c1e-9a43-0d8c6a1d2e3f"))
    cursor = encode_cursor(*key)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor, "safe in a query string"
    assert decode_cursor(cursor, int, uuid.UUID) == key


def test_page_one_has_no_cursor():
    assert decode_cursor(None, int) is None


@pytest.mark.parametrize("cursor", [
    "not base64 at all!", encode_cursor(1), encode_cursor(1, 2, 3), encode_cursor("x", "y"),
    "W10", "eyJhIjoxfQ",  # [] and {"a":1}
    encode_cursor("1", "a\x00b"),  # text PostgreSQL cannot store
])
def test_a_tampered_cursor_is_invalid_input_naming_the_field(cursor):
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor, int, str)
    assert refused.value.details == [{"field": "cursor"}]


def test_a_page_is_trimmed_to_its_limit_and_points_after_its_last_row():
    rows = list(range(1, 7))  # a query fetched limit + 1
    page, cursor = page_of(rows, 5, lambda row: (row,))
    assert page == [1, 2, 3, 4, 5]
    assert decode_cursor(cursor, int) == (5,)
    last, none = page_of([6], 5, lambda row: (row,))
    assert last == [6] and none is None, "the last page says there is no next one"


def test_the_query_fetches_one_more_than_a_page_and_bounds_the_limit():
    query = PageQuery.model_validate({"limit": "3"})
    assert query.limit == 3 and query.fetch == 4
    for bad in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"cursor": "c" * 501}, {"page": "2"}):
        with pytest.raises(ValueError):
            PageQuery.model_validate(bad)
