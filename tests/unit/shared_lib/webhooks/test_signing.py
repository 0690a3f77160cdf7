"""Webhook signatures: streamfn's own header and Standard Webhooks', as receivers verify them."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shared_lib.webhooks.signing import signature


def test_the_signature_is_an_hmac_of_the_timestamp_and_body():
    body = b'{"stream_id":"s"}'
    expected = hmac.new(b"whsec_k", b"1764090000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_k", 1764090000, body) == f"t=1764090000,v1={expected}"
    assert signature("whsec_k", 1764090001, body) != signature("whsec_k", 1764090000, body)
    assert signature("whsec_other", 1764090000, body) != signature("whsec_k", 1764090000, body)


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
