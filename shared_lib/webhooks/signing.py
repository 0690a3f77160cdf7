"""Webhook signatures, by the Standard Webhooks scheme (standardwebhooks.com), so
receivers can use its published verifiers: `webhook-id` (the event id, the same on every
retry), `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>." + body>`, keyed by the base64 part of the `whsec_` secret. The older
`X-Streamfn-Signature: t=<t>,v1=<hex HMAC-SHA256 of "<t>." + body>` is sent beside it for
one more release. A receiver refuses timestamps older than a few minutes (replays).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Streamfn-Signature"
SECRET_PREFIX = "whsec_"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The legacy X-Streamfn-Signature (one more release)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def new_webhook_secret() -> str:
    """`whsec_` and 24 random bytes in standard base64, as Standard Webhooks expects."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _signing_key(secret: str) -> bytes:
    """The key bytes, decoded as the Standard Webhooks libraries decode a `whsec_` secret."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded + "==")
    except ValueError:  # some secrets made before Standard Webhooks (url-safe base64)
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(_signing_key(secret), signed, hashlib.sha256).digest()
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": f"v1,{base64.b64encode(mac).decode()}"}
