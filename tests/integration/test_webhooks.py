"""Outgoing webhooks on the real PostgreSQL, with receivers that are test servers on
127.0.0.1 (the local-testing setting on) and a test sink standing in for the broker."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests import factories
from tests.integration.test_streams import create, event, new_user


@pytest.fixture
def settings(monkeypatch):
    """Apply environment settings for the functions called in-process."""
    from shared_lib.config import get_settings

    def apply(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()

    apply(STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true")
    yield apply
    get_settings.cache_clear()


@pytest.fixture
def receiver(receivers):
    """A webhook receiver answering each of `statuses` once, the last to every later delivery."""
    return lambda *statuses: receivers(*[(status, "application/json", '{"ok": true}')
                                         for status in statuses or (200,)],
                                       path="/hooks/streamfn?team=7")


@pytest.fixture
def sink(receiver, settings):
    """The broker as seen by the functions: the delivery requests they send arrive here."""
    server = receiver(202)
    settings(K_SINK=server.url)

    def requests() -> list[int]:
        return [json.loads(body)["delivery_id"] for headers, body, _ in server.received
                if headers.get("Ce-Type") == "dev.streamfn.webhook.delivery.requested"]

    return requests


def ping(name: str):
    return factories.ping(name)


def attempt(call, delivery_id: int):
    headers, body = factories.cloudevent("dev.streamfn.webhook.delivery.requested",
                                         {"delivery_id": delivery_id})
    response = call("deliver-webhook", "POST", "/", data=body, headers=headers)
    assert response.status_code == 202


def followed(call, channel: str, follower_token: str, channel_id: str, follower_id: str):
    """A follow, and the followed event the broker would bring to the webhook function."""
    assert call("follow", path=f"/api/users/{channel}/follow", token=follower_token).status_code == 200
    headers, body = factories.cloudevent(
        "dev.streamfn.user.followed", source="/functions/follow", subject=channel_id,
        data={"follower_id": follower_id, "followed_id": channel_id, "at": "2026-11-25T18:00:00+00:00"})
    response = call("webhooks-user-followed", "POST", "/", data=body, headers=headers)
    assert response.status_code == 202
    return headers["ce-id"]


def me(call, token):
    return call("me", token=token).get_json()


def deliveries(call, token, webhook_id):
    response = call("list-webhook-deliveries", path=f"/api/webhooks/{webhook_id}/deliveries",
                    token=token)
    assert response.status_code == 200
    return response.get_json()["items"]


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does: recompute the HMAC over the raw body it got."""
    fields = dict(part.split("=", 1) for part in headers["X-Streamfn-Signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256)
    fresh = abs(time.time() - int(fields["t"])) < 300
    return fresh and hmac.compare_digest(expected.hexdigest(), fields["v1"])


def test_a_receiver_gets_a_signed_cloudevent_it_can_verify(call, receiver, sink):
    channel, token = new_user(call, "wh")
    fan_name, fan_token = new_user(call, "fan")
    hook = receiver(200)
    created = call("create-webhook", json={"url": hook.url, "events": ["user.followed"]}, token=token)
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    webhook = created.get_json()
    secret = webhook["secret"]
    assert secret.startswith("whsec_") and webhook["status"] == "active"
    listed = call("list-webhooks", token=token)
    assert secret not in listed.get_data(as_text=True)
    assert [w["id"] for w in listed.get_json()["items"]] == [webhook["id"]]

    event_id = followed(call, channel, fan_token, me(call, token)["id"], me(call, fan_token)["id"])
    [delivery_id] = sink()
    attempt(call, delivery_id)
    [(headers, body, path)] = hook.received
    assert path == "/hooks/streamfn?team=7"
    assert verify(secret, headers, body)
    assert not verify("whsec_someone-else", headers, body)
    from standardwebhooks import Webhook

    assert Webhook(secret).verify(body, headers)["follower"]["username"] == fan_name
    assert headers["Webhook-Id"] == event_id
    assert headers["Ce-Specversion"] == "1.0" and headers["Ce-Type"] == "dev.streamfn.user.followed"
    assert headers["Ce-Id"] == event_id and headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["follower"]["username"] == fan_name and payload["channel"]["username"] == channel
    assert "email" not in body.decode()
    [logged] = deliveries(call, token, webhook["id"])
    assert logged["status"] == "delivered" and logged["last_status_code"] == 200
    assert logged["attempts"] == 1
    attempt(call, delivery_id)  # a redelivered request: already delivered, not sent again
    assert len(hook.received) == 1


def test_stream_events_reach_subscribed_webhooks_once(call, receiver, sink):
    channel, token = new_user(call, "wh")
    started_only = receiver(200)
    call("create-webhook", json={"url": started_only.url, "events": ["stream.started"]}, token=token)
    stream_id = create(call, token, title="Endgames").get_json()["id"]
    for _ in range(2):  # the sidecar's event, and a second copy of it
        assert event(call, "webhooks-stream-started", "started", stream_id).status_code == 202
    assert event(call, "webhooks-stream-ended", "ended", stream_id).status_code == 202
    for delivery_id in sink():
        attempt(call, delivery_id)
    [(headers, body, _)] = started_only.received
    assert headers["Ce-Type"] == "dev.streamfn.stream.started" and headers["Ce-Subject"] == stream_id
    payload = json.loads(body)
    assert payload["title"] == "Endgames" and payload["channel"]["username"] == channel
    assert "pod" not in payload


def test_a_failing_receiver_is_retried_with_backoff_then_disabled_and_says_why(
        call, receiver, sink, settings):
    settings(STREAMFN_WEBHOOK_RETRY_BASE_SECONDS=2, STREAMFN_WEBHOOK_DISABLE_AFTER_SECONDS=3)
    channel, token = new_user(call, "wh")
    _, fan_token = new_user(call, "fan")
    broken = receiver(500)
    webhook = call("create-webhook", json={"url": broken.url}, token=token).get_json()
    followed(call, channel, fan_token, me(call, token)["id"], me(call, fan_token)["id"])
    [delivery_id] = sink()
    attempt(call, delivery_id)
    [logged] = deliveries(call, token, webhook["id"])
    assert logged["status"] == "pending" and logged["last_status_code"] == 500
    assert logged["next_attempt_at"] and logged["attempts"] == 1
    assert call("list-webhooks", token=token).get_json()["items"][0]["failing_since"]

    # Not due yet: the schedule asks for nothing; once the backoff has passed, it does.
    assert call("retry-webhook-deliveries", "POST", "/", headers=ping("r")).status_code == 202
    assert sink() == [delivery_id]
    time.sleep(3.1)
    assert call("retry-webhook-deliveries", "POST", "/", headers=ping("r")).status_code == 202
    assert sink() == [delivery_id, delivery_id]
    attempt(call, delivery_id)
    assert len(broken.received) == 2
    [hook] = call("list-webhooks", token=token).get_json()["items"]
    assert hook["status"] == "disabled" and hook["disabled_at"]
    assert "500" in hook["disabled_reason"] and "failing for" in hook["disabled_reason"]
    [logged] = deliveries(call, token, webhook["id"])
    assert logged["status"] == "failed" and logged["attempts"] == 2
    # A disabled webhook gets nothing more.
    _, another = new_user(call, "fan")
    followed(call, channel, another, me(call, token)["id"], me(call, another)["id"])
    assert len(sink()) == 2 and len(broken.received) == 2


def test_a_receiver_that_recovers_is_not_disabled(call, receiver, sink, settings):
    settings(STREAMFN_WEBHOOK_RETRY_BASE_SECONDS=0, STREAMFN_WEBHOOK_DISABLE_AFTER_SECONDS=3600)
    channel, token = new_user(call, "wh")
    _, fan_token = new_user(call, "fan")
    flaky = receiver(503, 204)  # down once, then up
    webhook = call("create-webhook", json={"url": flaky.url}, token=token).get_json()
    followed(call, channel, fan_token, me(call, token)["id"], me(call, fan_token)["id"])
    [delivery_id] = sink()
    attempt(call, delivery_id)
    attempt(call, delivery_id)
    [logged] = deliveries(call, token, webhook["id"])
    assert logged["status"] == "delivered" and logged["attempts"] == 2
    [hook] = call("list-webhooks", token=token).get_json()["items"]
    assert hook["status"] == "active" and hook["failing_since"] is None


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook",
    "http://192.168.0.10/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://100.64.0.1/hook", "http://0.0.0.0/hook",
])
def test_private_addresses_are_refused_with_the_production_setting(call, settings, url):
    settings(STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="false")
    _, token = new_user(call, "wh")
    response = call("create-webhook", json={"url": url}, token=token)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "webhook_url_refused" and "public address" in error["message"]
    assert call("list-webhooks", token=token).get_json()["items"] == []


