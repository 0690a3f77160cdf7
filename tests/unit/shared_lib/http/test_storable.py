"""Values PostgreSQL cannot store are refused before they reach the driver, naming the field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import BaseModel

from shared_lib.errors import InvalidInput
from shared_lib.http.paging import decode_cursor, encode_cursor
from shared_lib.http.storable import refuse_unstorable


class Inner(BaseModel):
    ids: list[int]


class Body(BaseModel):
    title: str
    inner: Inner


def fields_refused(value) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        refuse_unstorable(value)
    return [detail["field"] for detail in refused.value.details]


def test_nul_in_any_string_is_refused_with_its_field():
    assert fields_refused(Body(title="a\x00b", inner=Inner(ids=[1]))) == ["title"]


def test_integers_outside_bigint_are_refused_with_their_place():
    assert fields_refused(Body(title="t", inner=Inner(ids=[1, 2**63]))) == ["inner.ids.1"]
    refuse_unstorable(Body(title="t", inner=Inner(ids=[2**63 - 1, -(2**63)])))


def test_path_parameters_are_checked_by_name():
    assert fields_refused({"username": "bob\x00"}) == ["username"]


@pytest.mark.parametrize("key, types", [
    (("9999-12-31T23:59:59-14:00", "5bdd3d7e-0000-4000-8000-000000000000"), None),
    (("99999999999999999999",), (int,)),
])
def test_cursors_postgresql_cannot_hold_are_a_400_on_the_cursor(key, types):
    import uuid

    types = types or (datetime.fromisoformat, uuid.UUID)
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(encode_cursor(*key), *types)
    assert refused.value.details == [{"field": "cursor"}]


def test_a_time_that_fits_is_kept():
    when = datetime.now(timezone(timedelta(hours=-14)))
    assert decode_cursor(encode_cursor(when.isoformat()), datetime.fromisoformat) == (when,)
