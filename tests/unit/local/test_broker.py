"""The local broker's delivery rules, with fake subscribers, an in-memory queue and an
in-memory dead-letter store."""

from __future__ import annotations

import asyncio
import json
import threading

from local.broker import Broker
from local.triggers import Delivery, Trigger
from tests.factories import cloudevent
from tests.unit.fakes import FakeEventStore

EVENT = cloudevent("dev.t.happened", {"n": 1}, id="1", source="/t")


class MemoryDeadLetters:
    def __init__(self):
        self.letters = []

    def put(self, **letter):
        self.letters.append(letter)


class Subscriber:
    """Answers from a script, then with its last answer forever."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.received = []

    def __call__(self, headers, body):
        self.received.append((headers, body))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def broker(*subscribers, retry=3):
    dead, store = MemoryDeadLetters(), FakeEventStore()
    triggers = [Trigger(f"s{i}", "dev.t.happened", s) for i, s in enumerate(subscribers)]
    return Broker(triggers, delivery=Delivery(retry=retry, backoff_delay=0.1),
                  dead_letters=dead, store=store), dead, store


def test_two_500s_then_202_is_delivered_on_the_third_try_with_exponential_backoff():
    subscriber = Subscriber((500, {}, b""), (500, {}, b""), (202, {}, b""))
    b, dead, store = broker(subscriber)
    b.publish(*EVENT)
    assert b.drain(5)
    assert len(subscriber.received) == 3
    assert store.delays == [0.1, 0.2]
    assert dead.letters == []
    assert b.counts == {("accepted", "s0"): 1, ("retried", "s0"): 2, ("delivered", "s0"): 1}


def test_always_500_ends_in_the_dead_letter_store_after_the_retries():
    subscriber = Subscriber((500, {}, b"oops"))
    b, dead, _ = broker(subscriber, retry=3)
    b.publish(*EVENT)
    assert b.drain(5)
    assert len(subscriber.received) == 4
    assert dead.letters[0]["attempts"] == 4 and "500" in dead.letters[0]["reason"]
    assert b.counts == {("accepted", "s0"): 1, ("retried", "s0"): 3, ("dead_lettered", "s0"): 1}


def test_a_200_with_an_html_body_is_a_failed_delivery():
    subscriber = Subscriber((200, {"Content-Type": "text/html"}, b"<p>OK</p>"))
    b, dead, _ = broker(subscriber, retry=1)
    b.publish(*EVENT)
    assert b.drain(5)
    assert len(subscriber.received) == 2
    assert "not a CloudEvent" in dead.letters[0]["reason"]


def test_a_400_is_not_retried():
    subscriber = Subscriber((400, {}, b'{"error": {}}'))
    b, dead, _ = broker(subscriber)
    b.publish(*EVENT)
    assert b.drain(5)
    assert len(subscriber.received) == 1 and len(dead.letters) == 1


def test_a_network_error_or_a_crashing_subscriber_is_retried():
    subscriber = Subscriber(ConnectionRefusedError(), ValueError("bad"), (202, {}, b""))
    b, dead, _ = broker(subscriber)
    b.publish(*EVENT)
    assert b.drain(5)
    assert len(subscriber.received) == 3 and dead.letters == []


def test_publish_fans_out_by_type_only():
    matching, other = Subscriber((202, {}, b"")), Subscriber((202, {}, b""))
    b, _, _ = broker(matching)
    b.triggers.append(Trigger("other", "dev.t.other", other))
    b.publish(*EVENT)
    assert b.drain(5)
    assert len(matching.received) == 1 and other.received == []


def test_a_direct_subscriber_gets_only_what_is_addressed_to_it():
    typed, direct = Subscriber((202, {}, b"")), Subscriber((202, {}, b""))
    b, _, _ = broker(typed)
    b.triggers.append(Trigger("ping-me", None, direct, direct=True))
    b.publish(*EVENT)
    b.publish(*EVENT, subscriber="ping-me")
    assert b.drain(5)
    assert len(typed.received) == 1 and len(direct.received) == 1


def test_an_event_nobody_subscribes_to_leaves_nothing_pending():
    b, _, store = broker()
    b.publish(*EVENT)
    assert b.drain(5) and store.events == {}


def test_a_reply_event_is_published_back_to_the_broker():
    reply = cloudevent("dev.t.other", id="r1", source="/s")
    first = Subscriber((200, reply[0], reply[1]))
    second = Subscriber((202, {}, b""))
    b, dead, _ = broker(first)
    b.triggers.append(Trigger("second", "dev.t.other", second))
    b.publish(*EVENT)
    assert b.drain(5)
    assert second.received and second.received[0][0]["ce-id"] == "r1"


def only(token):
    """An authorize step that accepts one bearer token (the real one verifies OIDC tokens)."""
    from shared_lib.errors import NotAuthenticated

    def authorize(authorization):
        if authorization != f"Bearer {token}":
            raise NotAuthenticated("The event's sender could not be verified.")

    return authorize


class Answer:
    def __init__(self, status_code, body):
        self.status_code, self.json = status_code, (json.loads(body) if body else None)


def post(app, body, headers, path="/", method="POST"):
    """One request to the ASGI ingress, as uvicorn hands it over."""
    return asyncio.run(request(app, body, headers, path, method))


async def request(app, body, headers, path="/", method="POST"):
    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]}
    sent, told = [], False

    async def receive():
        nonlocal told
        if told:
            await asyncio.sleep(3600)
        told = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start, end = sent
    return Answer(start["status"], end["body"])


def good(headers):
    return {**headers, "Authorization": "Bearer good"}


def test_ingress_stores_structured_mode_in_binary_and_refuses_garbage():
    from local.ingress import Ingress

    store = FakeEventStore()
    app = Ingress(store, authorize=only("good"))
    structured = post(app, json.dumps({"specversion": "1.0", "id": "9", "source": "/x",
                                       "type": "dev.t.happened", "data": {"a": 1}}).encode(),
                      good({"Content-Type": "application/cloudevents+json"}))
    assert structured.status_code == 202
    garbage = post(app, b"{}", good({"Content-Type": "application/json"}))
    assert garbage.status_code == 400 and garbage.json["error"]["code"] == "invalid_event"
    [(headers, body, _, _)] = store.events.values()
    assert headers["ce-id"] == "9" and b'"a"' in body


def test_ingress_stores_a_binary_event_as_sent_and_refuses_one_without_its_attributes():
    from local.ingress import Ingress

    store = FakeEventStore()
    app = Ingress(store, authorize=only("good"))
    sent = {"ce-specversion": "1.0", "ce-id": "7", "ce-source": "/functions/follow",
            "ce-type": "dev.t.followed", "ce-subject": "u1", "ce-traceparent": "00-" + "a" * 32
            + "-" + "b" * 16 + "-01", "Content-Type": "application/json"}
    body = b'{"follower_id": "f",  "at": "2026-11-28T00:00:00+00:00"}'
    answer = post(app, body, good(sent))
    assert answer.status_code == 202
    [(headers, stored, _, _)] = store.events.values()
    assert stored == body, "the data as the sender wrote it"
    assert {name: headers[name.lower()] for name in sent} == {k: v for k, v in sent.items()}
    assert headers["ce-time"], "the time it was received, as the SDK adds it"
    assert "authorization" not in headers, "the sender's token is not kept with the event"
    for missing in ("ce-id", "ce-source", "ce-type"):
        partial = {name: value for name, value in sent.items() if name != missing}
        assert post(app, body, good(partial)).status_code == 400, missing
    not_json = post(app, b"{oops", good({**sent, "ce-id": "8"}))
    assert not_json.status_code == 400 and len(store.events) == 1


def test_ingress_answers_503_when_it_cannot_store_so_the_sender_retries():
    from local.ingress import Ingress

    class Down(FakeEventStore):
        def put_many(self, events):
            raise OSError("connection refused")

    headers, body = cloudevent("t", id="1", source="/x")
    answer = post(Ingress(Down(), authorize=only("good")), body, good(headers))
    assert answer.status_code == 503 and answer.json["error"]["code"] == "unavailable"


def test_ingress_refuses_an_unverified_sender_with_a_json_401_and_stores_nothing():
    from local.ingress import Ingress

    store = FakeEventStore()
    event, body = cloudevent("t", id="1", source="/x")
    for authorization in ({}, {"Authorization": "Bearer forged"}):
        answer = post(Ingress(store, authorize=only("good")), body, {**event, **authorization})
        assert answer.status_code == 401 and answer.json["error"]["code"] == "not_authenticated"
    assert store.events == {}


def test_ingress_refuses_an_oversized_event_and_other_methods_with_json():
    from local.ingress import MAX_EVENT_BYTES, Ingress

    store = FakeEventStore()
    app = Ingress(store, authorize=only("good"))
    event, _ = cloudevent("t", id="1", source="/x")
    big = post(app, b'"' + b"x" * MAX_EVENT_BYTES + b'"', good(event))
    assert big.status_code == 413 and big.json["error"]["code"] == "payload_too_large"
    wrong = post(app, b"", good(event), method="GET")
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"
    assert post(app, b"", {}, path="/healthz", method="GET").status_code == 200
    assert store.events == {}


class Gated(FakeEventStore):
    """A store whose first write waits until the test opens the gate; records each write's size."""

    def __init__(self):
        super().__init__()
        self.gate, self.writing, self.writes = threading.Event(), threading.Event(), []

    def put_many(self, events):
        self.writing.set()
        assert self.gate.wait(10)
        if any(headers["ce-id"] == "bad" for headers, _ in events):
            raise ValueError("PostgreSQL refuses this one")
        self.writes.append(len(events))
        super().put_many(events)