def test_a_public_address_is_accepted_with_the_production_setting(call, settings):
    settings(STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="false")
    _, token = new_user(call, "wh")
    response = call("create-webhook", json={"url": "https://93.184.216.34/hook"}, token=token)
    assert response.status_code == 201


@pytest.mark.parametrize("body", [
    {"url": "ftp://example.com/x"}, {"url": "not a url"}, {"url": "http://user:pw@127.0.0.1/"},
    {"url": "http://127.0.0.1:99999/"}, {"url": "http://127.0.0.1/", "events": ["stream.deleted"]},
    {"url": "http://127.0.0.1/", "events": []}, {}, {"url": 5},
])
def test_bad_webhooks_are_clear_400s(call, settings, body):
    _, token = new_user(call, "wh")
    response = call("create-webhook", json=body, token=token)
    assert response.status_code == 400, body
    assert response.get_json()["error"]["message"]


def test_only_the_owner_sees_deletes_and_reads_the_log_of_a_webhook(call, receiver, settings):
    _, token = new_user(call, "wh")
    _, stranger = new_user(call, "x")
    webhook = call("create-webhook", json={"url": receiver().url}, token=token).get_json()
    path = f"/api/webhooks/{webhook['id']}"
    assert call("list-webhooks", token=stranger).get_json()["items"] == []
    assert call("delete-webhook", path=path, token=stranger).status_code == 404
    assert call("list-webhook-deliveries", path=f"{path}/deliveries", token=stranger).status_code == 404
    assert call("delete-webhook", path=path, token=token).status_code == 204
    assert call("list-webhooks", token=token).get_json()["items"] == []
    assert call("delete-webhook", path="/api/webhooks/nope", token=token).status_code == 404
    assert call("create-webhook", json={"url": "http://127.0.0.1/"}).status_code == 401


