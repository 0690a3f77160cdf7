"""The dead-letter sink Knative delivers to, and listing and replaying what it kept."""

from __future__ import annotations

import base64
import uuid

from local.platform import reset_caches
from shared_lib.http.auth import INGEST_SECRET_HEADER
from tests import factories
from tests.integration.test_emit import sink  # noqa: F401 - the fixture


def test_a_dead_letter_is_kept_listed_and_replayed_with_its_id(call, sink, monkeypatch):  # noqa: F811 - the fixture
    from shared_lib.config import get_settings

    event_id = str(uuid.uuid4())
    headers, _ = factories.cloudevent(
        "dev.streamfn.user.followed", source="/functions/follow", id=event_id,
        knativeerrordest="http://on-followed/", knativeerrorcode="500",
        knativeerrordata=base64.b64encode(b"boom").decode())
    for _ in range(2):
        stored = call("store-dead-letter", "POST", "/", data=b'{"follower_id": "a"}', headers=headers)
        assert stored.status_code == 202
    secret = {INGEST_SECRET_HEADER: get_settings().ingest_secret.get_secret_value()}
    assert call("list-dead-letters", headers={}).status_code == 401
    listed = call("list-dead-letters", path="/internal/dead-letters?limit=100", headers=secret)
    mine = [d for d in listed.get_json()["items"] if d["event_id"] == event_id]
    assert len(mine) == 1, "a redelivered dead letter is kept once"
    assert mine[0]["subscriber"] == "http://on-followed/" and mine[0]["reason"] == "500 boom"

    url, received = sink
    monkeypatch.setenv("K_SINK", url)
    reset_caches()
    replayed = call("replay-dead-letter", path=f"/internal/dead-letters/{mine[0]['id']}/replay",
                    headers={INGEST_SECRET_HEADER: get_settings().ingest_secret.get_secret_value()})
    assert replayed.status_code == 200 and replayed.get_json()["replayed_at"]
    [(sent, body)] = received
    assert sent["Ce-Id"] == event_id and sent["Ce-Type"] == "dev.streamfn.user.followed"
    assert b"follower_id" in body
    missing = call("replay-dead-letter", path="/internal/dead-letters/999999999/replay",
                   headers={INGEST_SECRET_HEADER: get_settings().ingest_secret.get_secret_value()})
    assert missing.status_code == 404
