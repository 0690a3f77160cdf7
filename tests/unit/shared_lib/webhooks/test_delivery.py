"""Webhook signatures and retry backoff: pure logic, no servers."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from shared_lib.config import Settings
from shared_lib.webhooks.queue import backoff
from shared_lib.webhooks.signing import signature


def test_the_signature_is_an_hmac_of_the_timestamp_and_body():
    body = b'{"stream_id":"s"}'
    expected = hmac.new(b"whsec_k", b"1764090000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_k", 1764090000, body) == f"t=1764090000,v1={expected}"
    assert signature("whsec_k", 1764090001, body) != signature("whsec_k", 1764090000, body)
    assert signature("whsec_other", 1764090000, body) != signature("whsec_k", 1764090000, body)


def test_backoff_doubles_from_the_base_up_to_the_cap():
    settings = Settings(webhook_retry_base_seconds=30, webhook_retry_max_seconds=7200)
    waits = [backoff(n, settings) for n in range(1, 11)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-1] == timedelta(hours=2) and max(waits) == timedelta(hours=2)
    # Retries span a day before the default max attempts run out.
    total = sum((backoff(n, settings) for n in range(1, Settings().webhook_max_attempts)), timedelta())
    assert total >= timedelta(seconds=Settings().webhook_disable_after_seconds)


def test_the_published_standard_webhooks_verifier_accepts_our_signature():
    import time

    from standardwebhooks import Webhook

    from shared_lib.webhooks.signing import new_webhook_secret, standard_signature

    secret, body = new_webhook_secret(), b'{"stream_id":"s"}'
    headers = standard_signature(secret, "evt-1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {"stream_id": "s"}
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_a_secret_from_before_standard_webhooks_still_signs():
    from shared_lib.webhooks.signing import standard_signature

    legacy = "whsec_" + "a-b_c" * 8 + "xy"
    assert standard_signature(legacy, "e", 1, b"{}")["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("64:ff9b::808:808", True),
    ("10.0.0.1", False), ("127.0.0.1", False), ("::1", False), ("fe80::1", False),
    ("::ffff:127.0.0.1", False),            # IPv4-mapped
    ("64:ff9b::7f00:1", False),             # NAT64 of 127.0.0.1
    ("64:ff9b:1::a00:1", False),            # local-use NAT64 of 10.0.0.1
    ("2002:7f00:1::", False),               # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::", False),            # 6to4 of the metadata address 169.254.169.254
    ("::127.0.0.1", False),                 # IPv4-compatible
    ("::ffff:0:7f00:1", False),             # IPv4-translated
    ("fec0::1", False),                     # site-local
])
def test_ipv6_forms_of_private_ipv4_addresses_are_not_public(address, public):
    from shared_lib.webhooks.transport import _public

    assert _public(address) is public


def test_urls_are_percent_encoded_and_control_characters_refused():
    from shared_lib.webhooks.transport import UnsafeUrl, normalize

    assert normalize("https://example.com/h\u00e9?q=\u00fc") == "https://example.com/h%C3%A9?q=%C3%BC"
    assert normalize("https://b\u00fccher.example/x") == "https://xn--bcher-kva.example/x"
    for bad in ("https://example.com/a b", "https://example.com/\x00", "https://example.com/\n"):
        with pytest.raises(UnsafeUrl):
            normalize(bad)


def test_anything_going_wrong_in_an_attempt_is_a_failed_attempt():
    from shared_lib.webhooks.queue import Attempt, attempt

    broken = Attempt(1, "http://127.0.0.1:9/", "whsec_aGVsbG8=", headers={}, body=b"{}")
    outcome = attempt(broken, Settings(webhook_allow_private_addresses=True))
    assert outcome.ok is False and "KeyError" in outcome.error