def test_a_channel_has_at_most_ten_webhooks(call, receiver, settings):
    _, token = new_user(call, "wh")
    url = receiver().url
    for _ in range(10):
        assert call("create-webhook", json={"url": url}, token=token).status_code == 201
    refused = call("create-webhook", json={"url": url}, token=token)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "conflict"


def test_toggling_follow_does_not_multiply_deliveries(call, receiver, sink):
    channel, token = new_user(call, "wh")
    _, fan_token = new_user(call, "fan")
    call("create-webhook", json={"url": receiver(200).url, "events": ["user.followed"]}, token=token)
    channel_id, fan_id = me(call, token)["id"], me(call, fan_token)["id"]
    for _ in range(5):
        followed(call, channel, fan_token, channel_id, fan_id)
        assert call("unfollow", method="DELETE", path=f"/api/users/{channel}/follow",
                    token=fan_token).status_code in (200, 204)
    [webhook] = call("list-webhooks", token=token).get_json()["items"]
    assert len(sink()) == 1 and len(deliveries(call, token, webhook["id"])) == 1


def test_a_non_ascii_url_is_stored_percent_encoded_and_delivered(call, receiver, sink):
    channel, token = new_user(call, "wh")
    _, fan_token = new_user(call, "fan")
    hook = receiver(200)
    url = hook.url.replace("/hooks/streamfn", "/hooks/str\u00e9amfn")
    created = call("create-webhook", json={"url": url, "events": ["user.followed"]}, token=token)
    assert created.status_code == 201
    assert created.get_json()["url"] == hook.url.replace("/hooks/streamfn", "/hooks/str%C3%A9amfn")
    followed(call, channel, fan_token, me(call, token)["id"], me(call, fan_token)["id"])
    [delivery_id] = sink()
    attempt(call, delivery_id)
    [(_, _, path)] = hook.received  # the receiver decodes what was sent percent-encoded
    assert path == "/hooks/str\u00e9amfn?team=7"
