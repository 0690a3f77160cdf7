"""The local broker's delivery rules, with fake subscribers, an in-memory queue and an
in-memory dead-letter store."""

from __future__ import annotations

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


def test_ingress_stores_structured_mode_in_binary_and_refuses_garbage():
    from werkzeug.test import Client

    from local.ingress import Ingress

    store = FakeEventStore()
    client = Client(Ingress(store, authorize=only("good")))
    structured = client.post("/", json={"specversion": "1.0", "id": "9", "source": "/x",
                                        "type": "dev.t.happened", "data": {"a": 1}},
                             headers={"Content-Type": "application/cloudevents+json",
                                      "Authorization": "Bearer good"})
    assert structured.status_code == 202
    garbage = client.post("/", data=b"{}", headers={"Content-Type": "application/json",
                                                   "Authorization": "Bearer good"})
    assert garbage.status_code == 400 and garbage.json["error"]["code"] == "invalid_event"
    [(headers, body, _, _)] = store.events.values()
    assert headers["ce-id"] == "9" and b'"a"' in body


def test_ingress_stores_a_binary_event_as_sent_and_refuses_one_without_its_attributes():
    from werkzeug.test import Client

    from local.ingress import Ingress

    store = FakeEventStore()
    client = Client(Ingress(store, authorize=only("good")))
    sent = {"ce-specversion": "1.0", "ce-id": "7", "ce-source": "/functions/follow",
            "ce-type": "dev.t.followed", "ce-subject": "u1", "ce-traceparent": "00-" + "a" * 32
            + "-" + "b" * 16 + "-01", "Content-Type": "application/json"}
    body = b'{"follower_id": "f",  "at": "2026-11-28T00:00:00+00:00"}'
    answer = client.post("/", data=body, headers={**sent, "Authorization": "Bearer good"})
    assert answer.status_code == 202
    [(headers, stored, _, _)] = store.events.values()
    assert stored == body, "the data as the sender wrote it"
    assert {name: headers[name.lower()] for name in sent} == sent
    assert headers["ce-time"], "the time it was received, as the SDK adds it"
    assert "authorization" not in headers, "the sender's token is not kept with the event"
    for missing in ("ce-id", "ce-source", "ce-type"):
        partial = {name: value for name, value in sent.items() if name != missing}
        refused = client.post("/", data=body, headers={**partial, "Authorization": "Bearer good"})
        assert refused.status_code == 400, missing
    not_json = client.post("/", data=b"{oops", headers={**sent, "ce-id": "8",
                                                         "Authorization": "Bearer good"})
    assert not_json.status_code == 400 and len(store.events) == 1


def test_ingress_answers_503_when_it_cannot_store_so_the_sender_retries():
    from werkzeug.test import Client

    from local.ingress import Ingress

    class Down(FakeEventStore):
        def put(self, *args, **kwargs):
            raise OSError("connection refused")

    headers, body = cloudevent("t", id="1", source="/x")
    answer = Client(Ingress(Down(), authorize=only("good"))).post("/", data=body, headers={
        **headers, "Authorization": "Bearer good"})
    assert answer.status_code == 503 and answer.json["error"]["code"] == "unavailable"


def test_ingress_refuses_an_unverified_sender_with_a_json_401_and_stores_nothing():
    from werkzeug.test import Client

    from local.ingress import Ingress

    store = FakeEventStore()
    event, body = cloudevent("t", id="1", source="/x")
    for authorization in ({}, {"Authorization": "Bearer forged"}):
        answer = Client(Ingress(store, authorize=only("good"))).post(
            "/", data=body, headers={**event, **authorization})
        assert answer.status_code == 401 and answer.json["error"]["code"] == "not_authenticated"
    assert store.events == {}
