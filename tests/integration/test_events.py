"""Event functions: at-least-once delivery, exactly one effect."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import functions_framework

from tests import factories
from tests.functions_client import sender_token

SOURCE = Path(__file__).with_name("sample_events.py")
SENDER = {"Authorization": f"Bearer {sender_token('on-test-happened')}"}


def app():
    application = functions_framework.create_app("on_test_happened", str(SOURCE))
    return application.test_client(), sys.modules["sample_events"]


def headers(event_id: str, source: str = "/tests") -> dict:
    ce, _ = factories.cloudevent("dev.streamfn.test.happened", source=source, id=event_id)
    return {**ce, **SENDER}


def test_an_event_delivered_three_times_has_one_effect():
    client, module = app()
    event_id = str(uuid.uuid4())
    answers = [client.post("/", headers=headers(event_id), data=b'{"n": 1}') for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert all(a.get_data() == b"" for a in answers), "an empty 202, as a broker expects"
    assert module.EFFECTS.count(event_id) == 1


def test_the_same_id_from_another_source_is_another_event():
    client, module = app()
    event_id = str(uuid.uuid4())
    client.post("/", headers=headers(event_id, "/a"), data=b"{}")
    client.post("/", headers=headers(event_id, "/b"), data=b"{}")
    assert module.EFFECTS.count(event_id) == 2


def test_structured_mode_is_accepted_and_garbage_is_a_json_400():
    client, module = app()
    event_id = str(uuid.uuid4())
    structured = client.post("/", json={"specversion": "1.0", "id": event_id, "source": "/s",
                                        "type": "dev.streamfn.test.happened", "data": {}},
                             headers={"Content-Type": "application/cloudevents+json", **SENDER})
    assert structured.status_code == 202 and event_id in module.EFFECTS
    garbage = client.post("/", data=b"{}", headers={"Content-Type": "application/json", **SENDER})
    assert garbage.status_code == 400 and garbage.get_json()["error"]["code"] == "invalid_input"


def test_an_event_of_another_type_is_refused():
    client, module = app()
    wrong = {**headers(str(uuid.uuid4())), "ce-type": "dev.streamfn.other"}
    assert client.post("/", headers=wrong, data=b"{}").status_code == 400


def test_an_event_without_a_verified_sender_is_a_json_401_and_has_no_effect():
    """A forged stream.started, say: nothing acts on an event it cannot attribute."""
    from tests.functions_client import sender_token as token_for

    client, module = app()
    event_id = str(uuid.uuid4())
    unsigned = {k: v for k, v in headers(event_id).items() if k != "Authorization"}
    for authorization in ({}, {"Authorization": "Bearer forged"},
                          {"Authorization": f"Bearer {token_for('notify-followers')}"}):
        answer = client.post("/", headers={**unsigned, **authorization}, data=b"{}")
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "not_authenticated"
    assert event_id not in module.EFFECTS
