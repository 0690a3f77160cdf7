"""The local broker against real HTTP subscribers, with dead letters in PostgreSQL."""

from __future__ import annotations

import uuid

from local.broker import Broker
from local.event_store import EventStore
from local.triggers import Delivery, Trigger, http_send
from tests.factories import cloudevent


def publish(subscriber):
    broker = Broker([Trigger("subscriber", "dev.streamfn.test", http_send(subscriber.port))],
                    delivery=Delivery(retry=3, backoff_delay=0.01),
                    store=EventStore(f"test-{uuid.uuid4()}"))
    event_id = str(uuid.uuid4())
    broker.publish(*cloudevent("dev.streamfn.test", id=event_id, source="/t"))
    assert broker.drain(10)
    return event_id


def dead_letters_for(event_id):
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        return [d for d in uow.dead_letters.list(limit=1000) if d.event_id == event_id]


def test_500_twice_then_202_is_received_three_times(receivers):
    subscriber = receivers((500, "text/plain", ""), (500, "text/plain", ""),
                                    (202, "text/plain", ""))
    event_id = publish(subscriber)
    assert subscriber.event_ids() == [event_id] * 3
    assert dead_letters_for(event_id) == []


def test_always_500_ends_in_the_dead_letter_store(receivers):
    subscriber = receivers((500, "application/json", '{"error": {}}'))
    event_id = publish(subscriber)
    assert len(subscriber.received) == 4
    [letter] = dead_letters_for(event_id)
    assert letter.subscriber == "subscriber" and letter.attempts == 4
    assert letter.event_type == "dev.streamfn.test" and "500" in letter.reason


def test_a_200_with_an_html_body_is_treated_as_a_failure(receivers):
    subscriber = receivers((200, "text/html", "<html>OK</html>"))
    event_id = publish(subscriber)
    assert len(subscriber.received) == 4
    [letter] = dead_letters_for(event_id)
    assert "not a CloudEvent" in letter.reason


def test_a_group_of_events_is_stored_in_one_statement_all_or_none_and_each_delivered(receivers):
    import pytest
    from sqlalchemy.exc import DBAPIError

    subscriber = receivers((202, "text/plain", ""))
    store = EventStore(f"test-{uuid.uuid4()}")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    events = [cloudevent("dev.streamfn.test", {"n": n}, id=i, source="/t") for n, i in enumerate(ids)]
    refused = cloudevent("dev.streamfn.test", id="nul", source="/t", subject="a\u0000b")
    with pytest.raises(DBAPIError):  # jsonb holds no NUL: the whole group is refused
        store.put_many([*events[:1], refused])
    assert store.pending() == 0
    store.put_many(events)
    broker = Broker([Trigger("subscriber", "dev.streamfn.test", http_send(subscriber.port))],
                    delivery=Delivery(retry=0, backoff_delay=0.01), store=store)
    assert broker.drain(10)
    assert sorted(subscriber.event_ids()) == sorted(ids)
