"""Typed path parameters: a handler's annotation converts its segment, and a segment that is
not one is a 404 naming the resource (never a 400 or a 500)."""

from __future__ import annotations

import uuid

import pytest

from shared_lib.errors import InvalidInput, NotFound
from shared_lib.http.paths import path_converters, path_parameters


def handler(id: uuid.UUID, letter_id: int, username: str) -> None: ...


CONVERTERS = path_converters(handler, "/api/streams/{id}/dead-letters/{letter_id}/{username}")


def test_annotated_parameters_arrive_converted_and_the_rest_as_text():
    stream = uuid.uuid4()
    values = path_parameters({"id": str(stream), "letter_id": "42", "username": "ada"},
                             {"id", "letter_id", "username"}, CONVERTERS)
    assert values == {"id": stream, "letter_id": 42, "username": "ada"}


def test_only_what_the_handler_asks_for_is_passed():
    assert path_parameters({"id": str(uuid.uuid4()), "username": "ada"}, {"username"}, CONVERTERS) \
        == {"username": "ada"}


@pytest.mark.parametrize("match, noun", [
    ({"id": "not-a-uuid"}, "stream"),
    ({"letter_id": "9223372036854775808"}, "dead letter"),  # past PostgreSQL's bigint
    ({"letter_id": "-1"}, "dead letter"),
    ({"letter_id": "\u0661\u0662"}, "dead letter"),  # Arabic-Indic digits: isdigit() but not ASCII
])
def test_a_malformed_segment_is_not_found_as_its_resource(match, noun):
    with pytest.raises(NotFound) as missing:
        path_parameters(match, set(match), CONVERTERS)
    assert missing.value.message == f"No such {noun}."


def test_text_postgresql_cannot_store_is_invalid_input_naming_the_parameter():
    with pytest.raises(InvalidInput) as refused:
        path_parameters({"username": "a\x00b"}, {"username"}, CONVERTERS)
    assert [detail["field"] for detail in refused.value.details] == ["username"]
