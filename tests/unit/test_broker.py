"""The local broker's delivery rules, with a fake subscriber and an in-memory dead-letter store."""

from __future__ import annotations

from local.broker import Broker, Delivery, Trigger

EVENT = ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/t", "ce-type": "dev.t.happened",
          "content-type": "application/json"}, b'{"n": 1}')


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
    dead = MemoryDeadLetters()
    sleeps = []
    triggers = [Trigger(f"s{i}", "dev.t.happened", s) for i, s in enumerate(subscribers)]
    return Broker(triggers, delivery=Delivery(retry=retry, backoff_delay=0.1),
                  dead_letters=dead, sleep=sleeps.append), dead, sleeps


def test_two_500s_then_202_is_delivered_on_the_third_try_with_exponential_backoff():
    subscriber = Subscriber((500, {}, b""), (500, {}, b""), (202, {}, b""))
    b, dead, sleeps = broker(subscriber)
    assert b.deliver(b.triggers[0], *EVENT)
    assert len(subscriber.received) == 3
    assert sleeps == [0.1, 0.2]
    assert dead.letters == []


def test_always_500_ends_in_the_dead_letter_store_after_the_retries():
    subscriber = Subscriber((500, {}, b"oops"))
    b, dead, _ = broker(subscriber, retry=3)
    assert not b.deliver(b.triggers[0], *EVENT)
    assert len(subscriber.received) == 4
    assert dead.letters[0]["attempts"] == 4 and "500" in dead.letters[0]["reason"]


def test_a_200_with_an_html_body_is_a_failed_delivery():
    subscriber = Subscriber((200, {"Content-Type": "text/html"}, b"<p>OK</p>"))
    b, dead, _ = broker(subscriber, retry=1)
    assert not b.deliver(b.triggers[0], *EVENT)
    assert len(subscriber.received) == 2
    assert "not a CloudEvent" in dead.letters[0]["reason"]


def test_a_400_is_not_retried():
    subscriber = Subscriber((400, {}, b'{"error": {}}'))
    b, dead, _ = broker(subscriber)
    assert not b.deliver(b.triggers[0], *EVENT)
    assert len(subscriber.received) == 1 and len(dead.letters) == 1


def test_a_network_error_is_retried():
    subscriber = Subscriber(ConnectionRefusedError(), (202, {}, b""))
    b, dead, _ = broker(subscriber)
    assert b.deliver(b.triggers[0], *EVENT)
    assert len(subscriber.received) == 2


def test_publish_fans_out_by_type_only():
    matching, other = Subscriber((202, {}, b"")), Subscriber((202, {}, b""))
    b, _, _ = broker(matching)
    b.triggers.append(Trigger("other", "dev.t.other", other))
    assert b.publish(*EVENT) == 1
    assert b.drain(5)
    assert len(matching.received) == 1 and other.received == []


def test_a_reply_event_is_published_back_to_the_broker():
    reply = ({"ce-specversion": "1.0", "ce-id": "r1", "ce-source": "/s", "ce-type": "dev.t.other",
              "content-type": "application/json"}, b"{}")
    first = Subscriber((200, reply[0], reply[1]))
    second = Subscriber((202, {}, b""))
    b, dead, _ = broker(first)
    b.triggers.append(Trigger("second", "dev.t.other", second))
    assert b.deliver(b.triggers[0], *EVENT)
    assert b.drain(5)
    assert second.received and second.received[0][0]["ce-id"] == "r1"


def test_ingress_accepts_structured_mode_and_refuses_garbage():
    from werkzeug.test import Client

    subscriber = Subscriber((202, {}, b""))
    b, _, _ = broker(subscriber)
    client = Client(b.ingress)
    structured = client.post("/", json={"specversion": "1.0", "id": "9", "source": "/x",
                                        "type": "dev.t.happened", "data": {"a": 1}},
                             headers={"Content-Type": "application/cloudevents+json"})
    assert structured.status_code == 202
    garbage = client.post("/", data=b"{}", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and garbage.json["error"]["code"] == "invalid_event"
    assert b.drain(5)
    headers, body = subscriber.received[0]
    assert headers["ce-id"] == "9" and b'"a"' in body