def send_together(app, store, ids):
    """The first event is being written when the others arrive; then the gate opens."""

    async def scenario():
        first = asyncio.ensure_future(request(app, *event(ids[0])))
        while not store.writing.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(request(app, *event(i))) for i in ids[1:]]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in [first, *rest]), "no 202 before its commit"
        store.gate.set()
        return [answer.status_code for answer in await asyncio.gather(first, *rest)]

    def event(event_id):
        headers, body = cloudevent("t", id=event_id, source="/x")
        return body, good(headers)

    return asyncio.run(scenario())


def test_events_that_arrive_during_a_write_are_committed_together_in_the_next():
    from local.ingress import Ingress

    store = Gated()
    statuses = send_together(Ingress(store, authorize=only("good")), store, [str(i) for i in range(6)])
    assert statuses == [202] * 6
    assert store.writes == [1, 5], "one INSERT for the five that waited"
    assert sorted(h["ce-id"] for h, *_ in store.events.values()) == [str(i) for i in range(6)]


def test_an_event_the_database_refuses_costs_no_other_event_of_its_group_its_place():
    from local.ingress import Ingress

    store = Gated()
    statuses = send_together(Ingress(store, authorize=only("good")), store, ["0", "1", "bad", "3"])
    assert statuses == [202, 202, 503, 202]
    assert sorted(h["ce-id"] for h, *_ in store.events.values()) == ["0", "1", "3"]
